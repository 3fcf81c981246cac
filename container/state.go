package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/jsontext"
	"github.com/rawns/rawns/internal/procfs"
)

// The files of a container's directory.
//
// config.json is also the file every command takes its record lock on
// (store.go, lock): it is made first and removed last, and never
// replaced, so it can be; a lock file of its own was one more inode to
// allocate and free per container (tens of µs on an ext4 without a
// journal, whose allocator skips recently freed inodes one by one). The
// catch of record locks holds here: closing any fd of the file drops the
// process's locks on it, so nothing in a locking process opens config.json
// but the lock itself, and Config reads through the lock's fd.
const (
	stateFile    = "state.json"  // State
	configFile   = "config.json" // the bundle's config.json as create read it, for exec; the lock
	gateFile     = "gate"        // the start gate while the container is created
	lockFileName = configFile    // the record lock every command takes
	// oldLockFile is the lock file of containers an earlier rawns-oci
	// created, removed with them.
	oldLockFile = "lock"
)

// State is what create records for the later commands: how to find the
// process (pid and its start time), the cgroup (its directories), and
// what the OCI state reports. It is rawns's own file; `state` prints the
// runtime-spec's state, derived from it.
type State struct {
	OCIVersion string `json:"ociVersion"`
	ID         string `json:"id"`
	// Pid is the container's process in the state root's PID namespace
	// (the host's), PidStart its start time in clock ticks since boot:
	// the pair names the process for good, pid reuse notwithstanding.
	Pid         int               `json:"pid"`
	PidStart    uint64            `json:"pidStart"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Cgroup is the cgroup's name and CgroupDirs its directories, one
	// per hierarchy (cgroup.Load); FreezeFile the file whose content says
	// whether it is frozen (v1 freezer.state or v2 cgroup.freeze).
	Cgroup     string   `json:"cgroup,omitempty"`
	CgroupDirs []string `json:"cgroupPaths,omitempty"`
	FreezeFile string   `json:"freezeFile,omitempty"`
	// CgroupParents are the parent directories create made for the
	// cgroup (a relative cgroupsPath a/b/c where a/b was missing),
	// parents first: delete removes them when nothing else uses them.
	CgroupParents []string `json:"cgroupParentsMade,omitempty"`
	// Hooks are the hooks that run after create: startContainer,
	// poststart, poststop (config.json may change after create; what
	// create read counts).
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// RootMount is the tree create attached on Rootfs in the runtime's own
	// mount namespace, for a container without one (hostmount.go): delete
	// unmounts it.
	RootMount *rootMount `json:"rootMount,omitempty"`
}

// save writes state.json atomically. Create alone calls it, once: the
// status is derived (pid, start time, freezer, gate), never stored, and
// Store.Relock (rawns-oci run) keeps the State it wrote instead of
// reading the file again. A command that had to change the state after
// create would have to make Relock read it.
func (c *Container) save() error {
	data, err := c.State.appendJSON(nil)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(c.Dir, stateFile), data, 0o600)
}

// Why state.json is written and read without reflection: every create,
// start and delete reads or writes it, each a process of its own that
// lives a few milliseconds, and encoding/json's first use of a struct
// type builds the encoders of all it reaches (time.Time, the hooks), most
// of that command's JSON cost. Measured in a fresh process: one Unmarshal
// into State took 1.6 ms and 31 page faults, one Marshal 3.6 ms and 34
// (~12 µs a fault on the development VM). The bytes are the same as
// json.Marshal(&State) writes (TestStateJSONMatchesMarshal), so that
// readers such as rawns-trace --container are unchanged; the hooks, which
// few containers have, still go through encoding/json.

// appendJSON appends the state as json.Marshal(&s) writes it: the fields
// in order, the omitempty ones left out when empty, the annotations'
// keys sorted.
func (s *State) appendJSON(b []byte) ([]byte, error) {
	str := func(key, v string) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		b = jsontext.AppendString(b, v)
	}
	strs := func(key string, vs []string) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, `":[`...)
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, `{"ociVersion":`...)
	b = jsontext.AppendString(b, s.OCIVersion)
	str("id", s.ID)
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(s.Pid), 10)
	b = append(b, `,"pidStart":`...)
	b = strconv.AppendUint(b, s.PidStart, 10)
	str("bundle", s.Bundle)
	str("rootfs", s.Rootfs)
	created, err := s.Created.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, `,"created":`...)
	b = append(b, created...)
	str("owner", s.Owner)
	if len(s.Annotations) > 0 {
		b = append(b, `,"annotations":{`...)
		for i, k := range slices.Sorted(maps.Keys(s.Annotations)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, k)
			b = append(b, ':')
			b = jsontext.AppendString(b, s.Annotations[k])
		}
		b = append(b, '}')
	}
	if s.Cgroup != "" {
		str("cgroup", s.Cgroup)
	}
	if len(s.CgroupDirs) > 0 {
		strs("cgroupPaths", s.CgroupDirs)
	}
	if s.FreezeFile != "" {
		str("freezeFile", s.FreezeFile)
	}
	if len(s.CgroupParents) > 0 {
		strs("cgroupParentsMade", s.CgroupParents)
	}
	if s.Hooks != nil {
		hooks, err := json.Marshal(s.Hooks)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"hooks":`...)
		b = append(b, hooks...)
	}
	if s.RootMount != nil {
		b = append(b, `,"rootMount":{"id":`...)
		b = strconv.AppendUint(b, s.RootMount.ID, 10)
		if s.RootMount.Unique {
			b = append(b, `,"unique":true`...)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// stateKeys are State's properties, in the order decodeState decodes
// them.
var stateKeys = [...]string{"ociVersion", "id", "pid", "pidStart", "bundle", "rootfs", "created", "owner",
	"annotations", "cgroup", "cgroupPaths", "freezeFile", "cgroupParentsMade", "hooks", "rootMount"}

// decodeState decodes what appendJSON (or json.Marshal) wrote, as
// json.Unmarshal into a map of the properties and then each into its
// field read it (the last of a repeated property counts): with
// jsontext.Reader, so that start, delete, state and kill page in none of
// encoding/json's decoder (the hooks, which few containers have, still go
// through it). FuzzDecodeState holds it to encoding/json.
func decodeState(data []byte, s *State) error {
	var raws [len(stateKeys)][]byte
	r := jsontext.NewReader(data)
	err := r.Object(func(key string) error {
		for i, k := range stateKeys {
			if k == key {
				raw, err := r.Raw()
				raws[i] = raw
				return err
			}
		}
		return r.Skip()
	})
	if err == nil {
		err = r.End()
	}
	if err != nil {
		return err
	}
	for i, raw := range raws {
		if raw == nil {
			continue
		}
		if err := decodeStateField(jsontext.NewReader(raw), i, s); err != nil {
			return fmt.Errorf("%s: %v", stateKeys[i], err)
		}
	}
	return nil
}

// decodeStateField decodes property stateKeys[i] from r, which holds its
// value alone; null leaves a field as it is, as json.Unmarshal does.
func decodeStateField(r *jsontext.Reader, i int, s *State) error {
	str := func(p *string) error {
		if r.Null() {
			return nil
		}
		v, err := r.String()
		*p = v
		return err
	}
	var err error
	switch stateKeys[i] {
	case "ociVersion":
		err = str(&s.OCIVersion)
	case "id":
		err = str(&s.ID)
	case "pid":
		if !r.Null() {
			var v int64
			v, err = r.Int()
			s.Pid = int(v)
		}
	case "pidStart":
		if !r.Null() {
			s.PidStart, err = r.Uint()
		}
	case "bundle":
		err = str(&s.Bundle)
	case "rootfs":
		err = str(&s.Rootfs)
	case "created":
		return s.Created.UnmarshalJSON(r.Bytes())
	case "owner":
		err = str(&s.Owner)
	case "annotations":
		if r.Null() {
			s.Annotations = nil
			break
		}
		s.Annotations = map[string]string{}
		err = r.Object(func(k string) error {
			v := ""
			err := str(&v)
			s.Annotations[k] = v
			return err
		})
	case "cgroup":
		err = str(&s.Cgroup)
	case "cgroupPaths":
		s.CgroupDirs, err = r.Strings()
	case "freezeFile":
		err = str(&s.FreezeFile)
	case "cgroupParentsMade":
		s.CgroupParents, err = r.Strings()
	case "hooks":
		return json.Unmarshal(r.Bytes(), &s.Hooks)
	case "rootMount":
		if r.Null() {
			s.RootMount = nil
			break
		}
		m := &rootMount{}
		s.RootMount = m
		// As json.Unmarshal matches a struct's fields: the last match,
		// case-insensitively.
		err = r.Object(func(k string) error {
			var err error
			switch {
			case strings.EqualFold(k, "id"):
				if !r.Null() {
					m.ID, err = r.Uint()
				}
			case strings.EqualFold(k, "unique"):
				if !r.Null() {
					m.Unique, err = r.Bool()
				}
			default:
				err = r.Skip()
			}
			return err
		})
	}
	if err == nil {
		err = r.End()
	}
	return err
}

// loadState reads dir/state.json, with raw system calls into one buffer
// (no os.File, whose first use starts the runtime's poller).
func loadState(dir string) (*State, error) {
	name := filepath.Join(dir, stateFile)
	data, err := procfs.Read(name, make([]byte, 1024))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	var s State
	if err := decodeState(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %v (the state is damaged: delete --force removes it)", name, err)
	}
	return &s, nil
}

// OCIState is the runtime-spec's state of a container (runtime.md,
// "State"), with runc's rootfs, created and owner, which engines read.
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// OCIState returns the container's state as `state` prints it: the pid is
// 0 once stopped, as runc reports it (the number may name another process
// by now).
func (c *Container) OCIState() OCIState {
	st := c.Status()
	pid := c.State.Pid
	if st == Stopped {
		pid = 0
	}
	return OCIState{
		OCIVersion: c.State.OCIVersion, ID: c.State.ID, Pid: pid, Status: st,
		Bundle: c.State.Bundle, Rootfs: c.State.Rootfs, Created: c.State.Created,
		Annotations: c.State.Annotations, Owner: c.State.Owner,
	}
}

// AppendJSON appends the state as json.MarshalIndent(st, "", "  ")
// writes it, by hand (TestOCIStateJSON): `state` then pages in nothing of
// encoding/json's encoder.
func (st *OCIState) AppendJSON(b []byte) ([]byte, error) {
	str := func(key, v string) {
		b = append(b, ",\n  \""...)
		b = append(b, key...)
		b = append(b, `": `...)
		b = jsontext.AppendString(b, v)
	}
	b = append(b, "{\n  \"ociVersion\": "...)
	b = jsontext.AppendString(b, st.OCIVersion)
	str("id", st.ID)
	b = append(b, ",\n  \"pid\": "...)
	b = strconv.AppendInt(b, int64(st.Pid), 10)
	str("status", string(st.Status))
	str("bundle", st.Bundle)
	str("rootfs", st.Rootfs)
	created, err := st.Created.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, ",\n  \"created\": "...)
	b = append(b, created...)
	if len(st.Annotations) > 0 {
		b = append(b, ",\n  \"annotations\": {"...)
		for i, k := range slices.Sorted(maps.Keys(st.Annotations)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    "...)
			b = jsontext.AppendString(b, k)
			b = append(b, ": "...)
			b = jsontext.AppendString(b, st.Annotations[k])
		}
		b = append(b, "\n  }"...)
	}
	str("owner", st.Owner)
	return append(b, "\n}"...), nil
}

// hookState is the state a hook reads on its stdin (runtime.md), with the
// status the lifecycle is at.
func (c *Container) hookState(st Status) []byte {
	s := specs.State{
		Version: c.State.OCIVersion, ID: c.State.ID, Status: specs.ContainerState(st),
		Pid: c.State.Pid, Bundle: c.State.Bundle, Annotations: c.State.Annotations,
	}
	if st == Stopped {
		s.Pid = 0
	}
	data, _ := json.Marshal(&s)
	return data
}
