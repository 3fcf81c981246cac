package environ

import (
	_ "unsafe" // for go:linkname
)

// runtimeEnvs is the runtime's copy of the environment from the process's
// start (runtime.syscall_runtime_envs, which package syscall uses the same
// way): a fresh slice, unchanged by os.Setenv.
//
//go:linkname runtimeEnvs syscall.runtime_envs
func runtimeEnvs() []string
