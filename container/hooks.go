package container

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/rawns/rawns/oci"
)

// runHooks runs the hooks of kind in order, in the runtime's namespaces,
// each with the container's state on its stdin (runtime.md, "Hooks") and
// its timeout. The first that fails stops the others; its error names it
// by its JSON path.
func (c *Container) runHooks(kind string, st Status) error {
	if c.State.Hooks == nil {
		return nil
	}
	hooks := oci.HookList(c.State.Hooks, kind)
	if len(hooks) == 0 {
		return nil
	}
	state := c.hookState(st)
	for i := range hooks {
		if err := runHook(&hooks[i], state); err != nil {
			return fmt.Errorf("hooks.%s[%d]: %s: %w", kind, i, hooks[i].Path, err)
		}
	}
	return nil
}

// runHookList runs every hook of kind even when one fails, and returns
// the failures worded as warnings: poststart and poststop hooks "MUST log
// a warning, but the remaining hooks and lifecycle continue" (config.md).
func (c *Container) runHookList(kind string, st Status) []string {
	if c.State.Hooks == nil {
		return nil
	}
	hooks := oci.HookList(c.State.Hooks, kind)
	state := c.hookState(st)
	var warnings []string
	for i := range hooks {
		if err := runHook(&hooks[i], state); err != nil {
			warnings = append(warnings, fmt.Sprintf("hooks.%s[%d]: %s: %v", kind, i, hooks[i].Path, err))
		}
	}
	return warnings
}

// runHook runs one hook: path with args (args[0] is its argv[0]; path
// when args is empty) and exactly env, the state on stdin, killed after
// its timeout. Its output is kept for the error.
func runHook(h *specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The hook's own children may keep its output open: stop waiting for
	// it a moment after the hook itself has exited.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %ds and was killed", *h.Timeout)
	}
	if o := strings.TrimSpace(out.String()); o != "" {
		if len(o) > 512 {
			o = o[:512] + "..."
		}
		return fmt.Errorf("%v: %s", err, strconv.Quote(o))
	}
	return err
}
