package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	mnl "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/network"
)

// tableFlagOwner is NFT_TABLE_F_OWNER (Linux 5.12, include/uapi/linux/
// netfilter/nf_tables.h): the table belongs to the netlink socket that
// created it and is deleted when that socket is released. x/sys/unix does
// not name it.
const tableFlagOwner = 0x2

// tables is the run's nft table, made only for -p: family inet (IPv4 and
// IPv6 in one), a nat chain at each of prerouting and output, and the
// DNAT rules of one command's published ports. The masquerade is the
// bridge's, shared (ensureBase).
type tables struct {
	name   string
	bridge string
	c      *nftables.Conn
	sock   *mnl.Conn // the netlink socket under c: the table's owner
	t      *nftables.Table
	owned  bool
	pre    *nftables.Chain
	out    *nftables.Chain
	closed bool
}

// newTables creates the table and its chains. With the owner flag where
// the kernel has it; else plain, for the helper to delete.
func newTables(name, bridge string, owner bool) (*tables, error) {
	t := &tables{name: name, bridge: bridge}
	var err error
	t.c, err = nftables.New(nftables.AsLasting(), nftables.WithSockOptions(func(c *mnl.Conn) error {
		t.sock = c
		return nil
	}))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	t.t = &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	err = unix.EOPNOTSUPP
	if owner {
		err = t.addOwnedTable()
	}
	switch {
	case err == nil:
		t.owned = true
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL):
		// Before Linux 5.12 NFTA_TABLE_FLAGS has no owner bit: a plain
		// table, which the helper deletes itself.
		t.c.AddTable(t.t)
	default:
		t.c.CloseLasting()
		return nil, fmt.Errorf("creating nft table %s: %w", name, err)
	}
	prio := func(p nftables.ChainPriority) *nftables.ChainPriority { return &p }
	t.pre = t.c.AddChain(&nftables.Chain{Name: "prerouting", Table: t.t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: prio(*nftables.ChainPriorityNATDest)})
	t.out = t.c.AddChain(&nftables.Chain{Name: "output", Table: t.t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: prio(*nftables.ChainPriorityNATDest)})
	if err := t.c.Flush(); err != nil {
		t.close()
		return nil, fmt.Errorf("creating the chains of nft table %s: %w", name, err)
	}
	return t, nil
}

// BaseTable is the one thing besides the bridge and the sysctls that
// bridge runs keep on the host: an inet table with an empty base chain,
// policy accept, at each of the four hooks a run's NAT and conntrack use
// (prerouting, input, output, postrouting), and each bridge's NAT chain
// (ensureBase). The filter chains change no packet's fate;
// they keep those hooks registered between runs. The kernel skips a hook
// with nothing registered through a static key (nf_hooks_needed), and a
// static key turned on or off patches the kernel's code on every CPU
// (text_poke, with IPIs): without this table each run's table turned
// eight of them on when it came (the first NAT base chain and conntrack
// of any namespace on the machine) and off when it went, several ms of a
// bridge run here (docs/benchmarks.md, "The network"). A host where
// anything else keeps such a hook (docker's or podman's rules,
// firewalld) never flips them; this table makes every host so. It has no
// owner: made (idempotently) by every helper run, removed by `rawns-net
// clean` (CleanBase), and the stale cleanup leaves it alone (its name
// names no run).
const BaseTable = network.BaseTable

// baseHooks are the hooks of BaseTable's chains, by chain name.
var baseHooks = [...]struct {
	name string
	hook *nftables.ChainHook
}{
	{"prerouting", nftables.ChainHookPrerouting},
	{"input", nftables.ChainHookInput},
	{"output", nftables.ChainHookOutput},
	{"postrouting", nftables.ChainHookPostrouting},
}

