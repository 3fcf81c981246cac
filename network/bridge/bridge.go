// Package bridge is the host side of rawns run --network bridge that is
// made once and shared, and of -p: the bridge and its addresses, the
// forwarding sysctls, the shared table BaseTable with the bridge's
// masquerade, and a run's nft table of DNAT rules for its published ports.
// It runs in the rawns-net helper, the only binary that links
// vishvananda/netlink and google/nftables (docs/network.md says why).
// rawns run starts the helper only when one of the shared pieces is
// missing or -p is asked; otherwise it connects the run itself
// (network.Run, network/rtnl), as the helper does then too
// (network.Connect). Nothing outlives the run but what every run shares:
// the bridge, the sysctls, and BaseTable:
//
//   - the veth pair is created with its peer already in the command's
//     namespace (RTM_NEWLINK with IFLA_NET_NS_FD on the peer), so it never
//     exists outside a namespace that dies with the command; a veth dies
//     with its peer;
//   - the address is derived, not leased: the host's end is named after
//     the host number it stands for (rn<bridge index>-<n>, hex), and
//     creating a link whose name exists fails with EEXIST, atomically, so
//     the link is the lease and dies with it;
//   - the masquerade is the bridge's, one chain for its subnets in
//     BaseTable, as docker has one rule per bridge: it matches only what
//     the bridge's subnets send, so it outlives no run's address;
//   - a run's table (-p) carries NFT_TABLE_F_OWNER (Linux 5.12+): the
//     kernel deletes it when the netlink socket that made it is closed,
//     and that socket is held by rawns run itself, so the table dies with
//     rawns however it dies. Before 5.12 the helper stays and deletes it
//     when rawns is gone, and CleanStale deletes the tables of runs whose
//     rawns and helper were both killed.
package bridge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/network"
	"github.com/rawns/rawns/network/rtnl"
)

// Setup is one run's network on the host, as it is made.
type Setup struct {
	req     *network.Request
	h       *netlink.Handle
	rt      *rtnl.Conn // the per-run requests, by hand (network/rtnl)
	br      netlink.Link
	subnets []network.Prefix // the bridge's: IPv4 first, then IPv6
	tables  *tables
	test    TestHooks
}

// TestHooks make the helper take paths a test could not reach otherwise
// (rawns-net reads them from RAWNS_NET_FAIL_AFTER and RAWNS_NET_NO_OWNER).
type TestHooks struct {
	// FailAfter makes Attach fail after the named step ("veth", "addr",
	// "rules"), and Prepare after "bridge" or "table": each step's
	// undoing is then checked for real.
	FailAfter string
	// NoOwner makes the table unowned, as before Linux 5.12.
	NoOwner bool
}

// errFailInjected is the error of a step that FailAfter names.
var errFailInjected = network.ErrFailInjected

// Prepare does what needs no network namespace yet: the bridge (created,
// with its subnets, when missing), the sysctls, and the run's nft table
// with its chains. owner names the table (the run's rawns: PID-START).
// With req.NewNetns the table is made on another goroutine meanwhile (the
// netlink and nftables sockets are separate, and the kernel takes
// separate locks: RTNL for the links, the nftables commit mutex for the
// table), since nothing else overlaps the helper's work then; otherwise
// all of it overlaps rawns's clone of the command.
func Prepare(req *network.Request, owner string, test TestHooks) (*Setup, error) {
	s := &Setup{req: req, test: test}
	name := "rawns-" + owner
	type made struct {
		t   *tables
		err error
	}
	var early chan made
	publish := len(req.Publish) > 0 // a table of the run's own: DNAT
	if req.NewNetns && publish {
		early = make(chan made, 1)
		go func() {
			t, err := newTables(name, req.Bridge, !test.NoOwner)
			early <- made{t, err}
		}()
	}
	// fail closes what was made, the early table included.
	fail := func(err error) (*Setup, error) {
		if early != nil && s.tables == nil {
			if m := <-early; m.t != nil {
				m.t.close()
			}
		}
		s.Close()
		return nil, err
	}
	var err error
	if s.h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return fail(fmt.Errorf("netlink: %w", err))
	}
	if s.rt, err = rtnl.Open(); err != nil {
		return fail(err)
	}
	if err := s.ensureBridge(); err != nil {
		return fail(err)
	}
	if err := s.sysctls(); err != nil {
		return fail(err)
	}
	if s.test.FailAfter == "bridge" {
		return fail(errFailInjected)
	}
	if err := ensureBase(s.br.Attrs().Name, s.subnets); err != nil {
		return fail(err)
	}
	if early != nil {
		m := <-early
		early = nil
		s.tables, err = m.t, m.err
	} else if publish {
		s.tables, err = newTables(name, s.br.Attrs().Name, !test.NoOwner)
	}
	if err != nil {
		return fail(err)
	}
	if s.test.FailAfter == "table" {
		return fail(errFailInjected)
	}
	return s, nil
}

