package container

import (
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
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
		{`{"id": 5}`, "id: not a string"},
		{`{"pid": "x"}`, "pid: not a number"},
		{`{"pid": 1.5}`, "pid: number 1.5 is not an integer"},
		{`{"created": "yesterday"}`, "created:"},
		{`{"id": "a"`, "unexpected end of JSON input"},
		{`{"id": "a"} x`, "invalid character after the top-level value"},
		{`{"rootMount": {"id": -1}}`, "rootMount: number -1 is not an unsigned integer"},
		{`{"hooks": {"poststop": 5}}`, "hooks: json: cannot unmarshal number"},
		{`[]`, "not an object"},
	} {
		var s State
		err := decodeState([]byte(c.doc), &s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("decodeState(%s): %v; want %q", c.doc, err, c.want)
		}
	}
}

// decodeStateUnmarshal is how state.json was read before decodeState read
// it by hand (json.Unmarshal into its properties, then each into its
// field): FuzzDecodeState holds decodeState to it.
func decodeStateUnmarshal(data []byte, s *State) error {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(data, &props); err != nil {
		return err
	}
	for _, f := range [...]struct {
		key string
		ptr any
	}{
		{"ociVersion", &s.OCIVersion}, {"id", &s.ID}, {"pid", &s.Pid}, {"pidStart", &s.PidStart},
		{"bundle", &s.Bundle}, {"rootfs", &s.Rootfs}, {"created", &s.Created}, {"owner", &s.Owner},
		{"annotations", &s.Annotations}, {"cgroup", &s.Cgroup}, {"cgroupPaths", &s.CgroupDirs},
		{"freezeFile", &s.FreezeFile}, {"cgroupParentsMade", &s.CgroupParents}, {"hooks", &s.Hooks},
		{"rootMount", &s.RootMount},
	} {
		if v, ok := props[f.key]; ok {
			if err := json.Unmarshal(v, f.ptr); err != nil {
				return err
			}
		}
	}
	return nil
}

// FuzzDecodeState: any document decodes as encoding/json decoded it, or
// fails where it failed.
func FuzzDecodeState(f *testing.F) {
	for _, s := range states() {
		b, err := json.Marshal(&s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, doc := range []string{
		`null`, ` {} `, `{"pid": -0, "pidStart": 0}`, `{"pid": 1e2}`, `{"cgroupPaths": [null, "a"]}`,
		`{"annotations": {"a": null, "a": "b"}, "annotations": {"c": "\ud800\u0041"}}`,
		`{"i\u0064": "x\u00e9\ud83d\ude00", "rootMount": {"ID": 3, "Unique": true}}`,
		`{"rootMount": null, "hooks": null, "created": null, "owner": null}`,
		`{"id": "a\/b\u0000"}`, "{\"id\": \"\xff\xfe\"}", `{"x": [1, {"y": [true, false, null]}], "id": "z"}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want State
		gotErr := decodeState(data, &got)
		wantErr := decodeStateUnmarshal(data, &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("decodeState(%q): %v; encoding/json: %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeState(%q)\n = %+v\nwant %+v", data, got, want)
		}
	})
}

// TestOCIStateJSON: `state` prints what json.MarshalIndent(st, "", "  ")
// prints, for the states above and random ones.
func TestOCIStateJSON(t *testing.T) {
	check := func(st OCIState) {
		t.Helper()
		want, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("AppendJSON:\n%s\nwant\n%s", got, want)
		}
	}
	for _, s := range states() {
		for _, status := range []Status{Created, Stopped, "a\"b"} {
			check(OCIState{OCIVersion: s.OCIVersion, ID: s.ID, Pid: s.Pid, Status: status, Bundle: s.Bundle,
				Rootfs: s.Rootfs, Created: s.Created, Annotations: s.Annotations, Owner: s.Owner})
		}
	}
	rnd := rand.New(rand.NewSource(2))
	for i := 0; i < 200; i++ {
		var st OCIState
		testutil.Fill(reflect.ValueOf(&st).Elem(), rnd)
		st.Created = time.Unix(rnd.Int63n(1<<33), rnd.Int63n(1e9)).UTC()
		check(st)
	}
}

// TestRelock: rawns-oci run takes its container's lock again once the
// process has exited (Unlock, then Relock), and must not take a container
// that replaced it: one deleted meanwhile, or deleted and created again
// under its id, is ErrNotExist; its own is locked again.
func TestRelock(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	dir := s.dir("c")
	newContainer := func() *Container {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		l, err := lockFile(filepath.Join(dir, lockFileName), true, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.write([]byte("{}")); err != nil {
			t.Fatal(err)
		}
		c := &Container{Dir: dir, lock: l}
		c.Unlock()
		return c
	}
	c := newContainer()
	if err := s.Relock(c); err != nil {
		t.Fatalf("Relock of its own container: %v", err)
	}
	if data, err := c.lock.read(); err != nil || string(data) != "{}" {
		t.Errorf("reading config.json through the lock: %q, %v", data, err)
	}
	// Deleted meanwhile, by another command.
	c.Unlock()
	if err := (&Container{Dir: dir}).remove(); err != nil {
		t.Fatal(err)
	}
	if err := s.Relock(c); !errors.Is(err, ErrNotExist) {
		t.Errorf("Relock of a deleted container = %v; want ErrNotExist", err)
	}
	// Deleted and created again under its id (the new file may even get
	// the old one's inode number: only the kept fd tells them apart).
	n := newContainer()
	if err := s.Relock(c); !errors.Is(err, ErrNotExist) {
		t.Errorf("Relock of a container deleted and created again = %v; want ErrNotExist", err)
	}
	c.Release()
	n.Release()
	// An earlier rawns-oci's lock file does not keep the directory.
	if err := os.WriteFile(filepath.Join(dir, oldLockFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (&Container{Dir: dir}).remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the container's directory with an old lock file is left: %v", err)
	}
}
