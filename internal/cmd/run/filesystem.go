package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/internal/size"
	"github.com/rawns/rawns/rootfs"
)

// filesystemConcern: a root filesystem of the command's own, and mounts in
// bubblewrap's vocabulary, made in the order given (package rootfs builds
// the list, the child makes it: clone's mount phase).
var filesystemConcern = concern{
	title: "Filesystem (each adds mnt; DEST is a path inside the new root)",
	help: `  --rootfs DIR         DIR becomes / (pivot_root; the host's tree is detached)
  --read-only          make / read-only once the mounts are made
  --overlay            a writable overlay over DIR on a tmpfs: DIR stays unchanged
  --overlay-dir PATH   keep the overlay's upper layer in PATH/upper instead
  --bind SRC DEST      bind the host's SRC on DEST, recursively (repeatable)
  --ro-bind SRC DEST   the same, read-only all the way down (repeatable)
  --volume SRC:DEST[:ro]  docker's spelling of --bind/--ro-bind (repeatable)
  --tmpfs DEST         a tmpfs on DEST (repeatable); --size SIZE (64m, as
                       --memory) and --perms MODE before it apply to it
  --proc DEST          a fresh proc on DEST (needs pid)
  --dev DEST           a minimal /dev: null zero full random urandom tty bound
                       from the host, a private devpts, shm, fd links
  --mqueue DEST        the IPC namespace's POSIX message queues on DEST
                       Missing mount points are created inside the root;
                       without --rootfs, mounts go over the host's tree
                       (in the new mount namespace) on existing paths only
`,
	flags: filesystemFlags,
	parse: parseFilesystem,
}

var filesystemFlags = []cli.Def{
	{Name: "rootfs", Kind: cli.String},
	{Name: "read-only", Kind: cli.Bool},
	{Name: "overlay", Kind: cli.Bool},
	{Name: "overlay-dir", Kind: cli.String},
	{Name: "bind", Kind: cli.Pair},
	{Name: "ro-bind", Kind: cli.Pair},
	{Name: "volume", Kind: cli.Repeated},
	{Name: "tmpfs", Kind: cli.Repeated},
	{Name: "size", Kind: cli.Repeated},
	{Name: "perms", Kind: cli.Repeated},
	{Name: "proc", Kind: cli.Repeated},
	{Name: "dev", Kind: cli.Repeated},
	{Name: "mqueue", Kind: cli.Repeated},
}

// filesystem is what the filesystem flags asked for: package rootfs's
// Config, and for each of its mounts the flag that asked for it, as the
// user wrote it ("--bind /srv /data"). rootfs speaks of fields and mount
// indices; rawns run's errors name the flag.
type filesystem struct {
	rootfs.Config
	labels []string

	size  uint64 // --size for the next --tmpfs, in bytes; 0 for none
	perms uint32 // --perms for the next --tmpfs
	// sizeSet and permsSet say that a --size or --perms waits for its
	// --tmpfs.
	sizeSet, permsSet bool
}

