package run

// compatHint says what to write instead of a flag of unshare(1) or
// bubblewrap (bwrap(1)) that rawns spells differently, or does not have:
// users of both try their own spellings first, and a generic "unknown
// flag" would send them to --help for each. docs/cli.md has the same
// table. Flags rawns defines are matched before this is asked.
func compatHint(flag string) string {
	switch flag {
	// unshare's namespace flags, and bwrap's --unshare-*.
	case "--pid", "--unshare-pid":
		return "use --ns pid (the default set is pid,uts)"
	case "--uts", "-u", "--unshare-uts":
		return "use --ns uts (the default set is pid,uts)"
	case "--mount", "-m":
		return "use --ns mnt"
	case "--ipc", "-i", "--unshare-ipc":
		return "use --ns ipc"
	case "--net", "-n", "--unshare-net":
		return "use --network none (a network namespace with lo up), or --ns net"
	case "-U", "--unshare-user", "--unshare-user-try":
		return "use --ns user (with --map-root-user for root inside)"
	case "--cgroup", "-C", "--unshare-cgroup", "--unshare-cgroup-try":
		return "use --ns cgroup"
	case "--time", "-T":
		return "use --ns time (with --monotonic/--boottime for offsets)"
	case "--unshare-all":
		return "use --ns all"
	case "--share-net":
		return "use --network host, or list the kinds to create without net, e.g. --ns pid,uts,mnt,ipc,user,cgroup"
	case "--net-host", "--net=host":
		return "use --network host"
	case "--port", "--expose":
		return "use -p/--publish [IP:]HOSTPORT:PORT with --network bridge or pasta"
	case "--fork", "-f":
		return "rawns always forks: the command is a new process, PID 1 of its PID namespace"
	case "--kill-child", "--die-with-parent":
		return "rawns always does this: the command gets SIGKILL when rawns dies (PR_SET_PDEATHSIG)"
	case "--as-pid-1":
		return "the command is PID 1 already in a new PID namespace; --init puts a reaper there instead"
	case "-r", "--map-root":
		return "use --map-root-user"
	case "-c", "--map-current-user":
		return "use --map-user UID --map-group GID with your own ids (id -u, id -g), or --map-root-user"
	case "--uid":
		return "for the uid inside a new user namespace use --map-user UID; to run the command as a uid, --user UID[:GID]"
	case "--gid":
		return "for the gid inside a new user namespace use --map-group GID; to run the command with a gid, --user UID:GID"
	case "--wd", "-w":
		return "use --chdir DIR"
	case "--setenv":
		return "use --env KEY=VALUE"
	case "--root", "-R":
		return "use --rootfs DIR (pivot_root, not chroot)"
	case "--setuid", "-S":
		return "use --user UID"
	case "--setgid", "-G":
		return "use --user UID:GID"
	case "--keep-caps":
		return "rawns keeps the caller's capabilities unless --cap-drop/--caps says otherwise"
	case "--dev-bind":
		return "use --bind SRC DEST (device nodes work through binds; --dev DEST makes a minimal /dev)"
	case "--remount-ro":
		return "use --ro-bind SRC DEST, or --read-only for /"
	case "--unshare-cgroup-ns":
		return "use --ns cgroup"
	case "--setgroups":
		return "rawns denies setgroups in a new user namespace whenever it writes a gid map, as the kernel requires"
	}
	return ""
}
