package network

import (
	"errors"
	"strconv"
	"strings"
)

// Addr is an IPv4 or IPv6 address. rawns run parses --dns, -p and --subnet
// with it rather than with net/netip, whose package initialisation
// allocates (unique.Make of its zone handles) in every program that links
// it, --network or not: rawns run's start-up pays for what it links
// (startup_test.go). addr_test.go holds it equal to net/netip on every
// input the fuzzer finds.
type Addr struct {
	b  [16]byte // IPv4 in the last four bytes
	v4 bool
	ok bool
}

// Is4 reports whether a is an IPv4 address.
func (a Addr) Is4() bool { return a.v4 }

// IsValid reports whether a holds an address (the zero Addr does not).
func (a Addr) IsValid() bool { return a.ok }

// As4 returns the four bytes of an IPv4 address.
func (a Addr) As4() [4]byte { return [4]byte{a.b[12], a.b[13], a.b[14], a.b[15]} }

// As16 returns the sixteen bytes of an IPv6 address (an IPv4 one as the
// last four after ::ffff:).
func (a Addr) As16() [16]byte {
	b := a.b
	if a.v4 {
		b[10], b[11] = 0xff, 0xff
	}
	return b
}

// AddrFrom4 and AddrFrom16 make an Addr of raw bytes.
func AddrFrom4(b [4]byte) Addr {
	var a Addr
	copy(a.b[12:], b[:])
	a.v4, a.ok = true, true
	return a
}

func AddrFrom16(b [16]byte) Addr { return Addr{b: b, ok: true} }

// BitLen is 32 for IPv4, 128 for IPv6, 0 for the zero Addr.
func (a Addr) BitLen() int {
	switch {
	case !a.ok:
		return 0
	case a.v4:
		return 32
	}
	return 128
}

// IsLoopback reports 127.0.0.0/8 and ::1.
func (a Addr) IsLoopback() bool {
	if a.v4 {
		return a.b[12] == 127
	}
	return a.ok && a.b == [16]byte{15: 1}
}

// IsUnspecified reports 0.0.0.0 and ::.
func (a Addr) IsUnspecified() bool {
	return a.ok && a.b == [16]byte{}
}

// errAddr is the generic refusal; the callers name the flag and value. A
// type, not errors.New, so that linking this package costs rawns run no
// work at start-up.
var errAddr error = addrError{}

type addrError struct{}

func (addrError) Error() string { return "not an IPv4 or IPv6 address" }

// ParseAddr parses a dotted-quad IPv4 address or an IPv6 address in the
// forms of RFC 4291 section 2.2 (with ::, and a dotted IPv4 tail). Zones
// ("fe80::1%eth0") are refused: nothing rawns takes an address for can use
// one.
func ParseAddr(s string) (Addr, error) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.':
			return parse4(s)
		case ':':
			return parse6(s)
		}
	}
	return Addr{}, errAddr
}

func parse4(s string) (Addr, error) {
	var a Addr
	var b [4]byte
	n := 0
	for i := 0; i < 4; i++ {
		if i > 0 {
			if n >= len(s) || s[n] != '.' {
				return a, errAddr
			}
			n++
		}
		v, d := 0, 0
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			if d > 0 && v == 0 {
				return a, errAddr // a leading zero: octal to some, decimal to others
			}
			v = v*10 + int(s[n]-'0')
			if v > 255 {
				return a, errAddr
			}
			n++
			d++
		}
		if d == 0 {
			return a, errAddr
		}
		b[i] = byte(v)
	}
	if n != len(s) {
		return a, errAddr
	}
	return AddrFrom4(b), nil
}

func parse6(s string) (Addr, error) {
	var a [16]byte
	ellipsis := -1 // the byte index where :: stands
	i := 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if s == "" {
			return AddrFrom16(a), nil
		}
	}
	for i < 16 {
		// One group: 1 to 4 hex digits, or a dotted IPv4 tail.
		off, v := 0, 0
		for off < len(s) {
			c := s[off]
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | int(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | int(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | int(c-'A'+10)
			default:
				goto end
			}
			off++
			if off > 4 {
				return Addr{}, errAddr
			}
		}
	end:
		if off < len(s) && s[off] == '.' {
			// The last 32 bits as a dotted quad.
			if ellipsis < 0 && i != 12 || i+4 > 16 {
				return Addr{}, errAddr
			}
			v4, err := parse4(s)
			if err != nil {
				return Addr{}, err
			}
			copy(a[i:], v4.b[12:])
			i += 4
			s = ""
			break
		}
		if off == 0 {
			return Addr{}, errAddr
		}
		a[i], a[i+1] = byte(v>>8), byte(v)
		i += 2
		s = s[off:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return Addr{}, errAddr
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return Addr{}, errAddr // a second ::
			}
			ellipsis = i
			s = s[1:]
			if s == "" {
				break
			}
		}
	}
	if s != "" {
		return Addr{}, errAddr
	}
	if i < 16 {
		if ellipsis < 0 {
			return Addr{}, errAddr
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			a[j+n] = a[j]
		}
		for j := ellipsis + n - 1; j >= ellipsis; j-- {
			a[j] = 0
		}
	} else if ellipsis >= 0 {
		return Addr{}, errAddr // :: must stand for at least one group
	}
	return AddrFrom16(a), nil
}

