package oci

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// StartError words a failure of the clone (a *clone.ChildError or
// *clone.CloneError) for config.json: the field whose step failed. A
// failed execve keeps runc's wording ("exec: ...: permission denied",
// "no such file or directory"), which engines map to exit codes 126 and
// 127.
func (pl *Plan) StartError(err error) error {
	var ce *clone.ChildError
	var cle *clone.CloneError
	switch {
	case errors.As(err, &cle):
		return &Error{Path: "linux.namespaces", Err: err}
	case !errors.As(err, &ce):
		return err
	}
	path := "process"
	if ce.List == "Join" && ce.Index >= 0 && ce.Index < len(pl.Joins) {
		return &Error{Path: pl.Joins[ce.Index].JSONPath, Err: err}
	}
	if ce.List == "Sysctls" && ce.Index >= 0 && ce.Index < len(pl.Spec.Sysctls) {
		return &Error{Path: "linux.sysctl." + pl.Spec.Sysctls[ce.Index].Name, Err: err}
	}
	mount := -1 // the Spec.Mounts entry a failing step served
	if ce.List == "Mounts" {
		mount = ce.Index
	}
	switch st := ce.Stage; {
	case st == clone.StageExec:
		return &Error{Path: "process.args[0]", Err: fmt.Errorf("exec: %s: %v", strconv.Quote(ce.Subject), ce.Errno)}
	case st == clone.StageChdir:
		if ce.Syscall == "" || mount < 0 {
			return &Error{Path: "process.cwd", Err: fmt.Errorf("chdir to %s: %v", strconv.Quote(pl.Spec.Dir), ce.Errno)}
		}
		path = pl.mountPath(mount)
	case st == clone.StageMount || st == clone.StagePivot || st == clone.StageReadOnlyRoot:
		path = pl.mountPath(mount)
	case st == clone.StageOOMScoreAdj:
		path = "process.oomScoreAdj"
	case st == clone.StageHostname:
		path = "hostname"
	case st == clone.StageTimeOffsets:
		path = "linux.timeOffsets"
	case st.Phase() == clone.PhaseConsole:
		path = "process.terminal"
	case st == clone.StageRlimit:
		path = "process.rlimits"
		if ce.Errno == unix.EPERM {
			return &Error{Path: path, Err: fmt.Errorf("%v (raising a hard limit needs CAP_SYS_RESOURCE, and RLIMIT_NOFILE cannot exceed /proc/sys/fs/nr_open)", err)}
		}
	case st == clone.StageUmask:
		path = "process.user.umask"
	case st == clone.StageBounding || st == clone.StageCapset || st == clone.StageAmbient:
		path = "process.capabilities"
	case st == clone.StageKeepCaps || st == clone.StageSetgroups || st == clone.StageSetresgid || st == clone.StageSetresuid:
		path = "process.user"
	case st == clone.StageNoNewPrivs:
		path = "process.noNewPrivileges"
	case st == clone.StageSeccomp || st == clone.StageSeccompEarly:
		path = "linux.seccomp"
	}
	return &Error{Path: path, Err: err}
}

// mountPath names the entry behind mount i of Spec.Mounts, or the root's.
func (pl *Plan) mountPath(i int) string {
	if i >= 0 && i < len(pl.MountPaths) {
		return pl.MountPaths[i]
	}
	return "root.path"
}
