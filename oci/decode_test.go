package oci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/internal/testutil"
	"github.com/rawns/rawns/oci/internal/specgen"
)

// TestParseMatchesUnmarshal: Parse decodes what one json.Unmarshal into a
// specs.Spec decodes, for specs with every field of the runtime-spec's
// types filled at random (so that a field of a newer runtime-spec cannot
// be dropped), `rawns-oci spec`'s config, a podman-like one and documents
// with nulls, empty arrays and objects, unknown keys and escapes, and all
// of them on the fast path (decode_gen.go): a field it missed would send
// every config that has it to the slow decoder for good.
func TestParseMatchesUnmarshal(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		var s specs.Spec
		testutil.Fill(reflect.ValueOf(&s).Elem(), rnd)
		s.Version = "1.0.2"
		s.Solaris, s.Windows, s.VM, s.ZOS = nil, nil, nil, nil // the slow path's
		data, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		compareParse(t, data, true)
	}
	for _, doc := range fastDocs(t) {
		compareParse(t, []byte(doc), true)
	}
}

// fastDocs are documents the fast decoder decodes itself.
func fastDocs(t testing.TB) []string {
	return []string{
		specConfig,
		benchConfig,
		podmanConfig(t),
		`{"ociVersion": "1.0.2", "process": null, "linux": null, "hooks": null, "mounts": null, "annotations": null}`,
		`{"ociVersion": "1.0.2", "unknown": {"x": [1, {"y": null}]}, "linux": {"unknown": [1, 2], "cgroupsPath": "a"}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 1, "umask": null}, "terminal": true, "args": [], "env": [null, "A=\u00e9\n"]}, "root": {"path": "r"}}`,
		`{"ociVersion": "1.0.2", "mounts": [null, {}], "annotations": {}, "linux": {"sysctl": {"a": null, "b": "1", "b": "2"}, "resources": {}}}`,
		`{"ociVersion": "1.0.2", "hostname": null, "process": {"cwd": null, "terminal": null, "oomScoreAdj": -1000, "user": null}}`,
		`{"ociVersion": "1.0.2", "linux": {"resources": {"blockIO": {"weightDevice": [{"major": -1, "minor": 9223372036854775807, "weight": 65535}]}}}}`,
		`{"ociVersion": "1.0.2", "linux": {"resources": {"memory": {"limit": -9223372036854775808, "swappiness": 18446744073709551615}}}}`,
		`{"ociVersion": "1.0.2", "linux": {"timeOffsets": {"monotonic": {"secs": -5, "nanosecs": 4294967295}}, "devices": [{"fileMode": 8630, "uid": 0}]}}`,
		`{"ociVersion": "1.0.2", "linux": {"resources": {"rdma": {"mlx": {"hcaHandles": 3}, "x": null}, "unified": {"memory.high": "max"}}}}`,
		`{"ociVersion": "1.0.2", "ociVersio\u006e2": 1, "proces": {}, "linuxx": 5}`,
		` {"ociVersion":"1.0.2"} ` + "\n",
		`{"ociVersion": "1.0.2", "process": {"ioPriority": {"class": "IOPRIO_CLASS_RT", "priority": 0}, "scheduler": {"policy": "SCHED_RR", "flags": []}, "execCPUAffinity": {"initial": "0"}}}`,
	}
}

// compareParse checks Parse against json.Unmarshal and jsonError, and
// that the document took the fast path, or the slow one.
func compareParse(t *testing.T, data []byte, fast bool) {
	t.Helper()
	var want specs.Spec
	uerr := json.Unmarshal(data, &want)
	got, err := Parse("config.json", data)
	switch {
	case uerr != nil:
		w := jsonError("config.json", data, uerr)
		if err == nil || err.Error() != w.Error() {
			t.Errorf("Parse(%.300s): %v\nwant %v", data, err, w)
		}
	case err != nil:
		t.Errorf("Parse(%.300s): %v", data, err)
	case !reflect.DeepEqual(*got, want):
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(&want)
		t.Errorf("Parse(%.300s)\n = %.300s\nwant %.300s", data, g, w)
	}
	if _, ok := decodeFast(data); ok != fast {
		t.Errorf("decodeFast(%.300s): ok %v, want %v", data, ok, fast)
	}
}

