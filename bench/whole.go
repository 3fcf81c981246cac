package bench

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// tool is one program of the whole-process view, started as argv.
type tool struct {
	name, about string
	argv        []string
	// hideUnified runs the tool in a mount namespace where the cgroup2
	// mount of a hybrid cgroup layout is covered (see launcher).
	hideUnified bool
	// ownNet runs the tool in a network and mount namespace of the
	// benchmark's own (startNetLauncher): the bridge, veths and nft tables
	// of --network bridge are made there, never on the host's network.
	ownNet bool
	// fn, when set, is run instead of argv, on the launcher's thread, and
	// timed as one start to exit: a tool that is several commands (the
	// OCI lifecycle rows, bench/oci.go). files are its stdio.
	fn func(files []uintptr) error
}

// wholeTools returns the tools of the whole-process view that are installed
// and can do job, and a note for each that is missing or cannot. rawns is
// the binary whose run command is timed, self the one that offers
// rawns bench --once for the Go strategies (the same, unless --rawns says
// otherwise); empty leaves them out. dir is a temporary directory for the
// OCI bundle.
func wholeTools(job *Job, rawns, self, cref, dir string) ([]tool, []string) {
	var (
		tools []tool
		notes []string
		ns    = job.Namespaces
		host  = job.hostname()
		cmd   = append([]string{job.Path}, job.Args[1:]...)
	)
	found := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			notes = append(notes, name+": not installed, skipped")
			return ""
		}
		return p
	}

	tools = append(tools, tool{name: "command-alone", about: "the command itself, no namespaces: the floor of any tool", argv: cmd})
	if cref != "" {
		argv := []string{cref, "--ns", ns.String()}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		tools = append(tools, tool{name: "c-ref", about: "spawn-c, the static C reference: clone3 vfork-style + sethostname + execve + waitpid", argv: append(append(argv, "--"), cmd...)})
		tools = append(tools, tool{name: "c-empty", about: "spawn-c --noop: the static C binary's start-up and exit, no spawn (c-ref minus this is the spawn itself)", argv: []string{cref, "--noop"}})
	} else {
		notes = append(notes, "spawn-c: no C reference binary (make bin/spawn-c, or --cref), ratios are to command-alone")
	}
	if rawns != "" {
		argv := []string{rawns, "run", "--ns", ns.String()}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		tools = append(tools, tool{name: "rawns-run", about: "rawns run (clone.StartHere from the main thread, vfork-style)", argv: slices.Concat(argv, []string{"--"}, cmd)})
		// The least-privilege row: docker's seccomp profile
		// compiled in the parent and installed last, and every capability
		// dropped; at most 0.15x over rawns-run is the target.
		tools = append(tools, tool{name: "rawns-run-seccomp", about: "rawns run --seccomp default --cap-drop ALL: docker's profile compiled per run, no capabilities", argv: slices.Concat(argv, []string{"--seccomp", "default", "--cap-drop", "ALL", "--"}, cmd)})
		if ns&clone.NewPID != 0 {
			// --init: PID 1 is the cloned child, a reaper in raw system
			// calls, and the command its child. As root with every
			// capability the command could ptrace PID 1, so PID 1 is a
			// fork-style copy of rawns; without CAP_SYS_PTRACE (or in a
			// user namespace) it runs on rawns's memory
			// (clone/init_unsafe.go). Issue 15's target: at most +0.35x
			// c-ref over rawns-run.
			tools = append(tools, tool{name: "rawns-run-init", about: "rawns run --init as root with every capability: PID 1 a fork-style copy of rawns", argv: slices.Concat(argv, []string{"--init", "--"}, cmd)})
			tools = append(tools, tool{name: "rawns-run-init-vm", about: "rawns run --init --cap-drop SYS_PTRACE: PID 1 on rawns's memory (CLONE_VM, a stack of its own)", argv: slices.Concat(argv, []string{"--init", "--cap-drop", "SYS_PTRACE", "--"}, cmd)})
		}
	}
	// The Go peers: the smallest programs spawning each way (bench/peers,
	// built by make beside rawns-bench), so that a row measures the way of
	// spawning and Go's start-up, not the size of rawns-bench. Without
	// them (a go test build), rawns-bench --once stands in.
	if self != "" {
		dir := filepath.Dir(self)
		if p := filepath.Join(dir, "go-empty"); isExecutable(p) {
			tools = append(tools, tool{name: "go-empty", about: "an empty Go main (bench/peers): the Go runtime's start-up and exit, no spawn", argv: []string{p}})
		} else {
			notes = append(notes, "go-empty: not built beside rawns-bench (make build), skipped")
		}
		if p := filepath.Join(dir, "go-os"); isExecutable(p) {
			tools = append(tools, tool{name: "go-os", about: "a Go main that imports os (bench/peers): the start-up of any Go command-line tool, no spawn", argv: []string{p}})
		} else {
			notes = append(notes, "go-os: not built beside rawns-bench (make build), skipped")
		}
		hostArg := host
		if hostArg == "" {
			hostArg = "-"
		}
		if p := filepath.Join(dir, "go-clone"); isExecutable(p) {
			argv := []string{p, "0x" + strconv.FormatUint(uint64(ns), 16), hostArg}
			tools = append(tools, tool{name: "go-clone", about: "the smallest Go program spawning with package clone, as rawns run does (bench/peers/go-clone)", argv: append(argv, cmd...)})
		} else {
			notes = append(notes, "go-clone: not built beside rawns-bench (make build), skipped")
		}
		for _, s := range []string{"os-exec", "reexec"} {
			name := "go-" + s
			if p := filepath.Join(dir, name); isExecutable(p) {
				argv := []string{p, "0x" + strconv.FormatUint(uint64(ns), 16), hostArg}
				tools = append(tools, tool{name: name, about: "the smallest Go program spawning with the " + s + " strategy (bench/peers/" + name + ")", argv: append(argv, cmd...)})
				continue
			}
			argv := []string{self, "--once", s, "--ns", ns.String()}
			if host != "" {
				argv = append(argv, "--hostname", host)
			}
			notes = append(notes, name+": not built beside rawns-bench (make build); rawns-bench --once "+s+" stands in, with rawns-bench's larger start-up")
			tools = append(tools, tool{name: name, about: "rawns-bench --once " + s + " (the peer program was not built)", argv: append(append(argv, "--"), cmd...)})
		}
	}

	if p := found("unshare"); p != "" {
		argv := []string{p}
		for _, k := range clone.Kinds {
			if ns&k.Flag != 0 {
				name := k.Name
				if name == "mnt" {
					name = "mount"
				}
				argv = append(argv, "--"+name)
			}
		}
		if ns&clone.NewPID != 0 {
			argv = append(argv, "--fork")
		}
		tools = append(tools, tool{name: "unshare", about: "util-linux unshare(1) (cannot set the hostname)", argv: append(append(argv, "--"), cmd...)})
	}
	bwrap := found("bwrap")
	if p := bwrap; p != "" {
		if ns&clone.NewTime != 0 {
			notes = append(notes, "bwrap: cannot create a time namespace, skipped")
		} else {
			argv := []string{p, "--dev-bind", "/", "/"}
			for _, k := range clone.Kinds {
				if ns&k.Flag != 0 && k.Flag != clone.NewMount {
					argv = append(argv, "--unshare-"+k.Name)
				}
			}
			if host != "" {
				argv = append(argv, "--hostname", host)
			}
			tools = append(tools, tool{name: "bwrap", about: "bubblewrap, / bound as it is (always a mount namespace)", argv: append(append(argv, "--"), cmd...)})
		}
	}
	tools, notes = rootfsTools(tools, notes, job, rawns, bwrap, dir)
	tools, notes = netTools(tools, notes, job, rawns, bwrap)
	for _, rt := range []string{"crun", "runc"} {
		p := found(rt)
		if p == "" {
			continue
		}
		bundle := filepath.Join(dir, "bundle")
		if err := makeBundle(bundle, job); err != nil {
			notes = append(notes, rt+": "+err.Error()+", skipped")
			continue
		}
		id := "rawns-bench-" + strconv.Itoa(os.Getpid()) + "-" + rt
		t := tool{name: rt, about: rt + " run of an OCI bundle made in a temporary directory (always a mount namespace)",
			argv: []string{p, "run", "--bundle", bundle, id}}
		if rt == "crun" && hybridCgroups() {
			t.hideUnified = true
			t.about += "; run in a mount namespace hiding /sys/fs/cgroup/unified, since crun refuses a hybrid cgroup layout"
		}
		tools = append(tools, t)
	}
	ot, on := ociTools(job, rawns, dir)
	return append(tools, ot...), append(notes, on...)
}

