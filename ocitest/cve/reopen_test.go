package cve

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A reopening is a deliberately broken rawns-oci: a copy of this tree,
// built in a temporary directory, with a few exact edits that bring a CVE's
// hole back. OCITEST_REOPEN=CVE-... builds it in place of rawns-oci and
// expects that CVE's tests to find the hole (make cve-prove runs them
// all); a normal build carries nothing of it. An edit that no longer
// applies (its old text is gone) fails the run: the test needs updating
// with the code it breaks.
type edit struct {
	file, old, new string
}

type reopening []edit

var reopenings = map[string]reopening{
	// runc before 1.0.0-rc7 ran its own host binary as the container's
	// process until that process's execve, so that a "#!/proc/self/exe"
	// program ran the runtime in the container, where /proc/PID/exe of it
	// was writable once it had exited. Reopened: the child execs the
	// program itself, not through the exec shim (clone.OpenExecShim), at
	// create and at exec (rawns-oci stays non-dumpable).
	"CVE-2019-5736": {
		{
			file: "container/create.go",
			old:  "\tif spec.ShimFD, err = clone.OpenExecShim(); err != nil {\n\t\treturn nil, nil, err\n\t}\n\tdefer unix.Close(spec.ShimFD)\n",
			new:  "\t// reopened by ocitest/cve (CVE-2019-5736): no exec shim\n",
		},
		{
			file: "container/exec.go",
			old:  "\tif spec.ShimFD, err = clone.OpenExecShim(); err != nil {\n\t\treturn nil, err\n\t}\n\tdefer unix.Close(spec.ShimFD)\n",
			new:  "\t// reopened by ocitest/cve (CVE-2019-5736): no exec shim\n",
		},
	},
	// runc before 1.1.2 gave the inheritable set the bounding set's
	// capabilities.
	"CVE-2022-29162": {{
		file: "oci/process.go",
		old:  "\tif extra := c.Effective &^ c.Permitted; extra != 0 {",
		new:  "\tc.Inheritable = c.Bounding // reopened by ocitest/cve (CVE-2022-29162)\n\tif extra := c.Effective &^ c.Permitted; extra != 0 {",
	}},
	// runc before 1.1.12 leaked a host directory fd (its cgroup's) into
	// the container's process, and changed to process.cwd by path, so
	// that /proc/self/fd/N led onto the host. Reopened: the cgroup
	// directory's fd (held through the clone for CLONE_INTO_CGROUP, at
	// create and at exec) without O_CLOEXEC, the child no longer marking
	// its fds close-on-exec, and the cwd (of the root's steps and of a
	// joined mount namespace) a plain chdir(2).
	"CVE-2024-21626": {
		{
			file: "cgroup/v2.go",
			old:  "unix.Open(g.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)",
			new:  "unix.Open(g.dir, unix.O_PATH|unix.O_DIRECTORY, 0) // reopened by ocitest/cve (CVE-2024-21626)",
		},
		{
			file: "cgroup/container.go",
			old:  "unix.Open(c.v2.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)",
			new:  "unix.Open(c.v2.dir, unix.O_PATH|unix.O_DIRECTORY, 0) // reopened by ocitest/cve (CVE-2024-21626)",
		},
		{
			file: "clone/child_unsafe.go",
			old:  "_, _, errno = rawSyscall(unix.SYS_CLOSE_RANGE, d.firstCloexec, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)",
			new:  "errno = 0 // reopened by ocitest/cve (CVE-2024-21626)",
		},
		{
			file: "clone/mountsteps_unsafe.go",
			old:  "\t\tb.openInRoot(strings.TrimPrefix(path.Clean(\"/\"+spec.Dir), \"/\"), true, slotAt)\n\t\tb.sys(\"fchdir\", unix.SYS_FCHDIR, slot(slotAt))\n",
			new:  "\t\tb.sys(\"chdir\", unix.SYS_CHDIR, b.str(spec.Dir)) // reopened by ocitest/cve (CVE-2024-21626)\n",
		},
		{
			file: "clone/mountsteps_unsafe.go",
			old:  "\n\tb.openInRoot(strings.TrimPrefix(path.Clean(\"/\"+spec.Dir), \"/\"), true, slotAt)\n\tb.sys(\"fchdir\", unix.SYS_FCHDIR, slot(slotAt))\n",
			new:  "\n\tb.sys(\"chdir\", unix.SYS_CHDIR, b.str(spec.Dir)) // reopened by ocitest/cve (CVE-2024-21626)\n",
		},
	},
	// runc before 1.0.0 (CVE-2021-30465) and 1.1.5 (CVE-2023-27561, /proc)
	// made a mount point at a path it resolved with the host's lookup, a
	// symlink in the root leading out of it. Reopened: before its own
	// steps, the parent follows a symlink at the mount point on the host
	// and makes the directory it leads to.
	"CVE-2021-30465": hostLookup,
	"CVE-2023-27561": hostLookup,
	// runc before 1.2.8 masked a path with the container's own
	// /dev/null, whatever it was. Reopened: the mask's source is the
	// root's dev/null resolved inside the root, a symlink followed.
	"CVE-2025-31133": {
		{
			file: "clone/mountsteps_unsafe.go",
			old:  "\tb.saveTo(b.sys(\"open_tree /dev/null\", unix.SYS_OPEN_TREE, slot(slotDevNull), e, clone), slotMnt)\n",
			new: "\tb.saveTo(b.sys(\"openat2 dev/null\", unix.SYS_OPENAT2, slot(slotRoot), b.str(\"dev/null\"), b.how(unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT}), val(unix.SizeofOpenHow)), slotMnt) // reopened by ocitest/cve (CVE-2025-31133)\n" +
				"\tb.saveTo(b.sys(\"open_tree dev/null\", unix.SYS_OPEN_TREE, slot(slotMnt), e, clone), slotMnt)\n",
		},
		{
			file: "clone/mountsteps_unsafe.go",
			old:  "\tfile.allow(unix.ENOENT, 2)\n",
			new:  "\tfile.allow(unix.ENOENT, 3)\n",
		},
	},
	// runc before 1.2.8 bound the console's pty over whatever
	// dev/console of the root led to. Reopened: the target is opened
	// following symlinks (inside the root, where the host file is bound
	// and procfs is mounted).
	"CVE-2025-52565": {{
		file: "clone/console_unsafe.go",
		old:  "c.howTarget = unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS}",
		new:  "c.howTarget = unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC} // reopened by ocitest/cve (CVE-2025-52565)",
	}},
	// runc before 1.4.0-rc.3 wrote sysctls through the container's
	// /proc, which the config's mounts could cover. Reopened: besides
	// the write through the child's own detached proc, each sysctl is
	// written again by path after the mount phase, as runc did.
	"CVE-2025-52881": {{
		file: "clone/mountsteps_unsafe.go",
		old:  "\tif spec.Root != \"\" && spec.Dir != \"\" {\n",
		new: "\tfor _, s := range spec.Sysctls { // reopened by ocitest/cve (CVE-2025-52881)\n" +
			"\t\tb.saveTo(b.sys(\"open sysctl\", unix.SYS_OPENAT, val(atFDCWD), b.str(\"/proc/sys/\"+sysctlPath(s.Name)), val(unix.O_WRONLY|unix.O_CLOEXEC)), slotAt)\n" +
			"\t\tb.sys(\"write\", unix.SYS_WRITE, slot(slotAt), b.str(s.Value), val(uintptr(len(s.Value))))\n\t}\n" +
			"\tif spec.Root != \"\" && spec.Dir != \"\" {\n",
	}},
}