// TestParseFallsBack: documents the fast decoder leaves to decodeSpec,
// one per reason, still decode as one json.Unmarshal, or fail with its
// error.
func TestParseFallsBack(t *testing.T) {
	for _, doc := range []string{
		// Syntax errors, in a field and in what is skipped.
		`{"ociVersion": "1.0.2", "process": {"args": ["sh",]}}`,
		`{"ociVersion": "1.0.2", "unknown": [1 2]}`,
		`{"ociVersion": "1.0.2"} x`,
		`{"ociVersion": "1.0.2"`,
		``,
		"{\"ociVersion\": \"1.0.2\", \"hostname\": \"a\x01\"}",
		// A value of the wrong type.
		`{"ociVersion": "1.0.2", "linux": {"cgroupsPath": 5}, "process": {"cwd": 5}}`,
		`{"ociVersion": "1.0.2", "process": {"args": "sh"}}`,
		`{"ociVersion": "1.0.2", "process": {"terminal": "yes"}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": "0"}}}`,
		`{"ociVersion": "1.0.2", "annotations": {"a": 1}}`,
		`{"ociVersion": "1.0.2", "mounts": {}}`,
		`{"ociVersion": "1.0.2", "root": []}`,
		`{"ociVersion": "1.0.2", "process": {"env": [1]}}`,
		`[]`,
		`"1.0.2"`,
		// Keys in another case (encoding/json takes them), and ones
		// Unicode folds: the Kelvin sign is a k, ſ an s.
		`{"ociVersion": "1.0.2", "Process": {"ARGS": ["sh"], "cwd": "/"}, "LINUX": {"Namespaces": [{"type": "pid"}]}}`,
		`{"ociVersion": "1.0.2", "process": {"cwd": "/", "CWD": "/x"}}`,
		`{"ociVersion": "1.0.2", "linux": {"masKedPaths": ["/x"]}}`,
		"{\"ociVersion\": \"1.0.2\", \"hoſtname\": \"a\"}",
		"{\"ociVersion\": \"1.0.2\", \"linux\": {\"mas\u212aedPaths\": [\"/x\"]}}",
		// A field twice: encoding/json merges objects, overwrites the rest.
		`{"ociVersion": "1.0.2", "hostname": "a", "hostname": "b"}`,
		`{"ociVersion": "1.0.2", "process": {"cwd": "/"}, "process": {"args": ["sh"]}}`,
		`{"ociVersion": "1.0.2", "linux": {"resources": {"memory": {"limit": 1}}, "resources": {"cpu": {"cpus": "0"}}}}`,
		`{"ociVersion": "1.0.2", "mounts": [{"destination": "/a", "destination": "/b"}]}`,
		// Numbers that are not integers of the field's type.
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 1.5}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 1e3}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 1.0}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 4294967296}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": -1}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": -0}}}`,
		`{"ociVersion": "1.0.2", "process": {"oomScoreAdj": 9223372036854775808}}`,
		`{"ociVersion": "1.0.2", "process": {"scheduler": {"nice": 2147483648}}}`,
		`{"ociVersion": "1.0.2", "linux": {"resources": {"blockIO": {"weight": 65536}}}}`,
		`{"ociVersion": "1.0.2", "linux": {"seccomp": {"syscalls": [{"names": ["a"], "args": [{"value": 18446744073709551616}]}]}}}`,
		// The other platforms' sections, even null.
		`{"ociVersion": "1.0.2", "windows": {"layerFolders": ["c:\\x"], "credentialSpec": {"a": 1}}}`,
		`{"ociVersion": "1.0.2", "solaris": null}`,
		`{"ociVersion": "1.0.2", "vm": {"kernel": {"path": "/k"}}, "zos": {}}`,
	} {
		compareParse(t, []byte(doc), false)
	}
}

// TestDecodeGenUpToDate: decode_gen.go is what specgen makes of the
// runtime-spec in go.mod; after an upgrade, `go generate ./oci/`.
func TestDecodeGenUpToDate(t *testing.T) {
	want, err := specgen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("decode_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decode_gen.go is stale (a runtime-spec upgrade, or a change to oci/internal/specgen): run go generate ./oci/ and commit it")
	}
}

// FuzzParse: whatever the bytes, Parse's result and error are those of
// one json.Unmarshal into a specs.Spec, worded by jsonError; the fast
// decoder's result, when it has one, is json.Unmarshal's.
func FuzzParse(f *testing.F) {
	for _, doc := range fastDocs(f) {
		f.Add([]byte(doc))
	}
	f.Add([]byte(`{"ociVersion": "1.0.2", "process": {"cwd": "/"}, "process": {"args": ["sh"]}, "Linux": {"sysctl": {"a": "b"}}}`))
	f.Add([]byte(`{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want specs.Spec
		uerr := json.Unmarshal(data, &want)
		fast, ok := decodeFast(data)
		if ok && uerr != nil {
			t.Fatalf("decodeFast(%q) decoded what json.Unmarshal refuses: %v", data, uerr)
		}
		if ok && !reflect.DeepEqual(*fast, want) {
			t.Fatalf("decodeFast(%q) = %+v\njson.Unmarshal: %+v", data, *fast, want)
		}
		got, err := Parse("config.json", data)
		if uerr != nil {
			w := jsonError("config.json", data, uerr)
			if err == nil || err.Error() != w.Error() {
				t.Fatalf("Parse(%q): %v\nwant %v", data, err, w)
			}
			return
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("Parse(%q) = %+v\njson.Unmarshal: %+v", data, *got, want)
		}
		if err != nil && (want.Version != "" && strings.HasPrefix(want.Version, "1.")) {
			t.Fatalf("Parse(%q): %v; json.Unmarshal decodes it", data, err)
		}
	})
}

