package run

// compatHint says what to write instead of a flag of unshare(1) or
// bubblewrap (bwrap(1)) that rawns spells differently, or does not have:
// users of both try their own spellings first, and a generic "unknown
// flag" would send them to --help for each. docs/cli.md has the same
// table ("Coming from unshare or bubblewrap"), and TestCompatTable holds
// the two together. Flags rawns defines are matched before this is asked.
func compatHint(flag string) string {
	for _, c := range compat {
		for _, f := range c.flags {
			if f == flag {
				return c.hint
			}
		}
	}
	return ""
}

// compat is the table of other tools' flags: unshare's namespace flags and
// bwrap's --unshare-* first, then the rest.
var compat = [...]struct {
	flags []string
	hint  string
}{
	{[]string{"--pid", "-p", "--unshare-pid"}, "use --ns pid (the default set is pid,uts)"},
	{[]string{"--uts", "-u", "--unshare-uts"}, "use --ns uts (the default set is pid,uts)"},
	{[]string{"--mount", "-m"}, "use --ns mnt"},
	{[]string{"--ipc", "-i", "--unshare-ipc"}, "use --ns ipc"},
	{[]string{"--net", "-n", "--unshare-net"}, "use --ns net (lo comes up inside)"},
	{[]string{"-U", "--unshare-user", "--unshare-user-try"}, "use --ns user (with --map-root-user for root inside)"},
	{[]string{"--cgroup", "-C", "--unshare-cgroup", "--unshare-cgroup-try"}, "use --ns cgroup"},
	{[]string{"--time", "-T"}, "use --ns time (with --monotonic/--boottime for offsets)"},
	{[]string{"--unshare-all"}, "use --ns all"},
	{[]string{"--share-net"}, "list the kinds to create without net, e.g. --ns pid,uts,mnt,ipc,user,cgroup"},
	{[]string{"--fork", "-f"}, "rawns always forks: the command is a new process, PID 1 of its PID namespace"},
	{[]string{"--kill-child", "--die-with-parent"}, "rawns always does this: the command gets SIGKILL when rawns dies (PR_SET_PDEATHSIG)"},
	{[]string{"--as-pid-1"}, "the command is PID 1 already in a new PID namespace; --init puts a reaper there instead"},
	{[]string{"-r", "--map-root"}, "use --map-root-user"},
	{[]string{"-c", "--map-current-user"}, "use --map-user UID --map-group GID with your own ids (id -u, id -g), or --map-root-user"},
	{[]string{"--uid"}, "for the uid inside a new user namespace use --map-user UID; to run the command as a uid, --user UID[:GID]"},
	{[]string{"--gid"}, "for the gid inside a new user namespace use --map-group GID; to run the command with a gid, --user UID:GID"},
	{[]string{"--wd", "-w"}, "use --chdir DIR"},
	{[]string{"--setenv"}, "use --env KEY=VALUE"},
	{[]string{"--root", "-R"}, "use --rootfs DIR (pivot_root, not chroot)"},
	{[]string{"--setuid", "-S"}, "use --user UID"},
	{[]string{"--setgid", "-G"}, "use --user UID:GID"},
	{[]string{"--keep-caps"}, "rawns keeps the caller's capabilities unless --cap-drop/--caps says otherwise"},
	{[]string{"--dev-bind"}, "use --bind SRC DEST (device nodes work through binds; --dev DEST makes a minimal /dev)"},
	{[]string{"--remount-ro"}, "use --ro-bind SRC DEST, or --read-only for /"},
	{[]string{"--setgroups"}, "rawns denies setgroups in a new user namespace whenever it writes a gid map, as the kernel requires"},
}
