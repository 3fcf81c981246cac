// Package oci is rawns-oci's command line: runc's commands, flags and
// output, so that podman (conmon), containerd's runc shim, dockerd and
// Kubernetes through containerd drive rawns where they drive runc today.
// One file per verb; global flags come before the verb, each may be given
// more than once (the last counts), and -flag is --flag, as runc's parser
// takes them. The work is in package container (the lifecycle) and
// package oci (config.json); this package parses and words.
//
// Errors are one line and exit code 1, as runc's. With --log FILE they go
// to FILE, as one JSON object per line with --log-format json
// ({"level":"error","msg":...,"time":RFC3339}, what podman and the
// containerd shim read back), and the same message as one plain line on
// stderr, as runc's fatalWithCode prints it: containerd's runc shim
// (go-runc) sees only the combined stdout and stderr of a failed kill, and
// maps "container not running" there to NotFound. Warnings and --debug
// lines go to the log only.
package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rawns/rawns/container"
	"github.com/rawns/rawns/internal/cli"
	ocispec "github.com/rawns/rawns/oci"
)

// globals are the flags before the verb.
type globals struct {
	root          string
	log           io.Writer // where errors and warnings go
	logFile       bool      // --log was given
	logJSON       bool
	debug         bool
	systemdCgroup bool
	version       string
	stdout        io.Writer
	stderr        io.Writer // errors go here too when log is a --log file
}

var globalFlags = []cli.Def{
	{Name: "root", Kind: cli.String},
	{Name: "log", Kind: cli.String},
	{Name: "log-format", Kind: cli.String},
	{Name: "debug", Kind: cli.Bool},
	{Name: "systemd-cgroup", Kind: cli.Bool},
	{Name: "help", Short: "h", Kind: cli.Bool},
	{Name: "version", Short: "v", Kind: cli.Bool},
}

// runcOptions parse as runc's urfave/cli does: -flag is --flag, and a
// flag given twice is taken, the last value counting.
var runcOptions = cli.Options{SingleDash: true, Repeats: true}

// verb is one command: its flags are parsed by the verb itself.
type verb struct {
	name  string
	usage string
	run   func(g *globals, args []string) error
}

// verbs is the table of commands, in --help's order.
var verbs = []*verb{
	&createVerb, &startVerb, &stateVerb, &killVerb, &deleteVerb, &runVerb, &execVerb,
	&listVerb, &psVerb, &pauseVerb, &resumeVerb, &updateVerb,
	&featuresVerb, &specVerb,
}

// exitError carries an exit code other than 1 (run: the container's).
type exitError struct{ code int }

func (e *exitError) Error() string { return "exit status " + strconv.Itoa(e.code) }

