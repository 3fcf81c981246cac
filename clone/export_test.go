package clone

// SpawnerStarted reports whether Start has handed a spec to the spawner
// goroutine yet.
func SpawnerStarted() bool { return spawnc != nil }

// KernelAtLeast is kernelAtLeast, for tests that check a refusal on old kernels.
var KernelAtLeast = kernelAtLeast

// InitStackBase is where a shared PID 1's stack is mapped (0 for none).
func InitStackBase(p *Process) uintptr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.initStack == nil {
		return 0
	}
	return uintptr(p.initStack.base)
}

// InitDataType is initData, for TestInitDataHasNoPointers.
var InitDataType = initData{}

// RaceEnabled reports a -race build (race_test.go).
func RaceEnabled() bool { return raceEnabled }

// ShimInMemfd is OpenExecShim's fallback without CAP_SYS_ADMIN.
var ShimInMemfd = shimInMemfd

// ShimOnReadOnlyTmpfs is OpenExecShim's way where no shim file is beside
// the binary.
var ShimOnReadOnlyTmpfs = shimOnReadOnlyTmpfs
