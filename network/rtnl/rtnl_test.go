package rtnl

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
)

// Every test runs in a network and mount namespace of its own (the test
// binary run again in new ones), so that the links, addresses and tables
// they make live there and vanish with it. What this package sends is
// checked against what the kernel reports back through another
// implementation: vishvananda/netlink's and google/nftables' dumps.
func TestMain(m *testing.M) {
	testutil.InOwnNetns("RAWNS_RTNL_TEST_NS")
	os.Exit(m.Run())
}

// testBridge makes a bridge with an address in each family, through
// vishvananda/netlink.
func testBridge(t *testing.T, name string) netlink.Link {
	t.Helper()
	la := netlink.NewLinkAttrs()
	la.Name = name
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		t.Fatal(err)
	}
	br, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netlink.LinkDel(br) })
	for _, a := range []string{"10.66.0.1/24", "fd66::1/64"} {
		addr, _ := netlink.ParseAddr(a)
		addr.Flags = unix.IFA_F_NODAD
		if err := netlink.AddrAdd(br, addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	return br
}

func sameNS(t *testing.T, a, b int) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Fstat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(b, &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func waitGone(t *testing.T, what string, gone func() bool) { testutil.WaitGone(t, what, gone) }

func TestLinkAndAddrs(t *testing.T) {
	testutil.RequireRoot(t)
	br := testBridge(t, "rtbr0")
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := c.LinkByName("rtbr0")
	if err != nil {
		t.Fatal(err)
	}
	a := br.Attrs()
	if l.Index != a.Index || l.Name != "rtbr0" || l.Kind != "bridge" || l.MTU != a.MTU || !l.Up() || l.Master != 0 {
		t.Errorf("LinkByName = %+v; the kernel's dump says index %d, mtu %d, flags %v", l, a.Index, a.MTU, a.Flags)
	}
	addrs, err := c.Addrs(l.Index)
	if err != nil {
		t.Fatal(err)
	}
	want, err := netlink.AddrList(br, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != len(want) {
		t.Fatalf("Addrs = %v, the kernel's dump %v", addrs, want)
	}
	for i, w := range want {
		bits, _ := w.Mask.Size()
		ip := w.IP.To4()
		if ip == nil {
			ip = w.IP
		}
		if !bytes.Equal(addrs[i].IP, ip) || addrs[i].Bits != bits || int(addrs[i].Scope) != w.Scope || addrs[i].Index != l.Index {
			t.Errorf("address %d: %+v, the kernel's dump %v scope %d", i, addrs[i], w.IPNet, w.Scope)
		}
	}
	if _, err := c.LinkByName("rtnosuch"); !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "looking up link rtnosuch: ") {
		t.Errorf("LinkByName of a missing link: %v, want ENODEV naming the step", err)
	}
}

func TestVethIntoNewNetns(t *testing.T) {
	testutil.RequireRoot(t)
	br := testBridge(t, "rtbr1")
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// NewNetns: a new namespace, and the thread back in its own.
	runtime.LockOSThread()
	before, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(before)
	nsfd, in, err := NewNetns()
	if err != nil {
		t.Fatal(err)
	}
	after, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	runtime.UnlockOSThread()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(after)
	if !sameNS(t, before, after) || sameNS(t, before, nsfd) {
		t.Fatal("NewNetns: the thread did not come back, or the namespace is not new")
	}

	mac := []byte{0x02, 0x72, 10, 66, 0, 2}
	mtu := 1400
	if err := c.AddVeth(Veth{Name: "rt1-2", Master: br.Attrs().Index, MTU: mtu, PeerName: "eth0", PeerNS: nsfd, PeerMAC: mac}); err != nil {
		t.Fatal(err)
	}
	host, err := netlink.LinkByName("rt1-2")
	if err != nil {
		t.Fatal(err)
	}
	if host.Type() != "veth" || host.Attrs().MasterIndex != br.Attrs().Index || host.Attrs().Flags&net.FlagUp == 0 || host.Attrs().MTU != mtu {
		t.Errorf("the host's end: type %s, master %d, flags %v, mtu %d", host.Type(), host.Attrs().MasterIndex, host.Attrs().Flags, host.Attrs().MTU)
	}
	on, err := c.LinksOn(br.Attrs().Index)
	if err != nil {
		t.Fatal(err)
	}
	if len(on) != 1 || on[0].Name != "rt1-2" || on[0].Kind != "veth" || on[0].Master != br.Attrs().Index {
		t.Errorf("LinksOn(bridge) = %+v, want the host end alone", on)
	}
	// The same name again: refused before anything is made.
	err = c.AddVeth(Veth{Name: "rt1-2", Master: br.Attrs().Index, PeerName: "eth1", PeerNS: nsfd})
	var e *Error
	if !errors.As(err, &e) || e.Errno != unix.EEXIST || !strings.HasPrefix(err.Error(), "creating veth rt1-2 with eth1 in the command's namespace: file exists") {
		t.Errorf("a second veth rt1-2: %v, want EEXIST naming the step", err)
	}

	err = in.Configure(Inside{LoUp: true, Link: "eth0",
		Addrs:    []Prefix{{IP: []byte{10, 66, 0, 2}, Bits: 24}, {IP: net.ParseIP("fd66::2"), Bits: 64}},
		Gateways: [][]byte{{10, 66, 0, 1}, net.ParseIP("fd66::1")}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(nsfd), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, err := h.LinkByIndex(1)
	if err != nil || lo.Attrs().Name != "lo" || lo.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("lo in the namespace: %v, %v", lo, err)
	}
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if eth0.Attrs().Flags&net.FlagUp == 0 || !bytes.Equal(eth0.Attrs().HardwareAddr, mac) || eth0.Attrs().MTU != mtu || eth0.Type() != "veth" {
		t.Errorf("eth0: flags %v, mac %v, mtu %d, type %s", eth0.Attrs().Flags, eth0.Attrs().HardwareAddr, eth0.Attrs().MTU, eth0.Type())
	}
	addrs, err := h.AddrList(eth0, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		if a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue // fe80::
		}
		s := a.IPNet.String()
		if a.Broadcast != nil {
			s += " brd " + a.Broadcast.String()
		}
		if a.Flags&unix.IFA_F_NODAD != 0 {
			s += " nodad"
		}
		got = append(got, s)
	}
	if w := "10.66.0.2/24 brd 10.66.0.255,fd66::2/64 nodad"; strings.Join(got, ",") != w {
		t.Errorf("eth0's addresses: %q, want %q", got, w)
	}
	routes, err := h.RouteList(eth0, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var gws []string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			gws = append(gws, fmt.Sprintf("default via %v proto %d table %d", r.Gw, r.Protocol, r.Table))
		}
	}
	if w := "default via 10.66.0.1 proto 3 table 254,default via fd66::1 proto 3 table 254"; strings.Join(gws, ",") != w {
		t.Errorf("eth0's default routes: %q, want %q", gws, w)
	}

	// An error names the step: a route through a gateway off every link.
	err = in.Configure(Inside{Link: "eth0", Gateways: [][]byte{{10, 67, 0, 1}}})
	if !errors.As(err, &e) || e.Errno != unix.ENETUNREACH || !strings.HasPrefix(err.Error(), "adding the default route via 10.67.0.1: ") {
		t.Errorf("a route via an unreachable gateway: %v, want ENETUNREACH naming the step", err)
	}
	if err := in.Configure(Inside{Link: "eth9"}); !errors.Is(err, unix.ENODEV) || !strings.HasPrefix(err.Error(), "eth9 in the command's namespace: looking up link eth9: ") {
		t.Errorf("Configure of a missing link: %v", err)
	}

	// The namespace's fds are its only holds (a socket holds its
	// namespace too): closed, the namespace goes, and the veth with it.
	h.Close()
	in.Close()
	unix.Close(nsfd)
	waitGone(t, "veth rt1-2", func() bool {
		_, err := netlink.LinkByName("rt1-2")
		return err != nil
	})
}

func TestChainExists(t *testing.T) {
	testutil.RequireRoot(t)
	nf, err := OpenNetfilter()
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	if ok, err := nf.ChainExists("rt-table", "rt-chain"); ok || err != nil {
		t.Fatalf("ChainExists without the table: %v, %v", ok, err)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := c.AddTable(&nftables.Table{Name: "rt-table", Family: nftables.TableFamilyINet})
	c.AddChain(&nftables.Chain{Name: "rt-chain", Table: tb})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.DelTable(tb); c.Flush() }()
	if ok, err := nf.ChainExists("rt-table", "rt-chain"); !ok || err != nil {
		t.Errorf("ChainExists of a chain made: %v, %v", ok, err)
	}
	if ok, err := nf.ChainExists("rt-table", "rt-other"); ok || err != nil {
		t.Errorf("ChainExists of another chain: %v, %v", ok, err)
	}
}

func TestIPString(t *testing.T) {
	for _, s := range []string{"10.0.0.1", "fd66::2", "::", "::1", "2001:db8:0:1:0:0:0:1", "1:2:3:4:5:6:7:8", "fe80::1:0:0:1"} {
		ip := net.ParseIP(s)
		if v4 := ip.To4(); v4 != nil && strings.Contains(s, ".") {
			ip = v4
		}
		if got, want := ipString(ip), ip.String(); got != want {
			t.Errorf("ipString(%s) = %s, want %s", s, got, want)
		}
	}
}
