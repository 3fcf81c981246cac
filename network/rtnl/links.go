package rtnl

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// vethInfoPeer is VETH_INFO_PEER (include/uapi/linux/veth.h): the peer's
// struct ifinfomsg and attributes, nested in IFLA_INFO_DATA.
const vethInfoPeer = 1

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (Linux 4.6): a link's
// answer without the statistics the kernel can leave out, which nothing
// here reads. Older kernels ignore the bit.
const rtextFilterSkipStats = 1 << 3

// Link is what rawns reads of a network interface.
type Link struct {
	Index  int
	Name   string
	Kind   string // IFLA_INFO_KIND: "bridge", "veth"; "" for lo and physical devices
	MTU    int
	Flags  uint32 // IFF_*
	Master int    // the bridge it is attached to, or 0
}

// Up reports IFF_UP.
func (l Link) Up() bool { return l.Flags&unix.IFF_UP != 0 }

func parseLink(body []byte) (Link, bool) {
	var l Link
	if len(body) < unix.SizeofIfInfomsg {
		return l, false
	}
	l.Index = int(int32(binary.NativeEndian.Uint32(body[4:])))
	l.Flags = binary.NativeEndian.Uint32(body[8:])
	eachAttr(body[unix.SizeofIfInfomsg:], func(typ uint16, data []byte) {
		switch typ {
		case unix.IFLA_IFNAME:
			l.Name = cstring(data)
		case unix.IFLA_MTU:
			if len(data) >= 4 {
				l.MTU = int(binary.NativeEndian.Uint32(data))
			}
		case unix.IFLA_MASTER:
			if len(data) >= 4 {
				l.Master = int(binary.NativeEndian.Uint32(data))
			}
		case unix.IFLA_LINKINFO:
			eachAttr(data, func(typ uint16, data []byte) {
				if typ == unix.IFLA_INFO_KIND {
					l.Kind = cstring(data)
				}
			})
		}
	})
	return l, true
}

// LinkByName asks for one link by name (RTM_GETLINK with IFLA_IFNAME).
// A missing link is an Error with ENODEV.
func (c *Conn) LinkByName(name string) (Link, error) {
	m := newMsg("looking up link "+name, unix.RTM_GETLINK, 0, ifinfomsg(0, 0, 0))
	m.str(unix.IFLA_IFNAME, name)
	m.u32(unix.IFLA_EXT_MASK, rtextFilterSkipStats)
	var l Link
	found := false
	err := c.do(func(typ uint16, body []byte) {
		if typ == unix.RTM_NEWLINK {
			l, found = parseLink(body)
		}
	}, m)
	if err == nil && !found {
		err = &stringError{m.step + ": no answer"}
	}
	return l, err
}

// LinksOn lists the links attached to the bridge of index master. The
// dump asks the kernel to filter by IFLA_MASTER (link_dump_filtered, no
// strict checking needed; 5.10 and 6.x do); the answers are filtered here
// as well, for a kernel that ignores it.
func (c *Conn) LinksOn(master int) ([]Link, error) {
	m := newMsg("listing the links on the bridge", unix.RTM_GETLINK, 0, ifinfomsg(0, 0, 0))
	m.u32(unix.IFLA_MASTER, uint32(master))
	m.u32(unix.IFLA_EXT_MASK, rtextFilterSkipStats)
	var out []Link
	err := c.dump(m, func(typ uint16, body []byte) {
		if l, ok := parseLink(body); ok && typ == unix.RTM_NEWLINK && l.Master == master {
			out = append(out, l)
		}
	})
	return out, err
}

// Prefix is an address (4 or 16 bytes) and its prefix length.
type Prefix struct {
	IP   []byte
	Bits int
}

// Address is one address of a link.
type Address struct {
	Prefix
	Index int
	Scope uint8 // RT_SCOPE_*
	Flags uint8 // IFA_F_* (the low eight)
}

// Addrs dumps the addresses of both families, of the link of index
// index (0: of every link).
func (c *Conn) Addrs(index int) ([]Address, error) {
	m := newMsg("reading addresses", unix.RTM_GETADDR, 0, make([]byte, unix.SizeofIfAddrmsg))
	var out []Address
	err := c.dump(m, func(typ uint16, body []byte) {
		if typ != unix.RTM_NEWADDR || len(body) < unix.SizeofIfAddrmsg {
			return
		}
		a := Address{Index: int(binary.NativeEndian.Uint32(body[4:]))}
		if index != 0 && a.Index != index {
			return
		}
		a.Bits, a.Flags, a.Scope = int(body[1]), body[2], body[3]
		var local, addr []byte
		eachAttr(body[unix.SizeofIfAddrmsg:], func(typ uint16, data []byte) {
			switch typ {
			case unix.IFA_LOCAL:
				local = data
			case unix.IFA_ADDRESS:
				addr = data
			}
		})
		if local == nil {
			local = addr // IPv6 sends only IFA_ADDRESS
		}
		if len(local) != 4 && len(local) != 16 {
			return
		}
		a.IP = append([]byte(nil), local...)
		out = append(out, a)
	})
	return out, err
}

// Veth is a veth pair to create: the host's end on a bridge, up; the peer
// born in another network namespace (IFLA_NET_NS_FD), named, with a MAC.
type Veth struct {
	Name     string
	Master   int // the bridge's index
	MTU      int // 0: the kernel's default
	PeerName string
	PeerNS   int // an fd of the peer's network namespace
	PeerMAC  []byte
}

