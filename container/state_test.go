package container

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// states are States with and without each optional field, with strings
// where a hand-written JSON encoder is likely to differ from
// encoding/json.
func states() []State {
	timeout := 5
	odd := "<a&b> \"q\" \\ \t\n\x01 é \u2028 \xff"
	zone := time.FixedZone("X", 3600)
	var out []State
	for i, created := range []time.Time{
		time.Date(2026, 12, 7, 15, 16, 17, 123456789, time.UTC),
		time.Date(2026, 12, 7, 15, 16, 17, 0, time.UTC),
		time.Date(2026, 12, 7, 15, 16, 17, 100000000, zone),
		{},
	} {
		s := State{OCIVersion: "1.0.2", ID: "c" + odd, Pid: 4242 + i, PidStart: 1<<40 + uint64(i), Bundle: "/b/" + odd,
			Rootfs: "/b/rootfs", Created: created, Owner: ""}
		out = append(out, s)
		s.Annotations = map[string]string{"z": "1", "a": odd, odd: "", "io.x/y": "v"}
		s.Cgroup, s.CgroupDirs, s.FreezeFile = "c1", []string{"/sys/fs/cgroup/unified/c1", "/sys/fs/cgroup/memory/c1"}, "/sys/fs/cgroup/unified/c1/cgroup.freeze"
		s.CgroupParents = []string{"/sys/fs/cgroup/unified/a", "/sys/fs/cgroup/unified/a/b"}
		out = append(out, s)
		s.Annotations = map[string]string{}
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/" + odd, Args: []string{"a", odd}, Env: []string{"A=1"}, Timeout: &timeout}},
			Poststop: []specs.Hook{{Path: "/bin/true"}}}
		out = append(out, s)
		s.Hooks = &specs.Hooks{}
		s.CgroupDirs, s.CgroupParents = []string{}, nil
		s.Owner = "root"
		out = append(out, s)
	}
	return out
}

// TestStateJSONMatchesMarshal: state.json is byte for byte what
// json.Marshal writes of the State, and decodes to what json.Unmarshal
// decodes, so that readers of the file (rawns-trace --container) and
// states written before are unchanged.
func TestStateJSONMatchesMarshal(t *testing.T) {
	for _, s := range states() {
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendJSON:\n %s\nwant %s", got, want)
		}
		var back, wantBack State
		if err := decodeState(want, &back); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(want, &wantBack); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("decodeState(%s)\n = %+v\nwant %+v", want, back, wantBack)
		}
	}
}

// TestStateJSONEveryField: every field of State, filled at random, is
// written and read back as encoding/json does: a field added to State
// and not to appendJSON and decodeState fails here.
func TestStateJSONEveryField(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		var s State
		fill(reflect.ValueOf(&s).Elem(), rnd, 0)
		s.Created = time.Unix(rnd.Int63n(1<<33), rnd.Int63n(1e9)).UTC()
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("appendJSON:\n %s\nwant %s", got, want)
		}
		var back, wantBack State
		if err := decodeState(want, &back); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Fatalf("decodeState(%s)\n = %+v\nwant %+v", want, back, wantBack)
		}
	}
}

// fill sets v to a random value: every exported field of a struct (and
// of the unexported struct types State points to), a pointer, slice or
// map most of the time, down to depth 10.
func fill(v reflect.Value, rnd *rand.Rand, depth int) {
	if depth > 10 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), rnd, depth+1)
		}
	case reflect.Pointer:
		if rnd.Intn(4) > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem(), rnd, depth+1)
		}
	case reflect.Slice:
		n := rnd.Intn(3)
		v.Set(reflect.MakeSlice(v.Type(), n, n))
		for i := 0; i < n; i++ {
			fill(v.Index(i), rnd, depth+1)
		}
	case reflect.Map:
		n := rnd.Intn(3)
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < n; i++ {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, rnd, depth+1)
			fill(e, rnd, depth+1)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(string(rune('a'+rnd.Intn(26))) + "<é>\"\x01")
	case reflect.Bool:
		v.SetBool(rnd.Intn(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(rnd.Int63n(1000) - 500)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(rnd.Int63()))
	}
}

// TestStateDecodeErrors: a damaged state is an error naming the property.
func TestStateDecodeErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"id": 5}`, "id: json: cannot unmarshal number"},
		{`{"pid": "x"}`, "pid: json: cannot unmarshal string"},
		{`{"created": "yesterday"}`, "created:"},
		{`{"id": "a"`, "unexpected end of JSON input"},
		{`[]`, "cannot unmarshal array"},
	} {
		var s State
		err := decodeState([]byte(c.doc), &s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("decodeState(%s): %v; want %q", c.doc, err, c.want)
		}
	}
}
