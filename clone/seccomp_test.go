//go:build linux && (amd64 || arm64)

package clone_test

import "github.com/rawns/rawns/internal/testutil"

// denyClone3WithENOSYS installs, on every thread of this process, a seccomp
// filter that makes clone3 fail with ENOSYS, as container runtimes'
// default profiles do.
func denyClone3WithENOSYS() error {
	return testutil.InstallSeccomp("clone3=ENOSYS")
}
