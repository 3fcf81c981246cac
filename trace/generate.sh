#!/bin/sh
# Regenerate the committed BPF object and its Go bindings
# (trace/bpf/bpf_bpfel.go, trace/bpf/bpf_bpfel.o) from trace/bpf/trace.c.
# Installs clang, llvm-strip and the libbpf headers if missing
# (Debian/Ubuntu, as root). The output is byte-identical for the same clang
# and libbpf-dev: make check-generate checks that with git diff.
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang >/dev/null 2>&1 || ! command -v llvm-strip >/dev/null 2>&1 ||
	[ ! -f /usr/include/bpf/bpf_helpers.h ]; then
	echo "trace/generate.sh: installing clang llvm libbpf-dev" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang llvm libbpf-dev >/dev/null
fi
go generate ./trace/bpf
