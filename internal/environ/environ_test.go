package environ

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestListIsOsEnviron: in a process started with duplicate keys, an entry
// without '=' and an empty value, List is exactly what os.Environ says.
func TestListIsOsEnviron(t *testing.T) {
	if os.Getenv("RAWNS_ENVIRON_CHILD") == "1" {
		list := List() // before os.Environ, which builds syscall's map
		env := os.Environ()
		if !slices.Equal(list, env) {
			t.Fatalf("List() = %q\nos.Environ() = %q", list, env)
		}
		return
	}
	for _, n := range []int{0, 3, maxQuadratic + 5} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestListIsOsEnviron$")
		cmd.Env = []string{"RAWNS_ENVIRON_CHILD=1", "A=1", "NOEQUALS", "B=", "A=2", "C=x=y", "NOEQUALS", "B=3"}
		for i := range n {
			cmd.Env = append(cmd.Env, "V"+strconv.Itoa(i%(n/2+1))+"=v")
		}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
			t.Errorf("with %d more variables: %v\n%s", n, err, out)
		}
	}
}
