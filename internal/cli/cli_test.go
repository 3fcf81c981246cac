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

var mountDefs = []Def{
	{Name: "bind", Kind: Pair},
	{Name: "tmpfs", Kind: Repeated},
	{Name: "size", Kind: Repeated},
	{Name: "hostname", Kind: String},
	{Name: "trace", Kind: Optional},
	{Name: "verbose", Short: "v", Kind: Bool},
}

func TestOrderAndPairs(t *testing.T) {
	f, rest, err := Parse(mountDefs, []string{"--tmpfs", "/a", "--bind", "/s", "/d", "--size", "1k", "--tmpfs=/b", "-v", "--bind", "/x", "/y", "cmd", "--bind"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rest, " ") != "cmd --bind" {
		t.Errorf("rest %q", rest)
	}
	var got []string
	for _, fl := range f.List() {
		got = append(got, fl.Name+"="+strings.Join(fl.Values, ","))
	}
	want := "tmpfs=/a bind=/s,/d size=1k tmpfs=/b verbose= bind=/x,/y"
	if strings.Join(got, " ") != want {
		t.Errorf("order: got %q, want %q", strings.Join(got, " "), want)
	}
	if all := f.All("tmpfs"); strings.Join(all, ",") != "/a,/b" {
		t.Errorf("All(tmpfs) = %q", all)
	}
}

func TestForgottenValueSwallowsNothing(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // in the error; "" means accepted
	}{
		{[]string{"--hostname", "--", "hostname"}, `flag --hostname needs a value, but the next argument is --; to pass it on purpose write --hostname=--`},
		{[]string{"--hostname", "-v", "x"}, `to pass it on purpose write --hostname=-v`},
		{[]string{"--hostname=-v", "x"}, ""},
		{[]string{"--hostname", "-1.5", "x"}, ""},
		{[]string{"--hostname", "-.5", "x"}, ""},
		{[]string{"--hostname", "-", "x"}, ""},
		{[]string{"--hostname"}, "flag --hostname needs a value: --hostname VALUE"},
		{[]string{"--bind", "/a"}, "flag --bind needs two values: --bind A B"},
		{[]string{"--bind", "/a", "--", "x"}, "write a path that starts with - as ./--"},
		{[]string{"--bind", "-a", "/b", "x"}, "write a path that starts with - as ./-a"},
		{[]string{"--bind=/a", "/b"}, "takes two values"},
		{[]string{"--hostname", "a", "--hostname", "b"}, "given twice"},
		{[]string{"--verbose=1"}, "takes no value"},
	} {
		_, _, err := Parse(mountDefs, c.args)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Parse(%q): %v; want it accepted", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Parse(%q): error %v; want one containing %q", c.args, err, c.want)
		}
	}
}

func TestRuncShape(t *testing.T) {
	globals := []Def{{Name: "root", Kind: String}, {Name: "log", Kind: String}, {Name: "systemd-cgroup", Kind: Bool}}
	o := Options{SingleDash: true}
	g, rest, err := o.Parse(globals, []string{"-root", "/run/x", "--log", "/l", "--systemd-cgroup", "create", "--bundle", "b", "id"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Get("root", "") != "/run/x" || g.Get("log", "") != "/l" || !g.Has("systemd-cgroup") {
		t.Errorf("globals %+v", g.List())
	}
	if len(rest) == 0 || rest[0] != "create" {
		t.Fatalf("verb: rest %q", rest)
	}
	f, args, err := o.Parse([]Def{{Name: "bundle", Short: "b", Kind: String}}, rest[1:])
	if err != nil || f.Get("bundle", "") != "b" || strings.Join(args, " ") != "id" {
		t.Errorf("verb flags %+v, args %q, err %v", f.List(), args, err)
	}
	// runc's parser takes a repeated global flag, the last value
	// counting (dockerd's runtimeArgs come before the shim's flags).
	r := Options{SingleDash: true, Repeats: true}
	g, rest, err = r.Parse(globals, []string{"--root", "/a", "--systemd-cgroup", "--root=/b", "--systemd-cgroup", "state"})
	if err != nil || g.Get("root", "") != "/b" || len(rest) != 1 {
		t.Errorf("repeated globals: %+v %q %v", g.List(), rest, err)
	}
	if _, _, err := o.Parse(globals, []string{"--root", "/a", "--root", "/b"}); err == nil {
		t.Error("a repeated flag accepted without Repeats")
	}
	// Without SingleDash, -root is not --root.
	if _, _, err := Parse(globals, []string{"-root", "x"}); err == nil {
		t.Error("-root accepted without SingleDash")
	}
}

func TestHints(t *testing.T) {
	o := Options{Hint: func(f string) string {
		if f == "--pid" {
			return "use --ns pid"
		}
		return ""
	}}
	_, _, err := o.Parse(mountDefs, []string{"--pid", "sh"})
	if err == nil || err.Error() != "unknown flag --pid: use --ns pid" {
		t.Errorf("error %v", err)
	}
	_, _, err = o.Parse(mountDefs, []string{"--pid=3", "sh"})
	if err == nil || !strings.HasSuffix(err.Error(), ": use --ns pid") {
		t.Errorf("--pid=3: error %v", err)
	}
	_, _, err = o.Parse(mountDefs, []string{"--other"})
	if err == nil || !strings.Contains(err.Error(), "see --help") {
		t.Errorf("--other: error %v", err)
	}
}
