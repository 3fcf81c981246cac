# rawns: build, test, benchmark, demo.
#
# Namespaces need root. These targets use sudo only when not root and sudo
# exists, so they work as they are on a root-only machine without sudo.

GO      ?= go
CC      ?= cc
BIN     := bin/rawns
# rawns-trace holds the eBPF side (cilium/ebpf), so that rawns itself, whose
# start-up is on every run's path, does not link it (docs/trace.md).
TRACEBIN := bin/rawns-trace
BENCHBIN := bin/rawns-bench
# rawns-oci is rawns as an OCI runtime (runc's command line, docs/oci.md):
# it links encoding/json and the runtime-spec's types, which rawns run's
# start-up must not pay for.
OCIBIN   := bin/rawns-oci
# rawns-net holds the host side of --network bridge (vishvananda/netlink,
# google/nftables), which rawns itself does not link (docs/network.md).
NETBIN  := bin/rawns-net
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null 2>&1 || echo sudo)
# -trimpath: reproducible; -s -w: a smaller binary maps fewer pages at
# start-up, which is measurable on this VM (docs/benchmarks.md).
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build install uninstall rootfs test-deps test e2e e2e-deps e2e-bench e2e-net-bench bench-net vmtest vmtest-arm64 vmtest-arm64-race bench demo generate check-generate check-arm64 torture-long fuzz fmt vet clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(TRACEBIN) ./cmd/rawns-trace
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BENCHBIN) ./cmd/rawns-bench
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(OCIBIN) ./cmd/rawns-oci
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(NETBIN) ./cmd/rawns-net
	@# The exec shim's file beside rawns-oci, which binds it read-only for
	@# each container instead of making a tmpfs (clone/execshim.go).
	CGO_ENABLED=0 $(GO) run ./clone/internal/shimfile bin/rawns-exec-shim
	@# The Go peers of rawns bench --whole (bench/peers): the smallest Go
	@# programs spawning each way, an empty main and one that imports os.
	@for p in go-empty go-os go-clone go-os-exec go-reexec; do \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$$p ./bench/peers/$$p || exit 1; done
	@$(MAKE) --no-print-directory bin/spawn-c

# make install [PREFIX=/usr/local] [DESTDIR=]: every binary of make build
# together in $(PREFIX)/libexec/rawns, as bin/ holds them: rawns finds
# rawns-trace and rawns-bench next to itself (internal/sibling), rawns-bench
# its peers and spawn-c; and $(PREFIX)/bin/rawns a relative link to it
# (rawns-oci too, for the engines that are pointed at it). Each binary finds
# the others through its own path, /proc/self/exe, which the kernel gives
# with the links resolved. `go install .` gives a rawns alone, without them.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/rawns
PEERS      := go-empty go-os go-clone go-os-exec go-reexec spawn-c
LINKED     := rawns rawns-oci
install: build
	install -d '$(DESTDIR)$(LIBEXECDIR)' '$(DESTDIR)$(BINDIR)'
	@set -e; for f in bin/rawns bin/rawns-* $(addprefix bin/,$(PEERS)); do \
		[ -f "$$f" ] || continue; echo "install $$f $(DESTDIR)$(LIBEXECDIR)/"; \
		install -m 0755 "$$f" '$(DESTDIR)$(LIBEXECDIR)/'; done
	@set -e; rel=$$(realpath -m --relative-to='$(BINDIR)' '$(LIBEXECDIR)'); \
	for b in $(LINKED); do [ -f '$(DESTDIR)$(LIBEXECDIR)'/$$b ] || continue; \
		echo "ln -sfn $$rel/$$b $(DESTDIR)$(BINDIR)/$$b"; ln -sfn "$$rel/$$b" '$(DESTDIR)$(BINDIR)'/$$b; done

uninstall:
	@for b in $(LINKED); do [ -L '$(DESTDIR)$(BINDIR)'/$$b ] && rm -f '$(DESTDIR)$(BINDIR)'/$$b; done; true
	rm -rf '$(DESTDIR)$(LIBEXECDIR)'

