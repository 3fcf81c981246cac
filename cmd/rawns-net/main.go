// Command rawns-net is the host side of rawns run --network bridge, a
// sibling binary of rawns as rawns-trace is: it is the only one that links
// vishvananda/netlink and google/nftables, whose package initialisation
// (about 0.2 ms and 15 KB of allocations here, net and net/netip with
// them) every rawns run would otherwise pay, --network or not
// (docs/network.md has the figures).
//
//	rawns-net setup    the helper of one run; stdin is a SOCK_SEQPACKET
//	                   socket to rawns run (network/wire.go has the
//	                   conversation)
//	rawns-net clean    delete the nft tables of runs whose rawns is gone
//	                   (only a kernel without NFT_TABLE_F_OWNER, before
//	                   5.12, leaves any), and the shared table that keeps
//	                   the netfilter hooks registered between runs
//	                   (bridge.BaseTable)
//
// rawns run starts the helper itself, first thing in the run: the helper
// makes the command's network namespace and connects it (bridge, table,
// veth, addresses, routes, rules) while rawns prepares the rest, and
// rawns clones the command into it; with a user namespace made by the
// clone, the helper connects the held command's namespace instead.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/network"
	"github.com/rawns/rawns/network/bridge"
	"github.com/rawns/rawns/network/rtnl"
)

// init runs on the main thread, and main will too once locked there.
func init() { runtime.LockOSThread() }

func main() {
	if len(os.Args) == 2 && os.Args[1] == "setup" {
		os.Exit(setup())
	}
	if len(os.Args) == 2 && os.Args[1] == "clean" {
		gone, err := bridge.CleanStale()
		for _, t := range gone {
			fmt.Println("removed nft table", t)
		}
		if err == nil {
			var had bool
			if had, err = bridge.CleanBase(); had {
				fmt.Println("removed nft table", bridge.BaseTable, "(the next bridge run makes it again)")
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "rawns-net clean: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "usage: rawns-net setup (run by rawns run --network bridge, stdin its socket) | rawns-net clean")
	os.Exit(2)
}

// sock is the socket to rawns run.
const sock = 0

// setup is the helper of one run. Whatever fails, the reply says why in
// one line and the helper exits; what it made goes with it (the table)
// or with the command's namespace (the veth), which rawns then kills.
func setup() int {
	// rawns cloned the helper with PR_SET_PDEATHSIG SIGKILL, which would
	// kill it with rawns before it could delete an unowned table. Its
	// socket to rawns says the same without the haste: EOF comes when
	// rawns is gone, however it went, and the helper then undoes what is
	// its to undo and exits. The signal is the main thread's alone (a new
	// thread starts with none), so it is cleared there: init locked main
	// to it.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return fail(err)
	}
	msg, pfds, err := network.Recv(sock)
	if err != nil || msg == nil {
		return 1 // rawns is gone
	}
	req, err := network.ParseRequest(msg)
	if err != nil {
		return fail(err)
	}
	if len(pfds) != len(req.Proxies) {
		return fail(fmt.Errorf("the request came with %d fds for %d proxies", len(pfds), len(req.Proxies)))
	}
	ppid := os.Getppid()
	start, err := network.ProcStart(ppid)
	if err != nil {
		return fail(err)
	}
	// Test hooks (docs/network.md): a failure after a step, the path of
	// kernels without the owner flag.
	test := bridge.TestHooks{FailAfter: os.Getenv("RAWNS_NET_FAIL_AFTER"), NoOwner: os.Getenv("RAWNS_NET_NO_OWNER") == "1"}
	// The command's namespace, when the helper makes it, is made on
	// another thread while this one prepares the host's side.
	type made struct {
		fd  int
		in  *rtnl.Conn
		err error
	}
	var newNS chan made
	if req.NewNetns {
		newNS = make(chan made, 1)
		go func() {
			fd, in, err := bridge.NewNetns()
			newNS <- made{fd, in, err}
		}()
	}
	s, err := bridge.Prepare(req, strconv.Itoa(ppid)+"-"+strconv.FormatUint(start, 10), test)
	if err != nil {
		return fail(err) // the namespace, if made, goes with the helper's exit
	}
	defer s.Close()
	if s.HasTable() && !s.Owned() {
		// Without the owner flag, a killed run's table outlives it:
		// remove those of runs that are gone.
		bridge.CleanStale()
	}

	// The command's namespace: made here (Request.NewNetns), or from
	// rawns run's Hold.
	var nsfd int
	var in *rtnl.Conn
	if req.NewNetns {
		m := <-newNS
		if m.err != nil {
			return fail(m.err)
		}
		nsfd, in = m.fd, m.in
	} else {
		msg, fds, err := network.Recv(sock)
		if err != nil || msg == nil {
			return 1
		}
		if string(msg) != "netns" || len(fds) != 1 {
			return fail(fmt.Errorf("malformed netns message %q with %d fds", msg, len(fds)))
		}
		nsfd = fds[0]
	}
	// Whatever happens next, the helper lets go of the namespace before
	// it waits for rawns: a helper that stays must not keep the command's
	// namespace (and its veth) alive after the command.
	defer func() {
		if nsfd >= 0 {
			unix.Close(nsfd)
		}
	}()
	rep, err := s.Attach(nsfd, in, req.NewNetns)
	if err != nil {
		return fail(err)
	}
	var proxies []*bridge.Proxy
	target := rep.Addrs[0].Addr // IPv4 when the command has it
	for i, idx := range req.Proxies {
		p := req.Publish[idx]
		if !bridge.NeedsProxy(p, rep.Addrs) {
			unix.Close(pfds[i])
			continue
		}
		px, err := bridge.NewProxy(pfds[i], target, p.Port)
		unix.Close(pfds[i])
		if err != nil {
			return fail(fmt.Errorf("-p %s: listening: %w", p, err))
		}
		proxies = append(proxies, px)
	}
	if os.Getenv("RAWNS_NET_STALL") == "1" {
		// Test hook: everything is made, nothing is handed over yet; wait
		// until rawns is gone (a test kills it here) and go on, to find
		// it gone: what it leaves then must go by itself.
		untilEOF()
	}
	rep.Stays = rep.Table != "" && !rep.Owned || len(proxies) > 0
	_, owner := s.Table()
	var give []int
	if owner >= 0 {
		give = []int{owner}
	}
	if req.NewNetns {
		give = append(give, nsfd)
	}
	if err := network.Send(sock, rep.Marshal(), give...); err != nil {
		return 1
	}
	if !rep.Stays {
		return 0 // the table lives on in rawns's copy of the socket
	}
	unix.Close(nsfd) // rawns's copy, then the command, hold it now
	nsfd = -1
	for _, px := range proxies {
		go px.Serve()
	}
	// Until rawns is gone: its end of the socket closes when it exits,
	// whichever way. Then the deferred Close deletes an unowned table.
	untilEOF()
	for _, px := range proxies {
		px.Close()
	}
	return 0
}

// untilEOF reads the socket to rawns until EOF: until rawns is gone.
func untilEOF() {
	var b [1]byte
	for {
		n, err := unix.Read(sock, b[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return
		}
	}
}

// fail sends the reason and returns the exit code.
func fail(err error) int {
	network.Send(sock, (&network.Reply{Err: err.Error()}).Marshal())
	return 1
}
