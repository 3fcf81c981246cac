package network

import (
	"net/netip"
	"strings"
	"testing"
)

var addrSeeds = []string{
	"0.0.0.0", "127.0.0.1", "255.255.255.255", "10.90.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1",
	"1..2.3", "::", "::1", "1::", "fd72:6177:6e73::5", "2001:db8::1:0:0:1", "2001:db8:0:0:1:0:0:1",
	"::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	"1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", ":::", "1:::2", "12345::", "fe80::1%eth0",
	"FD00::A", "", ":", "1:", ":1", "1.2.3.4:", "[::1]", "0:0:0:0:0:0:0:0", "0::0:1", "::ffff:0:1.2.3.4",
	"1:0:0:2:0:0:0:3", "a:b:c:d:e:f:1.2.3.4", "::1.2.3.04",
}

// TestParseAddrMatchesNetip holds ParseAddr and String equal to net/netip
// on the seeds; FuzzParseAddr does on whatever the fuzzer finds.
func TestParseAddrMatchesNetip(t *testing.T) {
	for _, s := range addrSeeds {
		checkAgainstNetip(t, s)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range addrSeeds {
		f.Add(s)
	}
	f.Fuzz(checkAgainstNetip)
}

func checkAgainstNetip(t *testing.T, s string) {
	if strings.Contains(s, "%") {
		if _, err := ParseAddr(s); err == nil {
			t.Errorf("ParseAddr(%q) accepted a zone", s)
		}
		return
	}
	want, werr := netip.ParseAddr(s)
	got, err := ParseAddr(s)
	if (err == nil) != (werr == nil) {
		t.Fatalf("ParseAddr(%q): err %v, netip says %v", s, err, werr)
	}
	if err != nil {
		return
	}
	if got.Is4() != want.Is4() || got.String() != want.String() {
		t.Fatalf("ParseAddr(%q) = %s (v4 %v), netip %s (v4 %v)", s, got, got.Is4(), want, want.Is4())
	}
	if got.As16() != want.As16() || got.IsLoopback() != want.IsLoopback() || got.IsUnspecified() != want.IsUnspecified() {
		t.Fatalf("ParseAddr(%q): bytes or classes differ from netip", s)
	}
}

func TestPrefix(t *testing.T) {
	for _, c := range []struct {
		s, masked string
		ok        bool
	}{
		{"10.90.0.0/24", "10.90.0.0/24", true},
		{"10.90.0.7/24", "10.90.0.0/24", true},
		{"10.90.1.7/23", "10.90.0.0/23", true},
		{"fd72:6177:6e73::9/64", "fd72:6177:6e73::/64", true},
		{"fd72:6177:6e73:ff::9/57", "fd72:6177:6e73:80::/57", true},
		{"10.0.0.0/33", "", false},
		{"10.0.0.0/-1", "", false},
		{"10.0.0.0/08", "", false},
		{"10.0.0.0", "", false},
		{"::/129", "", false},
	} {
		p, err := ParsePrefix(c.s)
		if (err == nil) != c.ok {
			t.Fatalf("ParsePrefix(%q): %v", c.s, err)
		}
		if err != nil {
			continue
		}
		if got := p.Masked().String(); got != c.masked {
			t.Errorf("ParsePrefix(%q).Masked() = %s, want %s", c.s, got, c.masked)
		}
		np := netip.MustParsePrefix(c.s)
		if np.Masked().String() != p.Masked().String() {
			t.Errorf("%q: netip masks to %s", c.s, np.Masked())
		}
	}
	p, _ := ParsePrefix("10.90.0.0/24")
	if got := p.Nth(1).String(); got != "10.90.0.1" {
		t.Errorf("Nth(1) = %s", got)
	}
	if got := p.Nth(255).String(); got != "10.90.0.255" {
		t.Errorf("Nth(255) = %s", got)
	}
	q, _ := ParsePrefix("10.90.0.128/25")
	r, _ := ParsePrefix("10.91.0.0/16")
	if !p.Overlaps(q) || !q.Overlaps(p) || p.Overlaps(r) || !p.Contains(p.Nth(9)) || p.Contains(r.Addr) {
		t.Error("Overlaps or Contains is wrong")
	}
	v6, _ := ParsePrefix("fd72:6177:6e73::/64")
	if got := v6.Nth(0x1ff).String(); got != "fd72:6177:6e73::1ff" || p.Size() != 256 || v6.Size() != 1<<24 {
		t.Errorf("Nth or Size is wrong: %s %d %d", got, p.Size(), v6.Size())
	}
}