// parseFilesystem walks the flags in the order given: a --bind after a
// --tmpfs on the same path mounts over it, and --size waits for the next
// --tmpfs. Nothing of package rootfs runs on a command line without these
// flags.
func parseFilesystem(cfg *config, flags cli.Flags) error {
	n, given := 1, false // 1: room for --mount-proc's /proc
	for _, f := range flags.List() {
		for _, d := range filesystemFlags {
			if f.Name == d.Name {
				given = true
				n++
				if f.Name == "dev" {
					n += rootfs.DevMounts
				}
			}
		}
	}
	if !given {
		return nil
	}
	if flags.Has("rootfs") {
		n += rootfs.DevMounts // room for the /dev of a bare --rootfs
	}
	fs := &filesystem{Config: rootfs.Config{Mounts: make([]clone.Mount, 0, n)}, labels: make([]string, 0, n)}
	c := &fs.Config
	s := &cfg.spec
	if flags.Has("rootfs") {
		v := flags.Get("rootfs", "")
		label := "--rootfs"
		if v != "" {
			label += " " + v
		}
		if err := c.SetRoot(v); err != nil {
			return fs.wording(err, label)
		}
		if s.MountProc {
			// --mount-proc inside a root means its /proc, first of the list.
			s.MountProc = false
			if err := c.Proc("/proc"); err != nil {
				return fs.wording(err, "--mount-proc")
			}
			fs.label("--mount-proc")
		}
		// A root's own /dev is a directory of files: without a /dev of
		// its own, `echo > /dev/null` creates a regular file there, in
		// the user's root filesystem. Unless a flag mounts on /dev, the
		// command gets the minimal one of --dev /dev, as docker always
		// gives one; a root without a /dev directory is left without.
		if st, err := os.Lstat(filepath.Join(c.Root, "dev")); err == nil && st.IsDir() && !mountsOnDev(flags) {
			label := "--rootfs " + c.Root + " (its /dev, as --dev /dev)"
			if err := c.Dev("/dev"); err != nil {
				return fs.wording(err, label)
			}
			fs.label(label)
		}
	}
	for _, f := range flags.List() {
		v := f.Value()
		label := "--" + f.Name + " " + v
		var err error
		switch f.Name {
		case "read-only":
			c.ReadOnly = true
		case "overlay":
			err = c.SetOverlay("")
		case "overlay-dir":
			err = c.SetOverlay(v)
		case "bind", "ro-bind":
			label = "--" + f.Name + " " + f.Values[0] + " " + f.Values[1]
			err = c.Bind(f.Values[0], f.Values[1], f.Name == "ro-bind")
		case "volume":
			err = fs.volume(v)
		case "tmpfs":
			if dst, ok := tmpfsOptions(v); ok {
				return fmt.Errorf("%s: docker's DEST:OPTIONS is not rawns's spelling (the path would be %s); write --size SIZE --perms MODE --tmpfs %s", label, cli.Quote(v), dst)
			}
			perms := uint32(0o755)
			if fs.permsSet {
				perms = fs.perms
			}
			err = c.Tmpfs(v, fs.size, perms)
			fs.size, fs.perms, fs.sizeSet, fs.permsSet = 0, 0, false, false
		case "size":
			err = fs.setSize(v)
		case "perms":
			err = fs.setPerms(v)
		case "proc":
			if s.Namespaces&clone.NewPID == 0 {
				return fmt.Errorf("--proc %s without a PID namespace would show the host's processes; add pid to --ns", v)
			}
			err = c.Proc(v)
		case "dev":
			err = c.Dev(v)
		case "mqueue":
			err = c.Mqueue(v)
		}
		if err != nil {
			return fs.wording(err, label)
		}
		fs.label(label)
	}
	if fs.sizeSet || fs.permsSet {
		return errors.New("--size or --perms given without a --tmpfs after it; put them right before the --tmpfs they are for")
	}
	if err := c.Finish(s); err != nil {
		return fs.wording(err, "")
	}
	cfg.fs = fs
	return nil
}

// tmpfsOptions reports whether --tmpfs's value is docker's DEST:OPTIONS
// (/tmp:rw,size=64m), and returns DEST: every option after the last colon
// one that docker's --tmpfs takes. Without --rootfs the whole would be a
// path that does not exist; with one, a mount point named so would be made
// in the root.
func tmpfsOptions(v string) (string, bool) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 || i == len(v)-1 {
		return "", false
	}
	for _, o := range strings.Split(v[i+1:], ",") {
		k, _, _ := strings.Cut(o, "=")
		switch k {
		case "rw", "ro", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "tmpcopyup", "notmpcopyup":
		default:
			return "", false
		}
	}
	return v[:i], true
}

// label gives every mount the last flag added the flag's label.
func (fs *filesystem) label(l string) {
	for len(fs.labels) < len(fs.Mounts) {
		fs.labels = append(fs.labels, l)
	}
}

// volume is docker's spelling of a bind: SRC:DEST[:ro|rw].
func (fs *filesystem) volume(v string) error {
	parts := strings.Split(v, ":")
	ro := false
	switch {
	case len(parts) == 3 && parts[2] == "ro":
		ro = true
	case len(parts) == 3 && parts[2] == "rw":
	case len(parts) == 2:
	default:
		return errors.New("give SRC:DEST, SRC:DEST:ro or SRC:DEST:rw")
	}
	return fs.Bind(parts[0], parts[1], ro)
}

// setSize takes --size for the next --tmpfs (bwrap's), in --memory's
// units: bytes, or 64m, 1g (package size).
func (fs *filesystem) setSize(v string) error {
	n, err := size.Parse(v)
	if err != nil {
		return err
	}
	if fs.sizeSet {
		return errors.New("a --size is already waiting for a --tmpfs; give --size right before its --tmpfs")
	}
	fs.size, fs.sizeSet = uint64(n), true
	return nil
}

