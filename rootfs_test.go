package main

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rawns/rawns/internal/testutil"
)

// rootfsFixture is a busybox root and host files to bind into it.
type rootfsFixture struct {
	root, data, file string
}

func newRootfsFixture(t *testing.T) rootfsFixture {
	t.Helper()
	f := rootfsFixture{root: testutil.BusyboxRoot(t), data: t.TempDir()}
	os.WriteFile(filepath.Join(f.data, "f"), []byte("data\n"), 0o644)
	f.file = filepath.Join(t.TempDir(), "hostfile")
	os.WriteFile(f.file, []byte("file\n"), 0o644)
	return f
}

// TestRunRootfsFlags: each filesystem flag alone, then all together, as the
// command sees the result. Every run leaves the host's mount table as it
// was, DIR as it was (checksum of the tree, where the run writes nothing
// or writes through an overlay), and TMPDIR empty.
func TestRunRootfsFlags(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	f := newRootfsFixture(t)
	overlayDir := filepath.Join(t.TempDir(), "layer")
	R := f.root
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(R, link)
	cases := []struct {
		name   string
		args   []string
		script string
		want   string
		writes bool // the run may change DIR (a created mount point)
	}{
		{"rootfs", []string{"--rootfs", R}, `pwd; ls /; ls /usr 2>&1`, "/\nbin\ndev\netc\nmnt\nproc\nroot\nsys\ntmp\nls: /usr: No such file or directory\n", false},
		// A bare --rootfs gets the /dev of --dev /dev: a write to
		// /dev/null goes nowhere, not into R/dev (issue 25, bug 6); a
		// mount on /dev is the user's choice instead.
		{"rootfs /dev", []string{"--rootfs", R}, `echo x >/dev/null; ls /dev | wc -l; readlink /dev/ptmx`, "13\npts/ptmx\n", false},
		{"rootfs tmpfs /dev", []string{"--rootfs", R, "--tmpfs", "/dev"}, `ls /dev | wc -l`, "0\n", false},
		{"read-only", []string{"--rootfs", R, "--read-only"}, `touch /x 2>&1`, "touch: /x: Read-only file system\n", false},
		{"bind", []string{"--rootfs", R, "--bind", f.data, "/mnt"}, `cat /mnt/f; echo w >/mnt/w && cat /mnt/w`, "data\nw\n", false},
		{"ro-bind", []string{"--rootfs", R, "--ro-bind", f.file, "/etc/hostfile"}, `cat /etc/hostfile; echo x 2>&1 >/etc/hostfile`, "file\nsh: can't create /etc/hostfile: Read-only file system\n", true},
		{"volume", []string{"--rootfs", R, "--volume", f.data + ":/mnt:ro"}, `cat /mnt/f; touch /mnt/x 2>&1`, "data\ntouch: /mnt/x: Read-only file system\n", false},
		{"tmpfs", []string{"--rootfs", R, "--size", "1m", "--perms", "0700", "--tmpfs", "/tmp", "--tmpfs", "/mnt"}, `stat -c %a /tmp /mnt; stat -f -c %b /tmp`, "700\n755\n256\n", false},
		{"proc", []string{"--rootfs", R, "--proc", "/proc"}, `cat /proc/1/comm; ls /proc/self/fd`, "sh\n0\n1\n2\n3\n", false},
		{"mount-proc", []string{"--rootfs", R, "--mount-proc"}, `cat /proc/1/comm`, "sh\n", false},
		{"dev", []string{"--rootfs", R, "--dev", "/dev", "--proc", "/proc"}, `ls /dev | wc -l; echo x >/dev/null; head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/stdout; grep -c devpts /proc/self/mountinfo`, "13\n4\npts/ptmx\n/proc/self/fd/1\n1\n", false},
		{"mqueue", []string{"--ns", "pid,uts,ipc", "--rootfs", R, "--mqueue", "/mnt", "--proc", "/proc"}, `grep -c ' /mnt .* - mqueue ' /proc/self/mountinfo`, "1\n", false},
		{"overlay", []string{"--rootfs", R, "--overlay"}, `echo new >/new && cat /new; rm /bin/ls; echo x >/etc/passwd`, "new\n", false},
		// A root named through a link: the overlay failed on the link's
		// path (move_mount: EINVAL; issue 25, found by TestDocExamples).
		{"overlay via a link", []string{"--rootfs", link, "--overlay"}, `echo new >/new && cat /new`, "new\n", false},
		{"overlay-dir", []string{"--rootfs", R, "--overlay-dir", overlayDir}, `echo kept >/kept && cat /kept`, "kept\n", false},
		{"host tree", []string{"--tmpfs", "/mnt", "--bind", f.data, "/mnt/data"}, `cat /mnt/data/f; ls /mnt`, "data\ndata\n", false},
		{"all", []string{"--ns", "pid,uts,ipc", "--rootfs", R, "--overlay", "--read-only", "--dev", "/dev", "--proc", "/proc",
			"--tmpfs", "/tmp", "--bind", f.data, "/data", "--ro-bind", f.file, "/etc/hostfile", "--volume", f.data + ":/vol:ro",
			"--mqueue", "/dev/mqueue", "--chdir", "/data"},
			`pwd; cat f /etc/hostfile /vol/f; touch /x 2>&1; touch /tmp/x && echo tmp-ok; ls -d /dev/mqueue /dev/pts`,
			"/data\ndata\nfile\ndata\ntouch: /x: Read-only file system\ntmp-ok\n/dev/mqueue\n/dev/pts\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := testutil.TreeSum(t, R)
			tmp := t.TempDir()
			// The output is what is checked; the script's own last status
			// (a refused write) is not.
			args := append(append([]string{"run"}, c.args...), "--", "sh", "-c", c.script+"; exit 0")
			cmd := exec.Command(rawnsBin, args...)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "PATH=/bin")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != c.want {
				t.Fatalf("rawns %q: %v\ngot:\n%s\nwant:\n%s", args, err, out, c.want)
			}
			if after := testutil.TreeSum(t, R); after != before && !c.writes {
				t.Errorf("DIR changed")
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("TMPDIR holds %v after the run", ents)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(overlayDir, "upper/kept")); err != nil || string(b) != "kept\n" {
		t.Errorf("--overlay-dir: upper/kept is %q, %v", b, err)
	}
}

// TestRunRootfsInitAndVerbose: --init's PID 1 (the cloned child, named
// rawns-init) works inside a root of its own, with the command as pid 2;
// -v reports as always.
func TestRunRootfsInitAndVerbose(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	R := testutil.BusyboxRoot(t)
	r := rawnsRun(t, "run", "--init", "--rootfs", R, "--proc", "/proc", "--", "sh", "-c", "ps -o pid=,comm= | head -2; exit 3")
	if r.code != 3 || !regexpLine(r.stdout, `^ *1 rawns-init$`) || !regexpLine(r.stdout, `^ *2 sh$`) {
		t.Fatalf("--init with a rootfs: %+v", r)
	}
	r = rawnsRun(t, "run", "-v", "--rootfs", R, "--dev", "/dev", "--", "sh", "-c", "exit 4")
	if r.code != 4 || !strings.Contains(r.stderr, "the command exited with code 4") || !regexpLine(r.stderr, `rawns: mnt +\d+ +\d+ +new$`) {
		t.Fatalf("-v with a rootfs: %+v", r)
	}
}

// TestRunRootfsErrors: each refusal is one line that names the flag and the
// path, exit 125 (127 for a command the root lacks), and leaves nothing:
// the host's mount table byte for byte, DIR, TMPDIR.
func TestRunRootfsErrors(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	f := newRootfsFixture(t)
	R := f.root
	before := testutil.TreeSum(t, R)
	toSlash := filepath.Join(t.TempDir(), "slash")
	os.Symlink("/", toSlash)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--rootfs", R + "/nope"}, 125, "--rootfs " + R + "/nope: " + R + "/nope: no such file or directory"},
		{[]string{"--rootfs", R + "/bin/busybox"}, 125, "--rootfs " + R + "/bin/busybox: not a directory"},
		// Issue 25: a link to / reached pivot_root (EBUSY); /proc was taken.
		{[]string{"--rootfs", toSlash}, 125, "--rootfs " + toSlash + ": a link to the host's /, which is already the root"},
		{[]string{"--rootfs", "/proc"}, 125, "--rootfs /proc: /proc is on proc, a kernel filesystem, not a root filesystem"},
		{[]string{"--rootfs", "/sys"}, 125, "--rootfs /sys: /sys is on sysfs, a kernel filesystem"},
		{[]string{"--rootfs", R, "--bind", "/nonexistent-src", "/x"}, 125, "--bind /nonexistent-src /x: source /nonexistent-src: no such file or directory"},
		{[]string{"--rootfs", R, "--bind", f.data, "/../../x"}, 125, "--bind " + f.data + " /../../x: destination /../../x climbs out of the root"},
		{[]string{"--rootfs", R, "--tmpfs", "relative"}, 125, "--tmpfs relative: destination \"relative\" is not an absolute path"},
		{[]string{"--rootfs", R, "--tmpfs", "/x", "--size", "10"}, 125, "--size or --perms given without a --tmpfs after it"},
		{[]string{"--rootfs", R, "--perms", "999", "--tmpfs", "/x"}, 125, "--perms 999: give an octal mode"},
		{[]string{"--rootfs", R, "--volume", "a"}, 125, "--volume a: give SRC:DEST"},
		{[]string{"--ns", "uts,mnt", "--rootfs", R, "--proc", "/proc"}, 125, "--proc /proc without a PID namespace"},
		{[]string{"--overlay"}, 125, "--overlay goes over the directory of --rootfs"},
		{[]string{"--tmpfs", "/nonexistent-mnt"}, 125, "--tmpfs /nonexistent-mnt: /nonexistent-mnt does not exist on the host"},
		// The kernel refuses: a file where a directory is needed.
		{[]string{"--rootfs", R, "--tmpfs", "/bin/busybox/x"}, 125, "--tmpfs /bin/busybox/x: the kernel refused tmpfs on /bin/busybox/x (openat2: not a directory)"},
		// Issue 25: a mount onto the other kind was "move_mount: invalid
		// argument"; now which is a directory and which a file.
		{[]string{"--rootfs", R, "--dev", "/etc/passwd"}, 125, "--dev /etc/passwd: a tmpfs is a directory but /etc/passwd in the root is a file, and a mount goes only onto its own kind; give a directory as the destination (move_mount: invalid argument)"},
		{[]string{"--rootfs", R, "--bind", f.data, "/etc/passwd"}, 125, "--bind " + f.data + " /etc/passwd: " + f.data + " is a directory but /etc/passwd in the root is a file, and a mount goes only onto its own kind; give a directory as the destination (move_mount: invalid argument)"},
		{[]string{"--rootfs", R, "--bind", R + "/etc/passwd", "/etc"}, 125, "--bind " + R + "/etc/passwd /etc: " + R + "/etc/passwd is a file but /etc in the root is a directory, and a mount goes only onto its own kind; give a file as the destination (move_mount: invalid argument)"},
		{[]string{"--bind", f.data, f.file}, 125, "--bind " + f.data + " " + f.file + ": " + f.data + " is a directory but " + f.file + " is a file"},
		{[]string{"--rootfs", R, "--chdir", "/proc/self/fd/1", "--proc", "/proc"}, 125, "--chdir /proc/self/fd/1: the kernel refused chdir /proc/self/fd/1 (openat2: too many levels of symbolic links)"},
		{[]string{"--rootfs", R, "--chdir", "/nonexistent"}, 125, "--chdir /nonexistent: the kernel refused chdir /nonexistent (openat2: no such file or directory)"},
		{[]string{"--rootfs", R, "--", "nosuchcommand"}, 127, "nosuchcommand: command not found in PATH /bin inside the root " + R},
		{[]string{"--rootfs", R, "--", "/usr/bin/env"}, 127, "/usr/bin/env: command not found in the root " + R},
	}
	for _, c := range cases {
		tmp := t.TempDir()
		args := append([]string{"run"}, c.args...)
		if !slices.Contains(c.args, "--") {
			args = append(args, "--", "sh", "-c", "true")
		}
		cmd := exec.Command(rawnsBin, args...)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "PATH=/bin")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code != c.code || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("rawns %q: exit %d, stderr %q; want exit %d and one line with %q", args, code, stderr.String(), c.code, c.want)
		}
		if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
			t.Errorf("rawns %q: TMPDIR holds %v", args, ents)
		}
	}
	if after := testutil.TreeSum(t, R); after != before {
		t.Errorf("a failed run changed DIR")
	}
}

