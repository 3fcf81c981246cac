package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/cli"
	ocispec "github.com/rawns/rawns/oci"
)

var updateVerb = verb{
	name:  "update",
	usage: "change a container's limits (--resources FILE|-, a linux.resources JSON)",
	run:   runUpdate,
}

// updateFlags are runc update's: --resources, and the single limits.
var updateFlags = []cli.Def{
	{Name: "resources", Short: "r", Kind: cli.String},
	{Name: "memory", Kind: cli.String},
	{Name: "memory-swap", Kind: cli.String},
	{Name: "memory-reservation", Kind: cli.String},
	{Name: "kernel-memory", Kind: cli.String},
	{Name: "kernel-memory-tcp", Kind: cli.String},
	{Name: "cpu-period", Kind: cli.String},
	{Name: "cpu-quota", Kind: cli.String},
	{Name: "cpu-share", Kind: cli.String},
	{Name: "cpu-rt-period", Kind: cli.String},
	{Name: "cpu-rt-runtime", Kind: cli.String},
	{Name: "cpuset-cpus", Kind: cli.String},
	{Name: "cpuset-mems", Kind: cli.String},
	{Name: "pids-limit", Kind: cli.String},
	{Name: "blkio-weight", Kind: cli.String},
	{Name: "l3-cache-schema", Kind: cli.String},
	{Name: "mem-bw-schema", Kind: cli.String},
}

func runUpdate(g *globals, args []string) error {
	flags, rest, err := parse("update", updateFlags, args, 1, "ID")
	if err != nil {
		return err
	}
	if g.systemdCgroup {
		return fmt.Errorf("--systemd-cgroup: rawns manages cgroups through cgroupfs, not systemd; drop the flag")
	}
	var r specs.LinuxResources
	if f := flags.Get("resources", ""); f != "" {
		var data []byte
		if f == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			return fmt.Errorf("--resources %s: %v", f, unwrap(err))
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("--resources %s: not a linux.resources JSON object: %v", f, err)
		}
	}
	// The single flags override the file, as runc's do.
	num := func(name string, set func(v int64)) error {
		if v := flags.Get(name, ""); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("update --%s %s: give a whole number", name, cli.Quote(v))
			}
			set(n)
		}
		return nil
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for _, f := range []struct {
		name string
		set  func(int64)
	}{
		{"memory", func(v int64) { mem().Limit = &v }},
		{"memory-swap", func(v int64) { mem().Swap = &v }},
		{"memory-reservation", func(v int64) { mem().Reservation = &v }},
		{"kernel-memory", func(v int64) { mem().Kernel = &v }},
		{"kernel-memory-tcp", func(v int64) { mem().KernelTCP = &v }},
		{"cpu-period", func(v int64) { u := uint64(v); cpu().Period = &u }},
		{"cpu-quota", func(v int64) { cpu().Quota = &v }},
		{"cpu-share", func(v int64) { u := uint64(v); cpu().Shares = &u }},
		{"cpu-rt-period", func(v int64) { u := uint64(v); cpu().RealtimePeriod = &u }},
		{"cpu-rt-runtime", func(v int64) { cpu().RealtimeRuntime = &v }},
		{"pids-limit", func(v int64) { r.Pids = &specs.LinuxPids{Limit: v} }},
		{"blkio-weight", func(v int64) { w := uint16(v); r.BlockIO = &specs.LinuxBlockIO{Weight: &w} }},
	} {
		if err := num(f.name, f.set); err != nil {
			return err
		}
	}
	if v := flags.Get("cpuset-cpus", ""); v != "" {
		cpu().Cpus = v
	}
	if v := flags.Get("cpuset-mems", ""); v != "" {
		cpu().Mems = v
	}
	if flags.Has("l3-cache-schema") || flags.Has("mem-bw-schema") {
		return fmt.Errorf("update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not used by rawns")
	}
	res, err := ocispec.Resources(&r)
	if err != nil {
		return fmt.Errorf("update: %v", err)
	}
	c, err := g.load(rest[0], true)
	if err != nil {
		return err
	}
	defer c.Release()
	return c.Update(res)
}
