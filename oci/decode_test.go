package oci

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/internal/testutil"
)

// TestParseMatchesUnmarshal: Parse decodes what one json.Unmarshal into a
// specs.Spec decodes, for specs with every field of the runtime-spec's
// types filled at random (so that a field of a newer runtime-spec cannot
// be dropped), and for documents with keys in other cases, nulls, unknown
// keys and duplicates.
func TestParseMatchesUnmarshal(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := 0; i < 300; i++ {
		var s specs.Spec
		testutil.Fill(reflect.ValueOf(&s).Elem(), rnd)
		s.Version = "1.0.2"
		data, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		compareParse(t, data)
	}
	for _, doc := range []string{
		`{"ociVersion": "1.0.2", "Process": {"ARGS": ["sh"], "cwd": "/"}, "LINUX": {"Namespaces": [{"type": "pid"}]}}`,
		`{"ociVersion": "1.0.2", "process": null, "linux": null, "hooks": null}`,
		`{"ociVersion": "1.0.2", "unknown": {"x": 1}, "linux": {"unknown": [1, 2], "cgroupsPath": "a"}}`,
		`{"ociVersion": "1.0.2", "hostname": "a", "hostname": "b", "linux": {"sysctl": {"a": "1"}}}`,
		`{"ociVersion": "1.0.2", "process": {"user": {"uid": 1}, "terminal": true}, "root": {"path": "r"}}`,
	} {
		compareParse(t, []byte(doc))
	}
}

func compareParse(t *testing.T, data []byte) {
	t.Helper()
	var want specs.Spec
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	got, err := Parse("config.json", data)
	if err != nil {
		t.Fatalf("Parse(%.200s): %v", data, err)
	}
	if !reflect.DeepEqual(*got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(&want)
		t.Fatalf("Parse(%.300s)\n = %.300s\nwant %.300s", data, g, w)
	}
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

// TestParseSplitsTheBigObjects: the objects whose types reach the most
// are decoded property by property (decode.go).
func TestParseSplitsTheBigObjects(t *testing.T) {
	for _, path := range []string{"", "linux", "process", "linux.resources"} {
		if !splitFields[path] {
			t.Errorf("%q is not decoded property by property; its types would all be built", path)
		}
	}
}

// The cost decode.go removes, held by a count: the minor page faults of
// the first Parse in a fresh process (this test binary, run again for
// TestParseFaultHelper alone), of the config `rawns-oci spec` writes,
// against those of one json.Unmarshal of it into a specs.Spec there.
// Relative, so that a new Go or runtime-spec moves both; not under -race,
// whose runtime allocates (and faults) for its own shadow memory.
//
// Measured when it was set (2026-12-07, Linux 6.18, Go 1.26, medians of
// 9): Unmarshal 75, Parse 17-19; under -race 384 and 170.
const parseFaultShare = 0.5

// raceEnabled is set by race_test.go in -race builds.
var raceEnabled bool

func TestParseFaultBudget(t *testing.T) {
	if os.Getenv("RAWNS_PARSE_FAULTS") != "" {
		t.Skip("the helper's own run")
	}
	if raceEnabled {
		t.Skip("-race: the race runtime's own faults would be counted")
	}
	median := func(mode string) int {
		var counts []int
		for i := 0; i < 9; i++ {
			cmd := exec.Command(os.Args[0], "-test.run=^TestParseFaultHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RAWNS_PARSE_FAULTS="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var n int
			if _, err := fmt.Sscanf(string(out), "faults %d", &n); err != nil {
				t.Fatalf("helper said %q", out)
			}
			counts = append(counts, n)
		}
		slices.Sort(counts)
		return counts[len(counts)/2]
	}
	parse, whole := median("parse"), median("unmarshal")
	t.Logf("first decode of a config in a fresh process: Parse %d minor page faults, one json.Unmarshal %d (medians of 9)", parse, whole)
	if float64(parse) > parseFaultShare*float64(whole) {
		t.Errorf("the first Parse of a config takes %d minor page faults in a fresh process, json.Unmarshal %d: over %.0f%% of it. "+
			"Is a big type decoded whole again (decode.go, splitFields)? perf record -e page-faults -g says where", parse, whole, 100*parseFaultShare)
	}
}

// specConfig is what `rawns-oci spec` writes (DefaultSpec(false)), as
// bytes: encoding it here would build the encoders Parse avoids.
const specConfig = `{"ociVersion":"1.2.1","process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},"hostname":"rawns","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}`

// TestParseFaultHelper is TestParseFaultBudget's fresh process: it prints
// the minor page faults of one Parse.
func TestParseFaultHelper(t *testing.T) {
	mode := os.Getenv("RAWNS_PARSE_FAULTS")
	if mode == "" {
		t.Skip("run by TestParseFaultBudget")
	}
	data := []byte(specConfig)
	var err error
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	if mode == "unmarshal" {
		var s specs.Spec
		err = json.Unmarshal(data, &s)
	} else {
		_, err = Parse("config.json", data)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("faults %d\n", ru1.Minflt-ru0.Minflt)
	os.Exit(0)
}
