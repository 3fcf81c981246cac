package cgroup_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rawns/rawns/cgroup"
	"github.com/rawns/rawns/clone"
	"github.com/rawns/rawns/internal/testutil"
)

func TestParseCPUs(t *testing.T) {
	q, p, err := cgroup.ParseCPUs("0.25")
	if err != nil || q != 25000 || p != 100000 {
		t.Fatalf("ParseCPUs(0.25) = %d %d %v", q, p, err)
	}
	if q, _, _ := cgroup.ParseCPUs("2"); q != 200000 {
		t.Fatalf("ParseCPUs(2) quota %d", q)
	}
	for _, bad := range []string{"0", "-1", "x", "0.001", "NaN", ""} {
		if _, _, err := cgroup.ParseCPUs(bad); err == nil {
			t.Errorf("ParseCPUs(%q): no error", bad)
		}
	}
}

func TestParseList(t *testing.T) {
	l, err := cgroup.ParseList("0-2,5")
	if err != nil || len(l) != 4 || l[3] != 5 {
		t.Fatalf("ParseList = %v %v", l, err)
	}
	for _, bad := range []string{"", "a", "2-1", "-1", "1,,2", "0-"} {
		if _, err := cgroup.ParseList(bad); err == nil {
			t.Errorf("ParseList(%q): no error", bad)
		}
	}
}

func TestResourcesValidate(t *testing.T) {
	for _, c := range []struct {
		r     cgroup.Resources
		field cgroup.Field
		want  string
	}{
		{cgroup.Resources{Memory: cgroup.Memory{Limit: -1}}, cgroup.FieldMemoryLimit, "Resources.Memory.Limit: memory limit -1 is negative"},
		{cgroup.Resources{Memory: cgroup.Memory{Swap: 1 << 20}}, cgroup.FieldMemorySwap, "needs a memory limit"},
		{cgroup.Resources{Memory: cgroup.Memory{Limit: 4096}}, cgroup.FieldMemoryLimit, "below 1048576 (1 MiB), the smallest"},
		{cgroup.Resources{Memory: cgroup.Memory{Limit: 2 << 20, Swap: 1 << 20}}, cgroup.FieldMemorySwap, "below the memory limit"},
		{cgroup.Resources{CPU: cgroup.CPU{Quota: 10}}, cgroup.FieldCPUQuota, "at least 1000"},
		{cgroup.Resources{CPU: cgroup.CPU{Period: 10}}, cgroup.FieldCPUPeriod, "1000..1000000"},
		{cgroup.Resources{CPU: cgroup.CPU{Shares: 2, Weight: 3}}, cgroup.FieldCPUWeight, "not both"},
		{cgroup.Resources{CPU: cgroup.CPU{Shares: 1}}, cgroup.FieldCPUShares, "2..262144"},
		{cgroup.Resources{CPU: cgroup.CPU{Weight: 10001}}, cgroup.FieldCPUWeight, "1..10000"},
		{cgroup.Resources{CPU: cgroup.CPU{Cpus: "1-0"}}, cgroup.FieldCPUCpus, "cpuset cpus"},
		{cgroup.Resources{CPU: cgroup.CPU{Mems: "x"}}, cgroup.FieldCPUMems, "cpuset mems"},
		{cgroup.Resources{Pids: cgroup.Pids{Limit: -2}}, cgroup.FieldPidsLimit, "negative"},
		{cgroup.Resources{Pids: cgroup.Pids{Limit: cgroup.MaxPids + 1}}, cgroup.FieldPidsLimit, "above 4194304, the most the kernel takes"},
	} {
		err := c.r.Validate()
		if err == nil || fieldOf(err) != c.field || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v (field %v), want %v and %q", c.r, err, fieldOf(err), c.field, c.want)
		}
	}
}

// fieldOf returns the field a *cgroup.Error blames.
func fieldOf(err error) cgroup.Field {
	var e *cgroup.Error
	if errors.As(err, &e) {
		return e.Field
	}
	return cgroup.FieldNone
}

// Bad input fails in New, names the resource to blame, and leaves nothing.
func TestNewRefuses(t *testing.T) {
	testutil.RequireRoot(t)
	pids := cgroup.Resources{Pids: cgroup.Pids{Limit: 4}}
	lay, err := cgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	noPids := &cgroup.Layout{V1: map[string]*cgroup.Hierarchy{}}
	for k, v := range lay.V1 {
		if k != "pids" {
			noPids.V1[k] = v
		}
	}
	if len(noPids.V1) == 0 && lay.V2 != nil {
		noPids.V1["freezer"] = lay.V2 // any hierarchy without pids
		noPids.V1 = nil
	}
	for _, c := range []struct {
		name  string
		opts  cgroup.Options
		field cgroup.Field
		want  string
	}{
		{"parent is a file", cgroup.Options{Resources: pids, Parent: "cgroup.procs"}, cgroup.FieldParent, "not a cgroup directory"},
		{"parent climbs out", cgroup.Options{Resources: pids, Parent: "../x"}, cgroup.FieldParent, "climbs out"},
		{"cpuset beyond the machine", cgroup.Options{Resources: cgroup.Resources{CPU: cgroup.CPU{Cpus: "0-4095"}}}, cgroup.FieldCPUCpus, "not all available"},
		{"controller missing", cgroup.Options{Resources: pids, Layout: noPids}, cgroup.FieldPidsLimit, "pids controller is missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cg, err := cgroup.New(c.opts)
			if err == nil {
				cg.Close()
				t.Fatalf("New(%+v) made %v", c.opts, cg.Dirs())
			}
			if fieldOf(err) != c.field || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v (field %v), want field %v and %q", err, fieldOf(err), c.field, c.want)
			}
		})
	}
	if left := ours(t); len(left) != 0 {
		t.Fatalf("cgroups left: %v", left)
	}
}

// On cgroup v2 a parent that holds processes cannot hand a domain
// controller (memory, io; not the threaded ones: pids, cpu, cpuset) to a
// child, the no-internal-process rule: New says so and names the field.
// Only the vmtest's pure v2 hosts have a v2 memory controller to try it on;
// on a hybrid host memory is v1, where the rule does not exist.
func TestV2ParentWithProcesses(t *testing.T) {
	testutil.RequireRoot(t)
	lay, err := cgroup.ReadLayout()
	if err != nil {
		t.Fatal(err)
	}
	if lay.V2 == nil || lay.V1["memory"] != nil {
		t.Logf("memory is not a cgroup v2 controller here (%s): nothing to check", lay)
		return
	}
	parent := filepath.Join(lay.V2.Own, "rawns-test-busy-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(parent)
	sleeper, err := clone.Start(&clone.Spec{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Signal(syscall.SIGKILL); sleeper.Wait() }()
	if err := os.WriteFile(filepath.Join(parent, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	cg, err := cgroup.New(cgroup.Options{Resources: cgroup.Resources{Memory: cgroup.Memory{Limit: 64 << 20}}, Parent: filepath.Base(parent)})
	if err == nil {
		cg.Close()
		t.Fatal("New below a v2 cgroup with processes enabled memory")
	}
	var se *cgroup.SubtreeError
	if fieldOf(err) != cgroup.FieldMemoryLimit || !errors.As(err, &se) || se.Controller != "memory" || !strings.Contains(err.Error(), "holds processes") {
		t.Fatalf("New: %v (field %v)", err, fieldOf(err))
	}
	sleeper.Signal(syscall.SIGKILL)
	sleeper.Wait()
}
