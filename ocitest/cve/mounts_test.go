package cve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// outside returns a host directory outside the bundle, and in it the path
// of a directory that does not exist yet: a runtime that follows a
// symlink out of the root to it would create it on the host (mkdir of a
// mount point), which the test sees.
func outside(t *testing.T) (dir, missing string) {
	dir = t.TempDir()
	return dir, filepath.Join(dir, "created-by-the-runtime")
}

// landedOutside reports what the runtime did at the host path missing.
func landedOutside(t *testing.T, missing string) error {
	if _, err := os.Lstat(missing); err == nil {
		return fmt.Errorf("the runtime created %s on the host: it followed the symlink out of the root", missing)
	}
	if hostMounted(t, missing) {
		return fmt.Errorf("%s is mounted on the host", missing)
	}
	return nil
}

// CVE-2021-30465 (static form): a mount destination that is a symlink to
// a path outside the root. The mount must land at the symlink's target
// resolved inside the root (the container then sees it there), or the
// runtime must refuse; it must not create or mount anything at the host
// path. Absolute and relative links.
func TestCVE_2021_30465_SymlinkMountDestination(t *testing.T) {
	forEachRuntime(t, "CVE-2021-30465", func(t *testing.T, r *runner) error {
		for _, kind := range []string{"absolute", "relative"} {
			_, missing := outside(t)
			b := r.bundle(func(s *specs.Spec, rootfs string) {
				target := missing
				if kind == "relative" {
					target = strings.Repeat("../", 20) + strings.TrimPrefix(missing, "/")
				}
				if err := os.Symlink(target, filepath.Join(rootfs, "mnt/link")); err != nil {
					t.Fatal(err)
				}
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/link", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
				// The tmpfs must be where /mnt/link leads inside the root.
				s.Process.Args = []string{"/bin/sh", "-c", "touch /mnt/link/marker && grep -c ' " + missing + " ' /proc/self/mountinfo"}
			})
			res := r.run(b)
			if err := landedOutside(t, missing); err != nil {
				return fmt.Errorf("%s link: %v (%v)", kind, err, res)
			}
			if res.err == nil && strings.TrimSpace(res.out) != "1" {
				return fmt.Errorf("%s link: the container ran, but the tmpfs is not at %s inside its root: %v", kind, missing, res)
			}
			t.Logf("%s link: %v", kind, res)
		}
		return nil
	})
}

// CVE-2021-30465 (the race): the destination flips between a directory
// and a symlink to outside (renameat2 RENAME_EXCHANGE, as fast as the host
// can) while the runtime sets the mount up, 20 times.
func TestCVE_2021_30465_SymlinkExchangeRace(t *testing.T) {
	forEachRuntime(t, "CVE-2021-30465", func(t *testing.T, r *runner) error {
		_, missing := outside(t)
		var rootfs string
		b := r.bundle(func(s *specs.Spec, rfs string) {
			rootfs = rfs
			if err := os.Mkdir(filepath.Join(rfs, "mnt/dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(missing, filepath.Join(rfs, "mnt/swap")); err != nil {
				t.Fatal(err)
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt/dir", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
		})
		var stop atomic.Bool
		var flips atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, c := filepath.Join(rootfs, "mnt/dir"), filepath.Join(rootfs, "mnt/swap")
			for !stop.Load() {
				if unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, c, unix.RENAME_EXCHANGE) == nil {
					flips.Add(1)
				}
			}
		}()
		started := 0
		for range 20 {
			if res := r.run(b); res.err == nil {
				started++
			}
		}
		stop.Store(true)
		wg.Wait()
		t.Logf("%d flips, %d of 20 containers started", flips.Load(), started)
		return landedOutside(t, missing)
	})
}

// CVE-2023-27561 (CVE-2019-19921 again): the root's /proc is a symlink to
// outside. procfs must not be mounted, nor a directory made, at the host
// path: the runtime refuses or keeps it inside the root.
func TestCVE_2023_27561_SymlinkProc(t *testing.T) {
	forEachRuntime(t, "CVE-2023-27561", func(t *testing.T, r *runner) error {
		_, missing := outside(t)
		b := r.bundle(func(s *specs.Spec, rootfs string) {
			p := filepath.Join(rootfs, "proc")
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(missing, p); err != nil {
				t.Fatal(err)
			}
			s.Process.Args = []string{"/bin/sh", "-c", "cat /proc/self/stat >/dev/null"}
		})
		res := r.run(b)
		t.Logf("%v", res)
		return landedOutside(t, missing)
	})
}
