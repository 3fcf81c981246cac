package bridge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/network"
	"github.com/rawns/rawns/network/rtnl"
)

// Every test of this package runs in a network and mount namespace of its
// own: TestMain runs the test binary again in new ones, so that the
// bridges, veths, nft tables and sysctls the tests make live there and
// nowhere else, and vanish with them. The tests talk to no address.
func TestMain(m *testing.M) {
	testutil.InOwnNetns("RAWNS_BRIDGE_TEST_NS")
	if os.Geteuid() == 0 {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "lo:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// newNetns makes a network namespace with no process in it, as the held
// command's is: it lives as long as the fd the test holds.
func newNetns(t testing.TB) int {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := netns.Set(orig); err != nil {
		panic(err) // this thread would stay in the new namespace
	}
	return int(ns)
}

// sameNetns reports whether two nsfs fds name one namespace.
func sameNetns(a, b int) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(a, &sa); err != nil {
		return false, err
	}
	if err := unix.Fstat(b, &sb); err != nil {
		return false, err
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// closeNetns closes a namespace's fd and waits, with a bound, until the
// host's end of the veth in it is gone: the kernel frees a namespace
// asynchronously.
func closeNetns(t *testing.T, fd int, link string) {
	t.Helper()
	unix.Close(fd)
	waitGone(t, "veth "+link, func() bool {
		_, err := netlink.LinkByName(link)
		return err != nil
	})
}

func waitGone(t *testing.T, what string, gone func() bool) { testutil.WaitGone(t, what, gone) }

func tableNames(t *testing.T) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tabs, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range tabs {
		names = append(names, tb.Name)
	}
	return names
}

func hasTable(t *testing.T, name string) bool {
	for _, n := range tableNames(t) {
		if n == name {
			return true
		}
	}
	return false
}

func req(bridge string, subnets ...string) *network.Request {
	r := &network.Request{Bridge: bridge}
	for _, s := range subnets {
		p, err := network.ParsePrefix(s)
		if err != nil {
			panic(err)
		}
		r.Subnets = append(r.Subnets, p)
	}
	return r
}

func TestPrepareAndAttach(t *testing.T) {
	testutil.RequireRoot(t)
	// newNS: the namespace made by NewNetns, as rawns-net makes it for
	// Request.NewNetns, with lo brought up by Attach.
	for _, c := range []struct{ owned, newNS bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
		owned := c.owned
		t.Run(fmt.Sprintf("owned=%v,newnetns=%v", owned, c.newNS), func(t *testing.T) {
			r := req("rwt0", "10.77.0.0/24", "fd72:6177:6e73:77::/64")
			p, _ := network.ParsePublish("127.0.0.1:8080:80")
			r.Publish = []network.Publish{p}
			r.NewNetns = c.newNS // Prepare makes the table on a goroutine of its own then
			// NoOwner: the path of kernels before 5.12, here on this one.
			s, err := Prepare(r, "1-2", TestHooks{NoOwner: !owned})
			if err != nil {
				t.Fatal(err)
			}
			if owned && !s.Owned() {
				s.Close()
				t.Skip("this kernel has no NFT_TABLE_F_OWNER (Linux 5.12+): the table is plain, as owned=false tests")
			}
			if s.Owned() != owned {
				t.Fatalf("Owned() = %v", s.Owned())
			}
			ns := -1
			var in *rtnl.Conn
			if c.newNS {
				if ns, in, err = NewNetns(); err != nil {
					t.Fatal(err)
				}
			} else {
				ns = newNetns(t)
			}
			rep, err := s.Attach(ns, in, c.newNS)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Addrs) != 2 || rep.Addrs[0].String() != "10.77.0.2/24" || rep.Addrs[1].String() != "fd72:6177:6e73:77::2/64" ||
				rep.Gateways[0].String() != "10.77.0.1" || !strings.HasPrefix(rep.Link, "rn") || rep.Table != "rawns-1-2" {
				t.Fatalf("reply %+v", rep)
			}
			// Inside: eth0 up with both addresses and a default route each.
			h, err := netlink.NewHandleAt(netns.NsHandle(ns), unix.NETLINK_ROUTE)
			if err != nil {
				t.Fatal(err)
			}
			eth0, err := h.LinkByName("eth0")
			if err != nil || eth0.Attrs().Flags&net.FlagUp == 0 {
				t.Fatalf("eth0: %v %v", eth0, err)
			}
			if eth0.Attrs().HardwareAddr.String() != "02:72:0a:4d:00:02" {
				t.Errorf("eth0's MAC %s is not derived from its address", eth0.Attrs().HardwareAddr)
			}
			if lo, err := h.LinkByName("lo"); err != nil || (lo.Attrs().Flags&net.FlagUp != 0) != c.newNS {
				t.Errorf("lo: %v %v (up only when Attach was asked to bring it up)", lo, err)
			}
			if self, err := netns.Get(); err == nil {
				if same, _ := sameNetns(int(self), ns); same {
					t.Error("the namespace is the test's own")
				}
				self.Close()
			}
			for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
				routes, _ := h.RouteList(eth0, fam)
				def := false
				for _, rt := range routes {
					bits := 0
					if rt.Dst != nil {
						bits, _ = rt.Dst.Mask.Size()
					}
					def = def || bits == 0 && rt.Gw != nil
				}
				if !def {
					t.Errorf("no default route in family %d: %v", fam, routes)
				}
			}
			h.Close()
			if !hasTable(t, "rawns-1-2") {
				t.Fatal("no table rawns-1-2")
			}
			if has, err := CheckBase(); !has || err != nil {
				t.Fatalf("the shared table %s: there %v, %v", BaseTable, has, err)
			}
			br, _ := netlink.LinkByName("rwt0")
			if m, _ := netlink.LinkByName(rep.Link); m == nil || m.Attrs().MasterIndex != br.Attrs().Index {
				t.Fatalf("%s is not on the bridge", rep.Link)
			}
			for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/rwt0/route_localnet", "/proc/sys/net/ipv6/conf/all/forwarding"} {
				if b, _ := os.ReadFile(f); strings.TrimSpace(string(b)) != "1" {
					t.Errorf("%s is %q", f, b)
				}
			}
			s.Close()
			closeNetns(t, ns, rep.Link)
			if hasTable(t, "rawns-1-2") {
				t.Fatal("the table outlived Close")
			}
		})
	}
}

