package network

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mode is what --network asks for.
type Mode uint8

const (
	// Host leaves the command in the caller's network namespace (the
	// default, as with --ns without net).
	Host Mode = iota
	// None gives it a network namespace of its own with only lo, up.
	None
	// Bridge adds a veth on a shared bridge, addresses, routes, NAT and
	// published ports (root).
	Bridge
	// Pasta connects the namespace through pasta(1), user-mode networking
	// that needs no privilege on the host; slirp4netns(1) where pasta is
	// missing or cannot run.
	Pasta
)

var modeNames = [...]string{Host: "host", None: "none", Bridge: "bridge", Pasta: "pasta"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode parses none, host, bridge or pasta.
func ParseMode(s string) (Mode, error) {
	for m, n := range modeNames {
		if s == n {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("unknown network mode %q; use none, host, bridge or pasta", s)
}

// Protocols of a published port.
const (
	TCP = 6  // IPPROTO_TCP
	UDP = 17 // IPPROTO_UDP
)

// Publish is one -p: the host's address and port, forwarded to the
// container's port.
type Publish struct {
	// HostIP is the host address to accept on; the zero Addr means every
	// address of the host.
	HostIP   Addr
	HostPort uint16
	Port     uint16
	Proto    uint8 // TCP or UDP
}

// ProtoName is "tcp" or "udp".
func (p Publish) ProtoName() string {
	if p.Proto == UDP {
		return "udp"
	}
	return "tcp"
}

// String is the publication as docker prints it: 127.0.0.1:8080->80/tcp.
func (p Publish) String() string {
	host := "0.0.0.0"
	switch {
	case p.HostIP.IsValid() && p.HostIP.Is4():
		host = p.HostIP.String()
	case p.HostIP.IsValid():
		host = "[" + p.HostIP.String() + "]"
	}
	return host + ":" + strconv.Itoa(int(p.HostPort)) + "->" + strconv.Itoa(int(p.Port)) + "/" + p.ProtoName()
}

// ParsePublish parses [IP:]HOSTPORT:PORT[/tcp|udp], an IPv6 IP in
// brackets: 8080:80, 127.0.0.1:8080:80/tcp, [::1]:5353:53/udp. Ports are 1
// to 65535.
func ParsePublish(s string) (Publish, error) {
	var p Publish
	p.Proto = TCP
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		switch rest[i+1:] {
		case "tcp":
		case "udp":
			p.Proto = UDP
		default:
			return p, fmt.Errorf("protocol %q: give tcp or udp", rest[i+1:])
		}
		rest = rest[:i]
	}
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 || end+1 >= len(rest) || rest[end+1] != ':' {
			return p, errors.New("an IPv6 address goes in brackets before the ports: [::1]:8080:80")
		}
		a, err := ParseAddr(rest[1:end])
		if err != nil || a.Is4() {
			return p, fmt.Errorf("%q is not an IPv6 address", rest[1:end])
		}
		p.HostIP, rest = a, rest[end+2:]
	}
	parts := strings.Split(rest, ":")
	switch {
	case len(parts) == 3 && !p.HostIP.IsValid():
		a, err := ParseAddr(parts[0])
		if err != nil {
			return p, fmt.Errorf("%q is not an IP address (an IPv6 one goes in brackets: [::1]:8080:80)", parts[0])
		}
		if !a.Is4() {
			return p, errors.New("an IPv6 address goes in brackets: [::1]:8080:80")
		}
		p.HostIP, parts = a, parts[1:]
	case len(parts) == 2:
	case len(parts) == 1:
		return p, errors.New("give the host's port and the container's: HOSTPORT:PORT, e.g. 8080:80")
	default:
		return p, errors.New("give [IP:]HOSTPORT:PORT[/tcp|udp]; an IPv6 IP goes in brackets")
	}
	var err error
	if p.HostPort, err = parsePort(parts[0]); err != nil {
		return p, fmt.Errorf("host port %w", err)
	}
	if p.Port, err = parsePort(parts[1]); err != nil {
		return p, fmt.Errorf("container port %w", err)
	}
	if p.HostIP.IsValid() && p.HostIP.IsUnspecified() {
		p.HostIP = Addr{} // 0.0.0.0 and :: mean every address, as docker takes them
	}
	return p, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' {
		return 0, fmt.Errorf("%q is out of range: give a port from 1 to 65535", s)
	}
	return uint16(n), nil
}

// DefaultBridge is the bridge --network bridge attaches to.
const DefaultBridge = "rawns0"

// DefaultSubnet is the default bridge's IPv4 subnet when rawns creates
// it: a private range that neither docker (172.17.0.0/16) nor podman
// (10.88.0.0/16) takes.
// (A composite literal, laid out by the linker: no work at start-up.)
var DefaultSubnet = Prefix{Addr{b: [16]byte{12: 10, 13: 90}, v4: true, ok: true}, 24}

// ValidateLinkName checks a network interface name as the kernel will
// (dev_valid_name: 1 to 15 bytes, no '/', ':' or white space, not . or ..).
func ValidateLinkName(s string) error {
	if s == "" || len(s) > 15 {
		return fmt.Errorf("%q: an interface name is 1 to 15 bytes", s)
	}
	if s == "." || s == ".." {
		return fmt.Errorf("%q is not an interface name", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == ':' || c <= ' ' || c == 0x7f {
			return fmt.Errorf("%q: an interface name may not hold '/', ':' or white space", s)
		}
	}
	return nil
}

// CheckSubnet checks a bridge subnet: a network address (no host bits
// set), room for a gateway and at least one container, IPv6 not longer
// than /120.
func CheckSubnet(p Prefix) error {
	if p.Masked() != p {
		return fmt.Errorf("%s has host bits set; the subnet is %s", p, p.Masked())
	}
	if p.Addr.Is4() && p.Bits > 30 {
		return fmt.Errorf("%s holds no room for a gateway and a container; give /30 or shorter", p)
	}
	if !p.Addr.Is4() && p.Bits > 120 {
		return fmt.Errorf("%s is too small; give /120 or shorter", p)
	}
	if p.Addr.Is4() && p.Bits < 8 || !p.Addr.Is4() && p.Bits < 48 {
		return fmt.Errorf("%s is larger than any bridge needs; give /8 to /30 for IPv4, /48 to /120 for IPv6", p)
	}
	if p.Addr.IsLoopback() || p.Addr.Is4() && p.Addr.As4()[0] >= 224 || !p.Addr.Is4() && p.Addr.As16()[0] == 0xff {
		return fmt.Errorf("%s is not a subnet a bridge can route (loopback or multicast)", p)
	}
	return nil
}
