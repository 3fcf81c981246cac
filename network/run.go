package network

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/sibling"
	"github.com/rawns/rawns/network/rtnl"
)

// HelperName is the sibling binary that holds the host side of bridge
// mode (package network/bridge).
const HelperName = "rawns-net"

// How long rawns waits for the helper's reply and for pasta to be ready:
// far more than either takes (a few ms, under 0.5 s), less than a user
// waits before thinking rawns hangs.
const setupTimeout = 30 * time.Second

// Options are a run's network wishes, checked (the CLI's network concern
// makes them from the flags).
type Options struct {
	Mode    Mode
	Bridge  string   // Bridge mode: the bridge's name
	Subnets []Prefix // Bridge mode: at most one per family
	Publish []Publish
	DNS     []Addr
	// Hostname is the command's, for /etc/hosts and /etc/hostname.
	Hostname string
	// Files asks for resolv.conf, hosts and hostname in a run directory
	// (RunDir), for the caller to bind over the command's /etc.
	Files bool
	// NewNetns (bridge mode) has the helper make the command's network
	// namespace and configure it whole before the clone (Ready returns
	// it, for clone.Spec.Join), so that nothing waits for the command and
	// the command need not be held. Without it the clone makes the
	// namespace and Hold connects it: the way when the clone makes a user
	// namespace, which must own the network namespace (setns(2) into a
	// namespace of the host's user namespace needs CAP_SYS_ADMIN there).
	NewNetns bool
}

// Files the run writes, by name in the run directory and target.
var FileTargets = [...][2]string{{"resolv.conf", "/etc/resolv.conf"}, {"hosts", "/etc/hosts"}, {"hostname", "/etc/hostname"}}

// Run is a run's network while it is made and while the command runs.
type Run struct {
	o   *Options
	Dir *RunDir
	res *Reservation

	helper  *clone.Process
	sock    int // rawns's end of the helper's socket, or -1
	nftSock int // the socket that owns the run's nft table, or -1
	nsfd    int // NewNetns: the command's network namespace, until the clone, or -1

	user *userNet // pasta or slirp4netns

	// Reply is what bridge mode set up; Addrs the command's addresses in
	// either mode, for -v and /etc/hosts.
	Reply *Reply
	Addrs []Prefix
	// Via says what connects the command: "pasta" or "slirp4netns" in
	// pasta mode; Notes are what -v should tell (servers dropped from
	// resolv.conf, files the root lacks).
	Via   string
	Notes []string
	// Direct says that rawns connected the bridge run itself, without
	// rawns-net (Start: what every run shares was in place, and no -p).
	Direct bool
}

// Start does what comes before the clone: in bridge mode first of all the
// helper, whose start (a Go program's) then overlaps the rest; the run
// directory with empty files (their binds need them to exist when the
// spec is checked); the reserved ports; then the helper's request. The
// helper makes the bridge and the table, and with NewNetns the command's
// namespace whole, while rawns prepares the rest of the run. On an error
// nothing is left.
func Start(o *Options) (*Run, error) {
	r := &Run{o: o, sock: -1, nftSock: -1, nsfd: -1}
	var err error
	direct := false
	if o.Mode == Bridge && o.NewNetns && len(o.Publish) == 0 {
		if direct, err = r.direct(); err != nil {
			return nil, err
		}
	}
	if o.Mode == Bridge && !direct {
		if err := r.startHelper(); err != nil {
			return nil, err
		}
	}
	if o.Files {
		if r.Dir, err = NewRunDir(); err != nil {
			r.Close()
			return nil, fmt.Errorf("the run directory for resolv.conf: %w", err)
		}
		for _, f := range FileTargets {
			if err := r.Dir.Write(f[0], nil); err != nil {
				r.Close()
				return nil, err
			}
		}
	}
	if len(o.Publish) > 0 {
		if r.res, err = Reserve(o.Publish, o.Mode == Pasta); err != nil {
			r.Close()
			return nil, err
		}
	}
	if o.Mode == Bridge && !direct {
		if err := r.sendRequest(); err != nil {
			r.Close()
			return nil, err
		}
	}
	return r, nil
}

