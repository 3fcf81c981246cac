package size

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"512m", 512 << 20}, {"1g", 1 << 30}, {"1.5GiB", 3 << 29}, {"64kb", 64 << 10}, {"4096", 4096}, {"100b", 100}, {"2T", 2 << 40}} {
		if got, err := Parse(c.in); err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0", "-1m", "m", "1x", "nan", "inf", "0.1b", "99999999999t"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", bad, got)
		}
	}
}
