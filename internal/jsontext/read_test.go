package jsontext

import (
	"encoding/json"
	"slices"
	"strings"
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

// TestReaderDepth: the nesting limit is encoding/json's to the level, for
// objects, arrays and Strings' arrays, so that a document it refuses is
// refused here too (Skip used to let one level more through).
func TestReaderDepth(t *testing.T) {
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		for _, doc := range []string{
			strings.Repeat("[", n) + strings.Repeat("]", n),
			strings.Repeat("[", n) + "1" + strings.Repeat("]", n),
			strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1),
			strings.Repeat("[", n-1) + `["s"]` + strings.Repeat("]", n-1),
		} {
			r := NewReader([]byte(doc))
			err := r.Skip()
			if err == nil {
				err = r.End()
			}
			if valid := json.Valid([]byte(doc)); valid != (err == nil) {
				t.Errorf("depth %d, %.12s...: Skip: %v; json.Valid: %v", n, doc, err, valid)
			}
		}
	}
	// Strings counts its array.
	doc := strings.Repeat("[", maxDepth) + `["s"]` + strings.Repeat("]", maxDepth)
	r := NewReader([]byte(doc))
	for i := 0; i < maxDepth; i++ {
		if r.peek() != '[' || r.open() != nil {
			t.Fatalf("open %d: %v", i, r.Err())
		}
	}
	if _, err := r.Strings(); err == nil {
		t.Errorf("Strings at depth %d: no error", maxDepth+1)
	}
}

// TestArray: elements in order, [] and null read as no element, and what
// is not an array, or an element's error, is an error that sticks.
func TestArray(t *testing.T) {
	read := func(doc string) ([]int64, error) {
		r := NewReader([]byte(doc))
		var got []int64
		err := r.Array(func() error {
			v, err := r.Int()
			got = append(got, v)
			return err
		})
		if err == nil {
			err = r.End()
		}
		if err != r.Err() {
			t.Errorf("Array(%s) returned %v, Err says %v", doc, err, r.Err())
		}
		return got, err
	}
	for _, c := range []struct {
		doc  string
		want []int64
	}{
		{` [1, -2 ,3] `, []int64{1, -2, 3}},
		{`[]`, nil},
		{` [ ] `, nil},
		{`null`, nil},
	} {
		got, err := read(c.doc)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Array(%s) = %v, %v; want %v", c.doc, got, err, c.want)
		}
	}
	for _, doc := range []string{`{}`, `"a"`, `[1,]`, `[1 2]`, `[1`, `[`, `["a"]`, `[1.5]`, `[1] 2`} {
		if _, err := read(doc); err == nil {
			t.Errorf("Array(%s): no error", doc)
		}
	}
}

// TestMembers: keys come unescaped, as Object's strings.
func TestMembers(t *testing.T) {
	r := NewReader([]byte(`{"a\u0062": 1, "c": {"d": 2}, "\ud83d\ude00": 3}`))
	var keys []string
	err := r.Members(func(key []byte) error {
		keys = append(keys, string(key))
		return r.Skip()
	})
	if err == nil {
		err = r.End()
	}
	if want := []string{"ab", "c", "😀"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("Members: %q, %v; want %q", keys, err, want)
	}
}
