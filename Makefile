# rawns: build, test, benchmark, demo.
#
# Namespaces need root. These targets use sudo only when not root and sudo
# exists, so they work as they are on a root-only machine without sudo.

GO      ?= go
BIN     := bin/rawns
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
SUDO    := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null 2>&1 || echo sudo)
# -trimpath: reproducible; -s -w: a smaller binary maps fewer pages at
# start-up, which is measurable on this VM (docs/benchmarks.md).
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test bench demo generate check-generate fmt vet clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

# The whole suite: vet, gofmt, and every test under -race, as root. A root
# test that would skip fails instead (RAWNS_REQUIRE_ROOT=1).
test: build
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	$(SUDO) env RAWNS_REQUIRE_ROOT=1 PATH="$$PATH" $(GO) test -race -count=1 ./...

bench: build
	$(SUDO) env PATH="$$PATH" $(GO) test -run '^$$' -bench . -benchtime 2s ./clone/

# Regenerates trace/bpf_bpfel.{go,o} from trace/trace.c; installs clang,
# llvm and libbpf-dev with apt-get when missing. The output is committed, so
# building never needs clang.
generate:
	./trace/generate.sh

# CI: regenerating must reproduce the committed objects byte for byte.
check-generate: generate
	@git diff --exit-code --stat -- trace/ || { echo 'trace: regenerated BPF objects differ from the committed ones; run make generate and commit them'; exit 1; }

demo: build
	$(SUDO) ./$(BIN) run -v -- sh -c 'echo "pid $$$$ on $$(hostname)"'
	@echo "host hostname is still: $$(hostname)"

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
