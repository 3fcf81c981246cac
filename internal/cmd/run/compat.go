package run

import (
	"fmt"
	"strings"

	"github.com/rawns/rawns/internal/cli"
)

// compatHint says what to write instead of a flag of unshare(1),
// bubblewrap (bwrap(1)) or docker/podman run that rawns spells
// differently, or does not have: users of each try their own spellings
// first, and a generic "unknown flag" would send them to --help for each.
// Where unshare and docker give one letter two meanings (-u, -m, -i), the
// hint says both. docs/cli.md has the same tables. Flags rawns defines are
// matched before this is asked: it runs on the error path only.
func compatHint(flag string) string {
	if h := dockerHint(flag); h != "" {
		return h
	}
	switch flag {
	// unshare's namespace flags, and bwrap's --unshare-*.
	case "--unshare-pid":
		return "use --ns pid (the default set is pid,uts)"
	case "--unshare-uts":
		return "use --ns uts (the default set is pid,uts)"
	case "--ipc", "--unshare-ipc":
		return "use --ns ipc"
	case "--net", "-n", "--unshare-net":
		return "use --network none (a network namespace with lo up), or --ns net; for docker's --net use --network MODE"
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
	case "--map-current-user":
		return "use --map-user UID --map-group GID with your own ids (id -u, id -g), or --map-root-user"
	case "--uid":
		return "for the uid inside a new user namespace use --map-user UID; to run the command as a uid, --user UID[:GID]"
	case "--gid":
		return "for the gid inside a new user namespace use --map-group GID; to run the command with a gid, --user UID:GID"
	case "--wd":
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

// dockerHint answers the spellings of docker run and podman run: the rawns
// way, or why rawns has no such thing. (-v and -t are rawns's own: -v is
// --verbose, caught in parse when its "value" looks like SRC:DEST.)
func dockerHint(flag string) string {
	switch flag {
	case "-it", "-ti":
		return "docker's -it is -t in rawns: the command always gets rawns's stdin, and -t gives it a terminal of its own"
	case "-i", "--interactive":
		return "the command always gets rawns's stdin (docker's -i is what rawns does anyway); unshare's -i is --ns ipc"
	case "-u":
		return "for docker's -u/--user use --user UID[:GID]; for unshare's -u (a new UTS namespace) use --ns uts (the default set is pid,uts)"
	case "-m":
		return "for docker's -m/--memory use --memory SIZE; for unshare's -m (a new mount namespace) use --ns mnt"
	case "--mount":
		return "for docker's --mount type=bind,source=SRC,target=DEST use --bind SRC DEST (--ro-bind with readonly), type=tmpfs,target=DEST is --tmpfs DEST; for unshare's --mount use --ns mnt"
	case "-e":
		return "use --env KEY=VALUE (or --env KEY to copy rawns's own)"
	case "--env-file":
		return "rawns reads no env file: give each variable as --env KEY=VALUE"
	case "-w", "--workdir":
		return "use --chdir DIR"
	case "--rm":
		return "rawns leaves nothing to remove: no container is kept after the run, its namespaces and cgroup go with the command"
	case "--name":
		return "a rawns run has no name and nothing outlives it; --hostname NAME sets the hostname inside, and rawns-oci runs containers by id"
	case "-d", "--detach":
		return "rawns run stays in the foreground and exits with the command's status; to keep a command running detached, start rawns under nohup or systemd-run, or run a container with rawns-oci (create, start)"
	case "--privileged":
		return "rawns keeps the caller's capabilities unless told (root keeps them all), with no seccomp filter and the host's /dev nodes reachable through --bind; --caps all asks for every capability explicitly"
	case "--ipc":
		return "rawns shares the host's IPC namespace unless --ns lists ipc: docker's --ipc host is what rawns does by default, --ipc private is --ns pid,uts,ipc"
	case "--pid":
		return "use --ns pid (the default set is pid,uts); docker's --pid host is --ns without pid, e.g. --ns uts"
	case "--uts":
		return "use --ns uts (the default set is pid,uts); docker's --uts host is --ns without uts, e.g. --ns pid"
	case "--entrypoint":
		return "rawns has no image: the words after -- are the whole command"
	case "--pids-limit":
		return "use --pids N"
	case "--cpu-shares", "-c":
		return "use --cpu-weight N (1-10000; docker's shares 2-262144 scaled, default 1024 is 100); for unshare's -c use --map-user UID --map-group GID with your own ids"
	case "--ulimit":
		return "use --rlimit NAME=SOFT[:HARD], e.g. --rlimit nofile=1024:4096"
	case "--security-opt":
		return "seccomp=FILE is --seccomp FILE (seccomp=unconfined is the default), no-new-privileges is --no-new-privs; rawns has no AppArmor or SELinux labels"
	case "--device":
		return "use --bind /dev/NAME /dev/NAME (device nodes work through binds); --dev /dev makes a minimal /dev"
	case "--group-add":
		return "use --groups LIST (with --user)"
	case "--shm-size":
		return "use --size BYTES --tmpfs /dev/shm, after --dev /dev"
	case "--pull", "--platform":
		return "rawns pulls no images: it runs a command in a directory you give it (--rootfs DIR; docs/rootfs-from-images.md)"
	case "--restart":
		return "rawns does not restart a command: it exits with the command's status, for a supervisor to act on"
	}
	return ""
}

// volumeAfterVerbose refuses docker's -v SRC:DEST, which rawns reads as -v
// (--verbose) and a command named SRC:DEST: "command not found" would
// name the path, not the flag. A word with a colon right after -v, taken
// as the command, is that mistake; -- before it says the command is meant.
func volumeAfterVerbose(args, command []string) error {
	p := len(args) - len(command)
	if p < 1 || args[p-1] != "-v" || !strings.Contains(command[0], ":") {
		return nil
	}
	return fmt.Errorf("-v is --verbose in rawns, so %s would be the command; for docker's -v SRC:DEST write --volume SRC:DEST (a command whose name has a colon goes after --)", cli.Quote(command[0]))
}
