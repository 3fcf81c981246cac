package clone

// SpawnerStarted reports whether Start has handed a spec to the spawner
// goroutine yet.
func SpawnerStarted() bool { return spawnc != nil }

// KernelAtLeast is kernelAtLeast, for tests that check a refusal on old kernels.
var KernelAtLeast = kernelAtLeast
