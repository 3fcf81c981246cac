package run

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/kernel"
	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/network/bridge"
)

// The network tests. Each runs in a network and mount namespace of its
// own (TestNetwork runs the test binary again in new ones, as
// `unshare --net --mount` would), so that the bridge, the veths, the nft
// tables, the sysctls and the run directories they make exist only there;
// they talk to loopback and to addresses inside namespaces they made, to
// nothing else.

func TestParseNetwork(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--network", "slirp"}, `--network: unknown network mode "slirp"; use none, host, bridge or pasta`},
		{[]string{"-p", "8080:80"}, "-p needs a network of the command's own to reach: add --network bridge (root) or --network pasta"},
		{[]string{"--network", "none", "-p", "8080:80"}, "-p needs a network of the command's own"},
		{[]string{"--network", "host", "--publish", "8080:80"}, "-p needs a network"},
		{[]string{"--dns", "192.0.2.1"}, "--dns needs a network of the command's own"},
		{[]string{"--network", "pasta", "--subnet", "10.1.0.0/24"}, "--subnet is the bridge of --network bridge"},
		{[]string{"--network", "pasta", "--bridge", "br0"}, "--bridge is the bridge of --network bridge"},
		{[]string{"--network", "pasta", "-p", "8080:70000"}, `-p 8080:70000: container port "70000" is out of range: give a port from 1 to 65535`},
		{[]string{"--network", "pasta", "-p", "0:80"}, `-p 0:80: host port "0" is out of range`},
		{[]string{"--network", "pasta", "-p", "80"}, "-p 80: give the host's port and the container's"},
		{[]string{"--network", "pasta", "-p", "8080:80", "-p", "127.0.0.1:8080:81"}, "host port 8080/tcp is published twice"},
		{[]string{"--network", "pasta", "--dns", "dns.example"}, "--dns dns.example: not an IPv4 or IPv6 address"},
		{[]string{"--network", "pasta", "--dns", "127.0.0.1.1"}, "--dns 127.0.0.1.1: not an IPv4 or IPv6 address"},
		{[]string{"--network", "host", "--ns", "pid,net"}, "--network host keeps the host's network, but --ns asks for a new one"},
		{[]string{"--network", "pasta", "--clone", "vfork"}, "--network pasta connects the command's namespace while the command waits before exec, which a vfork-style clone forbids"},
		{[]string{"--network", "pasta", "--ns", "pid,mnt", "--propagation", "shared"}, "--propagation shared would carry to the host"},
	} {
		_, err := parse(append(c.args, "--", "true"))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parse(%q) = %v; want one line with %q", c.args, err, c.want)
		}
	}
	if os.Geteuid() == 0 {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--network", "bridge", "--subnet", "10.1.0.1/24"}, "--subnet 10.1.0.1/24: 10.1.0.1/24 has host bits set; the subnet is 10.1.0.0/24"},
			{[]string{"--network", "bridge", "--subnet", "10.1.0.0/24", "--subnet", "10.2.0.0/24"}, "a bridge has one subnet per family"},
			{[]string{"--network", "bridge", "--subnet", "300.1.0.0/24"}, "--subnet 300.1.0.0/24: not an IPv4 or IPv6 address"},
			{[]string{"--network", "bridge", "--bridge", "a/b"}, "--bridge: \"a/b\": an interface name may not hold"},
			{[]string{"--network", "bridge", "-p", "[::1]:53:53/udp"}, "rawns relays only TCP there"},
		} {
			_, err := parse(append(c.args, "--", "true"))
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("parse(%q) = %v; want one line with %q", c.args, err, c.want)
			}
		}
		cfg, err := parse([]string{"--network", "bridge", "-p", "127.0.0.1:8080:80", "--dns", "192.0.2.53", "--", "true"})
		if err != nil || cfg.net == nil {
			t.Fatalf("parse: %v", err)
		}
		if !strings.Contains(cfg.spec.Namespaces.String(), "net") || len(cfg.net.Publish) != 1 || cfg.net.Bridge != "rawns0" {
			t.Errorf("parsed %+v, namespaces %s", cfg.net, cfg.spec.Namespaces)
		}
	}
	cfg, err := parse([]string{"--network", "none", "--", "true"})
	if err != nil || cfg.net != nil || !strings.Contains(cfg.spec.Namespaces.String(), "net") {
		t.Errorf("--network none: %v, %+v, %s", err, cfg, cfg.spec.Namespaces)
	}
	if cfg, err := parse([]string{"--", "true"}); err != nil || cfg.net != nil || strings.Contains(cfg.spec.Namespaces.String(), "net") {
		t.Errorf("a run without --network has a network: %v %+v", err, cfg)
	}
}

