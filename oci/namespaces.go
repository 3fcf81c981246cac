package oci

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/clone"
)

// nsTypes are linux.namespaces' type names (config-linux.md#namespaces)
// in the order the spec lists them, with their clone flags.
var nsTypes = [...]struct {
	name specs.LinuxNamespaceType
	flag clone.Namespaces
}{
	{specs.PIDNamespace, clone.NewPID},
	{specs.NetworkNamespace, clone.NewNet},
	{specs.MountNamespace, clone.NewMount},
	{specs.IPCNamespace, clone.NewIPC},
	{specs.UTSNamespace, clone.NewUTS},
	{specs.UserNamespace, clone.NewUser},
	{specs.CgroupNamespace, clone.NewCgroup},
	{specs.TimeNamespace, clone.NewTime},
}

// NamespaceFlag returns the clone flag of a linux.namespaces type.
func NamespaceFlag(t specs.LinuxNamespaceType) (clone.Namespaces, bool) {
	for _, n := range nsTypes {
		if n.name == t {
			return n.flag, true
		}
	}
	return 0, false
}

// NamespaceTypes lists the type names, comma-separated, for errors.
func NamespaceTypes() string {
	var b strings.Builder
	for i, n := range nsTypes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(n.name))
	}
	return b.String()
}

// NamespacePath is a namespace to join (linux.namespaces[].path): the
// caller opens Path and passes the fd as a clone.Join.
type NamespacePath struct {
	Kind     clone.Namespaces
	Path     string
	JSONPath string
}

// nsProcName is the kind's name under /proc/PID/ns/.
func nsProcName(flag clone.Namespaces) string {
	for _, k := range clone.Kinds {
		if k.Flag == flag {
			return k.Name
		}
	}
	return "?"
}

// namespaces maps linux.namespaces: a type without a path is a new
// namespace of that kind (a clone flag); a kind not listed is the
// runtime's own, shared (config-linux.md: "If a namespace type is not
// specified in the namespaces array, the container MUST inherit the
// runtime namespace of that type").
func (c *converter) namespaces(l *specs.Linux) error {
	var seen clone.Namespaces
	for i, ns := range l.Namespaces {
		p := index("linux.namespaces", i)
		flag, ok := NamespaceFlag(ns.Type)
		if !ok {
			return errorf(p+".type", "unknown namespace type %q; use one of %s", ns.Type, NamespaceTypes())
		}
		if seen&flag != 0 {
			return errorf(p+".type", "namespace type %q is listed twice; list each type once", ns.Type)
		}
		seen |= flag
		if ns.Path != "" {
			if !filepath.IsAbs(ns.Path) {
				return errorf(p+".path", "%q is not an absolute path; give a namespace file such as /proc/PID/ns/%s or a bind mount of one", ns.Path, nsProcName(flag))
			}
			c.joins = append(c.joins, NamespacePath{Kind: flag, Path: ns.Path, JSONPath: p + ".path"})
			continue
		}
		c.spec.Namespaces |= flag
	}
	return nil
}

// joining reports whether linux.namespaces joins a namespace of kind by
// path.
func (c *converter) joining(kind clone.Namespaces) bool {
	for _, j := range c.joins {
		if j.Kind == kind {
			return true
		}
	}
	return false
}