// String is the dotted quad, or the RFC 5952 form of an IPv6 address
// (lower case, the longest run of two or more zero groups as ::, an
// IPv4-mapped address as ::ffff:a.b.c.d), as net/netip prints them.
func (a Addr) String() string {
	switch {
	case !a.ok:
		return "invalid IP"
	case a.v4:
		return a.string4(12)
	}
	if [12]byte(a.b[:12]) == [12]byte{10: 0xff, 11: 0xff} {
		return "::ffff:" + a.string4(12)
	}
	// The longest run of zero groups, the first of equal ones.
	best, bestLen := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && a.b[2*j] == 0 && a.b[2*j+1] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j + 1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if i == best {
			sb.WriteString("::")
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(a.b[2*i])<<8|uint64(a.b[2*i+1]), 16))
	}
	return sb.String()
}

func (a Addr) string4(off int) string {
	var b []byte
	for i := 0; i < 4; i++ {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(a.b[off+i]), 10)
	}
	return string(b)
}

// Prefix is an address and a number of leading bits: a subnet.
type Prefix struct {
	Addr Addr
	Bits int
}

// ParsePrefix parses ADDR/BITS.
func ParsePrefix(s string) (Prefix, error) {
	as, bs, ok := strings.Cut(s, "/")
	if !ok {
		return Prefix{}, errors.New("not ADDRESS/BITS")
	}
	a, err := ParseAddr(as)
	if err != nil {
		return Prefix{}, err
	}
	bits, err := strconv.Atoi(bs)
	if err != nil || bits < 0 || bits > a.BitLen() || (len(bs) > 1 && bs[0] == '0') || bs[0] == '+' || bs[0] == '-' {
		return Prefix{}, errors.New("the prefix length must be 0 to " + strconv.Itoa(a.BitLen()))
	}
	return Prefix{a, bits}, nil
}

// Masked is p with the bits after Bits cleared: the network address.
func (p Prefix) Masked() Prefix {
	b := p.Addr.b
	start := 0
	if p.Addr.v4 {
		start = 12
	}
	for i := start; i < 16; i++ {
		n := (i-start)*8 - p.Bits // bits of this byte past the prefix, negative if none
		switch {
		case n >= 0:
			b[i] = 0
		case n > -8:
			b[i] &= byte(0xff << (8 + n)) // the first -n bits stay
		}
	}
	return Prefix{Addr{b: b, v4: p.Addr.v4, ok: p.Addr.ok}, p.Bits}
}

// Contains reports whether a lies in p.
func (p Prefix) Contains(a Addr) bool {
	if a.v4 != p.Addr.v4 || !a.ok {
		return false
	}
	return Prefix{a, p.Bits}.Masked().Addr == p.Masked().Addr
}

// Overlaps reports whether p and q share an address.
func (p Prefix) Overlaps(q Prefix) bool {
	if p.Addr.v4 != q.Addr.v4 {
		return false
	}
	bits := min(p.Bits, q.Bits)
	return Prefix{p.Addr, bits}.Masked().Addr == Prefix{q.Addr, bits}.Masked().Addr
}

// Nth is the address n past p's network address (n < 2^(BitLen-Bits)).
func (p Prefix) Nth(n uint64) Addr {
	a := p.Masked().Addr
	for i := 15; i >= 0 && n > 0; i-- {
		s := uint64(a.b[i]) + n&0xff
		a.b[i] = byte(s)
		n = n>>8 + s>>8
	}
	return a
}

// Size is the number of host numbers a subnet holds past its network
// address and gateway, capped at 1<<24: the allocator's search space
// (nothing allocates millions of containers on one bridge).
func (p Prefix) Size() uint64 {
	host := p.Addr.BitLen() - p.Bits
	if host >= 24 {
		return 1 << 24
	}
	return 1 << host
}

func (p Prefix) String() string { return p.Addr.String() + "/" + strconv.Itoa(p.Bits) }