# The C reference of rawns bench: the floor every ratio is read against.
bin/spawn-c: bench/cref/spawn.c
	@mkdir -p bin
	@if command -v $(CC) >/dev/null 2>&1; then \
		$(CC) -O2 -static -o $@ $< 2>/dev/null || $(CC) -O2 -o $@ $<; \
	else echo "no C compiler: bin/spawn-c skipped; rawns bench runs without the C reference"; fi

# A small root filesystem to try --rootfs with, from Debian's busybox-static
# package (apt-get download; nothing is installed on the host).
rootfs: bin/rootfs/bin/busybox
bin/rootfs/bin/busybox: rootfs/make-busybox-rootfs.sh
	./rootfs/make-busybox-rootfs.sh bin/rootfs

# What the root tests need on a fresh machine: a static busybox to build
# their root filesystems from (testutil.BusyboxRoot), setpriv for the
# rootless ones, runc for bench's OCI rows test (and the CVE tests' first
# check of themselves, ocitest/cve), jq for docs/cli.md's --info-fd example
# (TestDocExamples).
test-deps:
	@dpkg -s busybox-static >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq busybox-static; }
	@command -v runc >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq runc; }
	@command -v setpriv >/dev/null || $(SUDO) apt-get install -y -qq util-linux
	@# jq: docs/cli.md's example of --info-fd, run by TestDocExamples.
	@command -v jq >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq jq; }
	@# pasta (passt) and slirp4netns for TestNetwork's --network pasta and
	@# rootless cases: installed here, outside the test's 10-minute
	@# time-out, which a slow mirror ate when the test installed them
	@# itself (2026-12-07: TestNetwork timed out in apt-get).
	@command -v pasta >/dev/null && command -v slirp4netns >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends passt slirp4netns; }

# The whole suite: vet, gofmt, and every test under -race, as root. A root
# test that would skip fails instead (RAWNS_REQUIRE_ROOT=1). -p 1: one
# package at a time, for the timing-sensitive tests on a small machine.
# What other programs mount meanwhile does not fail the no-leak checks,
# which look only where a test could have left something
# (internal/testutil/mounts.go), nor does nohup (testutil.DefaultSignals).
test: build test-deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@# The assembly (clone trampolines, the signal relay's handler) exists
	@# for amd64 and arm64: the arm64 half must at least assemble and vet.
	GOARCH=arm64 $(GO) vet ./...
	$(SUDO) env RAWNS_REQUIRE_ROOT=1 PATH="$$PATH" $(GO) test -race -count=1 -p 1 ./...

# Real engines drive the OCI runtimes (e2e/, issue 22): podman 4.3 through
# conmon, containerd 1.6 through ctr and its runc shim v2, dockerd, and a
# Kubernetes node through containerd's CRI plugin checked by critest, each
# with rawns and with runc in the same run. Debian's packages, installed
# when missing (e2e/deps.sh); every engine started by the test in network,
# mount and PID namespaces of its own, with its state in one temporary
# directory; the run checks from the host that nothing of it is left.
# critest is built from the Go module proxy into bin/critest-VERSION, in the
# background while the other engines' tests run. Each stage's time is
# printed at the end. RAWNS_E2E_RUNTIMES (e.g. runc) narrows the runtimes.
E2E_TIMEOUT ?= 25m
e2e-deps: rootfs
	@t0=$$(date +%s); $(SUDO) ./e2e/deps.sh && echo "e2e: packages ready in $$(( $$(date +%s) - t0 ))s"

e2e: build e2e-deps
	$(GO) vet -tags e2e ./e2e/
	$(SUDO) env RAWNS_REQUIRE_ROOT=$${RAWNS_REQUIRE_ROOT:-1} PATH="$$PATH" $(GO) test -tags e2e -count=1 -parallel 16 -timeout $(E2E_TIMEOUT) -v ./e2e/