// TestParseTypeErrorOrder: of two values of the wrong type, the error
// names the first in the document, with its full path and position, as
// one json.Unmarshal does.
func TestParseTypeErrorOrder(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"ociVersion": "1.0.2", "linux": {"cgroupsPath": 5}, "process": {"cwd": 5}}`,
			"config.json: linux.cgroupsPath: a JSON number where a string belongs (line 1, column 51)"},
		{`{"ociVersion": "1.0.2", "process": {"cwd": 5}, "linux": {"cgroupsPath": 5}}`,
			"config.json: process.cwd: a JSON number where a string belongs (line 1, column 45)"},
		{"{\"ociVersion\": \"1.0.2\",\n\"linux\": \"x\"}", "config.json: linux: a JSON string where an object belongs (line 2, column 13)"},
		{`[]`, "config.json: the top level: a JSON array where an object belongs (line 1, column 2)"},
	} {
		_, err := Parse("config.json", []byte(c.doc))
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%s):\n %v\nwant %s", c.doc, err, c.want)
		}
		// The same as one json.Unmarshal's error, worded.
		var s specs.Spec
		uerr := json.Unmarshal([]byte(c.doc), &s)
		if w := jsonError("config.json", []byte(c.doc), uerr); err == nil || w.Error() != err.Error() {
			t.Errorf("Parse(%s): %v; json.Unmarshal's: %v", c.doc, err, w)
		}
	}
}

// TestParseSplitsTheBigObjects: in the slow decoder, the objects whose
// types reach the most are decoded property by property (decode.go).
func TestParseSplitsTheBigObjects(t *testing.T) {
	for _, path := range []string{"", "linux", "process", "linux.resources"} {
		if !splitField(path) {
			t.Errorf("%q is not decoded property by property; its types would all be built", path)
		}
	}
}

// The cost decode_gen.go removes, held by a count: the minor page faults
// of the first Parse in a fresh process (this test binary, run again for
// TestParseFaultHelper alone), of the config `rawns-oci spec` writes,
// against those of one json.Unmarshal of it into a specs.Spec there.
// Relative, so that a new Go or runtime-spec moves both; not under -race,
// whose runtime allocates (and faults) for its own shadow memory.
//
// Measured when it was set (2026-12-07, Linux 6.18, Go 1.26, medians of
// 9): Unmarshal 75, Parse 7 (0.09; 17-19 with the slow decoder alone, which
// set the share at 0.5). RAWNS_PARSE_REPORT=1 logs the faults and CPU time
// of every decoder for specConfig, benchConfig and podmanConfig.
const parseFaultShare = 0.2

// raceEnabled is set by race_test.go in -race builds.
var raceEnabled bool

// firstDecode runs TestParseFaultHelper 9 times on doc and returns the
// medians of its minor page faults and thread CPU time (µs).
func firstDecode(t *testing.T, mode, doc string) (faults, cpuMicros int) {
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var fs, cs []int
	for i := 0; i < 9; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestParseFaultHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "RAWNS_PARSE_FAULTS="+mode, "RAWNS_PARSE_CONFIG="+file)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var f, c int
		if _, err := fmt.Sscanf(string(out), "faults %d cpu %d", &f, &c); err != nil {
			t.Fatalf("helper said %q", out)
		}
		fs, cs = append(fs, f), append(cs, c)
	}
	slices.Sort(fs)
	slices.Sort(cs)
	return fs[len(fs)/2], cs[len(cs)/2]
}

func TestParseFaultBudget(t *testing.T) {
	if os.Getenv("RAWNS_PARSE_FAULTS") != "" {
		t.Skip("the helper's own run")
	}
	if raceEnabled {
		t.Skip("-race: the race runtime's own faults would be counted")
	}
	if os.Getenv("RAWNS_PARSE_REPORT") != "" {
		for _, c := range []struct{ name, doc string }{
			{"specConfig", specConfig}, {"benchConfig", benchConfig}, {"podmanConfig", podmanConfig(t)},
		} {
			for _, mode := range []string{"parse", "slow", "unmarshal"} {
				f, cpu := firstDecode(t, mode, c.doc)
				t.Logf("%s (%d bytes), %s: %d minor page faults, %d µs of CPU", c.name, len(c.doc), mode, f, cpu)
			}
		}
	}
	parse, _ := firstDecode(t, "parse", specConfig)
	whole, _ := firstDecode(t, "unmarshal", specConfig)
	t.Logf("first decode of a config in a fresh process: Parse %d minor page faults, one json.Unmarshal %d (medians of 9)", parse, whole)
	if float64(parse) > parseFaultShare*float64(whole) {
		t.Errorf("the first Parse of a config takes %d minor page faults in a fresh process, json.Unmarshal %d: over %.0f%% of it. "+
			"Does it take the slow path (decodeFast, decode_gen.go)? perf record -e page-faults -g says where", parse, whole, 100*parseFaultShare)
	}
}

// specConfig is what `rawns-oci spec` writes (DefaultSpec(false)), as
// bytes: encoding it here would build the encoders Parse avoids.
const specConfig = `{"ociVersion":"1.2.1","process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},"hostname":"rawns","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}`

// benchConfig is the config of bench-oci's busybox bundle
// (bench/oci.go, makeBusyboxBundle, for ns=pid+uts), as it writes it.
const benchConfig = `{
	"hostname": "rawns-bench",
	"linux": {
		"namespaces": [
			{
				"type": "mount"
			},
			{
				"type": "pid"
			},
			{
				"type": "uts"
			}
		]
	},
	"mounts": [
		{
			"destination": "/proc",
			"source": "proc",
			"type": "proc"
		}
	],
	"ociVersion": "1.0.2",
	"process": {
		"args": [
			"/bin/true"
		],
		"cwd": "/",
		"env": [
			"PATH=/bin"
		],
		"terminal": false,
		"user": {
			"gid": 0,
			"uid": 0
		}
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	}
}`

// podmanConfig is a config as podman writes one (run --rm busybox true,
// its shape, abridged): capabilities, rlimits, annotations, the devices
// rules, masked and read-only paths, and docker's default seccomp profile
// (moby's, as podman's containers/common ships much the same).
func podmanConfig(t testing.TB) string {
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}
	major, minor := int64(136), int64(-1)
	s := &specs.Spec{
		Version: "1.2.1",
		Process: &specs.Process{
			User: specs.User{AdditionalGids: []uint32{0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27}},
			Args: []string{"true"},
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "container=podman", "HOSTNAME=4f1c5a9e2b7d", "HOME=/root"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: caps, Effective: caps, Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1048576, Soft: 1048576}, {Type: "RLIMIT_NPROC", Hard: 4194304, Soft: 4194304}},
			OOMScoreAdj:     new(int),
			NoNewPrivileges: false,
		},
		Root:     &specs.Root{Path: "/var/lib/containers/storage/overlay/0f3e4b1b0e8e/merged"},
		Hostname: "4f1c5a9e2b7d",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/etc/hostname", Type: "bind", Source: "/run/containers/storage/overlay-containers/4f1c/userdata/hostname", Options: []string{"bind", "rprivate"}},
			{Destination: "/etc/resolv.conf", Type: "bind", Source: "/run/containers/storage/overlay-containers/4f1c/userdata/resolv.conf", Options: []string{"bind", "rprivate"}},
			{Destination: "/etc/hosts", Type: "bind", Source: "/run/containers/storage/overlay-containers/4f1c/userdata/hosts", Options: []string{"bind", "rprivate"}},
			{Destination: "/dev/shm", Type: "bind", Source: "/var/lib/containers/storage/overlay-containers/4f1c/userdata/shm", Options: []string{"bind", "rprivate"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Hooks: &specs.Hooks{Poststop: []specs.Hook{{Path: "/usr/bin/podman", Args: []string{"/usr/bin/podman", "--root", "/var/lib/containers/storage", "container", "cleanup", "4f1c"}}}},
		Annotations: map[string]string{
			"io.container.manager": "libpod", "io.podman.annotations.autoremove": "TRUE", "org.opencontainers.image.stopSignal": "15",
			"io.kubernetes.cri-o.Created": "2026-12-07T20:00:00.000000000Z", "io.kubernetes.cri-o.TTY": "false", "io.kubernetes.cri-o.ContainerType": "sandbox",
		},
		Linux: &specs.Linux{
			Sysctl: map[string]string{"net.ipv4.ping_group_range": "0 0"},
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"}},
				Pids:    &specs.LinuxPids{Limit: 2048},
			},
			CgroupsPath: "machine.slice:libpod:4f1c5a9e2b7d",
			Namespaces: []specs.LinuxNamespace{
				{Type: "pid"}, {Type: "network", Path: "/run/netns/netns-7d0b"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}, {Type: "cgroup"},
			},
			MaskedPaths:   []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block"},
			ReadonlyPaths: []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	seccomp, err := mobyseccomp.GetDefaultProfile(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Linux.Seccomp = seccomp
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestParseFaultHelper is TestParseFaultBudget's fresh process: it prints
// the minor page faults and the thread's CPU time of one decode of the
// file RAWNS_PARSE_CONFIG names, by Parse, by its slow decoder alone (what
// Parse was before decode_gen.go), or by json.Unmarshal.
func TestParseFaultHelper(t *testing.T) {
	mode := os.Getenv("RAWNS_PARSE_FAULTS")
	if mode == "" {
		t.Skip("run by TestParseFaultBudget")
	}
	data, err := os.ReadFile(os.Getenv("RAWNS_PARSE_CONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	var ru0, ru1 syscall.Rusage
	var ts0, ts1 unix.Timespec
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts0)
	switch mode {
	case "unmarshal":
		var s specs.Spec
		err = json.Unmarshal(data, &s)
	case "slow":
		err = decodeSpec(data, new(specs.Spec))
	default:
		_, err = Parse("config.json", data)
	}
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts1)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("faults %d cpu %d\n", ru1.Minflt-ru0.Minflt, (ts1.Nano()-ts0.Nano())/1000)
	os.Exit(0)
}

// BenchmarkParse: Parse in a loop (the fast path, warm), against the slow
// decoder and json.Unmarshal, for the configs of TestParseFaultBudget.
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, doc string }{
		{"spec", specConfig}, {"bench", benchConfig}, {"podman", podmanConfig(b)},
	} {
		data := []byte(c.doc)
		b.Run(c.name+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse("config.json", data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/slow", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := decodeSpec(data, new(specs.Spec)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := json.Unmarshal(data, new(specs.Spec)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