// direct connects the command's network in rawns itself, without the
// helper, when what every run shares is in place: the bridge, up, with
// the subnets asked for; the forwarding sysctls; the bridge's NAT chain in
// BaseTable. It makes the namespace (rtnl.NewNetns) and connects it
// (Connect) and keeps the namespace's fd for Ready, as the helper's reply
// would. It reports false, having made nothing, when something shared is
// missing or not as asked: then the helper makes it (and reports what is
// wrong in the flags' terms), as it does for -p. The test hooks that name
// a step of the helper's (RAWNS_NET_FAIL_AFTER=bridge|table|rules,
// RAWNS_NET_STALL, RAWNS_NET_NO_OWNER) send the run to the helper too.
func (r *Run) direct() (bool, error) {
	fail := os.Getenv("RAWNS_NET_FAIL_AFTER")
	switch {
	case fail == "bridge" || fail == "table" || fail == "rules", os.Getenv("RAWNS_NET_STALL") != "", os.Getenv("RAWNS_NET_NO_OWNER") != "":
		return false, nil
	}
	rt, err := rtnl.Open()
	if err != nil {
		return false, err
	}
	defer rt.Close()
	l, err := rt.LinkByName(r.o.Bridge)
	if err != nil || l.Kind != "bridge" || !l.Up() {
		return false, nil // the helper makes it, or says what is wrong
	}
	addrs, err := rt.Addrs(l.Index)
	if err != nil {
		return false, nil
	}
	br := &BridgeLink{Name: l.Name, Index: l.Index, MTU: l.MTU, Subnets: BridgeSubnets(addrs)}
	if len(br.Subnets) == 0 {
		return false, nil
	}
	for _, want := range r.o.Subnets {
		found := false
		for _, have := range br.Subnets {
			found = found || have == want.Masked()
		}
		if !found {
			return false, nil
		}
	}
	if !sysctlOn("/proc/sys/net/ipv4/ip_forward") || !sysctlOn("/proc/sys/net/ipv4/conf/"+l.Name+"/route_localnet") ||
		len(br.Subnets) > 1 && !sysctlOn("/proc/sys/net/ipv6/conf/all/forwarding") {
		return false, nil
	}
	nf, err := rtnl.OpenNetfilter()
	if err != nil {
		return false, nil
	}
	ok, err := nf.ChainExists(BaseTable, NATChain(l.Name))
	nf.Close()
	if !ok || err != nil {
		return false, nil
	}
	nsfd, in, err := rtnl.NewNetns()
	if err != nil {
		return false, err
	}
	rep, err := Connect(rt, in, br, nsfd, true, fail)
	in.Close()
	if err != nil {
		unix.Close(nsfd) // the veth goes with the namespace
		return false, err
	}
	r.nsfd, r.Reply, r.Addrs, r.Direct = nsfd, rep, rep.Addrs, true
	return true, nil
}

// startHelper starts rawns-net setup with one end of a socketpair as its
// stdin. Until the request comes, it only starts; if rawns gives up before
// (Close), it reads EOF and exits having made nothing.
func (r *Run) startHelper() error {
	path, err := sibling.Find(HelperName)
	if err != nil {
		return err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	// Cloned from the thread that will clone the command (PinThread):
	// its PR_SET_PDEATHSIG ties the helper to rawns too.
	clone.PinThread()
	r.helper, err = clone.StartHere(&clone.Spec{
		Path:  path,
		Args:  []string{path, "setup"},
		Env:   os.Environ(),
		Stdio: []int{fds[1], 2, 2},
	})
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return fmt.Errorf("starting %s: %w", path, err)
	}
	r.sock = fds[0]
	return nil
}

