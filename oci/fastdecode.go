package oci

import (
	"bytes"
	"strings"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/jsontext"
)

//go:generate go run gen_decode.go

// errOffPath is the fast decoder giving up: the document holds something
// it does not decode as encoding/json would (a syntax or type error, a
// key in another case, a field twice, a number that does not fit), and
// decodeSpec decodes it from the start. A constant, not errors.New: a
// package-level variable with a value to compute is start-up work in
// every rawns-oci process.
const errOffPath = offPath("off the fast decoder's path")

type offPath string

func (e offPath) Error() string { return string(e) }

// decodeFast decodes a config.json with the generated readers
// (decode_gen.go); ok is false when it gave up, and then s means nothing.
func decodeFast(data []byte) (s *specs.Spec, ok bool) {
	s = new(specs.Spec)
	r := jsontext.NewReader(data)
	if readSpec(r, s) != nil || r.End() != nil {
		return nil, false
	}
	return s, true
}

// once returns err, the result of reading a struct's field, or errOffPath
// when bit, the field's, is already in seen: encoding/json decodes a
// field given twice into what the first made (merging objects), which the
// fast path does not imitate.
func once(seen *uint64, bit uint64, err error) error {
	if *seen&bit != 0 {
		return errOffPath
	}
	*seen |= bit
	return err
}

// unknown skips the value of key, which names no field of the struct
// being read, unless encoding/json would take it for one: it matches a
// key to a field's name case-insensitively when no name matches exactly.
// names are the struct's JSON names in lower case, separated by spaces.
// A key with non-ASCII bytes gives up (Unicode folding takes the Kelvin
// sign for a k, ſ for an s), without looking further: no config has one.
func unknown(r *jsontext.Reader, key []byte, names string) error {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return errOffPath
		}
	}
	for names != "" {
		var name string
		name, names, _ = strings.Cut(names, " ")
		if bytes.EqualFold(key, []byte(name)) {
			return errOffPath
		}
	}
	return r.Skip()
}

// The readers of scalars, pointers, slices and maps, for the generated
// code. A null leaves a string, bool or number as it is (zero, the field
// being read once) and makes a pointer, slice or map nil, as
// encoding/json does; [] and {} make empty ones, not nil.

func str[T ~string](r *jsontext.Reader, p *T) error {
	if r.Null() {
		return r.Err()
	}
	s, err := r.String()
	*p = T(s)
	return err
}

func boolean(r *jsontext.Reader, p *bool) error {
	if r.Null() {
		return r.Err()
	}
	b, err := r.Bool()
	*p = b
	return err
}

// integer reads an integer; one that does not fit T gives up, as
// encoding/json's error is decodeSpec's to word.
func integer[T ~int | ~int8 | ~int16 | ~int32 | ~int64](r *jsontext.Reader, p *T) error {
	if r.Null() {
		return r.Err()
	}
	n, err := r.Int()
	if err != nil {
		return err
	}
	if int64(T(n)) != n {
		return errOffPath
	}
	*p = T(n)
	return nil
}

func unsigned[T ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64](r *jsontext.Reader, p *T) error {
	if r.Null() {
		return r.Err()
	}
	n, err := r.Uint()
	if err != nil {
		return err
	}
	if uint64(T(n)) != n {
		return errOffPath
	}
	*p = T(n)
	return nil
}

func ptr[T any](r *jsontext.Reader, p **T, read func(*jsontext.Reader, *T) error) error {
	if r.Null() {
		*p = nil
		return r.Err()
	}
	v := new(T)
	*p = v
	return read(r, v)
}

func slice[T any](r *jsontext.Reader, p *[]T, read func(*jsontext.Reader, *T) error) error {
	if r.Null() {
		*p = nil
		return r.Err()
	}
	s := []T{}
	err := r.Array(func() error {
		var zero T
		s = append(s, zero)
		return read(r, &s[len(s)-1])
	})
	*p = s
	return err
}

// mapOf reads an object into a map; a key given twice is the last value,
// as encoding/json makes it.
func mapOf[T any](r *jsontext.Reader, p *map[string]T, read func(*jsontext.Reader, *T) error) error {
	if r.Null() {
		*p = nil
		return r.Err()
	}
	m := map[string]T{}
	err := r.Members(func(key []byte) error {
		var v T
		err := read(r, &v)
		m[string(key)] = v
		return err
	})
	*p = m
	return err
}