# The engines' speed with each runtime, end to end (docs/benchmarks.md):
# podman, ctr and docker `run --rm` of /bin/true with rawns, crun and runc,
# interleaved, E2E_BENCH_ROUNDS rounds, and each runtime's own `run` beside
# them; the table is printed and kept in bin/e2e/bench-table.md. The
# sandbox hides cgroup2's hierarchy for crun 1.8 (RAWNS_E2E_HIDE_UNIFIED=0
# keeps it, for runtimes that need this host's hybrid layout as it is).
E2E_BENCH_ROUNDS ?= 20
e2e-bench: build e2e-deps
	$(SUDO) env RAWNS_E2E_HIDE_UNIFIED=$${RAWNS_E2E_HIDE_UNIFIED:-1} RAWNS_E2E_RUNTIMES=$${RAWNS_E2E_RUNTIMES:-rawns,crun,runc} PATH="$$PATH" $(GO) test -tags e2e -count=1 -run '^$$' -bench '^BenchmarkEngines$$' -benchtime $(E2E_BENCH_ROUNDS)x -timeout 40m ./e2e/

# What a network costs a start, podman's and rawns's, on the same job
# (issue 23, docs/benchmarks.md): podman run --rm --network none|bridge
# (runc, Debian's CNI plugins) and rawns run [--network none|bridge] of
# /bin/true in bin/rootfs, interleaved; kept in bin/e2e/net-bench-table.md.
e2e-net-bench: build e2e-deps
	$(SUDO) env RAWNS_E2E_RUNTIMES=runc PATH="$$PATH" $(GO) test -tags e2e -count=1 -run '^$$' -bench '^BenchmarkNetwork$$' -benchtime $(E2E_BENCH_ROUNDS)x -timeout 20m ./e2e/