// sendRequest sends the helper what to set up, with the IPv6 sockets it
// is to serve.
func (r *Run) sendRequest() error {
	req := &Request{Bridge: r.o.Bridge, Subnets: r.o.Subnets, Publish: r.o.Publish, NewNetns: r.o.NewNetns}
	var proxies []int
	if r.res != nil {
		for i, fd := range r.res.Proxy {
			if fd >= 0 {
				req.Proxies = append(req.Proxies, i)
				proxies = append(proxies, fd)
			}
		}
	}
	if err := Send(r.sock, req.Marshal(), proxies...); err != nil {
		return r.helperFailed(err)
	}
	return nil
}

// helperFailed turns a broken conversation into the helper's own reason
// when it sent one.
func (r *Run) helperFailed(err error) error {
	if msg, _, rerr := r.recv(time.Second); rerr == nil && msg != nil {
		if rep, perr := ParseReply(msg); perr == nil && rep.Err != "" {
			return errors.New(rep.Err)
		}
	}
	return fmt.Errorf("%s: %w", HelperName, err)
}

// recv waits at most timeout for the helper's message.
func (r *Run) recv(timeout time.Duration) ([]byte, []int, error) {
	pfd := []unix.PollFd{{Fd: int32(r.sock), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("no answer in %v", timeout)
		}
		return Recv(r.sock)
	}
}

// Hold connects the held command's network namespace (clone.Spec.Hold):
// the helper's veth and rules in bridge mode, pasta (or slirp4netns) in
// pasta mode; then the files. The held child is not yet reaped, so its
// pid and namespace cannot be another's; clone.Held.Namespace opens the
// namespace through its pidfd where the kernel can (Linux 6.11+), else
// through /proc/PID/ns/net checked against the pidfd.
func (r *Run) Hold(h clone.Held) error {
	nsfd, err := h.Namespace(clone.NewNet)
	if err != nil {
		return fmt.Errorf("the command's network namespace: %w", err)
	}
	defer unix.Close(nsfd)
	switch r.o.Mode {
	case Bridge:
		err = r.attachBridge(nsfd)
	case Pasta:
		err = r.startUserNet(h.Pid, nsfd)
	}
	if err != nil {
		return err
	}
	return r.writeFiles()
}

func (r *Run) attachBridge(nsfd int) error {
	if err := Send(r.sock, []byte("netns"), nsfd); err != nil {
		return r.helperFailed(err)
	}
	return r.reply()
}

// Ready waits for the helper that makes the command's namespace
// (Options.NewNetns), writes the files, and returns the namespace for the
// clone to join (clone.Spec.Join); Run keeps the fd until Started or
// Close. The helper made and configured it whole while rawns prepared
// the rest of the run: lo up, eth0 with its addresses and routes, the
// rules. Until the clone, the namespace is held only by this fd (and the
// helper's, which it closes once it has replied), so it dies with rawns.
func (r *Run) Ready() (int, error) {
	if r.helper != nil {
		if err := r.reply(); err != nil {
			return -1, err
		}
	}
	if r.nsfd < 0 {
		return -1, fmt.Errorf("%s: no network namespace came with the reply", HelperName)
	}
	if err := r.writeFiles(); err != nil {
		return -1, err
	}
	return r.nsfd, nil
}

// reply reads the helper's reply and keeps what came with it: the socket
// that owns the table, and the namespace the helper made.
func (r *Run) reply() error {
	msg, got, err := r.recv(setupTimeout)
	if err != nil {
		return fmt.Errorf("%s: %w", HelperName, err)
	}
	if msg == nil {
		return fmt.Errorf("%s exited without an answer", HelperName)
	}
	rep, err := ParseReply(msg)
	if err != nil {
		for _, fd := range got {
			unix.Close(fd)
		}
		return fmt.Errorf("%s: %w", HelperName, err)
	}
	if rep.Err != "" {
		for _, fd := range got {
			unix.Close(fd)
		}
		return errors.New(rep.Err)
	}
	want := 0
	if rep.Owned {
		want++
	}
	if r.o.NewNetns {
		want++
	}
	if len(got) != want {
		for _, fd := range got {
			unix.Close(fd)
		}
		return fmt.Errorf("%s: the reply came with %d fds, not %d (owned table %t, namespace %t)", HelperName, len(got), want, rep.Owned, r.o.NewNetns)
	}
	if rep.Owned {
		// The table lives as long as this fd: as long as rawns.
		r.nftSock = got[0]
	}
	if r.o.NewNetns {
		r.nsfd = got[want-1]
	}
	r.Reply, r.Addrs = rep, rep.Addrs
	// A helper that does not stay exits now; Started reaps it, so that
	// its exit (a Go process's, a few ms on a busy machine) is not on the
	// command's way to exec.
	return nil
}