// netBins returns rawns with rawns-net next to it: $RAWNS_BIN (the
// vmtest's /bin), or both built for the test.
func netBins(t *testing.T) string {
	if b := os.Getenv("RAWNS_BIN"); b != "" {
		return b
	}
	dir := t.TempDir()
	// The rootless tests run it as nobody.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	for _, b := range [][2]string{{"rawns", "github.com/rawns/rawns"}, {"rawns-net", "github.com/rawns/rawns/cmd/rawns-net"}} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b[0]), b[1]).CombinedOutput()
		if err != nil {
			t.Fatalf("building %s: %v\n%s", b[0], err, out)
		}
	}
	return filepath.Join(dir, "rawns")
}

// TestNetwork runs the network cases in namespaces of their own.
func TestNetwork(t *testing.T) {
	testutil.RequireRoot(t)
	if os.Getenv("RAWNS_NET_TEST_BIN") == "" {
		bin := netBins(t)
		args := []string{"-test.run=^TestNetwork$", "-test.v", "-test.count=1", "-test.timeout=600s"}
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() != "" {
			args = append(args, "-test.skip="+f.Value.String()) // vmtest/plan's
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "RAWNS_NET_TEST_BIN="+bin)
		var out testutil.SyncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
		err := cmd.Run()
		// Indented, so that go test does not take the inner run's lines
		// for this one's.
		t.Log("the cases, in a network and mount namespace of their own:\n    " + strings.ReplaceAll(strings.TrimSpace(out.String()), "\n", "\n    "))
		if err != nil || !strings.Contains(out.String(), "\nPASS") {
			t.Fatalf("the network cases failed: %v", err)
		}
		return
	}
	n := setupNetTest(t)
	t.Run("none", n.none)
	t.Run("bridge-httpd", n.bridgeHTTPD)
	t.Run("two-containers", n.twoContainers)
	t.Run("ipv6", n.ipv6)
	t.Run("ten-at-once", n.tenAtOnce)
	t.Run("sigkill-rawns", func(t *testing.T) { n.sigkill(t, false, nil) })
	t.Run("sigkill-command", func(t *testing.T) { n.sigkill(t, true, nil) })
	// The path of kernels before 5.12 (no NFT_TABLE_F_OWNER), on this one:
	// the helper stays, and deletes the table when rawns is gone.
	t.Run("sigkill-rawns-unowned", func(t *testing.T) { n.sigkill(t, false, []string{"RAWNS_NET_NO_OWNER=1"}) })
	t.Run("sigkill-rawns-before-clone", n.sigkillBeforeClone)
	t.Run("direct", n.direct)
	t.Run("sigkill-direct", func(t *testing.T) { n.sigkillDirect(t, false) })
	t.Run("sigkill-direct-command", func(t *testing.T) { n.sigkillDirect(t, true) })
	t.Run("failure-injected-direct", n.failureInjectedDirect)
	t.Run("bridge-userns", n.bridgeUserns)
	t.Run("failure-injected", n.failureInjected)
	t.Run("files", n.files)
	t.Run("bad-input", n.badInput)
	t.Run("pasta", func(t *testing.T) { n.pasta(t, "pasta") })
	t.Run("slirp4netns", func(t *testing.T) { n.pasta(t, "slirp4netns") })
	t.Run("pasta-fails", func(t *testing.T) { n.pasta(t, "pasta-fails") })
	t.Run("pasta-rootless", n.pastaRootless)
}

type netTest struct {
	bin  string
	root string // a busybox root with httpd, nc, ip and a page
	page string
}

const testResolvConf = "# the test's\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch test.example\n"

// setupNetTest prepares the namespaces this process runs in: mounts
// private, lo up, a tmpfs for the run directories, a resolv.conf of the
// test's own over /etc's.
func setupNetTest(t *testing.T) *netTest {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll("/run/rawns-net", 0o755)
	if err := unix.Mount("tmpfs", "/run/rawns-net", "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte(testResolvConf), 0o644)
	if _, err := os.Stat("/etc/resolv.conf"); err != nil {
		os.WriteFile("/etc/resolv.conf", nil, 0o644) // the VM has none; this mount namespace's tmpfs root
	}
	if err := unix.Mount(rc, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	n := &netTest{bin: os.Getenv("RAWNS_NET_TEST_BIN"), root: testutil.BusyboxRoot(t), page: "hello from the command\n"}
	outsideNet(t) // for pasta and slirp4netns, once for all the cases
	for _, a := range []string{"httpd", "nc", "ip", "kill"} {
		os.Symlink("busybox", filepath.Join(n.root, "bin", a))
	}
	os.MkdirAll(filepath.Join(n.root, "www"), 0o755)
	os.WriteFile(filepath.Join(n.root, "www/index.html"), []byte(n.page), 0o644)
	for _, f := range []string{"resolv.conf", "hosts", "hostname"} {
		os.WriteFile(filepath.Join(n.root, "etc", f), nil, 0o644)
	}
	return n
}

func (n *netTest) run(t *testing.T, args ...string) ran {
	t.Helper()
	return rawns(t, n.bin, append([]string{"run"}, args...)...)
}

// bg starts rawns run in the background; its stderr is in the buffer.
func (n *netTest) bg(t *testing.T, env []string, args ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(n.bin, append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &out
}

// get fetches url until it answers, for at most 20 s.
func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 3 * time.Second}
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var r *http.Response
		if r, err = c.Get(url); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			return string(b)
		}
	}
	t.Fatalf("GET %s: %v", url, err)
	return ""
}

