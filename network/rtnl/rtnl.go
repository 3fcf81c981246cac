// Package rtnl speaks rtnetlink (rtnetlink(7)) by hand, for the one job on
// every `rawns run --network bridge`'s path: a veth pair born with its peer
// in the command's network namespace as eth0, on the bridge, up; lo and
// eth0 up, eth0's addresses and default routes; and the questions that
// decide whether anything else is needed (the bridge, its addresses, the
// links on it, one nf_tables chain).
//
// Why by hand, when vishvananda/netlink and google/nftables are the
// field's libraries (and rawns-net keeps them for what is made once: the
// bridge, the shared table, published ports): rawns run links what it
// uses, and a run without --network must pay nothing for it
// (startup_test.go). Those libraries bring package initialisation (theirs,
// net's, net/netip's) that every program linking them runs, so they live
// in a helper, and a helper is a second Go start-up in series with rawns's
// (about 5 ms here, before it sends a byte). The kernel's interface itself
// is small and stable, like clone(2)'s: a header, a fixed struct and
// type-length-value attributes (include/uapi/linux/netlink.h,
// rtnetlink.h, if_link.h). This package is those bytes and nothing else:
// no package-level variables, no init, no goroutine; one receive buffer
// per socket; every request acknowledged and every error named by its step
// with the errno and the kernel's own message (NETLINK_EXT_ACK).
package rtnl

