package cli

import (
	"strings"
	"testing"
)

var defs = []Def{{Name: "n", Kind: String}, {Name: "seed", Kind: String}, {Name: "v", Short: "v", Kind: Bool}}

func TestIntAndUint64(t *testing.T) {
	f, rest, err := Parse(defs, []string{"--n=7", "--seed", "0x10", "-v", "cmd", "--n"})
	if err != nil || len(rest) != 2 || rest[0] != "cmd" {
		t.Fatalf("Parse: %v, rest %q", err, rest)
	}
	if n, err := f.Int("n", 3, 1); n != 7 || err != nil {
		t.Errorf("Int(n) = %d, %v; want 7", n, err)
	}
	if n, err := f.Int("absent", 3, 1); n != 3 || err != nil {
		t.Errorf("Int(absent) = %d, %v; want the default 3", n, err)
	}
	if s, err := f.Uint64("seed", 1); s != 16 || err != nil {
		t.Errorf("Uint64(seed) = %d, %v; want 16", s, err)
	}
	for _, c := range []struct{ v, want string }{
		{"abc", "--n abc: give a whole number of at least 1"},
		{"0", "--n 0: give a whole number of at least 1"},
		{"", `--n "": give a whole number`},
		{"1\n2", `--n "1\n2": give`},
	} {
		f, _, _ := Parse(defs, []string{"--n", c.v})
		if _, err := f.Int("n", 0, 1); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Int(--n %q) error %v, want %q", c.v, err, c.want)
		}
	}
	f, _, _ = Parse(defs, []string{"--seed", "-1"})
	if _, err := f.Uint64("seed", 0); err == nil || !strings.Contains(err.Error(), "--seed -1") {
		t.Errorf("Uint64(--seed -1) error %v", err)
	}
}
