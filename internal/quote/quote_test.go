package quote

import "testing"

func TestArg(t *testing.T) {
	for in, want := range map[string]string{
		"sh": "sh", "/bin/true": "/bin/true", "a b": "a b", "é": "é",
		"": `""`, "a\nb": `"a\nb"`, "a\x00": `"a\x00"`, "\xff": `"\xff"`, `"x"`: `"\"x\""`,
	} {
		if got := Arg(in); got != want {
			t.Errorf("Arg(%q) = %s, want %s", in, got, want)
		}
	}
}
