package jsontext

import (
	"encoding/json"
	"testing"
)

// jsonStrings are strings where a hand-written JSON string encoder is
// likely to differ from encoding/json.
var jsonStrings = []string{
	"",
	"plain",
	"/bin/true",
	`"quoted" and \backslash\`,
	"<script>&amp;</script>",
	"\x00\x01\x07\x0b\x0e\x1f\x7f",
	"\b\f\n\r\t",
	"tab\tnewline\nend",
	"héllo wörld ✓ 日本語 😀",
	"\u2027\u2028\u2029\u202a",
	"\xff",
	"a\xffb\xfe",
	"\xe2\x80",         // truncated U+2028
	"\xed\xa0\x80",     // a UTF-16 surrogate, invalid in UTF-8
	"\xc0\xaf",         // overlong /
	"\xf4\x90\x80\x80", // above U+10FFFF
	"\ufffd",           // a real U+FFFD is copied, not escaped
	"\U0010ffff",
	"trace: load tp_btf/sched_process_exec: needs root or CAP_BPF+CAP_PERFMON: map create: operation not permitted",
}

func TestAppendString(t *testing.T) {
	for _, s := range jsonStrings {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
	// It appends.
	if got := AppendString([]byte("x:"), "<"); string(got) != `x:"\u003c"` {
		t.Errorf("append: %s", got)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