// AddVeth creates the pair in one RTM_NEWLINK, with NLM_F_EXCL: a name
// that exists is refused (EEXIST) before anything is made
// (__rtnl_newlink), which makes the host end's name a lock. The host's end
// is born up and on the bridge; the peer cannot be born up (veth_newlink
// configures it before it links the pair, and veth_open refuses a veth
// without a peer: ENOTCONN), so Configure brings eth0 up.
func (c *Conn) AddVeth(v Veth) error {
	m := newMsg("creating veth "+v.Name+" with "+v.PeerName+" in the command's namespace",
		unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifinfomsg(0, unix.IFF_UP, unix.IFF_UP))
	m.str(unix.IFLA_IFNAME, v.Name)
	if v.MTU > 0 {
		m.u32(unix.IFLA_MTU, uint32(v.MTU))
	}
	if v.Master > 0 {
		m.u32(unix.IFLA_MASTER, uint32(v.Master))
	}
	li := m.nest(unix.IFLA_LINKINFO)
	m.str(unix.IFLA_INFO_KIND, "veth")
	data := m.nest(unix.IFLA_INFO_DATA)
	peer := m.nest(vethInfoPeer)
	m.b = append(m.b, ifinfomsg(0, 0, 0)...)
	m.str(unix.IFLA_IFNAME, v.PeerName)
	m.u32(unix.IFLA_NET_NS_FD, uint32(v.PeerNS))
	if len(v.PeerMAC) > 0 {
		m.attr(unix.IFLA_ADDRESS, v.PeerMAC)
	}
	if v.MTU > 0 {
		m.u32(unix.IFLA_MTU, uint32(v.MTU))
	}
	m.end(peer)
	m.end(data)
	m.end(li)
	return c.do(nil, m)
}

// DelLink deletes the link of index index.
func (c *Conn) DelLink(index int, name string) error {
	return c.do(nil, newMsg("deleting link "+name, unix.RTM_DELLINK, 0, ifinfomsg(int32(index), 0, 0)))
}

// Inside is what Configure does in the command's namespace: lo up (when
// the namespace is new: nothing else brings it up), and on the link named
// Link (eth0), its addresses and a default route through each gateway.
type Inside struct {
	LoUp     bool
	Link     string
	Addrs    []Prefix
	Gateways [][]byte // one per address, in the same order
}

// Configure looks eth0 up and sends the rest in one datagram, which the
// kernel handles in order, each acked: lo up, eth0 up, the addresses (IPv6 without
// duplicate address detection: the address is the command's by
// construction, and DAD would keep it unusable for a second or two after
// exec), the routes (after the addresses, whose prefix routes make the
// gateways reachable). c must be a socket in that namespace (NewNetns).
func (c *Conn) Configure(in Inside) error {
	l, err := c.LinkByName(in.Link)
	if e, ok := err.(*Error); ok {
		e.Step = in.Link + " in the command's namespace: " + e.Step
		return e
	} else if err != nil {
		return err
	}
	var ms []*msg
	if in.LoUp {
		// lo is the first link of every network namespace
		// (LOOPBACK_IFINDEX, include/net/flow.h).
		ms = append(ms, newMsg("bringing lo up", unix.RTM_NEWLINK, 0, ifinfomsg(1, unix.IFF_UP, unix.IFF_UP)))
	}
	if !l.Up() {
		ms = append(ms, newMsg("bringing "+in.Link+" up", unix.RTM_NEWLINK, 0, ifinfomsg(int32(l.Index), unix.IFF_UP, unix.IFF_UP)))
	}
	for _, p := range in.Addrs {
		ms = append(ms, addrMsg(l, p))
	}
	for _, gw := range in.Gateways {
		fam := byte(unix.AF_INET)
		if len(gw) == 16 {
			fam = unix.AF_INET6
		}
		rt := []byte{fam, 0, 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
		m := newMsg("adding the default route via "+ipString(gw), unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, rt)
		m.attr(unix.RTA_GATEWAY, gw)
		m.u32(unix.RTA_OIF, uint32(l.Index))
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil
	}
	return c.do(nil, ms...)
}

func addrMsg(l Link, p Prefix) *msg {
	fam, flags := byte(unix.AF_INET), byte(0)
	if len(p.IP) == 16 {
		// No duplicate address detection (Configure says why).
		fam, flags = unix.AF_INET6, unix.IFA_F_NODAD
	}
	ifa := []byte{fam, byte(p.Bits), flags, unix.RT_SCOPE_UNIVERSE, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(ifa[4:], uint32(l.Index))
	m := newMsg("adding "+ipString(p.IP)+"/"+itoa(p.Bits)+" to "+l.Name, unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, ifa)
	m.attr(unix.IFA_LOCAL, p.IP)
	m.attr(unix.IFA_ADDRESS, p.IP)
	if fam == unix.AF_INET && p.Bits < 31 {
		// The broadcast address, as `ip address add ... brd +` gives it.
		brd := append([]byte(nil), p.IP...)
		for i := p.Bits; i < 32; i++ {
			brd[i/8] |= 0x80 >> (i % 8)
		}
		m.attr(unix.IFA_BROADCAST, brd)
	}
	return m
}