var eth0Line = regexp.MustCompile(`eth0 ([0-9a-f.:]+)/\d+ via`)

// addrs waits for -v's eth0 lines and returns the command's addresses.
// waitOutput waits, bounded, until -v's output holds every one of subs:
// rawns writes its report line by line, and a test that has read one line
// (an address, a page) may look before the next is written (the VMs,
// under TCG). It returns whether they all came.
func waitOutput(out *testutil.SyncBuffer, subs ...string) bool {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		all, v := true, out.String()
		for _, s := range subs {
			all = all && strings.Contains(v, s)
		}
		if all || time.Now().After(deadline) {
			return all
		}
	}
}

func addrs(t *testing.T, out *testutil.SyncBuffer, want int) []string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m := eth0Line.FindAllStringSubmatch(out.String(), -1)
		if len(m) >= want {
			var a []string
			for _, x := range m {
				a = append(a, x[1])
			}
			return a
		}
	}
	t.Fatalf("no %d eth0 lines in -v's output:\n%s", want, out.String())
	return nil
}

// leftovers lists what a run could leave in the test's namespaces: host
// ends of veths, rawns tables, run directories, helper, pasta or
// slirp4netns processes.
func leftovers(t *testing.T) []string {
	var left []string
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "rn") {
			left = append(left, "veth "+l.Attrs().Name)
		}
	}
	if c, err := nftables.New(); err == nil {
		tabs, _ := c.ListTablesOfFamily(nftables.TableFamilyINet)
		for _, tb := range tabs {
			if strings.HasPrefix(tb.Name, "rawns-") && tb.Name != bridge.BaseTable {
				left = append(left, "nft table "+tb.Name)
			}
		}
	}
	// The table every bridge run shares stays, as it must be.
	if _, err := bridge.CheckBase(); err != nil {
		left = append(left, err.Error())
	}
	ents, _ := os.ReadDir("/run/rawns-net")
	for _, e := range ents {
		left = append(left, "/run/rawns-net/"+e.Name())
	}
	own, _ := os.Readlink("/proc/self/ns/net")
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if ns, err := os.Readlink(p + "/ns/net"); err != nil || ns != own {
			continue // gone, a zombie, or not of this test's namespace
		}
		comm, _ := os.ReadFile(p + "/comm")
		switch c := strings.TrimSpace(string(comm)); c {
		case "rawns-net", "pasta", "passt", "passt.avx2", "slirp4netns":
			left = append(left, "process "+c+" "+filepath.Base(p))
		}
	}
	return left
}

// noLeftovers waits, with a bound, for leftovers to be empty: the kernel
// frees a namespace, and its veth, asynchronously.
func noLeftovers(t *testing.T) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = leftovers(t); len(left) == 0 {
			return
		}
	}
	t.Fatalf("left after the run: %v", left)
}

func oneLine(t *testing.T, r ran, want string) {
	t.Helper()
	if r.code != 125 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 125 and one line with %q", r.code, r.stderr, want)
	}
}

func (n *netTest) none(t *testing.T) {
	r := n.run(t, "--network", "none", "--rootfs", n.root, "--", "ip", "-o", "link")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 1 || !strings.Contains(lines[0], "lo:") || !strings.Contains(lines[0], "UP") {
		t.Fatalf("--network none: %+v; want lo alone, up", r)
	}
	if f, _ := os.ReadFile(filepath.Join(n.root, "etc/resolv.conf")); len(f) != 0 {
		t.Errorf("the root's resolv.conf was written: %q", f)
	}
	noLeftovers(t)
}