// ensureBase makes BaseTable and its filter chains when missing (NEWTABLE
// and NEWCHAIN without NLM_F_EXCL leave them as they are otherwise), and
// writes the bridge's NAT chain (network.NATChain) afresh, in one batch:
// the chain made if missing, flushed, and its rules for the bridge's
// subnets as they are now. Every helper run rewrites it, so that a subnet
// added to the bridge is masqueraded from then on. rawns run connects a
// run itself only when this chain exists (network.Run).
//
// For each subnet S of the bridge B (docker's one rule per bridge, and
// what each run's own table held before for its one address):
//
//	ip saddr S oifname != B masquerade             what the commands send out
//	ip daddr S ip saddr S ct status dnat masquerade a DNAT from the bridge (hairpin)
//	ip daddr S ip saddr 127.0.0.0/8 masquerade      a DNAT from the host's 127.0.0.1
//
// The last two match only connections that a published port's DNAT sent
// to the bridge (without br_netfilter, or with a loopback source, the
// answer would otherwise bypass the host's conntrack).
func ensureBase(bridge string, subnets []network.Prefix) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	t := c.AddTable(&nftables.Table{Name: BaseTable, Family: nftables.TableFamilyINet})
	accept := nftables.ChainPolicyAccept
	for _, b := range baseHooks {
		c.AddChain(&nftables.Chain{Name: b.name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: b.hook, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	}
	prio := *nftables.ChainPriorityNATSource
	nat := c.AddChain(&nftables.Chain{Name: network.NATChain(bridge), Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: &prio, Policy: &accept})
	c.FlushChain(nat)
	add := func(parts ...[]expr.Any) {
		var e []expr.Any
		for _, p := range parts {
			e = append(e, p...)
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: nat, Exprs: e})
	}
	for _, p := range subnets {
		fam := family(p.Addr)
		add(fam.matchPrefix(false, p), oifname(unix.NFT_CMP_NEQ, bridge), masq())
		add(fam.matchPrefix(true, p), fam.matchPrefixLoaded(false, p), ctDNAT(), masq())
		if p.Addr.Is4() {
			lo := network.Prefix{Addr: network.AddrFrom4([4]byte{127, 0, 0, 0}), Bits: 8}
			add(fam.matchPrefix(true, p), fam.matchPrefixLoaded(false, lo), masq())
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nft table inet %s, chain %s: %w", BaseTable, network.NATChain(bridge), err)
	}
	return nil
}

// CheckBase reports whether BaseTable exists, and an error if it is not
// what it must be: no owner; its four base chains, type filter, policy
// accept, without a rule; and NAT chains at postrouting, one per bridge,
// each with the bridge's masquerade rules alone (the leak tests hold
// every run to this).
func CheckBase() (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, err
	}
	tabs, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return false, err
	}
	var base *nftables.Table
	for _, t := range tabs {
		if t.Name == BaseTable {
			base = t
		}
	}
	if base == nil {
		return false, nil
	}
	if base.Flags != 0 {
		return true, fmt.Errorf("table inet %s has flags %#x", BaseTable, base.Flags)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return true, err
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != BaseTable {
			continue
		}
		if strings.HasPrefix(ch.Name, network.NATChain("")) {
			if err := checkNATChain(c, base, ch); err != nil {
				return true, err
			}
			continue
		}
		n++
		ok := ch.Type == nftables.ChainTypeFilter && ch.Policy != nil && *ch.Policy == nftables.ChainPolicyAccept && ch.Hooknum != nil
		if ok {
			ok = false
			for _, b := range baseHooks {
				ok = ok || b.name == ch.Name && *b.hook == *ch.Hooknum
			}
		}
		if !ok {
			return true, fmt.Errorf("table inet %s: chain %s is not an empty filter chain, policy accept, at its hook", BaseTable, ch.Name)
		}
		rules, err := c.GetRules(base, ch)
		if err != nil {
			return true, err
		}
		if len(rules) != 0 {
			return true, fmt.Errorf("table inet %s: chain %s has %d rules", BaseTable, ch.Name, len(rules))
		}
	}
	if n != len(baseHooks) {
		return true, fmt.Errorf("table inet %s has %d chains, not %d", BaseTable, n, len(baseHooks))
	}
	return true, nil
}