# The root tests that matter on the kernels users run, not only this host's:
# each Debian suite's cloud kernel (bookworm 6.1, bullseye 5.10) boots under
# qemu (TCG; KVM does not work nested here) on a pure cgroup v2 hierarchy
# with every controller enabled, with an initramfs of busybox-static, rawns
# and static test binaries; vmtest/plan says which run there (not the
# disassembly guard: it needs the go tool). The kernels are fetched with
# apt-get download into $(VMCACHE) once (vmtest/kernel.sh), nothing
# prebuilt is committed. About 2 minutes for both kernels here.
#
# vmtest-arm64: the same recipe for arm64, where the assembly on the
# child's path (clone/trampoline_arm64.s: rawVfork, cloneOnStack) and the
# signal relay's handler (internal/sigrelay/handler_arm64.s) otherwise never
# run on a real arm64 kernel (qemu-aarch64 user mode, make check-arm64,
# cannot emulate CLONE_VM without CLONE_THREAD, nor namespaces): bookworm's
# arm64 cloud kernel under qemu-system-aarch64 (-M virt -cpu max, TCG), with
# arm64 binaries (GOARCH=arm64), busybox-static for arm64 fetched like the
# kernel, the plan vmtest/plan-arm64, and besides sigrelay.test and the
# root package's CLI tests (rawns.test, with rawns-trace and rawns-bench
# built for it: the VM has no go tool). About a minute here. vmtest-arm64-race: the same binaries built with -race, which
# on arm64 needs cgo (a cross gcc, apt-get installed), so they are
# dynamically linked and the initramfs gets the arm64 loader and libc: the
# child path's trampolines exist partly to keep the race detector out of
# the child (trampoline_arm64.s), and only a -race build shows it is. About
# 3 minutes (every rawns run of the CLI tests starts a -race rawns under
# TCG), so the VM gets 600 s instead of 450.
VMCACHE  ?= .vmtest-cache
VMSUITES ?= bookworm bullseye
VMTEST_PLAN ?= vmtest/plan
VMARCH   := amd64
VMSTAGE  := bin/vmtest
VMPKGS   := qemu-system-x86 cpio busybox-static passt slirp4netns
VMTESTS  := cgroup clone internal/cmd/run internal/cmd/oci trace/bpf network/bridge network/rtnl rootfs .
VMBINS   := rawns rawns-trace rawns-bench rawns-oci rawns-net
VMGOENV  := CGO_ENABLED=0
VMGOFLAGS :=
VMLIBS   :=
# Each VM's time limit. The plans took 150-215 s each (bookworm, bullseye,
# arm64) on session nine's machine, 92-143 s on session eight's: 300 s left
# a slower machine too little room. A hang still ends, after 450 s.
VMTIMEOUT := 450
vmtest-arm64 vmtest-arm64-race: VMARCH := arm64
vmtest-arm64 vmtest-arm64-race: VMSTAGE := bin/vmtest-arm64
vmtest-arm64 vmtest-arm64-race: VMPKGS := qemu-system-arm cpio
vmtest-arm64 vmtest-arm64-race: VMTESTS := cgroup clone internal/cmd/run internal/sigrelay trace/bpf network/bridge network/rtnl .
vmtest-arm64 vmtest-arm64-race: VMSUITES = bookworm
vmtest-arm64 vmtest-arm64-race: VMTEST_PLAN = vmtest/plan-arm64
vmtest-arm64-race: VMSTAGE := bin/vmtest-arm64-race
vmtest-arm64-race: VMPKGS := qemu-system-arm cpio gcc-aarch64-linux-gnu libc6-dev-arm64-cross
vmtest-arm64-race: VMGOENV := CGO_ENABLED=1 CC=aarch64-linux-gnu-gcc
vmtest-arm64-race: VMGOFLAGS := -race
vmtest-arm64-race: VMLIBS := /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 /usr/aarch64-linux-gnu/lib/libc.so.6
vmtest-arm64-race: VMTIMEOUT := 600
vmtest vmtest-arm64 vmtest-arm64-race:
	@missing=; for p in $(VMPKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "vmtest: apt-get install$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; fi
	@rm -rf $(VMSTAGE) && mkdir -p $(VMSTAGE)/tests $(VMSTAGE)/bin
	@if [ -n "$(VMLIBS)" ]; then mkdir -p $(VMSTAGE)/lib && cp -L $(VMLIBS) $(VMSTAGE)/lib/; fi
	@# pasta and slirp4netns with their libraries, for TestNetwork (host's architecture only).
	@if [ "$(VMARCH)" = "$$(dpkg --print-architecture)" ]; then ./vmtest/userbins.sh $(VMSTAGE)/root; fi
	@for b in $(VMBINS); do src=./cmd/$$b; [ $$b = rawns ] && src=.; \
		echo "$(VMGOENV) GOARCH=$(VMARCH) $(GO) build $(VMGOFLAGS) -o $(VMSTAGE)/bin/$$b $$src"; \
		$(VMGOENV) GOARCH=$(VMARCH) $(GO) build $(VMGOFLAGS) -trimpath -ldflags '$(LDFLAGS)' -o $(VMSTAGE)/bin/$$b $$src || exit 1; done
	@# The module's root package (its CLI tests, "."), as rawns.test.
	@for p in $(VMTESTS); do n=$$(basename $$p); [ $$p = . ] && n=rawns; \
		echo "$(VMGOENV) GOARCH=$(VMARCH) $(GO) test $(VMGOFLAGS) -c ./$$p"; \
		$(VMGOENV) GOARCH=$(VMARCH) $(GO) test $(VMGOFLAGS) -c -o $(VMSTAGE)/tests/$$n.test ./$$p || exit 1; done
	$(SUDO) env VMTEST_ARCH=$(VMARCH) VMTEST_PLAN=$(VMTEST_PLAN) VMTEST_TIMEOUT=$${VMTEST_TIMEOUT:-$(VMTIMEOUT)} ./vmtest/run.sh $(VMSTAGE) $(VMCACHE) $(VMSUITES)

# rawns bench in process and whole-process; the go test benchmarks of clone/.
bench: build
	$(SUDO) ./$(BIN) bench
	$(SUDO) ./$(BIN) bench --whole
	$(SUDO) env PATH="$$PATH" $(GO) test -run '^$$' -bench . -benchtime 20x ./clone/

# The OCI runtime conformance suite (docs/oci.md, "Conformance"): the 58
# validation programs of github.com/opencontainers/runtime-tools v0.9.0,
# from the Go module proxy, built once into bin/runtime-tools (about a
# minute; rebuilt only when ocitest/validate's go.mod for it or the go
# version changes), run by bin/oci-validate against rawns-oci and, in the
# same run, Debian's runc and crun (apt-get installed when missing), each
# program in a mount namespace and a state directory of its own, four at a
# time. With OCI_STRICT=rawns it fails when rawns does worse than runc or
# crun on any test, fails one that ocitest/validate/explain.go does not
# explain, or leaves a container or a cgroup behind. OCI_PEERS= (empty) leaves runc and crun
# out: rawns's column alone. make oci-validate-doc runs the same and
# rewrites the table in docs/oci.md; the run takes about 4 minutes here.
OCI_PEERS ?= runc crun
OCI_JOBS  ?= 4
# A failed test runs again when another runtime passed it (runtime-tools#724:
# results vary): once here, to keep CI's run short.
OCI_RETRIES ?= 1
# OCI_STRICT=rawns: fail unless rawns does at least as well as runc and
# crun on every test (and leaves nothing behind); .ci/run sets it. Empty
# by default, for a look at a table while working: the run still fails
# when the suite cannot run at all.
OCI_STRICT ?=
OCI_RAWNS := $(if $(wildcard cmd/rawns-oci/main.go),-runtime rawns=bin/rawns-oci $(if $(OCI_STRICT),-superset $(OCI_STRICT)))
OCI_VALIDATE = ./bin/oci-validate -suite bin/runtime-tools -j $(OCI_JOBS) -retries $(OCI_RETRIES) $(OCI_RAWNS) $(foreach r,$(OCI_PEERS),-runtime $(r))
.PHONY: oci-validate oci-validate-doc oci-validate-deps oci-validate-vm bench-oci
oci-validate-deps: $(if $(OCI_RAWNS),build)
	@missing=; for p in $(OCI_PEERS) tar; do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "oci-validate: apt-get install$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; fi
	GO=$(GO) ./ocitest/validate/build-suite.sh bin/runtime-tools
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/oci-validate ./ocitest/validate
oci-validate: oci-validate-deps
	$(SUDO) $(OCI_VALIDATE)
# The same suite in a qemu VM on a pure cgroup v2 host (bookworm's 6.1
# cloud kernel, as make vmtest boots it), against rawns-oci, runc and crun
# (copied in with their shared libraries): the table is printed from the
# VM's log, and its JSON left in bin/oci-vm/oci-validate.json (render it
# with bin/oci-validate -from). Under TCG every container costs ten times
# the host's or more: with reruns, the first try did not finish within
# the hour on a loaded host; now one pass, three at a time, and a line per
# run in the log as it ends.
oci-validate-vm: oci-validate-deps
	@missing=; for p in qemu-system-x86 cpio busybox-static; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "oci-validate-vm: apt-get install$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; fi
	./ocitest/validate/vm-stage.sh bin/oci-vm bin/runtime-tools
	$(SUDO) env VMTEST_PLAN=bin/oci-vm/plan VMTEST_MEM=$${VMTEST_MEM:-4096} VMTEST_TIMEOUT=$${VMTEST_TIMEOUT:-3600} ./vmtest/run.sh bin/oci-vm $(VMCACHE) bookworm; \
	status=$$?; sed -n '/OCI-VALIDATE BEGIN/,/OCI-VALIDATE END/p' bin/oci-vm/bookworm.log; \
	sed -n '/^OCI-VALIDATE JSON$$/,/^OCI-VALIDATE JSON END$$/p' bin/oci-vm/bookworm.log | sed '1d;$$d' >bin/oci-vm/oci-validate.json; exit $$status
oci-validate-doc: oci-validate-deps
	$(SUDO) $(OCI_VALIDATE) -doc docs/oci.md -json bin/oci-validate.json

# The CVE tests (ocitest/cve) against deliberately broken rawns-oci builds:
# for each CVE in ocitest/cve/reopen_test.go, a copy of the tree with that
# hole reopened by a few exact edits, built in a temporary directory; the
# CVE's tests must find the hole. Nothing of it is in a normal build.
CVE_REOPENED := CVE-2019-5736 CVE-2022-29162 CVE-2024-21626 CVE-2025-31133 CVE-2025-52565 CVE-2025-52881 CVE-2021-30465 CVE-2023-27561
.PHONY: cve-prove
cve-prove: test-deps
	@for c in $(CVE_REOPENED); do \
		echo "cve-prove: $$c reopened"; \
		$(SUDO) env RAWNS_REQUIRE_ROOT=1 OCITEST_RUNTIMES=rawns OCITEST_REOPEN=$$c PATH="$$PATH" $(GO) test -count=1 -run "$$(echo $$c | tr - _)" ./ocitest/cve/ || exit 1; done

# The OCI rows of rawns bench --whole alone (issue 21's speed targets:
# rawns-oci at most 0.6x crun, under a third of runc, each form), the
# notes giving the paired ratios: docs/benchmarks.md, "OCI runtimes".
OCI_BENCH_ROWS := rawns-oci-run,crun-oci-run,runc-oci-run,rawns-oci-lifecycle,crun-oci-lifecycle,runc-oci-lifecycle
bench-oci: build
	$(SUDO) ./$(BENCHBIN) --whole --rounds $${ROUNDS:-100} --tools $(OCI_BENCH_ROWS)

# The network rows of rawns bench --whole alone (issue 23's speed targets:
# --network bridge adds at most 8 ms to rawns-run, --network none costs no
# more than --ns ...,net), each run in a network and mount namespace of the
# benchmark's own: docs/benchmarks.md, "The network".
NET_BENCH_ROWS := rawns-run,rawns-net-bridge,rawns-net-none,rawns-ns-net,bwrap-unshare-net
bench-net: build
	$(SUDO) ./$(BENCHBIN) --whole --rounds $${ROUNDS:-100} --tools $(NET_BENCH_ROWS)

# Regenerates trace/bpf/bpf_bpfel.{go,o} from trace/bpf/trace.c; installs clang,
# llvm and libbpf-dev with apt-get when missing. The output is committed, so
# building never needs clang.
generate:
	./trace/generate.sh

# CI: regenerating must reproduce the committed objects byte for byte.
check-generate: generate
	@git diff --exit-code --stat -- trace/bpf/ || { echo 'trace: regenerated BPF objects differ from the committed ones; run make generate and commit them'; exit 1; }

demo: build rootfs
	$(SUDO) ./$(BIN) run -v -- sh -c 'echo "pid $$$$ on $$(hostname)"'
	@echo "host hostname is still: $$(hostname)"
	@# A shell in a root filesystem of its own (make rootfs: busybox), with
	@# its own /proc and /dev, --init as PID 1, and a memory limit.
	$(SUDO) ./$(BIN) run --rootfs bin/rootfs --proc /proc --dev /dev --init --memory 64m -- sh -c 'echo "in $$(hostname), / holds:" $$(ls /); ps -o pid,comm'

# The torture suite's long version: 10,000 spawns in a row, 8 x 500 at once,
# 500 rawns runs from a shell (docs/reliability.md).
torture-long: build
	$(SUDO) env RAWNS_REQUIRE_ROOT=1 RAWNS_TORTURE=long PATH="$$PATH" $(GO) test -race -count=1 -timeout 30m -v ./torture/

# Fuzz the CLI parser, the namespace list parser and the spec validation;
# their seed corpora run as ordinary tests in make test.
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseRun$$' -fuzztime $(FUZZTIME) ./internal/cmd/run/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFlags$$' -fuzztime $(FUZZTIME) ./internal/cmd/run/
	$(GO) test -run '^$$' -fuzz '^FuzzParseNamespaces$$' -fuzztime $(FUZZTIME) ./clone/
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME) ./clone/
	$(GO) test -run '^$$' -fuzz '^FuzzModeAndPropagation$$' -fuzztime $(FUZZTIME) ./clone/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./oci/

# Runs internal/sigrelay's tests for arm64 under qemu-aarch64 user emulation
# (apt-get install qemu-user), which executes the arm64 handler for real.
# TestIgnoredAtStartStaysIgnored is left out: it re-execs the test binary
# through the host's sh, which cannot run an arm64 binary without binfmt.
# make vmtest-arm64 runs them all, on a real arm64 kernel.
check-arm64:
	GOARCH=arm64 CGO_ENABLED=0 $(GO) test -c -o bin/sigrelay-arm64.test ./internal/sigrelay
	qemu-aarch64 bin/sigrelay-arm64.test -test.count=1 -test.v \
		-test.run '^(TestHeldThenRelayed|TestRestore|TestCatchRejects|TestFloodWhileRuntimeBusy|TestKernelSignals|TestNotify)$$'

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
