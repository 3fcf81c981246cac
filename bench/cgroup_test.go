package bench

import (
	"os"
	"testing"

	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

// The limited-run strategies spawn, alone and two at a time, and a command
// that fails is an error.
func TestCgroupStrategiesSpawn(t *testing.T) {
	testutil.RequireRoot(t)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, path := range []string{"/bin/true", "/bin/false"} {
		job := &Job{Path: path, Args: []string{path}, Env: []string{"PATH=/usr/bin:/bin"},
			Namespaces: clone.NewPID | clone.NewUTS, Hostname: "bench", Null: null}
		for _, name := range CgroupStrategyNames {
			s, err := NewStrategy(name, job, "")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, par := range []int{1, 2} {
				_, err := s.Batch(4, par)
				if (err != nil) != (path == "/bin/false") {
					t.Errorf("%s %s parallel %d: %v", name, path, par, err)
				}
			}
		}
	}
}