// writeFiles fills the run's files.
func (r *Run) writeFiles() error {
	if r.Dir == nil {
		return nil
	}
	dns := r.o.DNS
	ipv6 := false
	for _, a := range r.Addrs {
		ipv6 = ipv6 || !a.Addr.Is4()
	}
	if len(dns) == 0 && r.user != nil && r.user.dns.IsValid() {
		dns = []Addr{r.user.dns} // pasta's or slirp4netns's forwarder
	}
	host, _ := os.ReadFile("/etc/resolv.conf")
	conf, n, dropped := ResolvConf(host, dns, ipv6)
	if n == 0 && len(dns) == 0 {
		// Only a local resolver on the host (systemd-resolved's stub):
		// the servers it forwards to, as docker reads them.
		if up, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			conf, n, _ = ResolvConf(up, nil, ipv6)
		}
	}
	for _, d := range dropped {
		r.Notes = append(r.Notes, "resolv.conf: left out the host's nameserver "+d+", which the command cannot reach")
	}
	if n == 0 {
		r.Notes = append(r.Notes, "resolv.conf: no nameserver the command can reach; give --dns")
	}
	var addrs []Addr
	for _, a := range r.Addrs {
		addrs = append(addrs, a.Addr)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"resolv.conf", conf}, {"hosts", Hosts(r.o.Hostname, addrs)}, {"hostname", []byte(r.o.Hostname + "\n")}} {
		if err := r.Dir.Write(f.name, f.b); err != nil {
			return fmt.Errorf("writing %s: %w", r.Dir.File(f.name), err)
		}
	}
	return nil
}

// Started is called once the command runs: its binds hold the files, the
// directory can go.
func (r *Run) Started() {
	r.Dir.Remove()
	r.Dir = nil
	r.closeNetns() // the command holds its namespace now
	if r.helper != nil && r.Reply != nil && !r.Reply.Stays {
		// It has exited, or is exiting: its reply was its last act.
		unix.Close(r.sock)
		r.sock = -1
		r.helper.Wait()
		r.helper = nil
	}
}

// Close undoes the run's network: the relay or user-mode stack stopped,
// the helper told (by EOF) and reaped, the table's socket closed (which
// deletes it), the ports released, the directory removed. What is left is
// the bridge and the sysctls every run shares.
func (r *Run) Close() {
	if r.user != nil {
		r.user.stop()
		r.user = nil
	}
	if r.sock >= 0 {
		unix.Close(r.sock)
		r.sock = -1
	}
	if r.helper != nil {
		waitOrKill(r.helper, 5*time.Second)
		r.helper = nil
	}
	if r.nftSock >= 0 {
		unix.Close(r.nftSock)
		r.nftSock = -1
	}
	r.closeNetns()
	r.res.Close()
	r.Dir.Remove()
	r.Dir = nil
}

// closeNetns lets go of the namespace the helper made: after the clone the
// command holds it; before (a failed start), nothing does any more, and
// the kernel frees it with the veth in it.
func (r *Run) closeNetns() {
	if r.nsfd >= 0 {
		unix.Close(r.nsfd)
		r.nsfd = -1
	}
}

// waitOrKill reaps p, killing it if it has not exited in time.
func waitOrKill(p *clone.Process, d time.Duration) clone.ExitStatus {
	done := make(chan clone.ExitStatus, 1)
	go func() {
		st, _ := p.Wait()
		done <- st
	}()
	select {
	case st := <-done:
		return st
	case <-time.After(d):
		p.Signal(unix.SIGKILL)
		return <-done
	}
}
