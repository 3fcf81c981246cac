package network

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// User-mode networking: pasta (Debian's passt package), else slirp4netns,
// connects the command's namespace to the host's network through a tap
// device inside and sockets of its own outside, with no privilege on the
// host. rawns starts it while the command is held and lets the command go
// once it has configured the namespace.
//
// Both are cloned by rawns with PR_SET_PDEATHSIG, so they die with rawns
// however rawns dies, and rawns stops them when the command is done. Both
// keep the namespace alive while they run, which is why their lifetime is
// tied to rawns's and not to the namespace's.

// pastaDNS is the address the command's resolv.conf names when pasta
// connects it: pasta answers DNS sent there by forwarding it to the host's
// own resolver (--dns-forward), whatever that is, 127.0.0.53 included.
var pastaDNS = Addr{b: [16]byte{12: 169, 13: 254, 14: 1, 15: 1}, v4: true, ok: true}

// slirp4netns's fixed addresses (slirp4netns(1)).
var (
	slirpAddr = Prefix{Addr{b: [16]byte{12: 10, 14: 2, 15: 100}, v4: true, ok: true}, 24}
	slirpDNS  = Addr{b: [16]byte{12: 10, 14: 2, 15: 3}, v4: true, ok: true}
)

type userNet struct {
	proc *clone.Process
	dns  Addr
	exit int // slirp4netns's --exit-fd, held by rawns: EOF stops it
}

// stop ends it and reaps it.
func (u *userNet) stop() {
	if u.exit >= 0 {
		unix.Close(u.exit)
		u.exit = -1
	}
	u.proc.Signal(unix.SIGTERM)
	waitOrKill(u.proc, 2*time.Second)
}

// startUserNet starts pasta, or slirp4netns where pasta is missing or
// fails, for the held child pid.
func (r *Run) startUserNet(pid, nsfd int) error {
	pasta, perr := clone.LookPath("pasta", clone.EnvPath(os.Environ()))
	if perr == nil {
		u, err := r.startPasta(pasta, pid, nsfd)
		if err == nil {
			r.user, r.Via = u, "pasta"
			return nil
		}
		perr = err
	}
	slirp, serr := clone.LookPath("slirp4netns", clone.EnvPath(os.Environ()))
	if serr != nil {
		if errors.Is(perr, clone.ErrNotFound) {
			return errors.New("--network pasta needs pasta (Debian's passt package) or slirp4netns on PATH; apt-get install passt")
		}
		return perr
	}
	u, err := r.startSlirp(slirp, pid)
	if err != nil {
		if !errors.Is(perr, clone.ErrNotFound) {
			return fmt.Errorf("%v; slirp4netns: %v", perr, err)
		}
		return err
	}
	r.user, r.Via = u, "slirp4netns"
	if !errors.Is(perr, clone.ErrNotFound) {
		r.Notes = append(r.Notes, "pasta failed ("+perr.Error()+"); slirp4netns connects the command instead")
	}
	return nil
}

// startPasta runs pasta in the foreground for the namespace, and waits
// until it has configured it: pasta writes its pid file (--pid, here its
// stdout, a pipe) once the namespace is up.
//
// As root, pasta drops every capability but the few it needs before it
// opens the namespace, and without CAP_SYS_PTRACE it may not open
// /proc/PID/ns/net of a process with more (ptrace access mode): it gets the
// namespace as its stdin instead (--netns /proc/self/fd/0), and --runas
// 0:0 keeps it root, with CAP_SYS_ADMIN for setns(2). Without root, the
// command is in a user namespace of the caller's, which pasta joins with
// the network namespace by pid (the caller owns it).
func (r *Run) startPasta(path string, pid, nsfd int) (*userNet, error) {
	args := []string{path, "--foreground", "--quiet", "--config-net", "--no-map-gw",
		"--dns-forward", pastaDNS.String(), "-T", "none", "-U", "none", "--pid", "/proc/self/fd/1"}
	var tcp, udp []string
	for _, p := range r.o.Publish {
		spec := strconv.Itoa(int(p.HostPort)) + ":" + strconv.Itoa(int(p.Port))
		if p.HostIP.IsValid() {
			spec = p.HostIP.String() + "/" + spec
		}
		if p.Proto == UDP {
			udp = append(udp, spec)
		} else {
			tcp = append(tcp, spec)
		}
	}
	for _, f := range []struct {
		flag  string
		specs []string
	}{{"-t", tcp}, {"-u", udp}} {
		if len(f.specs) == 0 {
			args = append(args, f.flag, "none") // not pasta's default, auto: every bound port
		}
		for _, s := range f.specs {
			args = append(args, f.flag, s)
		}
	}
	stdin := nsfd
	if os.Geteuid() == 0 {
		args = append(args, "--runas", "0:0", "--netns", "/proc/self/fd/0")
	} else {
		args = append(args, strconv.Itoa(pid))
		stdin = devNull()
		if stdin < 0 {
			return nil, errors.New("opening /dev/null")
		}
		defer unix.Close(stdin)
	}
	proc, out, err := spawnWithPipe(path, args, stdin, -1)
	if err != nil {
		return nil, err
	}
	text, ready := waitReady(out, func(b []byte) bool {
		// The pid file: the first line that is a number.
		for _, l := range strings.Split(string(b), "\n") {
			if _, err := strconv.Atoi(strings.TrimSpace(l)); err == nil && strings.HasSuffix(string(b), "\n") {
				return true
			}
		}
		return false
	})
	unix.Close(out)
	if !ready {
		proc.Signal(unix.SIGKILL)
		st := waitOrKill(proc, time.Second)
		return nil, fmt.Errorf("pasta %s: %s", st, oneLine(text))
	}
	// pasta gives the namespace the host's own addresses; /etc/hosts
	// names the command on 127.0.1.1, as Debian's installer does.
	return &userNet{proc: proc, dns: pastaDNS, exit: -1}, nil
}