import (
	"encoding/binary"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Error is a refused request: the step (what rawns was doing, in the
// user's terms), the errno, and the kernel's extended ack message when it
// gave one.
type Error struct {
	Step  string
	Errno unix.Errno
	Msg   string
}

func (e *Error) Error() string {
	s := e.Step + ": " + e.Errno.Error()
	if e.Msg != "" {
		s += " (kernel: " + e.Msg + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Errno }

// stepErr wraps a local failure (a syscall on the socket itself) as an
// Error.
func stepErr(step string, err error) error {
	if en, ok := err.(unix.Errno); ok {
		return &Error{Step: step, Errno: en}
	}
	return &stringError{step + ": " + err.Error()}
}

type stringError struct{ s string }

func (e *stringError) Error() string { return e.s }

// bufSize is the receive buffer. A dump's skbs are sized after the
// largest receive buffer the socket has used (netlink_dump,
// max_recvmsg_len, at most 32 KiB), so a dump always fits; a request's
// answer is an ack of a few dozen bytes. Only the pages the kernel writes
// are touched.
const bufSize = 32 << 10

// Conn is a netlink socket of one protocol, bound to the network namespace
// that was the calling thread's when it was opened (socket(2) takes the
// thread's namespace, for good).
type Conn struct {
	fd  int
	seq uint32
	buf []byte
}

// Open opens a NETLINK_ROUTE socket in the calling thread's network
// namespace.
func Open() (*Conn, error) { return open(unix.NETLINK_ROUTE, "a netlink socket") }

func open(proto int, what string) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, stepErr(what, err)
	}
	// Acks without a copy of the request (CAP_ACK, 4.3), with the
	// kernel's message on an error (EXT_ACK, 4.12); an older kernel's
	// refusal costs only those.
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	return &Conn{fd: fd, seq: 1}, nil
}

// Close closes the socket.
func (c *Conn) Close() {
	if c != nil && c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// FD is the socket's descriptor.
func (c *Conn) FD() int { return c.fd }

// msg is one netlink message being built: the header, a fixed struct,
// attributes (struct rtattr: length, type, data, padded to 4 bytes).
type msg struct {
	b    []byte
	step string
}

func align4(n int) int { return (n + 3) &^ 3 }

// newMsg starts a message of type typ with flags (NLM_F_REQUEST added)
// and the fixed struct fixed.
func newMsg(step string, typ, flags uint16, fixed []byte) *msg {
	m := &msg{b: make([]byte, unix.NLMSG_HDRLEN, 256), step: step}
	binary.NativeEndian.PutUint16(m.b[4:], typ)
	binary.NativeEndian.PutUint16(m.b[6:], flags|unix.NLM_F_REQUEST)
	m.b = append(m.b, fixed...)
	return m
}

func (m *msg) attr(typ uint16, data []byte) {
	n := unix.SizeofRtAttr + len(data)
	m.b = binary.NativeEndian.AppendUint16(m.b, uint16(n))
	m.b = binary.NativeEndian.AppendUint16(m.b, typ)
	m.b = append(m.b, data...)
	for len(m.b)%4 != 0 {
		m.b = append(m.b, 0)
	}
}

func (m *msg) u32(typ uint16, v uint32) {
	m.attr(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// str is a NUL-terminated string attribute.
func (m *msg) str(typ uint16, s string) { m.attr(typ, append([]byte(s), 0)) }

// nest opens a nested attribute; end closes it at its length. Without
// NLA_F_NESTED, as iproute2 sends them: rtnetlink's parsers never asked
// for the flag, and some old ones (before nla_type masked it) would not
// have known the type with it.
func (m *msg) nest(typ uint16) int {
	at := len(m.b)
	m.attr(typ, nil)
	return at
}

func (m *msg) end(at int) {
	binary.NativeEndian.PutUint16(m.b[at:], uint16(len(m.b)-at))
}

// finish sets the length and the sequence number.
func (m *msg) finish(seq uint32) []byte {
	binary.NativeEndian.PutUint32(m.b[0:], uint32(len(m.b)))
	binary.NativeEndian.PutUint32(m.b[8:], seq)
	return m.b
}

// ifinfomsg is struct ifinfomsg: family, type, index, flags, change.
func ifinfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// send writes the messages as one datagram: the kernel handles them in
// order (netlink_rcv_skb) and acks each.
func (c *Conn) send(ms ...*msg) ([]uint32, error) {
	var b []byte
	seqs := make([]uint32, len(ms))
	for i, m := range ms {
		c.seq++
		seqs[i] = c.seq
		b = append(b, m.finish(c.seq)...)
	}
	for {
		err := unix.Sendto(c.fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, stepErr(ms[0].step, err)
		}
		return seqs, nil
	}
}

// recv reads one datagram of messages.
func (c *Conn) recv(step string) ([]byte, error) {
	if c.buf == nil {
		c.buf = make([]byte, bufSize)
	}
	for {
		n, _, flags, _, err := unix.Recvmsg(c.fd, c.buf, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, stepErr(step, err)
		}
		if flags&unix.MSG_TRUNC != 0 {
			return nil, &stringError{step + ": a netlink message did not fit " + strconv.Itoa(bufSize) + " bytes"}
		}
		return c.buf[:n], nil
	}
}

// each calls f on every message of a datagram: its header fields and
// body. f returns false to stop.
func each(b []byte, f func(typ, flags uint16, seq uint32, body []byte) bool) {
	for len(b) >= unix.NLMSG_HDRLEN {
		n := int(binary.NativeEndian.Uint32(b))
		if n < unix.NLMSG_HDRLEN || n > len(b) {
			return
		}
		typ := binary.NativeEndian.Uint16(b[4:])
		flags := binary.NativeEndian.Uint16(b[6:])
		seq := binary.NativeEndian.Uint32(b[8:])
		if !f(typ, flags, seq, b[unix.NLMSG_HDRLEN:n]) {
			return
		}
		b = b[min(align4(n), len(b)):]
	}
}

// ackError decodes struct nlmsgerr and its extended ack: nil for an ack.
func ackError(step string, flags uint16, body []byte) error {
	if len(body) < 4 {
		return &stringError{step + ": a short netlink error message"}
	}
	errno := -int32(binary.NativeEndian.Uint32(body))
	if errno == 0 {
		return nil
	}
	e := &Error{Step: step, Errno: unix.Errno(errno)}
	if flags&unix.NLM_F_ACK_TLVS != 0 {
		// The TLVs follow the request's header (NLM_F_CAPPED) or the
		// whole request.
		off := 4 + unix.NLMSG_HDRLEN
		if flags&unix.NLM_F_CAPPED == 0 && len(body) >= off {
			off = 4 + int(binary.NativeEndian.Uint32(body[4:]))
		}
		if off <= len(body) {
			eachAttr(body[off:], func(typ uint16, data []byte) {
				if typ == unix.NLMSGERR_ATTR_MSG {
					e.Msg = cstring(data)
				}
			})
		}
	}
	return e
}

// eachAttr calls f on each attribute of b.
func eachAttr(b []byte, f func(typ uint16, data []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b))
		if n < unix.SizeofRtAttr || n > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:])&^(unix.NLA_F_NESTED|unix.NLA_F_NET_BYTEORDER), b[unix.SizeofRtAttr:n])
		b = b[min(align4(n), len(b)):]
	}
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// do sends the requests (each with NLM_F_ACK) in one datagram and waits
// for every ack; the first refusal, in the order sent, is returned. A
// reply that is not an ack (a GET's answer) goes to got, if not nil.
func (c *Conn) do(got func(typ uint16, body []byte), ms ...*msg) error {
	for _, m := range ms {
		binary.NativeEndian.PutUint16(m.b[6:], binary.NativeEndian.Uint16(m.b[6:])|unix.NLM_F_ACK)
	}
	seqs, err := c.send(ms...)
	if err != nil {
		return err
	}
	errs := make([]error, len(ms))
	left := len(ms)
	for left > 0 {
		b, err := c.recv(ms[0].step)
		if err != nil {
			return err
		}
		each(b, func(typ, flags uint16, seq uint32, body []byte) bool {
			i := int(seq - seqs[0])
			if seq < seqs[0] || i >= len(ms) {
				return true // an answer to an earlier, abandoned request
			}
			if typ == unix.NLMSG_ERROR {
				errs[i] = ackError(ms[i].step, flags, body)
				left--
			} else if got != nil {
				got(typ, body)
			}
			return true
		})
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// dumpInterrupted: the dump changed while it was read.
type dumpInterrupted struct{}

func (dumpInterrupted) Error() string { return "dump interrupted" }

// dump sends a dump request and calls f on every answer, until
// NLMSG_DONE. A dump interrupted by a change (NLM_F_DUMP_INTR: another
// run's veth came or went) is read again, a few times.
func (c *Conn) dump(m *msg, f func(typ uint16, body []byte)) error {
	binary.NativeEndian.PutUint16(m.b[6:], binary.NativeEndian.Uint16(m.b[6:])|unix.NLM_F_DUMP)
	var err error
	for try := 0; try < 5; try++ {
		if err = c.dump1(m, f); err != (dumpInterrupted{}) {
			return err
		}
	}
	return &stringError{m.step + ": the dump kept changing while it was read"}
}

func (c *Conn) dump1(m *msg, f func(typ uint16, body []byte)) error {
	seqs, err := c.send(m)
	if err != nil {
		return err
	}
	type answer struct {
		typ  uint16
		body []byte
	}
	var answers []answer
	intr, done := false, false
	for !done && err == nil {
		b, rerr := c.recv(m.step)
		if rerr != nil {
			return rerr
		}
		each(b, func(typ, flags uint16, seq uint32, body []byte) bool {
			if seq != seqs[0] {
				return true
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch typ {
			case unix.NLMSG_DONE:
				done = true
				return false
			case unix.NLMSG_ERROR:
				if err = ackError(m.step, flags, body); err == nil {
					done = true
				}
				return false
			}
			// Kept until the dump is whole: an interrupted one is
			// read again from the start.
			answers = append(answers, answer{typ, append([]byte(nil), body...)})
			return true
		})
	}
	if err != nil {
		return err
	}
	if intr {
		return dumpInterrupted{}
	}
	for _, a := range answers {
		f(a.typ, a.body)
	}
	return nil
}

// lockedNetns runs f on the calling goroutine's thread in a new network
// namespace, and puts the thread back in its own before returning.
// unshare(2) of CLONE_NEWNET moves only the calling thread; the thread is
// locked to the goroutine meanwhile, so that nothing else of the program
// runs in the new namespace. If the way back fails the thread stays
// locked (and Go discards it when its goroutine ends): a thread in the
// wrong namespace is never handed to other goroutines.
func lockedNetns(f func() error) error {
	runtime.LockOSThread()
	self := "/proc/thread-self/ns/net"
	orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return stepErr("a network namespace for the command: opening "+self, err)
	}
	defer unix.Close(orig)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return stepErr("a network namespace for the command: unshare(CLONE_NEWNET)", err)
	}
	ferr := f()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return stepErr("a network namespace for the command: back to rawns's own: setns", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// NewNetns makes a network namespace and returns an fd of it
// (close-on-exec) and a NETLINK_ROUTE socket in it: the thread goes back
// to its own namespace, and these two are the namespace's only holds. The
// caller clones the command into it (setns in the child) and closes both;
// if it dies first, the namespace goes with its fds, and a veth in it
// with it.
func NewNetns() (nsfd int, in *Conn, err error) {
	nsfd = -1
	err = lockedNetns(func() error {
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return stepErr("a network namespace for the command: opening it", err)
		}
		c, err := Open()
		if err != nil {
			unix.Close(fd)
			return err
		}
		nsfd, in = fd, c
		return nil
	})
	if err != nil && nsfd >= 0 {
		unix.Close(nsfd)
		in.Close()
		nsfd, in = -1, nil
	}
	return nsfd, in, err
}

// OpenIn opens a NETLINK_ROUTE socket in the network namespace of the fd
// nsfd (a held command's): setns(2) on the locked calling thread, the
// socket, and setns back.
func OpenIn(nsfd int) (*Conn, error) {
	runtime.LockOSThread()
	self := "/proc/thread-self/ns/net"
	orig, err := unix.Open(self, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, stepErr("netlink in the command's namespace: opening "+self, err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, stepErr("netlink in the command's namespace: setns", err)
	}
	c, cerr := Open()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		c.Close()
		return nil, stepErr("netlink in the command's namespace: back to its own: setns", err)
	}
	runtime.UnlockOSThread()
	return c, cerr
}
