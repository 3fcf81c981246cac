package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The files of a container's directory.
const (
	stateFile    = "state.json"  // State
	configFile   = "config.json" // the bundle's config.json as create read it, for exec
	gateFile     = "gate"        // the start gate while the container is created
	lockFileName = "lock"        // the record lock every command takes
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

// save writes state.json atomically.
func (c *Container) save() error {
	data, err := json.Marshal(&c.State)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(c.Dir, stateFile), data, 0o600)
}

// loadState reads dir/state.json.
func loadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %v (the state is damaged: delete --force removes it)", filepath.Join(dir, stateFile), err)
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