// TestRunRootfsRootless: as an unprivileged user with --ns user
// --map-root-user, a root with binds, --dev, --proc, a tmpfs and an
// overlay works, and DIR stays as it was.
func TestRunRootfsRootless(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
		t.Fatal("kernel.unprivileged_userns_clone=0: rootless mode cannot be tested on this machine")
	}
	f := newRootfsFixture(t)
	// nobody must reach the root and the sources through their parents;
	// and, as a rootless user's root filesystem would be, the root is
	// nobody's: mapped to root inside, nobody may create mount points in
	// it (the overlay still keeps it unchanged).
	for _, p := range []string{f.root, f.data, filepath.Dir(f.file)} {
		for d := p; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	filepath.WalkDir(f.root, func(p string, _ fs.DirEntry, _ error) error { return os.Lchown(p, 65534, 65534) })
	before := testutil.TreeSum(t, f.root)
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", rawnsBin,
		"run", "--ns", "user,pid,uts,mnt", "--map-root-user", "--rootfs", f.root, "--overlay",
		"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--bind", f.data, "/data", "--ro-bind", f.file, "/etc/hostfile",
		"--", "sh", "-c", `id -u; cat /data/f /etc/hostfile; echo x >/dev/null && echo null-ok; ls /dev/pts >/dev/null && echo pts-ok; echo w >/w && cat /w; cat /proc/1/comm; true`)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin"}
	out, err := cmd.CombinedOutput()
	want := "0\ndata\nfile\nnull-ok\npts-ok\nw\nsh\n"
	if err != nil || string(out) != want {
		t.Fatalf("rootless: %v\ngot:\n%s\nwant:\n%s", err, out, want)
	}
	if testutil.TreeSum(t, f.root) != before {
		t.Errorf("the overlay let DIR change")
	}
}

