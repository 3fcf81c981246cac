package rtnl

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenNetfilter opens a NETLINK_NETFILTER socket in the calling thread's
// network namespace, for ChainExists.
func OpenNetfilter() (*Conn, error) {
	return open(unix.NETLINK_NETFILTER, "a netfilter netlink socket")
}

// ChainExists asks nf_tables whether the chain exists in the table of the
// inet family (NFT_MSG_GETCHAIN, not a dump: one answer or ENOENT). The
// question a bridge run asks before it decides it needs no helper.
func (c *Conn) ChainExists(table, chain string) (bool, error) {
	// struct nfgenmsg: family, version, resource id (big endian, 0).
	m := newMsg("looking up nft chain inet "+table+" "+chain,
		unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETCHAIN, 0, []byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0})
	m.str(unix.NFTA_CHAIN_TABLE, table)
	m.str(unix.NFTA_CHAIN_NAME, chain)
	found := false
	err := c.do(func(typ uint16, body []byte) {
		found = found || typ == unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWCHAIN
	}, m)
	if e, ok := err.(*Error); ok && e.Errno == unix.ENOENT {
		return false, nil
	}
	return found && err == nil, err
}

func itoa(n int) string { return strconv.Itoa(n) }

// ipString prints an address for an error message: dotted IPv4, or IPv6
// in groups with the longest run of zero groups as ::.
func ipString(ip []byte) string {
	if len(ip) == 4 {
		return itoa(int(ip[0])) + "." + itoa(int(ip[1])) + "." + itoa(int(ip[2])) + "." + itoa(int(ip[3]))
	}
	if len(ip) != 16 {
		return "?"
	}
	best, bestLen := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && ip[2*j] == 0 && ip[2*j+1] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j + 1
	}
	s := ""
	for i := 0; i < 8; i++ {
		if i == best {
			s += "::"
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			s += ":"
		}
		s += strconv.FormatUint(uint64(binary.BigEndian.Uint16(ip[2*i:])), 16)
	}
	return s
}