// Close undoes what only Close can: an unowned table is deleted, the
// sockets are closed (which deletes an owned one unless its socket was
// handed over).
func (s *Setup) Close() {
	if s.tables != nil {
		s.tables.close()
	}
	if s.h != nil {
		s.h.Close()
		s.h = nil
	}
	s.rt.Close()
}

// Table returns the run's nft table, its owner's socket (-1 if unowned),
// for handing over to rawns; "" and -1 without one (no -p).
func (s *Setup) Table() (name string, sock int) {
	if s.tables == nil {
		return "", -1
	}
	return s.tables.name, s.tables.ownerFD()
}

// Owned reports whether the table dies with its socket (false without
// a table).
func (s *Setup) Owned() bool { return s.tables != nil && s.tables.owned }

// HasTable reports whether the run has a table of its own (-p).
func (s *Setup) HasTable() bool { return s.tables != nil }

// bridgeLock serialises the creation of a bridge between runs started at
// once, so that two do not give it different subnets: an abstract Unix
// socket name, which bind(2) grants one socket at a time in a network
// namespace and which the kernel releases when the socket is closed, also
// by a death: a lock without a file.
func bridgeLock(name string) (release func(), err error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	addr := &unix.SockaddrUnix{Name: "@rawns-net-bridge-" + name}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err = unix.Bind(fd, addr)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if err != unix.EADDRINUSE || time.Now().After(deadline) {
			unix.Close(fd)
			return nil, fmt.Errorf("locking bridge %s: %w", name, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// ensureBridge finds the bridge, or makes it, and learns its subnets.
func (s *Setup) ensureBridge() error {
	name := s.req.Bridge
	br, err := s.h.LinkByName(name)
	if err == nil {
		if br.Type() != "bridge" {
			return fmt.Errorf("--bridge %s: %s exists and is a %s, not a bridge; give another name", name, name, br.Type())
		}
		s.br = br
		if s.subnets, err = s.bridgeSubnets(); err != nil {
			return err
		}
		if len(s.subnets) > 0 && s.subnetsMatch() == nil && s.hasAsked() && br.Attrs().Flags&net.FlagUp != 0 {
			return nil // the common case: nothing to lock, nothing to add
		}
	}
	release, err := bridgeLock(name)
	if err != nil {
		return err
	}
	defer release()
	// Looked up again under the lock: another run may have made it.
	s.br, s.subnets = nil, nil
	if br, err = s.h.LinkByName(name); err == nil {
		if br.Type() != "bridge" {
			return fmt.Errorf("--bridge %s: %s exists and is a %s, not a bridge; give another name", name, name, br.Type())
		}
		s.br = br
		if s.subnets, err = s.bridgeSubnets(); err != nil {
			return err
		}
		if err := s.subnetsMatch(); err != nil {
			return err
		}
	} else {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("looking up bridge %s: %w", name, err)
		}
	}
	// What the bridge lacks: the subnets asked for, or the default. Each
	// is checked against the host's routes before anything is made.
	want := s.req.Subnets
	if len(want) == 0 && len(s.subnets) == 0 {
		want = []network.Prefix{network.DefaultSubnet}
	}
	var add []network.Prefix
	for _, p := range want {
		if !s.hasFamily(p.Addr.Is4()) {
			if err := s.checkOverlap(p); err != nil {
				return err
			}
			add = append(add, p)
		}
	}
	if s.br == nil {
		la := netlink.NewLinkAttrs()
		la.Name = name
		if err := s.h.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
			return fmt.Errorf("--bridge %s: creating it: %w", name, err)
		}
		if s.br, err = s.h.LinkByName(name); err != nil {
			return fmt.Errorf("--bridge %s: %w", name, err)
		}
	}
	for _, p := range add {
		a := &netlink.Addr{IPNet: ipNet(p.Nth(1), p.Bits)}
		if !p.Addr.Is4() {
			a.Flags = unix.IFA_F_NODAD // usable at once: nothing else holds it
		}
		if err := s.h.AddrAdd(s.br, a); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding %s to bridge %s: %w", a.IPNet, name, err)
		}
		s.subnets = append(s.subnets, p)
	}
	if len(s.subnets) > 1 && !s.subnets[0].Addr.Is4() {
		s.subnets[0], s.subnets[1] = s.subnets[1], s.subnets[0]
	}
	if err := s.h.LinkSetUp(s.br); err != nil {
		return fmt.Errorf("bringing bridge %s up: %w", name, err)
	}
	return nil
}