// setPerms takes --perms for the next --tmpfs's root (bwrap's).
func (fs *filesystem) setPerms(v string) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o7777 {
		return errors.New("give an octal mode such as 0755 or 1777")
	}
	if fs.permsSet {
		return errors.New("a --perms is already waiting for a --tmpfs; give --perms right before its --tmpfs")
	}
	fs.perms, fs.permsSet = uint32(n), true
	return nil
}

// wording words an error of package rootfs for the command line: the flag
// behind the field at fault (pending: the flag whose call failed, for the
// mount it would have added), the reason, and what to do in the flags'
// terms.
func (fs *filesystem) wording(err error, pending string) error {
	if err == nil {
		return nil
	}
	var re *rootfs.Error
	if !errors.As(err, &re) {
		if pending == "" {
			return err
		}
		return fmt.Errorf("%s: %v", pending, err)
	}
	label := pending
	switch re.Field {
	case rootfs.FieldSource, rootfs.FieldTarget:
		if re.Mount >= 0 && re.Mount < len(fs.labels) {
			label = fs.labels[re.Mount]
		}
	case rootfs.FieldOverlay:
		label = "--overlay"
	case rootfs.FieldOverlayDir:
		if pending == "" {
			label = "--overlay-dir " + fs.OverlayDir
		}
	case rootfs.FieldRoot:
		if pending == "" {
			label = "--rootfs " + fs.Root
		}
	}
	fix := ""
	switch {
	case errors.Is(err, rootfs.ErrOverlayNeedsRoot):
		return errors.New("--overlay goes over the directory of --rootfs; add --rootfs DIR")
	case errors.Is(err, rootfs.ErrRootIsHost):
		fix = "; drop --rootfs to mount over the host's tree"
	case errors.Is(err, rootfs.ErrTargetIsRoot):
		fix = "; use --rootfs DIR for that"
	case errors.Is(err, rootfs.ErrNotOnHost):
		fix = "; without --rootfs, rawns mounts only on existing paths of the host's tree (give --rootfs, or a destination that exists)"
	}
	return fmt.Errorf("%s: %v%s", label, re.Err, fix)
}

// mountLabel names the flag behind mount i of the list, or the root's
// flag for -1 (the root's own steps: its bind or overlay, pivot_root,
// read-only, chdir).
func (fs *filesystem) mountLabel(i int) string {
	if i >= 0 && i < len(fs.labels) {
		return fs.labels[i]
	}
	switch {
	case fs.OverlayDir != "":
		return "--overlay-dir " + fs.OverlayDir
	case fs.Overlay:
		return "--overlay"
	case fs.Root != "":
		return "--rootfs " + fs.Root
	case fs.ReadOnly:
		return "--read-only"
	}
	return "mounts"
}

// mountsOnDev reports whether a filesystem flag mounts on /dev itself.
func mountsOnDev(flags cli.Flags) bool {
	for _, f := range flags.List() {
		var dst string
		switch f.Name {
		case "bind", "ro-bind":
			dst = f.Values[1]
		case "volume":
			if p := strings.Split(f.Value(), ":"); len(p) >= 2 {
				dst = p[1]
			}
		case "tmpfs", "proc", "dev", "mqueue":
			dst = f.Value()
		default:
			continue
		}
		if path.Clean("/"+dst) == "/dev" {
			return true
		}
	}
	return false
}

// lockOverlayDir locks --overlay-dir's directory for the run
// (rootfs.LockOverlayDir): a second run on it is refused, not started on a
// shared upper layer. The lock's fd is close-on-exec (the child marks every
// fd so, too) and held until rawns exits, when the kernel drops it; the
// command, killed when rawns dies, has gone with its mount namespace by
// then, unless it runs without a PID namespace and left processes behind.
func lockOverlayDir(cfg *config) error {
	if cfg.fs == nil || cfg.fs.OverlayDir == "" {
		return nil
	}
	if _, err := rootfs.LockOverlayDir(cfg.fs.OverlayDir); err != nil {
		return cfg.fs.wording(err, "--overlay-dir "+cfg.fs.OverlayDir)
	}
	return nil
}