// rootfsTools adds the root filesystem rows: the command in a
// small root of its own with a minimal /dev and a fresh /proc, by rawns
// and by bubblewrap, on the same root: rawns run --rootfs R --dev /dev
// --proc /proc and bwrap --bind R / --dev /dev --proc /proc. The root is
// bin/rootfs beside rawns (make rootfs) when it holds the command, else
// one made in dir from a static /bin/busybox (Debian's busybox-static).
func rootfsTools(tools []tool, notes []string, job *Job, rawns, bwrap, dir string) ([]tool, []string) {
	ns, host := job.Namespaces, job.hostname()
	cmd := append([]string{job.Path}, job.Args[1:]...)
	if ns&clone.NewPID == 0 || ns&(clone.NewUser|clone.NewTime) != 0 {
		return tools, append(notes, "rawns-rootfs, bwrap-rootfs: need pid in --ns (for --proc) and no user or time namespace; skipped for ns="+ns.String())
	}
	root, err := benchRoot(job.Path, rawns, dir)
	if err != nil {
		return tools, append(notes, "rawns-rootfs, bwrap-rootfs: "+err.Error()+"; skipped")
	}
	if rawns != "" {
		argv := []string{rawns, "run", "--ns", ns.String()}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		argv = append(argv, "--rootfs", root, "--dev", "/dev", "--proc", "/proc", "--")
		tools = append(tools, tool{name: "rawns-rootfs", about: "rawns run --rootfs R --dev /dev --proc /proc (R: " + root + ")", argv: append(argv, cmd...)})
	}
	if bwrap != "" {
		argv := []string{bwrap, "--bind", root, "/", "--dev", "/dev", "--proc", "/proc"}
		for _, k := range clone.Kinds {
			if ns&k.Flag != 0 && k.Flag != clone.NewMount {
				argv = append(argv, "--unshare-"+k.Name)
			}
		}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		tools = append(tools, tool{name: "bwrap-rootfs", about: "bwrap --bind R / --dev /dev --proc /proc, on the same R", argv: append(append(argv, "--"), cmd...)})
	}
	return tools, notes
}