// TestRunRootfsSymlinkedDestinations: destinations through symlinks of the
// root that point out of it (absolute and with ..) land inside the root, as
// the command sees them; nothing is created on the host.
func TestRunRootfsSymlinkedDestinations(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	f := newRootfsFixture(t)
	marker := fmt.Sprintf("rawns-escape-%d", os.Getpid())
	os.Symlink("/", filepath.Join(f.root, "abs"))
	os.Symlink("../../../../../../etc", filepath.Join(f.root, "etclink"))
	r := rawnsRun(t, "run", "--rootfs", f.root, "--bind", f.data, "/abs/"+marker, "--ro-bind", f.file, "/etclink/"+marker,
		"--", "sh", "-c", "cat /"+marker+"/f /etc/"+marker)
	if r.code != 0 || r.stdout != "data\nfile\n" {
		t.Fatalf("%+v", r)
	}
	for _, p := range []string{"/" + marker, "/etc/" + marker} {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was created on the host", p)
		}
		if _, err := os.Lstat(filepath.Join(f.root, p)); err != nil {
			t.Errorf("%s is not in the root: %v", p, err)
		}
	}
}

// TestRunOverlayDirLocked: while a run uses --overlay-dir D, a second run
// on D is refused (125, one line naming --overlay-dir and the pid that
// holds it), not started on a shared upper layer (issue 25, bug 5: the
// kernel only logged "upperdir is in-use ... undefined behavior"); once the
// first has ended, D is free again. Nothing is left in D but upper and
// work.
func TestRunOverlayDirLocked(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckHostUnchanged(t)
	R := testutil.BusyboxRoot(t)
	D := filepath.Join(t.TempDir(), "layer")
	first := exec.Command(rawnsBin, "run", "--rootfs", R, "--overlay-dir", D, "--", "sh", "-c", "echo ready; read x; echo first >/first")
	in, err := first.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	if line, err := readLine(bufio.NewReader(out), 10*time.Second); err != nil || line != "ready\n" {
		t.Fatalf("the first run: %q, %v", line, err)
	}
	r := rawnsRun(t, "run", "--rootfs", R, "--overlay-dir", D, "--", "true")
	want := fmt.Sprintf("rawns run: --overlay-dir %s: in use by another run (pid %d holds its lock)", D, first.Process.Pid)
	if r.code != 125 || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("a second run on the same --overlay-dir: exit %d, stderr %q; want 125 and %q", r.code, r.stderr, want)
	}
	in.Close()
	if err := first.Wait(); err != nil {
		t.Fatalf("the first run: %v", err)
	}
	r = rawnsRun(t, "run", "--rootfs", R, "--overlay-dir", D, "--", "cat", "/first")
	if r.code != 0 || r.stdout != "first\n" {
		t.Fatalf("a run after the first ended: %+v", r)
	}
	if ents, _ := os.ReadDir(D); len(ents) != 2 {
		t.Errorf("%s holds %v, want upper and work", D, ents)
	}
}
