package run

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rawns/rawns/internal/cli"
	"github.com/rawns/rawns/internal/environ"
)

// processConcern: the command's environment and working directory.
var processConcern = concern{
	title: "Process",
	help: `  --env KEY=VALUE      set a variable (repeatable); --env KEY copies it from rawns
  --unsetenv KEY       remove a variable (repeatable)
  --clearenv           start from an empty environment instead of rawns's own
  --chdir DIR          working directory of the command
`,
	flags: []cli.Def{
		{Name: "env", Kind: cli.Repeated},
		{Name: "unsetenv", Kind: cli.Repeated},
		{Name: "clearenv", Kind: cli.Bool},
		{Name: "chdir", Kind: cli.String},
	},
	parse: parseProcess,
}

func parseProcess(cfg *config, flags cli.Flags) error {
	s := &cfg.spec
	if flags.Has("chdir") {
		if s.Dir = flags.Get("chdir", ""); s.Dir == "" {
			return errors.New("--chdir: empty directory; give a path")
		}
	}
	var err error
	s.Env, err = buildEnv(flags)
	return err
}

// buildEnv applies --clearenv, --env and --unsetenv, in that order, to
// rawns's own environment. A later --env for the same key wins.
func buildEnv(flags cli.Flags) ([]string, error) {
	var env []string
	if !flags.Has("clearenv") {
		env = environ.List() // os.Environ's list, without its map (package environ)
	}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		env = removeKey(env, k)
		env = append(env, kv)
	}
	for _, e := range flags.All("env") {
		k, _, hasValue := strings.Cut(e, "=")
		if k == "" {
			return nil, fmt.Errorf("--env %q: empty variable name; use --env KEY=VALUE", e)
		}
		if strings.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("--env %q contains a NUL byte", e)
		}
		if !hasValue {
			v, ok := os.LookupEnv(k)
			if !ok {
				return nil, fmt.Errorf("--env %q: rawns has no such variable, so nothing to copy; use --env KEY=VALUE", k)
			}
			e = k + "=" + v
		}
		set(e)
	}
	for _, k := range flags.All("unsetenv") {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("--unsetenv %q: give a variable name without = or NUL", k)
		}
		env = removeKey(env, k)
	}
	if env == nil {
		env = []string{}
	}
	return env, nil
}

func removeKey(env []string, key string) []string {
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}
