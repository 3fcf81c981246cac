package run

import (
	"strings"
	"testing"

	"github.com/rawns/rawns/clone"
)

func TestMapsImplyUserNamespace(t *testing.T) {
	for _, args := range [][]string{
		{"--map-root-user", "--", "id"},
		{"--map-user", "0", "--", "id"},
		{"--map-group", "0", "--", "id"},
	} {
		cfg, err := parse(args)
		if err != nil {
			t.Fatalf("parse(%q): %v", args, err)
		}
		if cfg.spec.Namespaces != clone.NewPID|clone.NewUTS|clone.NewUser {
			t.Errorf("parse(%q): namespaces %v, want pid,uts,user", args, cfg.spec.Namespaces)
		}
	}
}

func TestTimeOffsetBelowZero(t *testing.T) {
	_, err := parse([]string{"--ns", "time", "--boottime", "-99999999", "--", "true"})
	if err == nil || !strings.Contains(err.Error(), "--boottime -99999999: CLOCK_BOOTTIME reads ") ||
		!strings.Contains(err.Error(), "the kernel refuses to set it below zero; give an offset of at least -") {
		t.Errorf("error %v", err)
	}
	if _, err := parse([]string{"--ns", "time", "--boottime", "-1", "--monotonic", "86400", "--", "true"}); err != nil {
		t.Errorf("a small offset: %v", err)
	}
}

func TestCompatHints(t *testing.T) {
	for flag, want := range map[string]string{
		"--pid": "use --ns pid", "--unshare-net": "use --network none", "--port": "use -p/--publish",
		"--fork": "rawns always forks", "--kill-child=SIGTERM": "rawns always does this",
		"--setenv": "use --env KEY=VALUE", "-U": "use --ns user",
	} {
		args := []string{flag, "--", "true"}
		if flag == "--setenv" {
			args = []string{flag, "A", "B", "--", "true"}
		}
		_, err := parse(args)
		if err == nil || !strings.Contains(err.Error(), "unknown flag "+flag+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want a hint containing %q", flag, err, want)
		}
	}
}

func TestMapNames(t *testing.T) {
	cfg, err := parse([]string{"--map-user", "root", "--map-group", "root", "--", "id"})
	if err != nil || cfg.spec.UIDMap[0].Inside != 0 || cfg.spec.GIDMap[0].Inside != 0 {
		t.Fatalf("--map-user root --map-group root: %+v, %v", cfg, err)
	}
	if _, err := parse([]string{"--map-user", "no-such-user-rawns", "--", "id"}); err == nil ||
		!strings.Contains(err.Error(), `--map-user no-such-user-rawns: "no-such-user-rawns" not found in /etc/passwd; give a number, or a name that /etc/passwd lists`) {
		t.Errorf("unknown name: %v", err)
	}
}
