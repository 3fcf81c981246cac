package network

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ResolvConf makes the command's resolv.conf from the host's: its search,
// domain and options lines are kept; the nameservers are dns when given,
// else the host's without the loopback ones (127.0.0.0/8 and ::1 name a
// resolver on the host's loopback, which is not the command's loopback)
// and, when the command has no IPv6 (ipv6 false), without the IPv6 ones.
// dropped lists the servers left out, for -v.
func ResolvConf(host []byte, dns []Addr, ipv6 bool) (conf []byte, servers int, dropped []string) {
	var b bytes.Buffer
	b.WriteString("# written by rawns run --network for this run\n")
	for _, a := range dns {
		b.WriteString("nameserver " + a.String() + "\n")
		servers++
	}
	for _, line := range strings.Split(string(host), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0][0] == '#' || f[0][0] == ';' {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(dns) > 0 || len(f) < 2 {
				continue
			}
			// A link-local IPv6 server carries a zone (fe80::1%eth0),
			// an interface the command does not have.
			a, err := ParseAddr(f[1])
			if err != nil || a.IsLoopback() || (!a.Is4() && !ipv6) {
				dropped = append(dropped, f[1])
				continue
			}
			b.WriteString("nameserver " + a.String() + "\n")
			servers++
		case "search", "domain", "options", "sortlist":
			b.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	return b.Bytes(), servers, dropped
}

// Hosts makes the command's /etc/hosts: localhost, and its hostname on
// each of its addresses (on 127.0.1.1 when it has none, as Debian's
// installer writes it, so that the name resolves).
func Hosts(hostname string, addrs []Addr) []byte {
	var b bytes.Buffer
	b.WriteString("# written by rawns run --network for this run\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if hostname == "" {
		return b.Bytes()
	}
	for _, a := range addrs {
		b.WriteString(a.String() + "\t" + hostname + "\n")
	}
	if len(addrs) == 0 {
		b.WriteString("127.0.1.1\t" + hostname + "\n")
	}
	return b.Bytes()
}

// RunDir is the directory of one run's files (resolv.conf, hosts,
// hostname): RUNTIME/rawns-net/PID-START, where RUNTIME is /run for root
// and $XDG_RUNTIME_DIR (or the temporary directory) for others, PID is
// rawns's and START its start time (field 22 of /proc/PID/stat), which
// together name one process for good. The child binds the files before it
// execs; then the run removes the directory, and the binds keep the files
// alive: nothing of it is left on disk while the command runs, and a
// rawns killed before that leaves a directory that CleanStaleRunDirs
// removes at the next run.
type RunDir struct {
	Path string
}

// runRoot is where the run directories live.
func runRoot() string {
	if os.Geteuid() == 0 {
		return "/run/rawns-net"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "rawns-net")
	}
	return filepath.Join(os.TempDir(), "rawns-net-"+strconv.Itoa(os.Geteuid()))
}

// NewRunDir makes this run's directory (and cleans up the ones that
// killed runs left).
func NewRunDir() (*RunDir, error) {
	root := runRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	CleanStaleRunDirs(root)
	start, err := ProcStart(os.Getpid())
	if err != nil {
		return nil, err
	}
	d := &RunDir{Path: filepath.Join(root, strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(start, 10))}
	// 0755: the command reads the files through its binds, whatever uid
	// it runs as.
	if err := os.Mkdir(d.Path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return d, nil
}

// File is the path of one of the run's files.
func (d *RunDir) File(name string) string { return filepath.Join(d.Path, name) }

// Write writes one file, 0644.
func (d *RunDir) Write(name string, content []byte) error {
	return os.WriteFile(d.File(name), content, 0o644)
}

// Remove removes the directory and its files; binds of them stay valid.
func (d *RunDir) Remove() {
	if d != nil {
		os.RemoveAll(d.Path)
	}
}

// CleanStaleRunDirs removes the run directories under root whose rawns is
// gone (no process PID with that start time).
func CleanStaleRunDirs(root string) {
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		pid, start, ok := parseOwner(e.Name())
		if !ok {
			continue
		}
		if s, err := ProcStart(pid); err == nil && s == start {
			continue // alive
		}
		os.RemoveAll(filepath.Join(root, e.Name()))
	}
}

// parseOwner splits PID-START.
func parseOwner(name string) (int, uint64, bool) {
	p, s, ok := strings.Cut(name, "-")
	if !ok {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(s, 10, 64)
	return pid, start, err1 == nil && err2 == nil && pid > 0
}

// ProcStart returns the start time of process pid, in clock ticks after
// boot (field 22 of /proc/PID/stat): with the pid, it names one process
// for good, where a pid alone may be reused.
func ProcStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: count
	// from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, errors.New("malformed /proc/PID/stat")
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22: the 20th after the name
}
