package network

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/network/rtnl"
)

// BaseTable is the inet nft table that bridge runs keep on the host, with
// the bridge and the sysctls (docs/network.md): empty accepting filter
// chains that keep the netfilter hooks registered between runs, and one
// NAT chain per bridge (NATChain) that masquerades the bridge's subnets.
// rawns-net makes it (network/bridge); rawns run asks whether it is there.
const BaseTable = "rawns-base"

// NATChain names the bridge's chain in BaseTable: the masquerade of what
// its subnets send out of other interfaces, and of what reaches them
// through a DNAT from the same subnet (hairpin) or from 127.0.0.0/8.
func NATChain(bridge string) string { return "nat-" + bridge }

// ErrFailInjected is the error of a step that RAWNS_NET_FAIL_AFTER names
// (tests only). A type, not errors.New: linking this package costs rawns
// run no work at start-up.
var ErrFailInjected error = failInjected{}

type failInjected struct{}

func (failInjected) Error() string { return "failure injected for a test (RAWNS_NET_FAIL_AFTER)" }

// BridgeLink is a bridge as a run finds it: its index, MTU, and subnets
// (IPv4 first), read from its addresses.
type BridgeLink struct {
	Name    string
	Index   int
	MTU     int
	Subnets []Prefix
}

// Connect attaches the command's network namespace nsfd to the bridge:
// the veth pair whose host end's name claims the lowest free host number
// (rn<bridge index>-<n>, hex), born with eth0 in the namespace; lo up
// (when loUp) and eth0 up with its addresses and default routes, through
// in, a netlink socket in that namespace. rawns run does this itself when
// the shared pieces are in place (Run.Start), rawns-net when it made
// them. failAfter ("veth", "addr") injects a failure after that step, for
// the tests. Nothing is left once the namespace is gone.
func Connect(rt, in *rtnl.Conn, br *BridgeLink, nsfd int, loUp bool, failAfter string) (*Reply, error) {
	n, link, err := addVeth(rt, br, nsfd)
	if err != nil {
		return nil, err
	}
	if failAfter == "veth" {
		return nil, ErrFailInjected
	}
	rep := &Reply{Link: link}
	c := rtnl.Inside{LoUp: loUp, Link: "eth0"}
	for _, p := range br.Subnets {
		a, gw := p.Nth(n), p.Nth(1)
		rep.Addrs = append(rep.Addrs, Prefix{Addr: a, Bits: p.Bits})
		rep.Gateways = append(rep.Gateways, gw)
		c.Addrs = append(c.Addrs, rtnl.Prefix{IP: a.Bytes(), Bits: p.Bits})
		c.Gateways = append(c.Gateways, gw.Bytes())
	}
	if err := in.Configure(c); err != nil {
		return nil, err
	}
	if failAfter == "addr" {
		return nil, ErrFailInjected
	}
	return rep, nil
}

// Bytes is the address's 4 or 16 bytes.
func (a Addr) Bytes() []byte {
	if a.v4 {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// addVeth claims the lowest free host number by creating the veth pair
// whose host end is named after it; a name taken in between is EEXIST
// (NLM_F_EXCL), and the next number is tried.
func addVeth(rt *rtnl.Conn, br *BridgeLink, nsfd int) (uint64, string, error) {
	prefix := "rn" + strconv.FormatUint(uint64(br.Index), 16) + "-"
	used := map[uint64]bool{}
	links, err := rt.LinksOn(br.Index)
	if err != nil {
		return 0, "", err
	}
	for _, l := range links {
		if h, ok := strings.CutPrefix(l.Name, prefix); ok {
			if n, err := strconv.ParseUint(h, 16, 64); err == nil {
				used[n] = true
			}
		}
	}
	size := uint64(1) << 24
	for _, p := range br.Subnets {
		size = min(size, p.Size())
	}
	// 0 is the network, 1 the gateway, the last IPv4 address is the
	// broadcast.
	for n := uint64(2); n < size-1; n++ {
		if used[n] {
			continue
		}
		name := prefix + strconv.FormatUint(n, 16)
		err := rt.AddVeth(rtnl.Veth{Name: name, Master: br.Index, MTU: br.MTU,
			PeerName: "eth0", PeerNS: nsfd, PeerMAC: MACOf(br.Subnets[0].Nth(n))})
		if errors.Is(err, unix.EEXIST) {
			// Another run took n in between (or eth0 exists in the
			// namespace, which the next try will tell).
			used[n] = true
			if _, lerr := rt.LinkByName(name); lerr == nil {
				continue
			}
		}
		if err != nil {
			return 0, "", err
		}
		return n, name, nil
	}
	return 0, "", errors.New("bridge " + br.Name + ": all " + strconv.FormatUint(size-3, 10) + " addresses of " + br.Subnets[0].String() + " are taken; give a larger --subnet to a new --bridge")
}

// MACOf derives eth0's MAC address from its address, as docker does: a
// locally administered unicast address (02:...), the same for the same
// address, so that a reused address does not meet stale ARP entries.
func MACOf(a Addr) []byte {
	b := a.As16()
	return []byte{0x02, 0x72, b[12], b[13], b[14], b[15]}
}

// BridgeSubnets reads the subnets of a bridge's global addresses (the
// gateway is the bridge's address), the first of each family, IPv4
// first.
func BridgeSubnets(addrs []rtnl.Address) []Prefix {
	var out []Prefix
	for _, v4 := range []bool{true, false} {
		for _, a := range addrs {
			if a.Scope != unix.RT_SCOPE_UNIVERSE || (len(a.IP) == 4) != v4 {
				continue // fe80::, or the other family
			}
			var ad Addr
			if v4 {
				ad = AddrFrom4([4]byte(a.IP))
			} else {
				ad = AddrFrom16([16]byte(a.IP))
			}
			out = append(out, Prefix{Addr: ad, Bits: a.Bits}.Masked())
			break
		}
	}
	return out
}

// sysctlOn reads a sysctl that must be 1: open, one read, close (not
// os.ReadFile, whose file registers with the runtime's poller and is
// stat'ed first: twice the system calls, on every bridge run).
func sysctlOn(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	var b [8]byte
	n, err := unix.Read(fd, b[:])
	unix.Close(fd)
	return err == nil && n >= 1 && b[0] == '1' && (n == 1 || b[1] == '\n')
}