// hostLookup is the reopening of the symlinked mount point CVEs.
var hostLookup = reopening{
	{
		file: "clone/mountsteps_unsafe.go",
		old:  "import (\n\t\"fmt\"\n\t\"path\"\n",
		new:  "import (\n\t\"fmt\"\n\t\"os\"\n\t\"path\"\n\t\"path/filepath\"\n",
	},
	{
		file: "clone/mountsteps_unsafe.go",
		old:  "\t\t\tb.mountPoint(m, rel, ex, covered, devBind)\n",
		new: "\t\t\tif ex != nil { // reopened by ocitest/cve (CVE-2021-30465, CVE-2023-27561)\n" +
			"\t\t\t\tp := filepath.Join(spec.Root, rel)\n" +
			"\t\t\t\tif t, err := os.Readlink(p); err == nil {\n" +
			"\t\t\t\t\tif !filepath.IsAbs(t) {\n\t\t\t\t\t\tt = filepath.Join(filepath.Dir(p), t)\n\t\t\t\t\t}\n" +
			"\t\t\t\t\tos.MkdirAll(t, 0o755)\n\t\t\t\t}\n\t\t\t}\n" +
			"\t\t\tb.mountPoint(m, rel, ex, covered, devBind)\n",
	},
}

// buildReopened builds rawns-oci with cve's hole reopened into out.
func buildReopened(cve, out, tmp string) error {
	ro, ok := reopenings[cve]
	if !ok {
		var known []string
		for k := range reopenings {
			known = append(known, k)
		}
		return fmt.Errorf("OCITEST_REOPEN=%s: no reopening for it; known: %s", cve, strings.Join(known, ", "))
	}
	src := filepath.Join(tmp, "tree")
	if err := copyTree("../..", src); err != nil {
		return err
	}
	for _, e := range ro {
		path := filepath.Join(src, e.file)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Count(string(b), e.old) != 1 {
			return fmt.Errorf("reopening %s: %s no longer holds %q once: update ocitest/cve/reopen_test.go", cve, e.file, e.old)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), e.old, e.new, 1)), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/rawns-oci")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the reopened rawns-oci: %v\n%s", err, b)
	}
	return nil
}

// copyTree copies the module's files (not bin/, .git, caches) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			switch d.Name() {
			case "bin", ".git", ".vmtest-cache", "testdata":
				if rel != "." {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
}