// hasAsked reports whether the bridge has a subnet in each family asked.
func (s *Setup) hasAsked() bool {
	for _, p := range s.req.Subnets {
		if !s.hasFamily(p.Addr.Is4()) {
			return false
		}
	}
	return true
}

func (s *Setup) hasFamily(v4 bool) bool {
	for _, p := range s.subnets {
		if p.Addr.Is4() == v4 {
			return true
		}
	}
	return false
}

// subnetsMatch refuses a --subnet that the existing bridge does not have
// in its family: one bridge, one subnet per family.
func (s *Setup) subnetsMatch() error {
	for _, want := range s.req.Subnets {
		for _, have := range s.subnets {
			if have.Addr.Is4() == want.Addr.Is4() && have != want {
				return fmt.Errorf("--subnet %s: bridge %s already routes %s; give that subnet, or --bridge NAME for a bridge of its own", want, s.req.Bridge, have)
			}
		}
	}
	return nil
}

// bridgeSubnets reads the subnets of the bridge's global addresses (the
// gateway is the bridge's address), IPv4 first.
func (s *Setup) bridgeSubnets() ([]network.Prefix, error) {
	// One dump of both families (one netlink round trip on every run).
	addrs, err := s.h.AddrList(s.br, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("reading the addresses of bridge %s: %w", s.req.Bridge, err)
	}
	var out []network.Prefix
	for _, v4 := range []bool{true, false} {
		for _, a := range addrs {
			if a.Scope != unix.RT_SCOPE_UNIVERSE {
				continue // fe80::
			}
			bits, _ := a.Mask.Size()
			p := network.Prefix{Addr: addrOf(a.IP), Bits: bits}.Masked()
			if p.Addr.Is4() == v4 && !hasFam(out, v4) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func hasFam(ps []network.Prefix, v4 bool) bool {
	for _, p := range ps {
		if p.Addr.Is4() == v4 {
			return true
		}
	}
	return false
}

// checkOverlap refuses a subnet that overlaps a route of the host (other
// than a default route): the containers would hide hosts of that network.
func (s *Setup) checkOverlap(p network.Prefix) error {
	fam := unix.AF_INET
	if !p.Addr.Is4() {
		fam = unix.AF_INET6
	}
	var routes []netlink.Route
	var err error
	for try := 0; try < 5; try++ {
		// A dump that other runs' new links interrupted is retried.
		if routes, err = s.h.RouteList(nil, fam); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("reading the host's routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil || s.br != nil && r.LinkIndex == s.br.Attrs().Index {
			continue
		}
		bits, _ := r.Dst.Mask.Size()
		rp := network.Prefix{Addr: addrOf(r.Dst.IP), Bits: bits}
		if bits == 0 || fe80(rp) || !rp.Overlaps(p) {
			continue // a default route, or another network
		}
		dev := ""
		if l, err := s.h.LinkByIndex(r.LinkIndex); err == nil {
			dev = " dev " + l.Attrs().Name
		}
		what := "--subnet " + p.String()
		if len(s.req.Subnets) == 0 {
			what = "bridge " + s.req.Bridge + "'s default subnet " + p.String()
		}
		return fmt.Errorf("%s overlaps the host's route %s%s; give --subnet with a range the host does not route", what, rp, dev)
	}
	return nil
}

// fe80 reports link-local and multicast IPv6 routes, which every
// interface has and no bridge subnet can clash with.
func fe80(p network.Prefix) bool {
	b := p.Addr.As16()
	return !p.Addr.Is4() && (b[0] == 0xfe && b[1]&0xc0 == 0x80 || b[0] == 0xff)
}

// sysctls turns on what routing for the bridge needs, in the host's
// network namespace, for every run alike (docs/network.md lists them):
// IPv4 forwarding, and IPv6 forwarding when the bridge has IPv6; and
// route_localnet on the bridge, so that a connection to 127.0.0.1 that
// the output chain DNATs to a container may leave through the bridge.
func (s *Setup) sysctls() error {
	w := func(path string) error {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == "1" {
			return nil
		}
		if err := os.WriteFile(path, []byte("1\n"), 0); err != nil {
			return fmt.Errorf("setting %s: %w", strings.TrimPrefix(path, "/proc/sys/"), err)
		}
		return nil
	}
	if err := w("/proc/sys/net/ipv4/ip_forward"); err != nil {
		return err
	}
	if err := w("/proc/sys/net/ipv4/conf/" + s.br.Attrs().Name + "/route_localnet"); err != nil {
		return err
	}
	if s.hasFamily(false) {
		return w("/proc/sys/net/ipv6/conf/all/forwarding")
	}
	return nil
}

// linkPrefix is the name prefix of this bridge's host ends.
func (s *Setup) linkPrefix() string {
	return "rn" + strconv.FormatUint(uint64(s.br.Attrs().Index), 16) + "-"
}

// NewNetns makes a network namespace for the command and returns an fd of
// it (close-on-exec), for rawns to clone the command into
// (network.Request.NewNetns), and a netlink socket in it for Attach
// (rtnl.NewNetns: unshare(2) on a locked thread, which goes back to its
// own namespace before it is unlocked).
func NewNetns() (int, *rtnl.Conn, error) { return rtnl.NewNetns() }

// Attach connects the command's network namespace (an fd of it, and a
// netlink socket in it from NewNetns, or nil to open one): the veth pair,
// eth0's addresses and routes (network.Connect, as rawns run does it
// itself when nothing shared is missing), then the run's DNAT rules; lo
// too when the namespace is new (NewNetns: no clone brings it up). On an
// error, nothing of it is left once the command's namespace is gone (its
// last fd closed, or the held command killed) and the table is closed.
func (s *Setup) Attach(nsfd int, in *rtnl.Conn, loUp bool) (*network.Reply, error) {
	if in == nil {
		var err error
		if in, err = rtnl.OpenIn(nsfd); err != nil {
			return nil, err
		}
	}
	defer in.Close() // it holds the namespace: closed whatever happens
	br := &network.BridgeLink{Name: s.br.Attrs().Name, Index: s.br.Attrs().Index, MTU: s.br.Attrs().MTU, Subnets: s.subnets}
	rep, err := network.Connect(s.rt, in, br, nsfd, loUp, s.test.FailAfter)
	if err != nil {
		return nil, err
	}
	if s.tables != nil {
		if err := s.tables.rules(rep.Addrs, s.req.Publish); err != nil {
			return nil, err
		}
		rep.Table = s.tables.name
		rep.Owned = s.tables.owned
	}
	if s.test.FailAfter == "rules" {
		return nil, errFailInjected
	}
	return rep, nil
}

func ipOf(a network.Addr) net.IP {
	if a.Is4() {
		b := a.As4()
		return net.IP(b[:])
	}
	b := a.As16()
	return net.IP(b[:])
}

func addrOf(ip net.IP) network.Addr {
	if v4 := ip.To4(); v4 != nil {
		return network.AddrFrom4([4]byte(v4))
	}
	return network.AddrFrom16([16]byte(ip.To16()))
}

func ipNet(a network.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: ipOf(a), Mask: net.CIDRMask(bits, a.BitLen())}
}

// CleanStale deletes the nft tables of runs whose rawns is gone, which
// only a kernel without the owner flag leaves (a helper killed together
// with its rawns): tables named rawns-PID-START whose process is not that
// one any more. Owned tables of other runs are alive by definition.
func CleanStale() ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	tabs, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, t := range tabs {
		owner, ok := strings.CutPrefix(t.Name, "rawns-")
		if !ok || t.Flags&tableFlagOwner != 0 {
			continue
		}
		pid, start, ok := splitOwner(owner)
		if !ok {
			continue
		}
		if st, err := network.ProcStart(pid); err == nil && st == start {
			continue
		}
		c.DelTable(t)
		if err := c.Flush(); err == nil {
			gone = append(gone, t.Name)
		}
	}
	return gone, nil
}

func splitOwner(s string) (int, uint64, bool) {
	p, st, ok := strings.Cut(s, "-")
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(st, 10, 64)
	return pid, start, ok && err1 == nil && err2 == nil
}