func (n *netTest) bridgeHTTPD(t *testing.T) {
	sum := testutil.TreeSum(t, n.root)
	cmd, out := n.bg(t, nil, "-v", "--init", "--network", "bridge", "-p", "127.0.0.1:8080:80", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	if got := get(t, "http://127.0.0.1:8080/"); got != n.page {
		t.Fatalf("through -p 127.0.0.1:8080:80: %q", got)
	}
	a := addrs(t, out, 1)[0]
	if got := get(t, "http://"+a+":80/"); got != n.page {
		t.Fatalf("through the bridge address %s: %q", a, got)
	}
	if !waitOutput(out, "published 127.0.0.1:8080->80/tcp", "nft table inet rawns-") {
		t.Errorf("-v says:\n%s", out)
	}
	cmd.Process.Signal(syscall.SIGTERM) // --init relays it to httpd
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 143 {
		t.Errorf("rawns: %v; want 143 (SIGTERM)\n%s", err, out)
	}
	noLeftovers(t)
	if testutil.TreeSum(t, n.root) != sum {
		t.Error("the --rootfs was written to")
	}
}

func (n *netTest) twoContainers(t *testing.T) {
	_, out := n.bg(t, nil, "-v", "--network", "bridge", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	a := addrs(t, out, 1)[0]
	get(t, "http://"+a+":80/") // up
	r := n.run(t, "--network", "bridge", "--rootfs", n.root, "--", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc `+a+` 80`)
	if r.code != 0 || !strings.Contains(r.stdout, n.page) {
		t.Fatalf("a second command on the bridge asked %s: %+v", a, r)
	}
}

func (n *netTest) ipv6(t *testing.T) {
	_, out := n.bg(t, nil, "-v", "--network", "bridge", "--bridge", "rawns6", "--subnet", "10.92.0.0/24", "--subnet", "fd72:6177:6e73:6::/64",
		"-p", "[::1]:8082:80", "-p", "8083:80", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	a := addrs(t, out, 2)
	if a[0] != "10.92.0.2" || a[1] != "fd72:6177:6e73:6::2" {
		t.Fatalf("addresses %v", a)
	}
	for _, url := range []string{"http://[::1]:8082/", "http://[::1]:8083/", "http://127.0.0.1:8083/", "http://[fd72:6177:6e73:6::2]:80/", "http://[fd72:6177:6e73:6::1]:8083/"} {
		if got := get(t, url); got != n.page {
			t.Errorf("GET %s: %q", url, got)
		}
	}
}

// tenAtOnce starts ten runs at once, each holding its address until all
// ten have one (an address is free again once its run is gone).
func (n *netTest) tenAtOnce(t *testing.T) {
	cmds := make([]*exec.Cmd, 10)
	outs := make([]*testutil.SyncBuffer, 10)
	var wg sync.WaitGroup
	for i := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmds[i], outs[i] = n.bg(t, nil, "-v", "--network", "bridge", "--rootfs", n.root, "--", "sleep", "600")
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, out := range outs {
		a := addrs(t, out, 1)[0]
		if seen[a] {
			t.Errorf("%s given twice", a)
		}
		seen[a] = true
	}
	for _, c := range cmds {
		c.Process.Kill()
		c.Wait()
	}
	noLeftovers(t)
}

// sigkill kills rawns, or the command, with SIGKILL while the command
// serves a published port.
func (n *netTest) sigkill(t *testing.T, command bool, env []string) {
	cmd, out := n.bg(t, env, "-v", "--network", "bridge", "-p", "127.0.0.1:8085:80", "-p", "8086:80", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	get(t, "http://127.0.0.1:8085/")
	get(t, "http://[::1]:8086/") // the helper stays to relay it
	var kids []int
	for _, k := range testutil.Children(cmd.Process.Pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", k)); strings.TrimSpace(string(comm)) == "httpd" {
			kids = append(kids, k)
		}
	}
	if len(kids) != 1 {
		t.Fatalf("children of rawns: %v", testutil.Children(cmd.Process.Pid))
	}
	victim := cmd.Process.Pid
	if command {
		victim = kids[0]
	}
	unix.Kill(victim, unix.SIGKILL)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); command && code != 137 || !command && err == nil {
		t.Errorf("rawns: %v (exit %d)\n%s", err, code, out)
	}
	noLeftovers(t)
	for deadline := time.Now().Add(10 * time.Second); testutil.ProcessAlive(kids[0]); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the command outlived rawns")
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:8085", time.Second); err == nil {
		c.Close()
		t.Error("127.0.0.1:8085 still answers")
	}
}

// sigkillBeforeClone kills rawns while the helper holds the command's
// namespace, made and connected (veth, addresses, table), before rawns
// has it: the helper, told by EOF, exits, and the namespace, the veth and
// the table go with the last fds (RAWNS_NET_STALL holds the helper there).
func (n *netTest) sigkillBeforeClone(t *testing.T) {
	cmd, out := n.bg(t, []string{"RAWNS_NET_STALL=1"}, "--network", "bridge", "-p", "127.0.0.1:8089:80", "--rootfs", n.root, "--", "true")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if left := leftovers(t); slices.ContainsFunc(left, func(s string) bool { return strings.HasPrefix(s, "veth ") }) &&
			slices.ContainsFunc(left, func(s string) bool { return strings.HasPrefix(s, "nft table ") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no veth and table from the stalled helper: %v\n%s", leftovers(t), out)
		}
	}
	unix.Kill(cmd.Process.Pid, unix.SIGKILL)
	cmd.Wait()
	// The run directory of a rawns killed before its command started is
	// the next run's to remove (docs/network.md): that run, then nothing.
	if r := n.run(t, "--network", "bridge", "--rootfs", n.root, "--", "true"); r.code != 0 {
		t.Fatalf("the next run: %+v", r)
	}
	noLeftovers(t)
}

// bridgeUserns: with a user namespace of the clone's, which must own the
// network namespace, the clone makes it and rawns connects the held
// command (Hold), as before the helper made namespaces.
func (n *netTest) bridgeUserns(t *testing.T) {
	r := n.run(t, "-v", "--map-root-user", "--ns", "user,pid,uts", "--network", "bridge", "--rootfs", n.root, "--", "ip", "-o", "addr", "show", "eth0")
	if r.code != 0 || !regexp.MustCompile(`inet 10\.90\.0\.\d+/24`).MatchString(r.stdout) || !strings.Contains(r.stderr, "user    ") {
		t.Fatalf("--network bridge in a user namespace: %+v", r)
	}
	noLeftovers(t)
}

// direct: a bridge run without -p is connected by rawns itself once what
// every run shares is in place, and by rawns-net when it is not (after
// rawns-net clean removed the base table, with the bridge's NAT chain):
// the helper puts it back, and the next run is direct again.
func (n *netTest) direct(t *testing.T) {
	const byRawns, byHelper = "connected by rawns itself", "connected by rawns-net"
	if r := n.run(t, "-v", "--network", "bridge", "--rootfs", n.root, "--", "true"); r.code != 0 || !strings.Contains(r.stderr, byRawns) {
		t.Fatalf("a run with the shared pieces in place: %+v", r)
	}
	// What rawns connected itself carries traffic: the command's httpd
	// reached through its addresses, IPv4 and IPv6 (the bridge of the
	// ipv6 case has both).
	cmd, out := n.bg(t, nil, "-v", "--network", "bridge", "--bridge", "rawns6", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	a := addrs(t, out, 2)
	if !waitOutput(out, byRawns) {
		t.Fatalf("not a direct run:\n%s", out)
	}
	for _, url := range []string{"http://" + a[0] + ":80/", "http://[" + a[1] + "]:80/"} {
		if got := get(t, url); got != n.page {
			t.Errorf("GET %s: %q", url, got)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if out, err := exec.Command(filepath.Join(filepath.Dir(n.bin), "rawns-net"), "clean").CombinedOutput(); err != nil {
		t.Fatalf("rawns-net clean: %v\n%s", err, out)
	}
	if r := n.run(t, "-v", "--network", "bridge", "--rootfs", n.root, "--", "true"); r.code != 0 || !strings.Contains(r.stderr, byHelper) {
		t.Fatalf("a run without the base table: %+v", r)
	}
	if r := n.run(t, "-v", "--network", "bridge", "--rootfs", n.root, "--", "ip", "-o", "addr", "show", "eth0"); r.code != 0 || !strings.Contains(r.stderr, byRawns) ||
		!regexp.MustCompile(`inet 10\.90\.0\.\d+/24 brd 10\.90\.0\.255`).MatchString(r.stdout) {
		t.Fatalf("the next run: %+v", r)
	}
	// -p needs the helper (its DNAT table and relays).
	if r := n.run(t, "-v", "--network", "bridge", "-p", "127.0.0.1:8090:80", "--rootfs", n.root, "--", "true"); r.code != 0 || !strings.Contains(r.stderr, byHelper) {
		t.Fatalf("a run with -p: %+v", r)
	}
	// Either way the namespace is ready before the clone, which joins
	// it: a vfork-style clone does as well as the default.
	for _, args := range [][]string{{"--network", "bridge"}, {"--network", "bridge", "-p", "127.0.0.1:8090:80"}} {
		args = append(append(args, "--clone", "vfork", "--rootfs", n.root, "--"), "ip", "-o", "addr", "show", "eth0")
		if r := n.run(t, args...); r.code != 0 || !regexp.MustCompile(`inet 10\.90\.0\.\d+/24`).MatchString(r.stdout) {
			t.Fatalf("%q: %+v", args, r)
		}
	}
	noLeftovers(t)
}

// sigkillDirect kills rawns, or the command, of a run that rawns connected
// itself: the namespace, and the veth in it, go with the command.
func (n *netTest) sigkillDirect(t *testing.T, command bool) {
	cmd, out := n.bg(t, nil, "-v", "--network", "bridge", "--rootfs", n.root, "--", "sleep", "600")
	addrs(t, out, 1)
	if !waitOutput(out, "connected by rawns itself") {
		t.Fatalf("not a direct run:\n%s", out)
	}
	victim := cmd.Process.Pid
	if command {
		kids := testutil.Children(cmd.Process.Pid)
		if len(kids) != 1 {
			t.Fatalf("children of rawns: %v", kids)
		}
		victim = kids[0]
	}
	unix.Kill(victim, unix.SIGKILL)
	cmd.Wait()
	noLeftovers(t)
}

// failureInjectedDirect: a failure after each step of the direct path
// leaves nothing (RAWNS_NET_FAIL_AFTER, read by rawns as by rawns-net).
func (n *netTest) failureInjectedDirect(t *testing.T) {
	n.failAfter(t, []string{"veth", "addr"}, "--network", "bridge", "--rootfs", n.root, "--", "true")
}

func (n *netTest) failureInjected(t *testing.T) {
	n.failAfter(t, []string{"bridge", "table", "veth", "addr", "rules"},
		"--network", "bridge", "-p", "127.0.0.1:8087:80", "-p", "8088:80", "--rootfs", n.root, "--", "true")
}

// failAfter runs rawns run ARGS with a failure injected after each step
// (RAWNS_NET_FAIL_AFTER): one line, exit 125, nothing left.
func (n *netTest) failAfter(t *testing.T, steps []string, args ...string) {
	for _, step := range steps {
		cmd := exec.Command(n.bin, append([]string{"run"}, args...)...)
		cmd.Env = append(os.Environ(), "RAWNS_NET_FAIL_AFTER="+step)
		var e bytes.Buffer
		cmd.Stderr = &e
		err := cmd.Run()
		oneLine(t, ran{stderr: e.String(), code: cmd.ProcessState.ExitCode()}, "failure injected for a test")
		if err == nil {
			t.Errorf("%s: rawns succeeded", step)
		}
		noLeftovers(t)
	}
}

func (n *netTest) files(t *testing.T) {
	sum := testutil.TreeSum(t, n.root)
	r := n.run(t, "--network", "bridge", "--hostname", "web1", "--rootfs", n.root, "--", "sh", "-c",
		"cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; (echo x >>/etc/hosts) 2>/dev/null && echo WRITABLE; true")
	parts := strings.Split(r.stdout, "---\n")
	if r.code != 0 || len(parts) != 3 {
		t.Fatalf("%+v", r)
	}
	if strings.Contains(parts[0], "127.") || !strings.Contains(parts[0], "nameserver 192.0.2.53\n") || !strings.Contains(parts[0], "search test.example\n") {
		t.Errorf("resolv.conf: %q", parts[0])
	}
	if !regexp.MustCompile(`(?m)^10\.90\.0\.\d+\tweb1$`).MatchString(parts[1]) || !strings.Contains(parts[1], "127.0.0.1\tlocalhost") {
		t.Errorf("hosts: %q", parts[1])
	}
	if !strings.HasPrefix(parts[2], "web1\n") {
		t.Errorf("hostname: %q", parts[2])
	}
	if kernel.AtLeast(5, 12) && strings.Contains(r.stdout, "WRITABLE") {
		t.Error("/etc/hosts is writable")
	}
	r = n.run(t, "--network", "bridge", "--dns", "192.0.2.1", "--dns", "2001:db8::1", "--rootfs", n.root, "--", "cat", "/etc/resolv.conf")
	if r.stdout != "# written by rawns run --network for this run\nnameserver 192.0.2.1\nnameserver 2001:db8::1\nsearch test.example\n" {
		t.Errorf("--dns: %q", r.stdout)
	}
	// A root without /etc/hosts: not bound, not created, and -v says so.
	os.Remove(filepath.Join(n.root, "etc/hosts"))
	defer os.WriteFile(filepath.Join(n.root, "etc/hosts"), nil, 0o644)
	sum = testutil.TreeSum(t, n.root)
	r = n.run(t, "-v", "--network", "bridge", "--rootfs", n.root, "--", "cat", "/etc/hosts")
	if r.code == 0 || !strings.Contains(r.stderr, "/etc/hosts is not bound: the root has no /etc/hosts") {
		t.Errorf("a root without /etc/hosts: %+v", r)
	}
	if testutil.TreeSum(t, n.root) != sum {
		t.Error("the --rootfs was written to")
	}
	// Without a root: over the host's own /etc (in the command's mount
	// namespace only).
	before, _ := os.ReadFile("/etc/resolv.conf")
	r = n.run(t, "--network", "bridge", "--", "cat", "/etc/resolv.conf")
	if r.code != 0 || strings.Contains(r.stdout, "127.0.0.53") || !strings.Contains(r.stdout, "192.0.2.53") {
		t.Errorf("without a root: %+v", r)
	}
	if after, _ := os.ReadFile("/etc/resolv.conf"); !bytes.Equal(before, after) {
		t.Error("the host's resolv.conf changed")
	}
	noLeftovers(t)
}

func (n *netTest) badInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:8089")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	oneLine(t, n.run(t, "--network", "bridge", "-p", "127.0.0.1:8089:80", "--", "true"), "-p 127.0.0.1:8089->80/tcp: port 8089/tcp is in use on 127.0.0.1")
	oneLine(t, n.run(t, "--network", "bridge", "-p", "8089:80", "--", "true"), "port 8089/tcp is in use on 0.0.0.0")
	oneLine(t, n.run(t, "--network", "bridge", "-p", "192.0.2.200:8089:80", "--", "true"), "192.0.2.200 is not an address of this host")
	oneLine(t, n.run(t, "--network", "bridge", "-p", "8080:65536", "--", "true"), `-p 8080:65536: container port "65536" is out of range`)
	oneLine(t, n.run(t, "-p", "8080:80", "--", "true"), "-p needs a network of the command's own")
	oneLine(t, n.run(t, "--network", "bridges", "--", "true"), `--network: unknown network mode "bridges"`)
	oneLine(t, n.run(t, "--network", "bridge", "--dns", "one.one.one.one", "--", "true"), "--dns one.one.one.one: not an IPv4 or IPv6 address")
	// A subnet over a route of the host's: a network the test makes, in
	// a namespace of its own behind a veth.
	other, cleanup := sleeper(t)
	defer cleanup()
	la := netlink.NewLinkAttrs()
	la.Name = "tup0"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "up1", PeerNamespace: netlink.NsPid(other)}); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(&netlink.Veth{LinkAttrs: la})
	up, _ := netlink.LinkByName("tup0")
	a, _ := netlink.ParseAddr("10.201.0.1/24")
	netlink.AddrAdd(up, a)
	netlink.LinkSetUp(up)
	oneLine(t, n.run(t, "--network", "bridge", "--bridge", "rawnsx", "--subnet", "10.201.0.0/16", "--", "true"), "--subnet 10.201.0.0/16 overlaps the host's route 10.201.0.0/24 dev tup0")
	// Rootless.
	var e bytes.Buffer
	cmd := asNobody(n.bin, "run", "--network", "bridge", "--", "true")
	cmd.Stderr = &e
	cmd.Run()
	oneLine(t, ran{stderr: e.String(), code: cmd.ProcessState.ExitCode()}, "--network bridge needs root")
	cmd = asNobody(n.bin, "run", "--network", "pasta", "--", "true")
	e.Reset()
	cmd.Stderr = &e
	cmd.Run()
	oneLine(t, ran{stderr: e.String(), code: cmd.ProcessState.ExitCode()}, "--network pasta without root needs a user namespace")
	noLeftovers(t)
}

// asNobody runs a program as uid and gid 65534, without supplementary
// groups (setpriv's --reuid --regid --clear-groups, which the vmtest's
// busybox lacks).
func asNobody(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// sleeper starts a process in a network namespace of its own, for the
// test's "outside" networks.
func sleeper(t *testing.T) (int, func()) {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// outsideNet gives the test's namespace a default route, through a veth to
// a namespace the test makes, as pasta needs an interface to copy.
func outsideNet(t *testing.T) {
	t.Helper()
	pid, cleanup := sleeper(t)
	t.Cleanup(cleanup)
	la := netlink.NewLinkAttrs()
	la.Name = "tout0"
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "out1", PeerNamespace: netlink.NsPid(pid)}); err != nil {
		t.Fatal(err)
	}
	l, _ := netlink.LinkByName("tout0")
	a, _ := netlink.ParseAddr("192.168.77.2/24")
	netlink.AddrAdd(l, a)
	netlink.LinkSetUp(l)
	_, dst, _ := net.ParseCIDR("0.0.0.0/0")
	if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Gw: net.ParseIP("192.168.77.1")}); err != nil {
		t.Fatal(err)
	}
}

// needTool finds pasta or slirp4netns, installing Debian's package when
// missing (CI starts from a fresh machine).
func needTool(t *testing.T, tool string) string {
	t.Helper()
	if p, err := exec.LookPath(tool); err == nil {
		return p
	}
	pkg := map[string]string{"pasta": "passt", "slirp4netns": "slirp4netns"}[tool]
	if _, err := exec.LookPath("apt-get"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "apt-get", "-o", "DPkg::Lock::Timeout=240", "install", "-y", "-qq", pkg).CombinedOutput()
		if err != nil {
			t.Logf("apt-get install %s: %v\n%s", pkg, err, out)
		}
		if p, err := exec.LookPath(tool); err == nil {
			return p
		}
	}
	// In the vmtest's initramfs there is no apt and no glibc for them:
	// vmtest/plan leaves these cases out there, and says so.
	t.Fatalf("%s is not installed and could not be (apt-get install %s)", tool, pkg)
	return ""
}

// pasta serves a page through --network pasta, with pasta, or with
// slirp4netns alone on PATH, then kills rawns and finds nothing left.
//
// With tool "pasta-fails", PATH has a pasta that exits at once (false(1)),
// before it configures the namespace, and the real slirp4netns: rawns
// falls back to it and -v says why.
func (n *netTest) pasta(t *testing.T, tool string) {
	fails := tool == "pasta-fails"
	if fails {
		tool = "slirp4netns"
	}
	path := needTool(t, tool)
	env := []string{}
	if tool == "slirp4netns" {
		dir := t.TempDir()
		os.Symlink(path, filepath.Join(dir, "slirp4netns"))
		if fails {
			f, err := exec.LookPath("false")
			if err != nil {
				t.Fatal(err)
			}
			os.Symlink(f, filepath.Join(dir, "pasta"))
		}
		env = append(env, "PATH="+dir)
	}
	port := map[string]string{"pasta": "8090", "slirp4netns": "8092"}[tool]
	sum := testutil.TreeSum(t, n.root)
	cmd, out := n.bg(t, env, "-v", "--network", "pasta", "-p", "127.0.0.1:"+port+":80", "--rootfs", n.root, "--env", "PATH=/bin", "--",
		"httpd", "-f", "-p", "80", "-h", "/www")
	if got := get(t, "http://127.0.0.1:"+port+"/"); got != n.page {
		t.Fatalf("through -p 127.0.0.1:%s:80: %q\n%s", port, got, out.String())
	}
	// The page can arrive before rawns has written its -v report (the
	// VMs, under TCG): wait for the lines, bounded.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if v := out.String(); strings.Contains(v, "connected through "+tool) && (!fails || strings.Contains(v, "pasta failed (")) {
			break
		}
	}
	if !strings.Contains(out.String(), "connected through "+tool) {
		t.Errorf("-v says:\n%s", out.String())
	}
	if fails != strings.Contains(out.String(), "pasta failed (pasta exit code ") {
		t.Errorf("-v does not say (only) when pasta failed:\n%s", out.String())
	}
	unix.Kill(cmd.Process.Pid, unix.SIGKILL)
	cmd.Wait()
	noLeftovers(t)
	// The command's resolv.conf names the forwarder of pasta or
	// slirp4netns, which relays to the host's own resolver.
	c := exec.Command(n.bin, "run", "--network", "pasta", "--rootfs", n.root, "--env", "PATH=/bin", "--", "cat", "/etc/resolv.conf")
	c.Env = append(os.Environ(), env...)
	b, err := c.CombinedOutput()
	want := map[string]string{"pasta": "nameserver 169.254.1.1\n", "slirp4netns": "nameserver 10.0.2.3\n"}[tool]
	if err != nil || !strings.Contains(string(b), want) || strings.Contains(string(b), "127.") {
		t.Errorf("resolv.conf through %s: %v\n%s", tool, err, b)
	}
	noLeftovers(t)
	if testutil.TreeSum(t, n.root) != sum {
		t.Error("the --rootfs was written to")
	}
}

// pastaRootless runs --network pasta as nobody, in a user namespace of
// its own. This host's /dev/net/tun is 0600 (NOTES.md), which keeps pasta
// out without root; the test's mount namespace gets a /dev/net/tun of
// its own, the same device 10:200, readable and writable by all, so that
// the rootless path runs for real. The host's node is not touched.
func (n *netTest) pastaRootless(t *testing.T) {
	needTool(t, "pasta")
	dir := t.TempDir()
	if err := unix.Mknod(filepath.Join(dir, "tun"), unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "tun"), 0o666)
	if err := unix.Mount(filepath.Join(dir, "tun"), "/dev/net/tun", "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount("/dev/net/tun", 0)
	os.Chmod(n.root, 0o755)
	os.Chmod(filepath.Dir(n.root), 0o755) // t.TempDir's, 0700
	// The unprivileged run's temporary directory: the test binary's own
	// (testutil.Run) is root's, where nobody cannot make its run directory.
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o1777)
	os.Chmod(tmp, 0o1777)
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	cmd := asNobody(n.bin, "run", "-v", "--network", "pasta", "--map-root-user", "--ns", "user,pid,uts,mnt",
		"-p", "127.0.0.1:8091:80", "--rootfs", n.root, "--", "httpd", "-f", "-p", "80", "-h", "/www")
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp)
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rawns said:\n%s", out.String())
		}
	}()
	if got := get(t, "http://127.0.0.1:8091/"); got != n.page {
		t.Fatalf("rootless: %q\n%s", got, out.String())
	}
	// The page can arrive before rawns has written its -v report (the
	// VMs, under TCG): wait for the line, bounded.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "connected through pasta") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "connected through pasta") {
		t.Errorf("-v says:\n%s", out.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	noLeftovers(t)
	// The run directory of a rootless run is in the temporary directory.
	if left, _ := filepath.Glob(filepath.Join(tmp, "rawns-net-65534", "*")); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
}