// TestOwnedTableLivesWithItsSocket: the owner's socket handed over (as to
// rawns) keeps the table after the helper's Close, and takes it along
// when closed.
func TestOwnedTableLivesWithItsSocket(t *testing.T) {
	testutil.RequireRoot(t)
	r := req("rwt1", "10.78.0.0/24")
	p, _ := network.ParsePublish("127.0.0.1:8080:80")
	r.Publish = []network.Publish{p} // a table of the run's own
	s, err := Prepare(r, "3-4", TestHooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Owned() {
		t.Skip("this kernel has no NFT_TABLE_F_OWNER (Linux 5.12+): TestPrepareAndAttach/owned=false covers the helper's own delete")
	}
	_, fd := s.Table()
	kept, err := unix.Dup(fd) // as SCM_RIGHTS gives rawns its own
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !hasTable(t, "rawns-3-4") {
		t.Fatal("the table died with the helper's fd while rawns holds the socket")
	}
	unix.Close(kept)
	waitGone(t, "table rawns-3-4", func() bool { return !hasTable(t, "rawns-3-4") })
}

// TestTenAtOnce: ten runs attached at once get ten distinct addresses,
// each claimed by the name of its veth.
func TestTenAtOnce(t *testing.T) {
	testutil.RequireRoot(t)
	var wg sync.WaitGroup
	reps := make([]*network.Reply, 10)
	errs := make([]error, 10)
	nss := make([]int, 10)
	setups := make([]*Setup, 10)
	for i := range reps {
		nss[i] = newNetns(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Prepare(req("rwt2"), fmt.Sprintf("%d-1", 100+i), TestHooks{})
			if err != nil {
				errs[i] = err
				return
			}
			setups[i] = s
			reps[i], errs[i] = s.Attach(nss[i], nil, false)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, rep := range reps {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		a := rep.Addrs[0].String()
		if seen[a] {
			t.Errorf("address %s given twice", a)
		}
		seen[a] = true
		if !network.DefaultSubnet.Contains(rep.Addrs[0].Addr) {
			t.Errorf("%s is not in the default subnet", a)
		}
	}
	for i := range reps {
		setups[i].Close()
		closeNetns(t, nss[i], reps[i].Link)
	}
	// An address is free again once its namespace is gone.
	s, err := Prepare(req("rwt2"), "200-1", TestHooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ns := newNetns(t)
	rep, err := s.Attach(ns, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Addrs[0].String(); got != "10.90.0.2/24" {
		t.Errorf("after all left, the first run gets %s, want 10.90.0.2/24", got)
	}
	closeNetns(t, ns, rep.Link)
}

// TestRefusals: what the helper refuses, in one line naming the flag.
func TestRefusals(t *testing.T) {
	testutil.RequireRoot(t)
	// A host route to a network the test makes: a veth into a namespace
	// of its own, 10.200.0.0/24 on it.
	other := newNetns(t)
	defer unix.Close(other)
	la := netlink.NewLinkAttrs()
	la.Name = "rwtup"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "up1", PeerNamespace: netlink.NsFd(other)}); err != nil {
		t.Fatal(err)
	}
	up, _ := netlink.LinkByName("rwtup")
	addr, _ := netlink.ParseAddr("10.200.0.1/24")
	if err := netlink.AddrAdd(up, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(up); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(req("rwt3", "10.200.0.0/16"), "5-6", TestHooks{}); err == nil || !strings.Contains(err.Error(), "--subnet 10.200.0.0/16 overlaps the host's route 10.200.0.0/24 dev rwtup") {
		t.Errorf("overlap: %v", err)
	}
	if _, err := netlink.LinkByName("rwt3"); err == nil {
		t.Error("a bridge was made for a refused subnet")
	}
	s, err := Prepare(req("rwt4", "10.79.0.0/24"), "7-8", TestHooks{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Prepare(req("rwt4", "10.80.0.0/24"), "7-8", TestHooks{}); err == nil || !strings.Contains(err.Error(), "--subnet 10.80.0.0/24: bridge rwt4 already routes 10.79.0.0/24") {
		t.Errorf("another subnet on an existing bridge: %v", err)
	}
	if _, err := Prepare(req("lo"), "7-8", TestHooks{}); err == nil || !strings.Contains(err.Error(), "--bridge lo: lo exists and is a device, not a bridge") {
		t.Errorf("--bridge lo: %v", err)
	}
	for _, n := range tableNames(t) {
		if n == "rawns-5-6" || n == "rawns-7-8" {
			t.Errorf("a refused run left table %s", n)
		}
	}
}

// TestFailureLeavesNothing fails each step in turn, for real, and looks
// for what it could have left: the veth (after the namespace is gone, as
// when rawns kills the held command) and the table.
func TestFailureLeavesNothing(t *testing.T) {
	testutil.RequireRoot(t)
	for _, step := range []string{"bridge", "table", "veth", "addr", "rules"} {
		// newNS: the helper's own namespace (Request.NewNetns), whose
		// table Prepare makes on a goroutine of its own.
		for _, c := range []struct{ owned, newNS bool }{{true, false}, {false, false}, {true, true}, {false, true}} {
			owned := c.owned
			r := req("rwt5", "10.81.0.0/24")
			r.NewNetns = c.newNS
			s, err := Prepare(r, "9-9", TestHooks{FailAfter: step, NoOwner: !owned})
			var attachErr error
			ns := -1
			var in *rtnl.Conn
			if err == nil {
				if c.newNS {
					if ns, in, err = NewNetns(); err != nil {
						t.Fatal(err)
					}
				} else {
					ns = newNetns(t)
				}
				_, attachErr = s.Attach(ns, in, c.newNS)
				s.Close() // the helper exits on the error
			}
			if err == nil && attachErr == nil || !errors.Is(err, errFailInjected) && !errors.Is(attachErr, errFailInjected) {
				t.Fatalf("%s: %v / %v, want the injected failure", step, err, attachErr)
			}
			if ns >= 0 {
				unix.Close(ns)
			}
			waitGone(t, "the veth of a failed "+step, func() bool {
				links, _ := netlink.LinkList()
				for _, l := range links {
					if strings.HasPrefix(l.Attrs().Name, "rn") {
						return false
					}
				}
				return true
			})
			if hasTable(t, "rawns-9-9") {
				t.Fatalf("failing after %s (owned %v, newnetns %v) left the table", step, owned, c.newNS)
			}
		}
	}
}

// TestCleanStale removes the unowned table of a run that is gone, and
// keeps a live one's.
func TestCleanStale(t *testing.T) {
	testutil.RequireRoot(t)
	start, err := network.ProcStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	live := fmt.Sprintf("rawns-%d-%d", os.Getpid(), start)
	dead := fmt.Sprintf("rawns-%d-%d", os.Getpid(), start+1) // that pid never had that start time
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{live, dead, "other"} {
		c.AddTable(&nftables.Table{Name: n, Family: nftables.TableFamilyINet})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	gone, err := CleanStale()
	if err != nil || !slices.Contains(gone, dead) || slices.Contains(gone, live) {
		t.Fatalf("CleanStale() = %v, %v; want %s among them, and not %s", gone, err, dead, live)
	}
	if !hasTable(t, live) || !hasTable(t, "other") || hasTable(t, dead) {
		t.Fatalf("tables left: %v", tableNames(t))
	}
	for _, n := range []string{live, "other"} {
		c.DelTable(&nftables.Table{Name: n, Family: nftables.TableFamilyINet})
	}
	c.Flush()
}

// TestBaseTable: the table that keeps the hooks registered is made by a
// run, left by the stale cleanup and by the run's end, and removed by
// CleanBase (rawns-net clean); a rule added to it is reported.
func TestBaseTable(t *testing.T) {
	testutil.RequireRoot(t)
	CleanBase()
	s, err := Prepare(req("rwt6", "10.82.0.0/24", "fd72:6177:6e73:82::/64"), "11-12", TestHooks{})
	if err != nil {
		t.Fatal(err)
	}
	ns := newNetns(t)
	rep, err := s.Attach(ns, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	// Without -p a run has no table of its own: the bridge's NAT chain
	// in the base masquerades it.
	if name, fd := s.Table(); s.HasTable() || name != "" || fd != -1 || rep.Table != "" || hasTable(t, "rawns-11-12") {
		t.Errorf("a run without -p made a table of its own: %q %d %q", name, fd, rep.Table)
	}
	s.Close()
	closeNetns(t, ns, rep.Link)
	nf, err := rtnl.OpenNetfilter()
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	if ok, err := nf.ChainExists(BaseTable, network.NATChain("rwt6")); !ok || err != nil {
		t.Fatalf("the bridge's NAT chain %s: %v, %v", network.NATChain("rwt6"), ok, err)
	}
	{
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		base := &nftables.Table{Name: BaseTable, Family: nftables.TableFamilyINet}
		rules, err := c.GetRules(base, &nftables.Chain{Name: network.NATChain("rwt6"), Table: base})
		if err != nil || len(rules) != 5 {
			t.Fatalf("the NAT chain of a bridge with IPv4 and IPv6: %d rules, %v; want 3 + 2", len(rules), err)
		}
	}
	if _, err := CleanStale(); err != nil {
		t.Fatal(err)
	}
	if has, err := CheckBase(); !has || err != nil {
		t.Fatalf("after a run and the stale cleanup, %s: there %v, %v", BaseTable, has, err)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	base := &nftables.Table{Name: BaseTable, Family: nftables.TableFamilyINet}
	c.AddRule(&nftables.Rule{Table: base, Chain: &nftables.Chain{Name: "input", Table: base}, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckBase(); err == nil || !strings.Contains(err.Error(), "chain input has 1 rules") {
		t.Errorf("CheckBase with a rule in it: %v", err)
	}
	if had, err := CleanBase(); !had || err != nil {
		t.Fatalf("CleanBase() = %v, %v", had, err)
	}
	if has, err := CheckBase(); has || err != nil {
		t.Fatalf("after CleanBase: there %v, %v", has, err)
	}
	if had, err := CleanBase(); had || err != nil {
		t.Fatalf("CleanBase() again = %v, %v; want false, nil", had, err)
	}
}

// BenchmarkSetup is the host side of one run in process, in its phases:
// Prepare (the bridge found, the shared table's batch; no table of the
// run's own without -p), Attach (the veth born in the namespace,
// addresses, routes) and the release (nothing left to release without a
// table). What rawns run adds around it is in rawns bench
// --whole's network rows (docs/benchmarks.md, "The network").
//
//	go test -run '^$' -bench Setup -benchtime 100x ./network/bridge/
func BenchmarkSetup(b *testing.B) {
	testutil.RequireRoot(b)
	var prep, attach, release time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s, err := Prepare(req("rwb0", "10.81.0.0/24"), fmt.Sprintf("7-%d", i), TestHooks{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		ns := newNetns(b)
		t2 := time.Now()
		if _, err := s.Attach(ns, nil, false); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		_, fd := s.Table()
		kept := -1
		if fd >= 0 {
			kept, _ = unix.Dup(fd) // as rawns holds it
		}
		s.Close()
		if kept >= 0 {
			unix.Close(kept)
		}
		t4 := time.Now()
		unix.Close(ns)
		prep += t1.Sub(t0)
		attach += t3.Sub(t2)
		release += t4.Sub(t3)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(prep), "ms/prepare")
	b.ReportMetric(ms(attach), "ms/attach")
	b.ReportMetric(ms(release), "ms/release")
}
