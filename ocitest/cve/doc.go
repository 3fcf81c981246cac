// Package cve holds the security lessons of runc's CVEs as tests of an OCI
// runtime's command line (issue 21): each test builds a bundle that
// attacks the runtime the way the CVE did, runs it through the runtime's
// create/start/exec/run, and checks from the host that the hole stays
// closed. The tests are rawns's; they run rawns-oci (built from
// cmd/rawns-oci by the tests themselves), and any runtime named in
// OCITEST_RUNTIMES (NAME=PATH, comma-separated; runc for a check of the
// tests themselves).
//
// Each check returns the hole it found, or nil. A test fails when it finds
// a hole in a runtime that should have none, and also when it finds none
// in one that has it: Debian's runc 1.1.5 (1.1.5+ds1-1+deb12u1, with the
// CVE-2024-21626 backport) is known to be open to CVE-2025-31133,
// CVE-2025-52565 and CVE-2025-52881 (fixed upstream in runc 1.2.8, 1.3.3
// and 1.4.0-rc.3), so its runs of the first two tests must find the hole,
// which proves that the tests can. Its CVE-2025-52881 hole needs a race
// with another container's mounts; in the static configs here runc
// refuses (a bind inside /proc) or fails (a tmpfs over /proc/sys, its
// write looking for the sysctl's file in the tmpfs), so that test passes
// with runc. OCITEST_EXPECT_HOLE=CVE-...,... says the same of every
// runtime of a run. For rawns the proof is a deliberately broken build:
// OCITEST_REOPEN=CVE-... builds rawns-oci from a copy of the tree with a few
// exact edits that reopen the hole (reopen_test.go; nothing of it is in a
// normal build, which costs a run nothing) and expects the hole; make
// cve-prove does that for every reopening, on the tests rawns-oci passes.
//
// By default (make test) the tests run against runc, and against rawns-oci
// those listed in rawnsReady (cve_test.go), each added as rawns-oci passes
// it; OCITEST_RUNTIMES=rawns runs every test against rawns-oci.
//
//	CVE-2019-5736   the runtime's binary is never writable from a container:
//	                an entrypoint "#!/proc/self/exe", at create and at
//	                exec, watched by a process in the container's PID
//	                namespace that opens /proc/PID/exe of everything it
//	                sees and writes to it once it can; the binary's hash
//	                must not change
//	CVE-2024-21626  cwd /proc/self/fd/N (N 3..20) at create and at exec
//	                never leaves the root; a created container holds no fd
//	                it did not ask for (fds the caller handed the runtime
//	                included; --preserve-fds 1 gives exactly one more)
//	CVE-2021-30465  a mount destination that is, or races to become, a
//	CVE-2023-27561  symlink to outside the root (and /proc as such a
//	                symlink) lands inside the root or is refused
//	CVE-2022-29162  inheritable capabilities are empty unless asked, for
//	                the container's process and for exec (also --cap)
//	CVE-2025-31133  a root whose dev/null is a symlink to a host file or a
//	                procfs file: masking never binds the target
//	CVE-2025-52565  a root whose dev/console is such a symlink: the console
//	                never lands on, or writes through, the target
//	CVE-2025-52881  a tmpfs, or a host directory, over /proc/sys in the
//	                config never takes the runtime's own sysctl writes
package cve
