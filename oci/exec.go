package oci

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/security"
)

// ConvertExec maps the process of an exec (process.json, or the
// container's own process changed by exec's flags) onto a Plan whose Spec
// runs it inside a running container: the privilege phase as for the
// container's process (user, capabilities, rlimits, no_new_privs, the
// container's seccomp profile, a session of its own), no namespace, root
// or mount of its own (the caller joins the container's). s is the
// container's config.json as create read it; root is a path of the
// container's root as this process sees it (/proc/PID/root), where
// args[0] is looked up. Errors name the field of process.json
// ("args", "user.uid").
func ConvertExec(s *specs.Spec, p *specs.Process, root string) (*Plan, error) {
	c := &converter{}
	if err := c.process("process", p); err != nil {
		return nil, execPath(err)
	}
	if s.Linux != nil {
		if err := c.seccomp(s.Linux.Seccomp, p); err != nil {
			return nil, err
		}
	}
	c.spec.Root = root
	err := c.lookPath()
	c.spec.Root = ""
	if err != nil {
		return nil, execPath(err)
	}
	if c.ambientDropped != 0 {
		// exec's plan has no log to warn in (package container runs
		// it): an ambient capability that cannot be raised stays an
		// error here.
		return nil, errorf("capabilities.ambient", "%s must be in permitted and inheritable too (PR_CAP_AMBIENT_RAISE)", security.CapSet(c.ambientDropped))
	}
	return &Plan{Spec: c.spec, Terminal: c.terminal}, nil
}

// execPath words a process error for process.json: "args" rather than
// "process.args".
func execPath(err error) error {
	if e, ok := err.(*Error); ok && len(e.Path) > len("process.") && e.Path[:len("process.")] == "process." {
		return &Error{Path: e.Path[len("process."):], Err: e.Err}
	}
	return err
}
