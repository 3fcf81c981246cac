package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rawns/rawns/internal/exitcode"
	"github.com/rawns/rawns/trace"
	"github.com/rawns/rawns/trace/bpf"
)

// execTracer is what the helper needs of *bpf.ExecTracer (a fake in tests).
type execTracer interface {
	NextMatch(ctx context.Context, match func(*trace.ExecEvent) bool) (trace.ExecEvent, error)
	Close() error
}

func loadExecTracer(target int) (execTracer, error) {
	tr, err := bpf.LoadExecTracer(target)
	if err != nil {
		return nil, err
	}
	return tr, nil
}

// Exit codes of exec-helper.
const (
	helperOK    = 0
	helperIO    = 1               // stdin or stdout failed after ready
	helperSetup = exitcode.Failed // bad flags, or the tracer could not be loaded
)

// execHelper runs the protocol of the package doc on stdin and stdout, with
// load as the tracer's loader.
func execHelper(args []string, stdin io.Reader, stdout io.Writer, load func(int) (execTracer, error)) int {
	fs := flag.NewFlagSet("exec-helper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	target := fs.Int("target", 0, "")
	timeout := fs.Duration("timeout", 5*time.Second, "")
	err := fs.Parse(args)
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *target <= 0:
		err = errors.New("--target PID is required")
	case *timeout <= 0:
		err = errors.New("--timeout must be positive")
	}
	if err != nil {
		writeLine(stdout, trace.HelperErrorLine("usage", "rawns-trace exec-helper: "+err.Error()+"; usage: rawns-trace exec-helper --target PID [--timeout DURATION]"))
		return helperSetup
	}
	tr, err := load(*target)
	if err != nil {
		writeLine(stdout, trace.HelperErrorLine(reasonOf(err), err.Error()))
		return helperSetup
	}
	defer tr.Close()
	if err := writeLine(stdout, trace.HelperReady); err != nil {
		return helperIO
	}
	in := bufio.NewReader(stdin)
	for {
		line, rerr := in.ReadString('\n')
		if line = strings.TrimSpace(line); line != "" {
			if err := writeLine(stdout, answer(tr, line, *timeout)); err != nil {
				return helperIO
			}
		}
		if rerr == io.EOF {
			return helperOK
		}
		if rerr != nil {
			return helperIO
		}
	}
}

// answer is the line that answers the query line: "PID" for the exec of
// that host pid, or "pidns INODE NSPID" for the exec of the process that
// is NSPID in the PID namespace INODE (rawns run --init's command, pid 2 of
// the init's namespace).
func answer(tr execTracer, line string, timeout time.Duration) string {
	var match func(*trace.ExecEvent) bool
	what := ""
	if f := strings.Fields(line); len(f) == 3 && f[0] == "pidns" {
		ino, err1 := strconv.ParseUint(f[1], 10, 64)
		nspid, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || ino == 0 || nspid == 0 {
			return trace.HelperErrorLine("usage", fmt.Sprintf("exec helper: %q: give pidns INODE NSPID", line))
		}
		match = func(ev *trace.ExecEvent) bool { return ev.NS[trace.PID].Inode == ino && uint64(ev.NSPID) == nspid }
		what = fmt.Sprintf("pid %d of PID namespace %d", nspid, ino)
	} else {
		pid, err := strconv.Atoi(line)
		if err != nil || pid <= 0 {
			return trace.HelperErrorLine("usage", fmt.Sprintf("exec helper: %q is not a pid", line))
		}
		match = func(ev *trace.ExecEvent) bool { return ev.HostPID == uint32(pid) }
		what = fmt.Sprintf("pid %d", pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ev, err := tr.NextMatch(ctx, match)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return trace.HelperErrorLine("timeout", fmt.Sprintf("no exec of %s within %v", what, timeout))
	case errors.Is(err, os.ErrClosed):
		return trace.HelperErrorLine("closed", err.Error())
	case err != nil:
		return trace.HelperErrorLine("", err.Error())
	}
	return string(ev.AppendWire(nil))
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, bpf.ErrPermission):
		return "permission"
	case errors.Is(err, bpf.ErrNoBTF):
		return "no-btf"
	case errors.Is(err, bpf.ErrUnsupported):
		return "unsupported"
	}
	return ""
}

func writeLine(w io.Writer, line string) error {
	_, err := io.WriteString(w, line+"\n")
	return err
}
