package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// The OCI rows (issue 21): one busybox bundle running the command, driven
// through each OCI runtime's command line the two ways engines do, with a
// fresh container id every time:
//
//   - NAME-oci-run: `RT run --bundle B ID`, runc's foreground form, which
//     creates, starts, waits and deletes.
//   - NAME-oci-lifecycle: `RT create --bundle B --pid-file P ID`, `RT start
//     ID`, a wait for the container's first process, `RT delete ID`: what
//     containerd's shim and podman's conmon do. The wait is a wait4 on the
//     pid from the pid file: the benchmark is a child subreaper while these
//     rows run (PR_SET_CHILD_SUBREAPER, prctl(2)), so the container's
//     process, orphaned when `create` exits, becomes its child, as it does
//     a shim's or conmon's.
//
// NAME is rawns (rawns-oci beside rawns), crun and runc. Each runtime keeps
// its state in a --root of its own in the benchmark's temporary directory.
// Issue 21's target: each rawns row at most 0.6x crun's, under a third of
// runc's, paired per round (ociNotes).

// ociRuntimes are the runtimes of the OCI rows, in the table's order.
var ociRuntimes = []string{"rawns", "crun", "runc"}

// ociRow is one runtime driven one way; once runs it one time.
type ociRow struct {
	runtime   string // the runtime's binary
	root      string // its --root
	bundle    string
	lifecycle bool // create, start, wait, delete; else run
	prefix    string
	n         int
	env       []string
}

// once runs the row's form with a fresh container id, files being the
// runtime's stdin, stdout and stderr.
func (o *ociRow) once(files []uintptr) error {
	o.n++
	id := o.prefix + strconv.Itoa(o.n)
	if !o.lifecycle {
		return o.exec(files, "run", "--bundle", o.bundle, id)
	}
	pidFile := filepath.Join(o.root, id+".pid")
	if err := o.exec(files, "create", "--bundle", o.bundle, "--pid-file", pidFile, id); err != nil {
		return err
	}
	b, err := os.ReadFile(pidFile)
	os.Remove(pidFile)
	pid, perr := strconv.Atoi(string(b))
	if err != nil || perr != nil || pid <= 0 {
		o.exec(files, "delete", "--force", id)
		return fmt.Errorf("create --pid-file wrote %q (%v): want the container's pid, no newline", b, err)
	}
	if err := o.exec(files, "start", id); err != nil {
		o.exec(files, "delete", "--force", id)
		return err
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		o.exec(files, "delete", "--force", id)
		return fmt.Errorf("waiting for the container's process %d: %w (the benchmark must be its subreaper)", pid, err)
	}
	if ws.Signaled() || ws.ExitStatus() != 0 {
		o.exec(files, "delete", "--force", id)
		return fmt.Errorf("the container's process exited with %v", ws)
	}
	return o.exec(files, "delete", id)
}

// exec runs the runtime with args and waits for it.
func (o *ociRow) exec(files []uintptr, args ...string) error {
	argv := append([]string{o.runtime, "--root", o.root}, args...)
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: o.env, Files: files})
	if err != nil {
		return fmt.Errorf("%s: %w", argv[0], err)
	}
	var ws syscall.WaitStatus
	for {
		_, err = syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return err
	}
	if ws.Signaled() || ws.ExitStatus() != 0 {
		return fmt.Errorf("%s %s: %v", filepath.Base(o.runtime), strings.Join(args, " "), ws)
	}
	return nil
}