// startSlirp runs slirp4netns for the held child pid: --configure sets
// up tap0 (10.0.2.100/24, via 10.0.2.2), --ready-fd says when, and
// --exit-fd is a pipe whose other end only rawns holds, so that slirp4netns
// exits when rawns does. Published ports go through its API socket, in
// the run directory, removed once they are added.
func (r *Run) startSlirp(path string, pid int) (*userNet, error) {
	var exitFDs [2]int
	if err := unix.Pipe2(exitFDs[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	args := []string{path, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=1", "--exit-fd=0"}
	api := ""
	if len(r.o.Publish) > 0 {
		if r.Dir == nil {
			unix.Close(exitFDs[0])
			unix.Close(exitFDs[1])
			return nil, errors.New("slirp4netns needs the run directory for its API socket")
		}
		api = r.Dir.File("slirp.sock")
		args = append(args, "--api-socket", api)
	}
	args = append(args, strconv.Itoa(pid), "tap0")
	proc, out, err := spawnWithPipe(path, args, exitFDs[0], -1)
	unix.Close(exitFDs[0])
	if err != nil {
		unix.Close(exitFDs[1])
		return nil, err
	}
	u := &userNet{proc: proc, dns: slirpDNS, exit: exitFDs[1]}
	text, ready := waitReady(out, func(b []byte) bool { return bytes.Contains(b, []byte("1")) })
	unix.Close(out)
	if !ready {
		u.stop()
		return nil, fmt.Errorf("slirp4netns: %s", oneLine(text))
	}
	if api != "" {
		err := slirpForward(api, r.o.Publish)
		os.Remove(api)
		if err != nil {
			u.stop()
			return nil, err
		}
	}
	r.Addrs = []Prefix{slirpAddr}
	return u, nil
}

// slirpForward adds each -p through slirp4netns's API socket (JSON, one
// request per connection).
func slirpForward(api string, pubs []Publish) error {
	for _, p := range pubs {
		host := "0.0.0.0"
		if p.HostIP.IsValid() {
			if !p.HostIP.Is4() {
				return fmt.Errorf("-p %s: slirp4netns forwards IPv4 only; give an IPv4 host address", p)
			}
			host = p.HostIP.String()
		}
		req := fmt.Sprintf(`{"execute": "add_hostfwd", "arguments": {"proto": "%s", "host_addr": "%s", "host_port": %d, "guest_port": %d}}`,
			p.ProtoName(), host, p.HostPort, p.Port)
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: api})
		if err == nil {
			_, err = unix.Write(fd, []byte(req))
		}
		var buf [512]byte
		n := 0
		if err == nil {
			unix.Shutdown(fd, unix.SHUT_WR)
			n, err = unix.Read(fd, buf[:])
		}
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("-p %s: slirp4netns's API: %w", p, err)
		}
		if bytes.Contains(buf[:max(n, 0)], []byte(`"error"`)) {
			return fmt.Errorf("-p %s: slirp4netns refused it: %s", p, oneLine(string(buf[:n])))
		}
	}
	return nil
}

// spawnWithPipe clones path with stdin and a pipe for stdout and stderr
// together, whose read end it returns.
func spawnWithPipe(path string, args []string, stdin, _ int) (*clone.Process, int, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, -1, err
	}
	proc, err := clone.Start(&clone.Spec{Path: path, Args: args, Env: os.Environ(), Stdio: []int{stdin, p[1], p[1]}})
	unix.Close(p[1])
	if err != nil {
		unix.Close(p[0])
		return nil, -1, fmt.Errorf("starting %s: %w", path, err)
	}
	return proc, p[0], nil
}

// waitReady reads fd until done says the text holds the readiness sign,
// EOF (the program exited) or setupTimeout.
func waitReady(fd int, done func([]byte) bool) (string, bool) {
	var b []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(setupTimeout)
	for len(b) < 1<<16 {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return string(b) + " (no answer in " + setupTimeout.String() + ")", false
		}
		m, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if m <= 0 {
			return string(b), false
		}
		b = append(b, buf[:m]...)
		if done(b) {
			return string(b), true
		}
	}
	return string(b), false
}

// oneLine joins a program's output into one line for an error.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
	if s == "" {
		return "exited without a word"
	}
	return s
}

func devNull() int {
	fd, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}
