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
// hint says both. docs/cli.md has the same tables ("Coming from ..."), and
// TestCompatTable holds the two together. Flags rawns defines are matched
// before this is asked: it runs on the error path only.
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

// compat is the table of other tools' flags, each flag once: unshare's and
// bwrap's first (their namespace flags, then the rest), then docker's and
// podman's, which answer the letters unshare gives another meaning. (-v and
// -t are rawns's own: -v is --verbose, caught in parse when its "value"
// looks like SRC:DEST.)
var compat = [...]struct {
	flags []string
	hint  string
}{
	{[]string{"--unshare-pid"}, "use --ns pid (the default set is pid,uts)"},
	{[]string{"--unshare-uts"}, "use --ns uts (the default set is pid,uts)"},
	{[]string{"--unshare-ipc"}, "use --ns ipc"},
	{[]string{"--net", "-n", "--unshare-net"}, "use --network none (a network namespace with lo up), or --ns net; for docker's --net use --network MODE"},
	{[]string{"-U", "--unshare-user", "--unshare-user-try"}, "use --ns user (with --map-root-user for root inside)"},
	{[]string{"--cgroup", "-C", "--unshare-cgroup", "--unshare-cgroup-try"}, "use --ns cgroup"},
	{[]string{"--time", "-T"}, "use --ns time (with --monotonic/--boottime for offsets)"},
	{[]string{"--unshare-all"}, "use --ns all"},
	{[]string{"--share-net"}, "use --network host, or list the kinds to create without net, e.g. --ns pid,uts,mnt,ipc,user,cgroup"},
	{[]string{"--expose"}, "use -p/--publish [IP:]HOSTPORT:PORT with --network bridge or pasta"},
	{[]string{"--fork", "-f"}, "rawns always forks: the command is a new process, PID 1 of its PID namespace"},
	{[]string{"--kill-child", "--die-with-parent"}, "rawns always does this: the command gets SIGKILL when rawns dies (PR_SET_PDEATHSIG)"},
	{[]string{"--as-pid-1"}, "the command is PID 1 already in a new PID namespace; --init puts a reaper there instead"},
	{[]string{"-r", "--map-root"}, "use --map-root-user"},
	{[]string{"--map-current-user"}, "use --map-user UID --map-group GID with your own ids (id -u, id -g), or --map-root-user"},
	{[]string{"--uid"}, "for the uid inside a new user namespace use --map-user UID; to run the command as a uid, --user UID[:GID]"},
	{[]string{"--gid"}, "for the gid inside a new user namespace use --map-group GID; to run the command with a gid, --user UID:GID"},
	{[]string{"--wd"}, "use --chdir DIR"},
	{[]string{"--setenv"}, "use --env KEY=VALUE"},
	{[]string{"--root", "-R"}, "use --rootfs DIR (pivot_root, not chroot)"},
	{[]string{"--setuid", "-S"}, "use --user UID"},
	{[]string{"--setgid", "-G"}, "use --user UID:GID"},
	{[]string{"--keep-caps"}, "rawns keeps the caller's capabilities unless --cap-drop/--caps says otherwise"},
	{[]string{"--dev-bind"}, "use --bind SRC DEST (device nodes work through binds; --dev DEST makes a minimal /dev)"},
	{[]string{"--remount-ro"}, "use --ro-bind SRC DEST, or --read-only for /"},
	{[]string{"--setgroups"}, "rawns denies setgroups in a new user namespace whenever it writes a gid map, as the kernel requires"},
	{[]string{"-it", "-ti"}, "docker's -it is -t in rawns: the command always gets rawns's stdin, and -t gives it a terminal of its own"},
	{[]string{"-i", "--interactive"}, "the command always gets rawns's stdin (docker's -i is what rawns does anyway); unshare's -i is --ns ipc"},
	{[]string{"-u"}, "for docker's -u/--user use --user UID[:GID]; for unshare's -u (a new UTS namespace) use --ns uts (the default set is pid,uts)"},
	{[]string{"-m"}, "for docker's -m/--memory use --memory SIZE; for unshare's -m (a new mount namespace) use --ns mnt"},
	{[]string{"--mount"}, "for docker's --mount type=bind,source=SRC,target=DEST use --bind SRC DEST (--ro-bind with readonly), type=tmpfs,target=DEST is --tmpfs DEST; for unshare's --mount use --ns mnt"},
	{[]string{"-e"}, "use --env KEY=VALUE (or --env KEY to copy rawns's own)"},
	{[]string{"--env-file"}, "rawns reads no env file: give each variable as --env KEY=VALUE"},
	{[]string{"-w", "--workdir"}, "use --chdir DIR"},
	{[]string{"--rm"}, "rawns leaves nothing to remove: no container is kept after the run, its namespaces and cgroup go with the command"},
	{[]string{"--name"}, "a rawns run has no name and nothing outlives it; --hostname NAME sets the hostname inside, and rawns-oci runs containers by id"},
	{[]string{"-d", "--detach"}, "rawns run stays in the foreground and exits with the command's status; to keep a command running detached, start rawns under nohup or systemd-run, or run a container with rawns-oci (create, start)"},
	{[]string{"--privileged"}, "rawns keeps the caller's capabilities unless told (root keeps them all), with no seccomp filter and the host's /dev nodes reachable through --bind; --caps all asks for every capability explicitly"},
	{[]string{"--ipc"}, "rawns shares the host's IPC namespace unless --ns lists ipc: docker's --ipc host is what rawns does by default, --ipc private is --ns pid,uts,ipc"},
	{[]string{"--pid"}, "use --ns pid (the default set is pid,uts); docker's --pid host is --ns without pid, e.g. --ns uts"},
	{[]string{"--uts"}, "use --ns uts (the default set is pid,uts); docker's --uts host is --ns without uts, e.g. --ns pid"},
	{[]string{"--entrypoint"}, "rawns has no image: the words after -- are the whole command"},
	{[]string{"--pids-limit"}, "use --pids N"},
	{[]string{"--cpu-shares", "-c"}, "use --cpu-weight N (1-10000; docker's shares 2-262144 scaled, default 1024 is 100); for unshare's -c use --map-user UID --map-group GID with your own ids"},
	{[]string{"--ulimit"}, "use --rlimit NAME=SOFT[:HARD], e.g. --rlimit nofile=1024:4096"},
	{[]string{"--security-opt"}, "seccomp=FILE is --seccomp FILE (seccomp=unconfined is the default), no-new-privileges is --no-new-privs; rawns has no AppArmor or SELinux labels"},
	{[]string{"--device"}, "use --bind /dev/NAME /dev/NAME (device nodes work through binds); --dev /dev makes a minimal /dev"},
	{[]string{"--group-add"}, "use --groups LIST (with --user)"},
	{[]string{"--shm-size"}, "use --size SIZE --tmpfs /dev/shm, after --dev /dev"},
	{[]string{"--pull", "--platform"}, "rawns pulls no images: it runs a command in a directory you give it (--rootfs DIR; docs/rootfs-from-images.md)"},
	{[]string{"--restart"}, "rawns does not restart a command: it exits with the command's status, for a supervisor to act on"},
	{[]string{"--userns"}, "rawns makes a user namespace only when asked: docker's --userns host is the default; for a remapped root use --map-root-user or --map-user UID (they add --ns user)"},
	{[]string{"-a", "--attach"}, "the command always gets rawns's stdin, stdout and stderr"},
	{[]string{"--log-driver", "--log-opt"}, "the command writes to rawns's own stdout and stderr: redirect them"},
	{[]string{"-l", "--label"}, "rawns keeps nothing about a run to label: nothing outlives it"},
	{[]string{"--stop-signal", "--stop-timeout"}, "rawns forwards the signals it gets as they are (a second SIGTERM or SIGINT kills a PID-1 command without a handler); send the one the command wants"},
	{[]string{"--memory-reservation"}, "rawns run has no soft memory limit; --memory SIZE is the hard one"},
	{[]string{"--cpuset-mems"}, "rawns run sets only --cpuset-cpus LIST; the memory nodes stay its parent cgroup's"},
	{[]string{"--sysctl"}, "rawns run sets no sysctls; rawns-oci takes linux.sysctl in config.json"},
	{[]string{"--add-host"}, "rawns run adds no host entries: bind a hosts file of your own, --bind FILE /etc/hosts"},
}

// hostnameAfterHelp refuses docker's -h NAME, which rawns reads as -h
// (--help) with NAME the command: help would print, exit 0, and nothing
// run. A command right after -h is that mistake; -- before it, or no
// command, is a request for help.
func hostnameAfterHelp(args, command []string) error {
	p := len(args) - len(command)
	if p < 1 || len(command) == 0 || args[p-1] != "-h" {
		return nil
	}
	return fmt.Errorf("-h is --help in rawns, so %s would be the command; for docker's -h NAME write --hostname NAME", cli.Quote(command[0]))
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