// reapOrphans reaps whatever orphans the subreaper was handed and nobody
// waited for (none, when every runtime behaves), so that none stays a
// zombie. Only the launcher's thread forks while a row runs, and it has
// reaped its own children by then.
func reapOrphans() {
	for {
		pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// ociTools returns the OCI rows for job: for each runtime found, its run
// and lifecycle rows, on one busybox bundle made in dir.
func ociTools(job *Job, rawns, dir string) ([]tool, []string) {
	var (
		tools []tool
		notes []string
	)
	ns := job.Namespaces
	if ns&(clone.NewUser|clone.NewTime|clone.NewCgroup) != 0 {
		return nil, []string{"oci rows: the bundle here makes no user, time or cgroup namespace; skipped for ns=" + ns.String()}
	}
	bundle := filepath.Join(dir, "oci-bundle")
	if err := makeBusyboxBundle(bundle, job); err != nil {
		return nil, []string{"oci rows: " + err.Error() + "; skipped"}
	}
	for _, name := range ociRuntimes {
		var path string
		if name == "rawns" {
			if rawns != "" {
				if p := filepath.Join(filepath.Dir(rawns), "rawns-oci"); isExecutable(p) {
					path = p
				}
			}
			if path == "" {
				notes = append(notes, "rawns-oci: not built beside rawns (make build), OCI rows skipped")
				continue
			}
		} else {
			p, err := exec.LookPath(name)
			if err != nil {
				notes = append(notes, name+": not installed, OCI rows skipped")
				continue
			}
			path = p
		}
		root := filepath.Join(dir, "oci-root-"+name)
		if err := os.MkdirAll(root, 0o700); err != nil {
			return nil, []string{"oci rows: " + err.Error()}
		}
		hide := name == "crun" && hybridCgroups()
		for _, lifecycle := range []bool{false, true} {
			form, about := "run", name+" run --bundle B ID: create, start, wait, delete in one command"
			if lifecycle {
				form, about = "lifecycle", name+" create --pid-file, start, wait4 of the container's process (the benchmark is its subreaper), delete: what a shim or conmon does"
			}
			about += "; B a busybox root, a fresh ID each time"
			if hide {
				about += "; in a mount namespace hiding /sys/fs/cgroup/unified, since crun refuses a hybrid cgroup layout"
			}
			row := &ociRow{runtime: path, root: root, bundle: bundle, lifecycle: lifecycle,
				prefix: fmt.Sprintf("rawns-bench-%d-%s-", os.Getpid(), form), env: job.Env}
			tools = append(tools, tool{name: name + "-oci-" + form, about: about, hideUnified: hide, fn: row.once})
		}
	}
	return tools, notes
}

// makeBusyboxBundle writes an OCI bundle whose root holds a static busybox
// (Debian's busybox-static) as /bin/busybox and the job's command as a
// link to it, with a mount namespace, the job's others, and /proc.
func makeBusyboxBundle(dir string, job *Job) error {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		return nil
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil || !isStatic("/bin/busybox") {
		return errors.New("no static /bin/busybox for the bundle's root: install busybox-static (make test-deps)")
	}
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "dev", "proc", "tmp", filepath.Dir(job.Path)} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	if job.Path != "/bin/busybox" {
		if err := os.Symlink("/bin/busybox", filepath.Join(rootfs, job.Path)); err != nil {
			return err
		}
	}
	type nsEntry struct {
		Type string `json:"type"`
	}
	nss := []nsEntry{{"mount"}}
	for _, k := range clone.Kinds {
		if job.Namespaces&k.Flag == 0 || k.Flag == clone.NewMount {
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
			"args":     append([]string{job.Path}, job.Args[1:]...),
			"env":      []string{"PATH=/bin"},
			"cwd":      "/",
		},
		"root":   map[string]any{"path": "rootfs", "readonly": true},
		"mounts": []map[string]any{{"destination": "/proc", "type": "proc", "source": "proc"}},
		"linux":  map[string]any{"namespaces": nss},
	}
	if h := job.hostname(); h != "" && job.Namespaces&clone.NewUTS != 0 {
		cfg["hostname"] = h
	}
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
}

// setSubreaper makes the benchmark a child subreaper (on) or not (off),
// for the OCI lifecycle rows; off also reaps what it was handed.
func setSubreaper(on bool) error {
	v := 0
	if on {
		v = 1
	} else {
		defer reapOrphans()
	}
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, uintptr(v), 0, 0, 0)
}

// ociNotes states, per namespace set, rawns's OCI rows as paired ratios to
// crun's and runc's of the same form: issue 21's targets.
func ociNotes(res []Result) []string {
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
	var notes []string
	for _, ns := range order {
		for _, form := range []string{"run", "lifecycle"} {
			x := by[ns]
			rr := x["rawns-oci-"+form]
			if rr == nil || rr.Err != "" {
				continue
			}
			note := fmt.Sprintf("ns=%s: rawns-oci-%s", ns, form)
			if c := x["crun-oci-"+form]; c != nil && c.Err == "" {
				note += fmt.Sprintf(" %.2fx crun (target <= 0.60)", PairedRatio(rr.Rounds, c.Rounds))
			}
			if c := x["runc-oci-"+form]; c != nil && c.Err == "" {
				note += fmt.Sprintf(", %.2fx runc (target < 0.33)", PairedRatio(rr.Rounds, c.Rounds))
			}
			notes = append(notes, note+", paired per round")
		}
	}
	return notes
}
