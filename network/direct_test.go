package network_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/network"
	"github.com/rawns/rawns/network/bridge"
)

// TestMain runs the tests that make links (TestDirect, BenchmarkDirect)
// in a network and mount namespace of their own (the test binary again,
// in new ones): the bridge, the veths and the tables live there alone.
func TestMain(m *testing.M) {
	testutil.InOwnNetns("RAWNS_NETWORK_TEST_NS")
	os.Exit(m.Run())
}

// shared makes what every bridge run shares, as rawns-net does on first
// use: the bridge with its subnet, the sysctls, rawns-base with the
// bridge's NAT chain.
func shared(t testing.TB, name, subnet string) {
	t.Helper()
	p, err := network.ParsePrefix(subnet)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bridge.Prepare(&network.Request{Bridge: name, Subnets: []network.Prefix{p}}, "1-1", bridge.TestHooks{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestDirect: with the shared pieces in place, Start connects the run in
// process (no helper: none could be found next to a test binary) and
// Ready hands over the namespace; Close lets go of it, and the veth goes
// with it.
func TestDirect(t *testing.T) {
	testutil.RequireRoot(t)
	shared(t, "rwd0", "10.83.0.0/24")
	o := &network.Options{Mode: network.Bridge, Bridge: "rwd0", NewNetns: true}
	r, err := network.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	// The lowest free host number: 2, unless an earlier round's veth is
	// still being torn down (-count).
	sub, _ := network.ParsePrefix("10.83.0.0/24")
	if !r.Direct || r.Reply == nil || len(r.Addrs) != 1 || !sub.Contains(r.Addrs[0].Addr) || r.Addrs[0].Bits != 24 || r.Addrs[0].Addr == sub.Nth(1) ||
		!strings.HasPrefix(r.Reply.Link, "rn") || len(r.Reply.Gateways) != 1 || r.Reply.Gateways[0] != sub.Nth(1) {
		t.Fatalf("Start: direct %v, reply %+v", r.Direct, r.Reply)
	}
	fd, err := r.Ready()
	if err != nil || fd < 0 {
		t.Fatalf("Ready: %d, %v", fd, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	r.Close()
	testutil.WaitGone(t, "veth "+r.Reply.Link, func() bool {
		_, err := os.Stat("/sys/class/net/" + r.Reply.Link)
		return err != nil
	})
}

// BenchmarkDirect is what rawns run itself spends on a bridge run without
// -p, in process: the checks (the bridge, its addresses, the sysctls, the
// NAT chain), the namespace, the veth, eth0's addresses and routes, and
// the namespace's release (the kernel tears it down asynchronously).
//
//	go test -run '^$' -bench Direct -benchtime 200x ./network/
func BenchmarkDirect(b *testing.B) {
	testutil.RequireRoot(b)
	shared(b, "rwd1", "10.84.0.0/22")
	o := &network.Options{Mode: network.Bridge, Bridge: "rwd1", NewNetns: true}
	var connect time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := network.Start(o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Ready(); err != nil {
			b.Fatal(err)
		}
		connect += time.Since(t0)
		if !r.Direct {
			b.Fatal("not connected in process")
		}
		r.Close()
	}
	b.ReportMetric(float64(connect)/float64(b.N)/1e6, "ms/connect")
}
