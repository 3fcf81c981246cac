package security

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/clone"
)

// rlimitNames are the resources of getrlimit(2) by number, as --rlimit and
// docker's --ulimit name them; OCI's RLIMIT_NOFILE form is accepted too.
var rlimitNames = [...]string{
	unix.RLIMIT_CPU:        "cpu",
	unix.RLIMIT_FSIZE:      "fsize",
	unix.RLIMIT_DATA:       "data",
	unix.RLIMIT_STACK:      "stack",
	unix.RLIMIT_CORE:       "core",
	unix.RLIMIT_RSS:        "rss",
	unix.RLIMIT_NPROC:      "nproc",
	unix.RLIMIT_NOFILE:     "nofile",
	unix.RLIMIT_MEMLOCK:    "memlock",
	unix.RLIMIT_AS:         "as",
	unix.RLIMIT_LOCKS:      "locks",
	unix.RLIMIT_SIGPENDING: "sigpending",
	unix.RLIMIT_MSGQUEUE:   "msgqueue",
	unix.RLIMIT_NICE:       "nice",
	unix.RLIMIT_RTPRIO:     "rtprio",
	unix.RLIMIT_RTTIME:     "rttime",
}

// RlimitResource returns RLIMIT_* for "nofile", "NOFILE" or "RLIMIT_NOFILE".
func RlimitResource(name string) (int, bool) {
	n := strings.TrimPrefix(strings.ToLower(name), "rlimit_")
	for i, r := range rlimitNames {
		if r == n {
			return i, true
		}
	}
	return 0, false
}

// RlimitName returns "nofile" for RLIMIT_NOFILE.
func RlimitName(res int) string {
	if res >= 0 && res < len(rlimitNames) {
		return rlimitNames[res]
	}
	return "rlimit " + strconv.Itoa(res)
}

// ParseRlimit parses NAME=SOFT[:HARD]; a value is a number or unlimited,
// and a missing HARD is SOFT, as docker's --ulimit takes it.
func ParseRlimit(s string) (clone.Rlimit, error) {
	name, val, ok := strings.Cut(s, "=")
	if !ok {
		return clone.Rlimit{}, fmt.Errorf("%q is not NAME=SOFT[:HARD]; e.g. nofile=1024:4096", s)
	}
	res, ok := RlimitResource(name)
	if !ok {
		return clone.Rlimit{}, fmt.Errorf("unknown resource %q; use one of %s", name, strings.Join(rlimitNames[:], ", "))
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	soft, err := parseLimit(softS)
	if err != nil {
		return clone.Rlimit{}, fmt.Errorf("%s: soft limit %q: %v", name, softS, err)
	}
	hard := soft
	if hasHard {
		if hard, err = parseLimit(hardS); err != nil {
			return clone.Rlimit{}, fmt.Errorf("%s: hard limit %q: %v", name, hardS, err)
		}
	}
	if soft > hard {
		return clone.Rlimit{}, fmt.Errorf("%s: soft limit %s is above the hard limit %s; the soft limit can be at most the hard one", name, softS, hardS)
	}
	return clone.Rlimit{Resource: res, Cur: soft, Max: hard}, nil
}

func parseLimit(s string) (uint64, error) {
	if s == "unlimited" || s == "-1" {
		return math.MaxUint64, nil // RLIM_INFINITY
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("give a number or unlimited")
	}
	return v, nil
}