// netTools adds the network rows (issue 23), each run in a network
// namespace of the benchmark's own: rawns run --network bridge (a veth on
// a bridge, addresses, routes, an nft table, made by the rawns-net helper
// while the command is held) against plain rawns-run; and rawns run
// --network none (a network namespace with lo up) against today's
// --ns ...,net and bubblewrap's --unshare-net.
func netTools(tools []tool, notes []string, job *Job, rawns, bwrap string) ([]tool, []string) {
	ns, host := job.Namespaces, job.hostname()
	cmd := append([]string{job.Path}, job.Args[1:]...)
	if ns&(clone.NewNet|clone.NewUser) != 0 || os.Geteuid() != 0 {
		return tools, append(notes, "rawns-net-*, bwrap-unshare-net: need root and no net or user in --ns; skipped for ns="+ns.String())
	}
	if rawns != "" {
		argv := []string{rawns, "run", "--ns", ns.String()}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		tools = append(tools,
			tool{name: "rawns-net-bridge", about: "rawns run --network bridge: eth0 on rawns0, an address, routes, connected by rawns itself (the shared masquerade in place after the first run; in a network namespace of the benchmark's own)", argv: slices.Concat(argv, []string{"--network", "bridge", "--"}, cmd), ownNet: true},
			tool{name: "rawns-net-none", about: "rawns run --network none: a network namespace with lo up", argv: slices.Concat(argv, []string{"--network", "none", "--"}, cmd), ownNet: true},
			tool{name: "rawns-ns-net", about: "rawns run --ns " + (ns | clone.NewNet).String() + ": net by --ns, as before --network", argv: slices.Concat([]string{rawns, "run", "--ns", (ns | clone.NewNet).String()}, argv[4:], []string{"--"}, cmd), ownNet: true})
	}
	if bwrap != "" && ns&clone.NewTime == 0 {
		argv := []string{bwrap, "--dev-bind", "/", "/", "--unshare-net"}
		for _, k := range clone.Kinds {
			if ns&k.Flag != 0 && k.Flag != clone.NewMount {
				argv = append(argv, "--unshare-"+k.Name)
			}
		}
		if host != "" {
			argv = append(argv, "--hostname", host)
		}
		tools = append(tools, tool{name: "bwrap-unshare-net", about: "bubblewrap --unshare-net (lo up), / bound as it is", argv: append(append(argv, "--"), cmd...), ownNet: true})
	}
	return tools, notes
}