// Main is rawns-oci's main: it returns the exit code. version is the
// build's (Makefile: -X main.version).
func Main(args []string, stdout, stderr io.Writer, version string) int {
	// Non-dumpable first of all, as root: the container's process is a
	// copy of this one until its execve (create's gate, exec's join), and
	// a process of the container must not open /proc/PID/exe of it, the
	// host's binary (CVE-2019-5736), which ptrace's access rule then
	// refuses without CAP_SYS_PTRACE. The flag passes to the copy at
	// fork and ends at the container's execve. Not for a user without
	// root: a non-dumpable child's /proc files belong to root, and such a
	// user could no longer write its user namespace's maps (and cannot
	// write a binary root owns anyway).
	if unix.Geteuid() == 0 {
		unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	}
	g := &globals{log: stderr, stdout: stdout, stderr: stderr, version: version}
	flags, rest, err := runcOptions.Parse(globalFlags, args)
	// --log first of all: an error from here on goes there, even one
	// about the flags (podman and the shim read the file, not stderr).
	if lf := flags.Get("log", ""); lf != "" {
		f, ferr := os.OpenFile(lf, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if ferr != nil {
			fmt.Fprintf(stderr, "--log %s: %v\n", lf, unwrap(ferr))
			return 1
		}
		defer f.Close()
		g.log, g.logFile = f, true
	}
	switch v := flags.Get("log-format", "text"); v {
	case "text":
	case "json":
		g.logJSON = true
	default:
		if err == nil {
			err = fmt.Errorf("--log-format %s: use text or json", cli.Quote(v))
		}
	}
	if err != nil {
		return g.fail(err)
	}
	g.debug = flags.Has("debug")
	g.systemdCgroup = flags.Has("systemd-cgroup")
	g.root = flags.Get("root", "")
	if g.root == "" {
		g.root = container.DefaultRoot()
	}
	if flags.Has("version") {
		g.printVersion()
		return 0
	}
	if flags.Has("help") || len(rest) == 0 {
		if len(rest) == 0 && !flags.Has("help") {
			fmt.Fprint(stderr, usage())
			return 1
		}
		fmt.Fprint(stdout, usage())
		return 0
	}
	name := rest[0]
	for _, v := range verbs {
		if v.name == name {
			if err := v.run(g, rest[1:]); err != nil {
				var ee *exitError
				if errors.As(err, &ee) {
					return ee.code
				}
				return g.fail(err)
			}
			return 0
		}
	}
	if name == "version" {
		g.printVersion()
		return 0
	}
	return g.fail(fmt.Errorf("unknown command %s; run rawns-oci --help for the commands", cli.Quote(name)))
}

// fail writes err as one line to the log (stderr without --log), and
// with --log as one plain line on stderr too (runc's fatalWithCode: the
// log, then stderr unless the log is stderr), and returns runc's exit code
// for an error.
func (g *globals) fail(err error) int {
	g.logf("error", "%v", err)
	if g.logFile {
		fmt.Fprintln(g.stderr, err)
	}
	return 1
}

// warn writes a warning, as runc's logrus does.
func (g *globals) warn(msg string) {
	g.logf("warning", "%s", msg)
}

// logf writes one line: {"level","msg","time"} with --log-format json (the
// fields podman unmarshals, time in RFC 3339), logrus's text form to a
// --log file, and the message alone on a terminal's stderr.
func (g *globals) logf(level, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	now := time.Now().Format(time.RFC3339)
	switch {
	case g.logJSON:
		line, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		g.log.Write(append(line, '\n'))
	case g.logFile:
		fmt.Fprintf(g.log, "time=%q level=%s msg=%q\n", now, level, msg)
	default:
		if level != "error" {
			msg = level + ": " + msg
		}
		fmt.Fprintln(g.log, msg)
	}
}

// printVersion prints runc's three lines (engines parse the first two and
// "spec:"), with rawns's names.
func (g *globals) printVersion() {
	v := g.version
	if v == "" {
		v = "dev"
	}
	fmt.Fprintf(g.stdout, "rawns-oci version %s\ncommit: %s\nspec: %s\n", v, v, ocispec.SpecVersion())
}

// parse parses a verb's flags and wants exactly n positional arguments
// (the id, mostly), as runc's "requires exactly 1 argument".
func parse(verb string, defs []cli.Def, args []string, n int, what string) (cli.Flags, []string, error) {
	flags, rest, err := runcOptions.Parse(defs, args)
	if err != nil {
		return flags, nil, fmt.Errorf("%s: %v", verb, err)
	}
	if n >= 0 && len(rest) != n {
		return flags, nil, fmt.Errorf("%s: takes %s; got %d arguments: rawns-oci %s [flags] %s", verb, what, len(rest), verb, what)
	}
	return flags, rest, nil
}

func (g *globals) store() *container.Store {
	return &container.Store{Root: g.root}
}

// load loads the container id, with runc's wording for a missing one.
func (g *globals) load(id string, exclusive bool) (*container.Container, error) {
	c, err := g.store().Load(id, exclusive)
	if errors.Is(err, container.ErrNotExist) {
		return nil, fmt.Errorf("container %q does not exist", id)
	}
	return c, err
}

func unwrap(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func usage() string {
	s := `rawns-oci is rawns as an OCI runtime: runc's command line, for podman,
containerd, docker and Kubernetes (docs/oci.md).

Usage: rawns-oci [global flags] COMMAND [flags] [ID] ...

Global flags (before the command, each may repeat):
  --root DIR          state directory (default /run/rawns, or
                      $XDG_RUNTIME_DIR/rawns when not root)
  --log FILE          write errors to FILE instead of stderr
  --log-format FMT    text or json (one {"level","msg","time"} per line)
  --debug             also log what each step does
  --systemd-cgroup    refused: rawns manages cgroups through cgroupfs
  --version           print the version

Commands:
`
	for _, v := range verbs {
		s += fmt.Sprintf("  %-9s %s\n", v.name, v.usage)
	}
	return s
}