// checkNATChain holds a bridge's NAT chain to its shape: nat,
// postrouting, policy accept, three rules per IPv4 subnet and two per
// IPv6 one at most, each ending in a masquerade.
func checkNATChain(c *nftables.Conn, base *nftables.Table, ch *nftables.Chain) error {
	if ch.Type != nftables.ChainTypeNAT || ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookPostrouting || ch.Policy == nil || *ch.Policy != nftables.ChainPolicyAccept {
		return fmt.Errorf("table inet %s: chain %s is not a nat chain at postrouting, policy accept", BaseTable, ch.Name)
	}
	rules, err := c.GetRules(base, ch)
	if err != nil {
		return err
	}
	if len(rules) == 0 || len(rules) > 5 {
		return fmt.Errorf("table inet %s: chain %s has %d rules, not the bridge's masquerade (2 to 5)", BaseTable, ch.Name, len(rules))
	}
	for _, r := range rules {
		if len(r.Exprs) == 0 {
			return fmt.Errorf("table inet %s: chain %s has an empty rule", BaseTable, ch.Name)
		}
		if _, ok := r.Exprs[len(r.Exprs)-1].(*expr.Masq); !ok {
			return fmt.Errorf("table inet %s: chain %s has a rule that does not masquerade", BaseTable, ch.Name)
		}
	}
	return nil
}

// CleanBase deletes BaseTable (`rawns-net clean`); the next bridge run
// makes it again. It reports whether there was one.
func CleanBase() (bool, error) {
	c, err := nftables.New()
	if err != nil {
		return false, err
	}
	c.DelTable(&nftables.Table{Name: BaseTable, Family: nftables.TableFamilyINet})
	err = c.Flush()
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

// addOwnedTable sends NFT_MSG_NEWTABLE with NFTA_TABLE_FLAGS =
// NFT_TABLE_F_OWNER in a batch of its own on the connection's socket,
// which then owns the table. google/nftables v0.3.0 always sends the flags
// as 0 (table.go, addTable), hence this message; everything after it
// goes through the library, naming the table without adding it again
// (a NEWTABLE with flags 0 would try to drop the owner flag, which the
// kernel refuses).
func (t *tables) addOwnedTable() error {
	attrs, err := mnl.MarshalAttributes([]mnl.Attribute{
		{Type: unix.NFTA_TABLE_NAME, Data: []byte(t.name + "\x00")},
		{Type: unix.NFTA_TABLE_FLAGS, Data: binaryutil.BigEndian.PutUint32(tableFlagOwner)},
	})
	if err != nil {
		return err
	}
	// nfgenmsg: family, version, resource id (big endian); the batch's
	// resource id is the subsystem.
	nfgen := func(family uint8, res uint16) []byte {
		return []byte{family, unix.NFNETLINK_V0, byte(res >> 8), byte(res)}
	}
	msgs := []mnl.Message{
		{Header: mnl.Header{Type: mnl.HeaderType(unix.NFNL_MSG_BATCH_BEGIN), Flags: mnl.Request},
			Data: nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)},
		{Header: mnl.Header{Type: mnl.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWTABLE),
			Flags: mnl.Request | mnl.Acknowledge | mnl.Create | mnl.Excl},
			Data: append(nfgen(unix.NFPROTO_INET, 0), attrs...)},
		{Header: mnl.Header{Type: mnl.HeaderType(unix.NFNL_MSG_BATCH_END), Flags: mnl.Request},
			Data: nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)},
	}
	if _, err := t.sock.SendMessages(msgs); err != nil {
		return err
	}
	// One acknowledgement, for the NEWTABLE: an error carries its errno.
	_, err = t.sock.Receive()
	return err
}

