package kernel

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]Version{
		"6.18.0-13-cloud-amd64": {6, 18}, "5.10.0-35-cloud-amd64": {5, 10}, "4.8": {4, 8},
		"5.8.1-foo": {5, 8}, "6.1+": {6, 1}, "6.2-rc3": {6, 2}, "10.0.0": {10, 0},
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "6", "6.", ".18", "a.b", "+6.1", "6.-1", " 6.1", "6.1x", "6.18 0"} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", bad, got)
		}
	}
	v := Version{6, 2}
	for _, c := range []struct {
		major, minor int
		want         bool
	}{{6, 2, true}, {6, 1, true}, {5, 99, true}, {6, 3, false}, {7, 0, false}} {
		if v.AtLeast(c.major, c.minor) != c.want {
			t.Errorf("%v.AtLeast(%d, %d) != %v", v, c.major, c.minor, c.want)
		}
	}
	if r, err := Running(); err != nil || !AtLeast(r.Major, r.Minor) || AtLeast(r.Major, r.Minor+1) {
		t.Errorf("the running kernel %v, %v", r, err)
	}
}