// netNotes states, per namespace set, the network targets: what
// --network bridge adds over plain rawns-run, in ms (the median of the
// per-round differences; target at most 8 ms here), and --network none
// against --ns ...,net (target: no more) and bwrap --unshare-net.
func netNotes(res []Result) []string {
	by := map[string]map[string]*Result{}
	var order []string
	for i := range res {
		r := &res[i]
		ns := r.Label("ns")
		if by[ns] == nil {
			by[ns] = map[string]*Result{}
			order = append(order, ns)
		}
		if r.Err == "" {
			by[ns][r.Name] = r
		}
	}
	var notes []string
	for _, ns := range order {
		x := by[ns]
		if b, p := x["rawns-net-bridge"], x["rawns-run"]; b != nil && p != nil {
			n := min(len(b.Rounds), len(p.Rounds))
			d := make([]float64, 0, n)
			for i := 0; i < n; i++ {
				d = append(d, b.Rounds[i]-p.Rounds[i])
			}
			notes = append(notes, fmt.Sprintf("ns=%s: rawns-net-bridge adds %.2f ms to rawns-run (median of per-round differences; target at most 8 ms), %.2fx rawns-run paired", ns, Median(d)/1e6, PairedRatio(b.Rounds, p.Rounds)))
		}
		if none := x["rawns-net-none"]; none != nil {
			note := "ns=" + ns + ": rawns-net-none"
			if nn := x["rawns-ns-net"]; nn != nil {
				note += fmt.Sprintf(" %.3fx rawns-ns-net (target <= 1.0)", PairedRatio(none.Rounds, nn.Rounds))
			}
			if bw := x["bwrap-unshare-net"]; bw != nil {
				note += fmt.Sprintf(", %.2fx bwrap-unshare-net", PairedRatio(none.Rounds, bw.Rounds))
			}
			notes = append(notes, note+", paired per round")
		}
	}
	return notes
}

// startNetLauncher is a launcher whose thread is in a network and mount
// namespace of its own, lo up: what its programs do to the network (a
// bridge, veths, nft tables, sysctls) stays there and goes with it.
func startNetLauncher() (*launcher, error) {
	return startLauncherIn(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("a network namespace for the network rows: %w", err)
		}
		if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
	})
}

