package network

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// What rawns run and its helper rawns-net say to each other, over a
// SOCK_SEQPACKET socketpair that is the helper's stdin: one message each
// way per step, lines of words, fds beside them (SCM_RIGHTS). Plain text,
// so that rawns run links no encoding package for it, and so that strace
// shows the conversation.
//
//	rawns -> helper   the Request, before the clone, with the listening
//	                  sockets the helper is to serve (Request.Proxies)
//	rawns -> helper   "netns" + the fd of the command's network namespace,
//	                  from Spec.Hold; not sent when the helper makes the
//	                  namespace itself (Request.NewNetns)
//	helper -> rawns   the Reply, with the fd of the nft netlink socket
//	                  that owns the run's table when the kernel has the
//	                  owner flag (Reply.Owned), then the fd of the
//	                  namespace the helper made (Request.NewNetns)
//
// The helper then exits, unless it must stay: to serve a proxy, or to
// delete a table the kernel cannot tie to a socket. It stays until its
// stdin reads EOF, which happens when rawns exits, however it exits.

// Request is what the helper is to set up.
type Request struct {
	Bridge  string
	Subnets []Prefix // the subnets asked for; empty: the bridge's own, or DefaultSubnet
	Publish []Publish
	// Proxies are the indexes in Publish of the IPv6 TCP sockets that
	// come with the request, in that order: bound by rawns run to
	// reserve the port, to be listened on by the helper where the kernel
	// cannot forward (it cannot route ::1 to another namespace, nor an
	// IPv6 address to a command without IPv6).
	Proxies []int
	// NewNetns asks the helper to make the command's network namespace
	// itself, configure it whole, and send its fd back with the reply:
	// rawns then clones the command into it (clone.Spec.Join) without
	// holding it (docs/network.md, "Where each step happens").
	NewNetns bool
}

// Marshal encodes r.
func (r *Request) Marshal() []byte {
	var b strings.Builder
	b.WriteString("bridge " + r.Bridge + "\n")
	for _, s := range r.Subnets {
		b.WriteString("subnet " + s.String() + "\n")
	}
	for _, p := range r.Publish {
		ip := "*"
		if p.HostIP.IsValid() {
			ip = p.HostIP.String()
		}
		fmt.Fprintf(&b, "publish %s %s %d %d\n", p.ProtoName(), ip, p.HostPort, p.Port)
	}
	for _, i := range r.Proxies {
		fmt.Fprintf(&b, "proxy %d\n", i)
	}
	if r.NewNetns {
		b.WriteString("netns new\n")
	}
	return []byte(b.String())
}

