//go:build race

package procfs

// The race detector's instrumentation makes Go allocate where the plain
// build does not (TestReadAllocs measures one allocation without it).
func init() { raceAllocs = 1 }