// ownerFD returns the fd of the socket that owns the table, or -1.
func (t *tables) ownerFD() int {
	if !t.owned || t.sock == nil {
		return -1
	}
	fd := -1
	rc, err := t.sock.SyscallConn()
	if err != nil {
		return -1
	}
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// close deletes an unowned table and closes the socket (an owned table
// goes with it, unless a copy of the socket lives on in rawns).
func (t *tables) close() {
	if t.closed {
		return
	}
	t.closed = true
	if !t.owned {
		t.c.DelTable(t.t)
		t.c.Flush()
	}
	t.c.CloseLasting()
}

// rules adds the run's DNAT rules, in one batch: for each published port
// and each of the command's addresses, in prerouting (from elsewhere) and
// output (from the host itself). The masquerade they need is the
// bridge's (ensureBase).
func (t *tables) rules(addrs []network.Prefix, pubs []network.Publish) error {
	for _, p := range pubs {
		for _, a := range addrs {
			ip := a.Addr
			if p.HostIP.IsValid() && p.HostIP.Is4() != ip.Is4() {
				continue
			}
			fam := family(ip)
			var dst []expr.Any
			switch {
			case p.HostIP.IsValid() && p.HostIP.IsLoopback() && !ip.Is4():
				continue // ::1 cannot be routed out of lo: the helper relays it
			case p.HostIP.IsValid():
				dst = fam.match(true, p.HostIP)
			case ip.Is4():
				dst = fibLocal(fam)
			default:
				// Every local IPv6 address but ::1, which the helper relays.
				dst = append(fibLocal(fam), fam.cmpAddr(true, unix.NFT_CMP_NEQ, network.AddrFrom16([16]byte{15: 1}))...)
			}
			dn := dnat(ip, p.Port)
			t.add(t.pre, dst, dport(p), dn)
			t.add(t.out, dst, dport(p), dn)
		}
	}
	if err := t.c.Flush(); err != nil {
		return fmt.Errorf("adding the rules to nft table %s: %w", t.name, err)
	}
	return nil
}

// add appends a rule of the expressions given, in order.
func (t *tables) add(c *nftables.Chain, parts ...[]expr.Any) {
	var e []expr.Any
	for _, p := range parts {
		e = append(e, p...)
	}
	t.c.AddRule(&nftables.Rule{Table: t.t, Chain: c, Exprs: e})
}

// fam is an address family of the inet table: its nfproto, where the
// addresses lie in the network header, their length.
type fam struct {
	proto      byte
	saddr, len uint32
}

func family(a network.Addr) fam {
	if a.Is4() {
		return fam{unix.NFPROTO_IPV4, 12, 4}
	}
	return fam{unix.NFPROTO_IPV6, 8, 16}
}

func addrBytes(a network.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// proto matches the family (meta nfproto ipv4|ipv6).
func (f fam) protoMatch() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f.proto}},
	}
}

// load puts the source (false) or destination (true) address in
// register 1.
func (f fam) load(dst bool) *expr.Payload {
	off := f.saddr
	if dst {
		off += f.len
	}
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: f.len}
}

// match is "ip saddr|daddr ADDR" (ip6 for IPv6).
func (f fam) match(dst bool, a network.Addr) []expr.Any {
	return append(f.protoMatch(), f.load(dst), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addrBytes(a)})
}

// cmpAddr compares the address with op, for a rule that matched the
// family already.
func (f fam) cmpAddr(dst bool, op expr.CmpOp, a network.Addr) []expr.Any {
	return []expr.Any{f.load(dst), &expr.Cmp{Op: op, Register: 1, Data: addrBytes(a)}}
}

// matchPrefix is "ip saddr|daddr PREFIX".
func (f fam) matchPrefix(dst bool, p network.Prefix) []expr.Any {
	return append(f.protoMatch(), f.matchPrefixLoaded(dst, p)...)
}

// matchPrefixLoaded is matchPrefix for a rule that matched the family
// already.
func (f fam) matchPrefixLoaded(dst bool, p network.Prefix) []expr.Any {
	mask := make([]byte, f.len)
	for i := 0; i < p.Bits; i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{f.load(dst),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: f.len, Mask: mask, Xor: make([]byte, f.len)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addrBytes(p.Masked().Addr)}}
}

// oifname compares the output interface's name.
func oifname(op expr.CmpOp, name string) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: b},
	}
}

// fibLocal is "fib daddr type local": a destination that is one of the
// host's own addresses.
func fibLocal(f fam) []expr.Any {
	return append(f.protoMatch(),
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
}

// dport is "tcp|udp dport PORT".
func dport(p network.Publish) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p.Proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
	}
}

// ctDNAT is "ct status dnat": a connection whose destination a DNAT
// changed.
func ctDNAT() []expr.Any {
	mask := make([]byte, 4)
	binary.NativeEndian.PutUint32(mask, 0x20) // IPS_DST_NAT
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// dnat is "dnat ip|ip6 to ADDR:PORT".
func dnat(a network.Addr, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: addrBytes(a)},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(family(a).proto), RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

func masq() []expr.Any { return []expr.Any{&expr.Masq{}} }
