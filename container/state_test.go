package container

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/testutil"
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
		checkStateJSON(t, &s)
	}
}

// checkStateJSON wants appendJSON to write json.Marshal's bytes of s, and
// decodeState to read them back as json.Unmarshal does.
func checkStateJSON(t *testing.T, s *State) {
	t.Helper()
	want, err := json.Marshal(s)
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
	if err := json.Unmarshal(want, &wantBack); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, wantBack) {
		t.Fatalf("decodeState(%s)\n = %+v\nwant %+v", want, back, wantBack)
	}
}

// TestStateJSONEveryField: every field of State, filled at random, is
// written and read back as encoding/json does: a field added to State
// and not to appendJSON and decodeState fails here.
func TestStateJSONEveryField(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		var s State
		testutil.Fill(reflect.ValueOf(&s).Elem(), rnd)
		s.Created = time.Unix(rnd.Int63n(1<<33), rnd.Int63n(1e9)).UTC()
		checkStateJSON(t, &s)
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