// benchRoot returns a root filesystem that holds the program path.
func benchRoot(path, rawns, dir string) (string, error) {
	if rawns != "" {
		r := filepath.Join(filepath.Dir(rawns), "rootfs")
		if isExecutable(filepath.Join(r, path)) {
			return r, nil
		}
	}
	r := filepath.Join(dir, "rootfs")
	if isExecutable(filepath.Join(r, path)) {
		return r, nil
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil || !isStatic("/bin/busybox") {
		return "", fmt.Errorf("no root filesystem holding %s: make rootfs, or install busybox-static", path)
	}
	for _, d := range []string{"bin", "dev", "proc", filepath.Dir(path)} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(r, "bin/busybox"), bb, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink("/bin/busybox", filepath.Join(r, path)); err != nil {
		return "", err
	}
	return r, nil
}

// isStatic reports whether the ELF file at path has no program
// interpreter (PT_INTERP): a static binary, which runs in a root of its own.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// byNamespaceSet indexes res by namespace set label, then row name, and
// returns the sets in the order they first appear.
func byNamespaceSet(res []Result) (map[string]map[string]*Result, []string) {
	by := map[string]map[string]*Result{}
	var order []string
	for i := range res {
		r := &res[i]
		ns := r.Label("ns")
		if by[ns] == nil {
			by[ns] = map[string]*Result{}
			order = append(order, ns)
		}
		by[ns][r.Name] = r
	}
	return by, order
}

// rootfsNotes states, per namespace set, the paired ratios the root
// filesystem targets are read on: rawns-rootfs to bwrap-rootfs, and to
// plain rawns-run.
func rootfsNotes(res []Result) []string {
	by, order := byNamespaceSet(res)
	var notes []string
	for _, ns := range order {
		x := by[ns]
		rr := x["rawns-rootfs"]
		if rr == nil || rr.Err != "" {
			continue
		}
		note := "ns=" + ns + ": rawns-rootfs"
		if b := x["bwrap-rootfs"]; b != nil && b.Err == "" {
			note += fmt.Sprintf(" %.2fx bwrap-rootfs (target <= 0.85)", PairedRatio(rr.Rounds, b.Rounds))
		}
		if p := x["rawns-run"]; p != nil && p.Err == "" {
			note += fmt.Sprintf(", %.2fx rawns-run (target <= 1.25)", PairedRatio(rr.Rounds, p.Rounds))
		}
		notes = append(notes, note+", paired per round")
	}
	return notes
}

// makeBundle writes an OCI bundle (config.json and rootfs) that runs job
// with the host's /usr bound read-only, once; it is shared by crun and runc.
func makeBundle(dir string, job *Job) error {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return nil
	}
	ns := job.Namespaces
	if ns&(clone.NewUser|clone.NewTime) != 0 {
		return errors.New("the bundle here makes no user or time namespace")
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"usr", "dev", "proc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	type mount struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options,omitempty"`
	}
	mounts := []mount{
		{"/usr", "bind", "/usr", []string{"rbind", "ro"}},
		{"/proc", "proc", "proc", nil}, // runc needs /proc to close its fds
	}
	// Merged-/usr hosts have /bin -> usr/bin: copy the links; otherwise
	// bind the directories.
	for _, d := range []string{"bin", "sbin", "lib", "lib64", "lib32", "libx32"} {
		target, err := os.Readlink("/" + d)
		switch {
		case err == nil:
			if err := os.Symlink(target, filepath.Join(rootfs, d)); err != nil {
				return err
			}
		case func() bool { fi, err := os.Stat("/" + d); return err == nil && fi.IsDir() }():
			os.MkdirAll(filepath.Join(rootfs, d), 0o755)
			mounts = append(mounts, mount{"/" + d, "bind", "/" + d, []string{"rbind", "ro"}})
		}
	}
	type nsEntry struct {
		Type string `json:"type"`
	}
	nss := []nsEntry{{"mount"}}
	for _, k := range clone.Kinds {
		if ns&k.Flag == 0 || k.Flag == clone.NewMount {
			continue
		}
		name := k.Name
		if name == "net" {
			name = "network"
		}
		nss = append(nss, nsEntry{name})
	}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]int{"uid": 0, "gid": 0},
			"args":     job.Args,
			"env":      job.Env,
			"cwd":      "/",
		},
		"root":   map[string]any{"path": "rootfs", "readonly": true},
		"mounts": mounts,
		"linux":  map[string]any{"namespaces": nss},
	}
	if job.Path != job.Args[0] {
		cfg["process"].(map[string]any)["args"] = append([]string{job.Path}, job.Args[1:]...)
	}
	if h := job.hostname(); h != "" {
		cfg["hostname"] = h
	}
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// hybridCgroups reports whether the host has cgroup v1 controllers on
// /sys/fs/cgroup and cgroup2 on /sys/fs/cgroup/unified, the layout crun 1.8
// refuses ("cgroups in hybrid mode not supported").
func hybridCgroups() bool {
	var a, b unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &a) == nil && a.Type == unix.TMPFS_MAGIC &&
		unix.Statfs("/sys/fs/cgroup/unified", &b) == nil && b.Type == unix.CGROUP2_SUPER_MAGIC
}

// launcher starts programs from one locked OS thread, times each from just
// before fork to just after the reap, and reaps it. Every tool of the
// whole-process view is started the same way (syscall.ForkExec, wait4), so
// the launch overhead is the same for all.
//
// A hiding launcher first moves its thread into a new mount namespace
// (unshare(2) acts on the calling thread only; the Go runtime never makes a
// new thread from a locked one, and a goroutine that exits locked takes its
// thread with it) and covers /sys/fs/cgroup/unified with an empty tmpfs
// there, so that crun sees a pure cgroup v1 host. The host's mount table
// is untouched: / is made private first.
type launcher struct {
	reqs chan *launchReq
}

type launchReq struct {
	fn     func(files []uintptr) error // instead of argv (tool.fn)
	argv   []string
	env    []string
	files  []uintptr
	n      int
	out    []time.Duration
	err    error
	status syscall.WaitStatus
	done   chan struct{}
}

func startLauncher(hideUnified bool) (*launcher, error) {
	if !hideUnified {
		return startLauncherIn(nil)
	}
	return startLauncherIn(func() error {
		err := unix.Unshare(unix.CLONE_NEWNS)
		if err == nil {
			err = unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
		}
		if err == nil {
			// crun (v1 mode) still makes a directory per container
			// here and writes its pid to a cgroup.procs file, which
			// on a tmpfs is a page that rmdir then leaves behind:
			// room for a few thousand containers (the OCI rows use a
			// fresh id each time), gone with the namespace.
			err = unix.Mount("tmpfs", "/sys/fs/cgroup/unified", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=16m")
		}
		if err != nil {
			return fmt.Errorf("hiding /sys/fs/cgroup/unified: %w", err)
		}
		return nil
	})
}

// startLauncherIn starts a launcher whose locked thread first runs setup
// (nil: none), which may move the thread into namespaces of its own.
func startLauncherIn(setup func() error) (*launcher, error) {
	l := &launcher{reqs: make(chan *launchReq)}
	ready := make(chan error)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread dies with the goroutine if it changed
		// its namespaces, and is harmless otherwise.
		if setup != nil {
			if err := setup(); err != nil {
				ready <- err
				return
			}
		}
		ready <- nil
		for r := range l.reqs {
			r.out = make([]time.Duration, 0, r.n)
			for range r.n {
				if r.fn != nil {
					t0 := time.Now()
					if r.err = r.fn(r.files); r.err != nil {
						break
					}
					r.out = append(r.out, time.Since(t0))
					continue
				}
				t0 := time.Now()
				pid, err := syscall.ForkExec(r.argv[0], r.argv, &syscall.ProcAttr{Env: r.env, Files: r.files})
				if err != nil {
					r.err = fmt.Errorf("%s: %w", r.argv[0], err)
					break
				}
				for {
					_, err = syscall.Wait4(pid, &r.status, 0, nil)
					if err != syscall.EINTR {
						break
					}
				}
				el := time.Since(t0)
				if err != nil {
					r.err = err
					break
				}
				if r.status.Signaled() || r.status.ExitStatus() != 0 {
					r.err = fmt.Errorf("%s: exit status %d", r.argv[0], r.status.ExitStatus())
					if r.status.Signaled() {
						r.err = fmt.Errorf("%s: killed by %v", r.argv[0], r.status.Signal())
					}
					break
				}
				r.out = append(r.out, el)
			}
			close(r.done)
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

func (l *launcher) run(t tool, env []string, files []uintptr, n int) ([]time.Duration, error) {
	r := &launchReq{fn: t.fn, argv: t.argv, env: env, files: files, n: n, done: make(chan struct{})}
	l.reqs <- r
	<-r.done
	return r.out, r.err
}

func (l *launcher) stop() { close(l.reqs) }

// toolStrategy wraps a tool as a Strategy whose batches the launcher runs.
func toolStrategy(t tool, l *launcher, job *Job) *Strategy {
	var files []uintptr
	if job.Null != nil {
		fd := job.Null.Fd()
		files = []uintptr{fd, fd, fd}
	}
	return &Strategy{Name: t.name, About: t.about, batch: func(n, _ int) ([]time.Duration, error) {
		return l.run(t, job.Env, files, n)
	}}
}

// checkTool runs t once with its stderr captured, so that a tool that
// cannot do the job here is reported with its own words and left out
// rather than failing the benchmark.
func checkTool(t tool, l *launcher, job *Job) error {
	f, err := os.CreateTemp("", "rawns-bench-stderr-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	null := f.Fd()
	if job.Null != nil {
		null = job.Null.Fd()
	}
	_, err = l.run(t, job.Env, []uintptr{null, null, f.Fd()}, 1)
	if err != nil {
		msg, _ := os.ReadFile(f.Name())
		if s := strings.TrimSpace(string(msg)); s != "" {
			if len(s) > 300 {
				s = s[:300] + "..."
			}
			err = fmt.Errorf("%w: %s", err, strings.ReplaceAll(s, "\n", " | "))
		}
	}
	return err
}

// isExecutable reports whether path is a regular file with an execute bit.
func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// goFloor returns, for each namespace set with the c-ref and c-empty rows,
// a note with the floor of any Go tool doing the job, per empty Go program
// measured: that program's start-up and exit plus what the spawn costs
// from C (c-ref minus c-empty, the static binary's own start-up and exit),
// per round, as a paired ratio to c-ref; with rawns-run's ratio beside it,
// and rawns-run's paired ratio to the floor. go-empty is the runtime alone;
// go-os imports os, as every command-line tool does, and so pays its
// package inits too. A Go tool can come below a floor only by starting up
// faster than that program, or by spawning faster than C.
func goFloor(res []Result) []string {
	type rows struct{ empty, os, cref, cempty, rawns *Result }
	byNS := map[string]*rows{}
	var order []string
	for i := range res {
		r := &res[i]
		ns := r.Label("ns")
		if byNS[ns] == nil {
			byNS[ns] = &rows{}
			order = append(order, ns)
		}
		switch r.Name {
		case "go-empty":
			byNS[ns].empty = r
		case "go-os":
			byNS[ns].os = r
		case "c-ref":
			byNS[ns].cref = r
		case "c-empty":
			byNS[ns].cempty = r
		case "rawns-run":
			byNS[ns].rawns = r
		}
	}
	var notes []string
	for _, ns := range order {
		x := byNS[ns]
		if x.cref == nil || x.cempty == nil || x.cref.Err != "" || x.cempty.Err != "" {
			continue
		}
		for _, g := range []struct {
			r    *Result
			what string
		}{{x.empty, "floor of a Go tool (go-empty"}, {x.os, "floor of a Go tool that imports os (go-os"}} {
			if g.r == nil || g.r.Err != "" {
				continue
			}
			n := min(len(g.r.Rounds), len(x.cref.Rounds), len(x.cempty.Rounds))
			floor := make([]float64, n)
			for i := range floor {
				floor[i] = g.r.Rounds[i] + x.cref.Rounds[i] - x.cempty.Rounds[i]
			}
			note := fmt.Sprintf("ns=%s: %s + c-ref - c-empty, per round) %.2fx c-ref", ns, g.what, PairedRatio(floor, x.cref.Rounds))
			if x.rawns != nil && x.rawns.Err == "" {
				note += fmt.Sprintf("; rawns-run %.2fx, %.2fx the floor (target <= 1.10)", x.rawns.Ratio, PairedRatio(x.rawns.Rounds, floor))
			}
			notes = append(notes, note)
		}
	}
	return notes
}

// privilegeCost returns, for each namespace set with both rows, what
// rawns-run-seccomp (--seccomp default --cap-drop ALL) adds over a plain
// rawns-run, as a paired ratio of the rounds: the target
// (docs/benchmarks.md, "Least privilege") is at most 0.15x of a plain run.
func privilegeCost(res []Result) []string {
	var notes []string
	for i := range res {
		if res[i].Name != "rawns-run-seccomp" || res[i].Err != "" {
			continue
		}
		for j := range res {
			if res[j].Name == "rawns-run" && res[j].Err == "" && res[j].Label("ns") == res[i].Label("ns") {
				r := PairedRatio(res[i].Rounds, res[j].Rounds)
				notes = append(notes, fmt.Sprintf("ns=%s: rawns-run-seccomp (--seccomp default --cap-drop ALL) %.3fx rawns-run, +%.3fx (target: at most +0.15x)", res[i].Label("ns"), r, r-1))
			}
		}
	}
	return notes
}

// initCost returns, for each namespace set, what each --init row adds over
// a plain rawns-run, in multiples of c-ref (the rows' medians, as the
// table prints them): the target (docs/benchmarks.md) is at most +0.35x.
func initCost(res []Result) []string {
	var notes []string
	for i := range res {
		if !strings.HasPrefix(res[i].Name, "rawns-run-init") || res[i].Err != "" {
			continue
		}
		for j := range res {
			if res[j].Name == "rawns-run" && res[j].Err == "" && res[j].Label("ns") == res[i].Label("ns") {
				notes = append(notes, fmt.Sprintf("ns=%s: %s %.2fx c-ref, rawns-run %.2fx: +%.2fx (target: at most +0.35x); paired per round %.3fx rawns-run", res[i].Label("ns"), res[i].Name, res[i].Ratio, res[j].Ratio, res[i].Ratio-res[j].Ratio, PairedRatio(res[i].Rounds, res[j].Rounds)))
			}
		}
	}
	return notes
}
