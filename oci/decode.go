package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/rawns/rawns/internal/jsontext"
)

// Why config.json is not one json.Unmarshal into specs.Spec: encoding/json
// builds, on its first use of a struct type, the encoders of every type
// that struct reaches (typeFields asks typeEncoder for each field, for
// decoding too), and specs.Spec reaches the whole runtime-spec: Windows,
// Solaris, VM, z/OS, every cgroup controller, seccomp, Intel RDT. In a
// process that lives a few milliseconds that is most of its work: measured
// here, the one call took 4.4 ms and 83 page faults in a fresh process (a
// fault costs ~12 µs on the development VM), against 0.5 ms and 12 faults
// for the same bytes into a map. Every `rawns-oci create` and `run` pays
// it.
//
// So Parse decodes in two ways, with one result: that of one
// json.Unmarshal into a specs.Spec, its error worded by jsonError.
//
// The fast path, decodeFast (fastdecode.go, decode_gen.go): plain Go, one
// function per struct type, generated from the runtime-spec's types by
// oci/internal/specgen, reading the document once with jsontext.Reader;
// no reflection, no encoding/json, no map but those of the config's own
// (annotations, sysctl...). The first Parse of `rawns-oci spec`'s config
// in a fresh process takes 7 page faults and 31 µs of CPU, against 19 and
// 222 µs here below, 80 and 480 µs for json.Unmarshal (TestParseFaultBudget,
// RAWNS_PARSE_REPORT=1). It decodes what a well-formed config holds and
// gives up, for the slow path to decode the document from the start,
// wherever encoding/json's result would take imitating: any syntax or
// type error (whose wording is the slow path's), a key that names a field
// only in another case, a field given twice (encoding/json merges
// objects), a number that does not fit its field, a Solaris, Windows, VM
// or z/OS section. Unknown keys are skipped, as config.md requires.
//
// The slow path, decodeSpec, below: the top level, process, linux and
// linux.resources are decoded property by property, the object into a map
// of its raw values, then each property present into its field with
// encoding/json itself, so that only the types of the properties a config
// has are built. What encoding/json does is kept: keys match a field's
// name exactly, else without regard to case; an object that gives a field
// twice is decoded whole; a value of the wrong type is the error of the
// earliest one in the document, with its full JSON path and offset.
//
// TestParseMatchesUnmarshal fills every field of the runtime-spec's types
// at random, compares with json.Unmarshal and requires the fast path;
// TestParseFallsBack holds each reason to give up, FuzzParse everything.

// splitField says which objects the slow path decodes property by
// property, by JSON path: those whose types reach the most.
// linux.resources is in every config an engine sends, mostly for its
// devices list: split, the first decodeSpec of `rawns-oci spec`'s config
// takes 17 page faults, not 36. A switch, not a map: a package-level map
// is built at start-up, in every rawns-oci process.
func splitField(path string) bool {
	switch path {
	case "", "linux", "process", "linux.resources":
		return true
	}
	return false
}

// rawValue is a JSON value where it stands in the document: UnmarshalJSON
// keeps the slice json.Unmarshal hands it, which is a slice of the
// caller's bytes (no copy: Parse owns them and leaves them alone), so
// that its offset in the document is known (decoder.offset).
type rawValue []byte

func (r *rawValue) UnmarshalJSON(b []byte) error {
	*r = b
	return nil
}

// decoder decodes one document; first is the earliest type error.
type decoder struct {
	data  []byte
	first *json.UnmarshalTypeError
}

// offset returns where v, a slice of d.data, starts in it: slices of one
// array share its end, so the capacities differ by the start. Checked, and
// looked for where the check fails (it cannot, while encoding/json passes
// its input's slices to UnmarshalJSON).
func (d *decoder) offset(v []byte) int64 {
	off := cap(d.data) - cap(v)
	if len(v) > 0 && off >= 0 && off+len(v) <= len(d.data) && &d.data[off] == &v[0] {
		return int64(off)
	}
	return int64(bytes.Index(d.data, v))
}

// decode decodes v, found at path, into ptr (a pointer to the field).
func (d *decoder) decode(v rawValue, path string, ptr reflect.Value) error {
	if splitField(path) {
		return d.object(v, path, ptr)
	}
	return d.whole(v, path, ptr)
}

// whole decodes v into ptr with one json.Unmarshal, recording a type error
// with its path and offset in the whole document, as one Unmarshal of it
// would have said.
func (d *decoder) whole(v rawValue, path string, ptr reflect.Value) error {
	err := json.Unmarshal(v, ptr.Interface())
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		e := *typ
		e.Field = joinPath(path, typ.Field)
		e.Offset += d.offset(v)
		if d.first == nil || e.Offset < d.first.Offset {
			d.first = &e
		}
		return nil
	}
	return err
}

// object decodes an object into ptr, a pointer to a struct or to a
// pointer to one (made when the value is not null), property by property.
func (d *decoder) object(v rawValue, path string, ptr reflect.Value) error {
	var props map[string]rawValue
	if err := json.Unmarshal(v, &props); err != nil {
		// Not an object: what encoding/json says of the field itself.
		return d.whole(v, path, ptr)
	}
	if props == nil {
		return d.whole(v, path, ptr) // null
	}
	t := ptr.Type().Elem()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !onePerField(v, props, t) {
		return d.whole(v, path, ptr)
	}
	st := ptr.Elem()
	if st.Kind() == reflect.Pointer {
		if st.IsNil() {
			st.Set(reflect.New(st.Type().Elem()))
		}
		st = st.Elem()
	}
	for i := 0; i < t.NumField(); i++ {
		name := jsonName(t.Field(i))
		if name == "" {
			continue
		}
		val, ok := props[name]
		if !ok {
			for k, kv := range props {
				if strings.EqualFold(k, name) {
					val, ok = kv, true
					break
				}
			}
		}
		if !ok {
			continue
		}
		if err := d.decode(val, joinPath(path, name), st.Field(i).Addr()); err != nil {
			return err
		}
	}
	return nil
}

// onePerField reports whether the object v, whose properties are props,
// gives each field of the struct type t at most once. When it gives one
// twice, exactly or in another case, encoding/json decodes both in the
// document's order (the later string wins, objects merge), which a map
// of the properties cannot tell; the object is then decoded whole.
func onePerField(v rawValue, props map[string]rawValue, t reflect.Type) bool {
	keys := 0
	r := jsontext.NewReader(v)
	err := r.Object(func(string) error {
		keys++
		return r.Skip()
	})
	if err != nil || keys != len(props) {
		return false // a key twice
	}
	for i := 0; i < t.NumField(); i++ {
		name := jsonName(t.Field(i))
		if name == "" {
			continue
		}
		n := 0
		for k := range props {
			if strings.EqualFold(k, name) {
				n++
			}
		}
		if n > 1 {
			return false
		}
	}
	return true
}

// jsonName is the JSON name of a struct field, "" when it has none.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return ""
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// decodeSpec decodes data into s; the error is as json.Unmarshal's.
func decodeSpec(data []byte, s any) error {
	d := &decoder{data: data}
	if err := d.object(data, "", reflect.ValueOf(s)); err != nil {
		return err
	}
	if d.first != nil {
		return d.first
	}
	return nil
}