// ParseRequest decodes what Marshal encoded.
func ParseRequest(msg []byte) (*Request, error) {
	r := &Request{}
	for _, line := range strings.Split(strings.TrimSuffix(string(msg), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		// Formatted only when it is returned: the parse of every run's
		// request and reply does no fmt work.
		bad := malformed{"request", line}
		switch {
		case f[0] == "bridge" && len(f) == 2:
			r.Bridge = f[1]
		case f[0] == "subnet" && len(f) == 2:
			p, err := ParsePrefix(f[1])
			if err != nil {
				return nil, bad
			}
			r.Subnets = append(r.Subnets, p)
		case f[0] == "publish" && len(f) == 5:
			var p Publish
			var err error
			switch f[1] {
			case "tcp":
				p.Proto = TCP
			case "udp":
				p.Proto = UDP
			default:
				return nil, bad
			}
			if f[2] != "*" {
				if p.HostIP, err = ParseAddr(f[2]); err != nil {
					return nil, bad
				}
			}
			if p.HostPort, err = parsePort(f[3]); err != nil {
				return nil, bad
			}
			if p.Port, err = parsePort(f[4]); err != nil {
				return nil, bad
			}
			r.Publish = append(r.Publish, p)
		case f[0] == "proxy" && len(f) == 2:
			n, err := strconv.Atoi(f[1])
			if err != nil || n < 0 || n >= len(r.Publish) {
				return nil, bad
			}
			r.Proxies = append(r.Proxies, n)
		case f[0] == "netns" && len(f) == 2 && f[1] == "new":
			r.NewNetns = true
		default:
			return nil, bad
		}
	}
	if r.Bridge == "" {
		return nil, errors.New("request names no bridge")
	}
	return r, nil
}

// Reply is what the helper set up, or why it could not.
type Reply struct {
	// Err, if set, is the one-line reason nothing was set up, in the
	// command line's terms ("--subnet 10.1.0.0/16 overlaps ..."); the
	// helper has undone what it did.
	Err string
	// Addrs are the command's addresses on eth0, with the subnet's
	// length; Gateways the bridge's, in the same order (IPv4 first).
	Addrs    []Prefix
	Gateways []Addr
	// Link is the host's end of the veth pair; Table the run's nft table
	// ("" without -p: the masquerade is the bridge's, in BaseTable).
	Link, Table string
	// Owned says that the table dies with the socket whose fd comes with
	// the reply (NFT_TABLE_F_OWNER, Linux 5.12+); otherwise the helper
	// stays and deletes it when rawns is gone.
	Owned bool
	// Stays says that the helper stays until rawns is gone (to relay a
	// published port, or to delete an unowned table).
	Stays bool
}

// Marshal encodes r.
func (r *Reply) Marshal() []byte {
	if r.Err != "" {
		return []byte("error " + strings.ReplaceAll(r.Err, "\n", " ") + "\n")
	}
	var b strings.Builder
	for i, a := range r.Addrs {
		fmt.Fprintf(&b, "addr %s %s\n", a, r.Gateways[i])
	}
	fmt.Fprintf(&b, "link %s\n", r.Link)
	if r.Table != "" { // only with -p
		fmt.Fprintf(&b, "table %s\n", r.Table)
	}
	fmt.Fprintf(&b, "owned %t\nstays %t\n", r.Owned, r.Stays)
	return []byte(b.String())
}

// ParseReply decodes what Marshal encoded.
func ParseReply(msg []byte) (*Reply, error) {
	r := &Reply{}
	s := string(msg)
	if e, ok := strings.CutPrefix(s, "error "); ok {
		r.Err = strings.TrimSuffix(e, "\n")
		return r, nil
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		f := strings.Fields(line)
		bad := malformed{"reply", line}
		switch {
		case len(f) == 3 && f[0] == "addr":
			p, err := ParsePrefix(f[1])
			gw, err2 := ParseAddr(f[2])
			if err != nil || err2 != nil {
				return nil, bad
			}
			r.Addrs, r.Gateways = append(r.Addrs, p), append(r.Gateways, gw)
		case len(f) == 2 && f[0] == "link":
			r.Link = f[1]
		case len(f) == 2 && f[0] == "table":
			r.Table = f[1]
		case len(f) == 2 && f[0] == "owned":
			r.Owned = f[1] == "true"
		case len(f) == 2 && f[0] == "stays":
			r.Stays = f[1] == "true"
		default:
			return nil, bad
		}
	}
	if len(r.Addrs) == 0 {
		return nil, errors.New("the reply holds no address")
	}
	return r, nil
}

// maxMsg bounds one message: a request with many -p stays far below.
const maxMsg = 64 << 10

// MaxFDs bounds the fds of one message (SCM_MAX_FD is 253).
const MaxFDs = 64

// Send sends msg and fds as one message on a SOCK_SEQPACKET socket.
// MSG_NOSIGNAL: a peer that is gone is an EPIPE, not a SIGPIPE.
func Send(sock int, msg []byte, fds ...int) error {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err := unix.Sendmsg(sock, msg, oob, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			return err
		}
	}
}

// Recv receives one message and its fds (close-on-exec). io.EOF-like: a
// peer that closed gives a nil message and no error.
func Recv(sock int) ([]byte, []int, error) {
	buf := make([]byte, maxMsg)
	oob := make([]byte, unix.CmsgSpace(MaxFDs*4))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR || err == unix.ECONNRESET {
			// ECONNRESET: the peer exited with a message of ours unread.
			// The kernel reports that first, once, before the messages
			// the peer sent (__skb_try_recv_datagram reads sk_err before
			// the queue): read on, to its last words or EOF.
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		var fds []int
		if oobn > 0 {
			cmsgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				return nil, nil, err
			}
			for _, c := range cmsgs {
				r, err := unix.ParseUnixRights(&c)
				if err == nil {
					fds = append(fds, r...)
				}
			}
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			return nil, nil, errors.New("message truncated")
		}
		if n == 0 && oobn == 0 {
			return nil, nil, nil
		}
		return buf[:n], fds, nil
	}
}

// malformed is the error of a line of the conversation that does not
// parse.
type malformed struct{ what, line string }

func (m malformed) Error() string { return fmt.Sprintf("malformed %s line %q", m.what, m.line) }