// lookPath finds the command: inside the new root when there is one.
func lookPath(cfg *config) (string, error) {
	if cfg.fs != nil && cfg.fs.Root != "" {
		return cfg.fs.LookPath(cfg.command[0], clone.EnvPath(cfg.spec.Env))
	}
	return clone.LookPath(cfg.command[0], clone.EnvPath(cfg.spec.Env))
}

// reportMountError words a failure of the child's mount phase: the flag
// that asked for the mount, the system call, the errno in words. It
// reports false for any other error.
func reportMountError(stderr io.Writer, cfg *config, err error) (int, bool) {
	var ce *clone.ChildError
	if cfg.fs == nil || !errors.As(err, &ce) || ce.Syscall == "" || ce.Stage.Phase() != clone.PhaseMount {
		return 0, false
	}
	mount := -1
	if ce.List == "Mounts" {
		mount = ce.Index
	}
	label := cfg.fs.mountLabel(mount)
	if ce.Syscall == "move_mount" && ce.Errno == syscall.EINVAL && mount >= 0 && mount < len(cfg.fs.Mounts) {
		if why := kindMismatch(cfg.fs.Root, cfg.fs.Mounts[mount]); why != "" {
			fmt.Fprintf(stderr, "rawns run: %s: %s (%s: %v)\n", label, why, ce.Syscall, ce.Errno)
			return exitcode.Failed, true
		}
	}
	hint := ""
	switch {
	case ce.Stage == clone.StageChdir:
		label = "--chdir " + cfg.spec.Dir
		hint = "; give a directory inside the root (no /proc/self/fd links)"
	case ce.Errno == syscall.ENODEV && ce.Syscall == "fsopen overlay":
		hint = "; this kernel has no overlayfs: modprobe overlay"
	case ce.Errno == syscall.ENODEV:
		hint = "; this kernel lacks that filesystem"
	case ce.Errno == syscall.ENOSYS:
		hint = "; this kernel lacks the new mount API (Linux 5.2+, mount_setattr 5.12+, openat2 5.6+)"
	case ce.Errno == syscall.EACCES && (ce.Syscall == "mkdirat" || ce.Syscall == "openat2 O_CREAT"):
		hint = "; the mount point is missing and cannot be created there (not writable: create it in the root first, or add --overlay)"
	case ce.Errno == syscall.EPERM || ce.Errno == syscall.EACCES:
		hint = "; not allowed here (in a user namespace, some mounts need the matching namespace too: pid for proc, ipc for mqueue)"
	}
	fmt.Fprintf(stderr, "rawns run: %s: the kernel refused %s (%s: %v)%s\n", label, ce.Subject, ce.Syscall, ce.Errno, hint)
	return exitcode.Failed, true
}

// kindMismatch says why move_mount(2) refused mount m with EINVAL when the
// reason is the one a user meets (issue 25: --bind DIR /etc/passwd): a
// mount goes only onto a mount point of its own kind, a directory onto a
// directory, a file onto a file (fs/namespace.c, do_move_mount), and a new
// filesystem's root is a directory. It looks again, after the fact, at
// the source and at the target inside root ("" for the host's tree) as the
// child resolved it; "" when the kinds match, or cannot be read.
func kindMismatch(root string, m clone.Mount) string {
	var what string
	var srcDir bool
	switch m.Kind {
	case clone.MountBind:
		var st unix.Stat_t
		if unix.Stat(m.Source, &st) != nil {
			return ""
		}
		srcDir = st.Mode&unix.S_IFMT == unix.S_IFDIR
		what = m.Source + " is a " + kindName(srcDir)
	case clone.MountFS:
		srcDir, what = true, "a "+m.Type+" is a directory"
	default:
		return ""
	}
	if root == "" {
		root = "/"
	}
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, strings.TrimPrefix(m.Target, "/"), &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return ""
	}
	var st unix.Stat_t
	err = unix.Fstat(fd, &st)
	unix.Close(fd)
	if err != nil {
		return ""
	}
	dstDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if dstDir == srcDir {
		return ""
	}
	where := ""
	if root != "/" {
		where = " in the root"
	}
	fix := "give a directory as the destination"
	if !srcDir {
		fix = "give a file as the destination"
	}
	return fmt.Sprintf("%s but %s%s is a %s, and a mount goes only onto its own kind; %s", what, m.Target, where, kindName(dstDir), fix)
}

func kindName(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}
