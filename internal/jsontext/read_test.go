package jsontext

import (
	"encoding/json"
	"testing"
)

// FuzzReader: Reader accepts what encoding/json accepts (Skip of any
// document), and reads a string as json.Unmarshal does (escapes,
// surrogates, invalid UTF-8 as U+FFFD).
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		`"a"`, `"\u00e9\ud83d\ude00\ud800\u0041\udc00"`, "\"\xff\xfe\"", `"\/\b\f\n\r\t\"\\"`, `"\x"`, `"\u12"`,
		`{"a": [1, -0.5e+3, true, false, null, {"b": {}}], "c": "d"}`, `[1,]`, `01`, `-`, `1.`, `1e`, ` 7 `,
		`{"a" 1}`, `{"a": 1,}`, "\"\x01\"", `nul`, `[[[]]]`, `"a" "b"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(data)
		err := r.Skip()
		if err == nil {
			err = r.End()
		}
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("Skip+End(%q): %v; json.Valid: %v", data, err, valid)
		}
		var want string
		wantErr := json.Unmarshal(data, &want)
		r = NewReader(data)
		got, gotErr := r.String()
		if gotErr == nil {
			gotErr = r.End()
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("String(%q): %v; json.Unmarshal: %v", data, gotErr, wantErr)
		}
		if gotErr == nil && got != want {
			t.Fatalf("String(%q) = %q; json.Unmarshal: %q", data, got, want)
		}
	})
}
