package oci

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// HookKinds are the hooks of config.md in the order of the lifecycle,
// with their JSON names.
var HookKinds = [...]string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}

// HookList returns the hooks of kind (one of HookKinds).
func HookList(h *specs.Hooks, kind string) []specs.Hook {
	switch kind {
	case "prestart":
		return h.Prestart //nolint:staticcheck // deprecated by the spec, still run, as runc runs it
	case "createRuntime":
		return h.CreateRuntime
	case "createContainer":
		return h.CreateContainer
	case "startContainer":
		return h.StartContainer
	case "poststart":
		return h.Poststart
	case "poststop":
		return h.Poststop
	}
	return nil
}

// checkHooks checks each hook: an absolute path (config.md: "path MUST
// be absolute"), KEY=VALUE environment entries, a timeout above zero.
func checkHooks(h *specs.Hooks) error {
	for _, kind := range HookKinds {
		for i, hk := range HookList(h, kind) {
			p := index("hooks."+kind, i)
			if hk.Path == "" || !filepath.IsAbs(hk.Path) {
				return errorf(p+".path", "%q is not an absolute path; hooks run in the runtime's namespace, give the program's full path", hk.Path)
			}
			for j, e := range hk.Env {
				if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
					return errorf(index(p+".env", j), "%q is not KEY=VALUE", e)
				}
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return errorf(p+".timeout", "%d; give a number of seconds above zero, or leave it out for none", *hk.Timeout)
			}
		}
	}
	return nil
}
