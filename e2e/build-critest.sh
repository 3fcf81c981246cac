#!/bin/sh
# Builds critest, the CRI conformance suite of sigs.k8s.io/cri-tools, and
# the ginkgo command it runs its specs in parallel with (critest -parallel N
# execs `ginkgo` from PATH), from the Go module proxy, into OUT (default
# bin/critest-VERSION/), once: binaries already there are kept (the
# directory's name carries the version). cmd/critest holds only test files,
# so critest is `go test -c` of it, in a writable copy of the module (the
# module cache is read-only), with the module's own go.sum; ginkgo is the
# version that go.sum pins. About 4 minutes on a fresh 2-core machine,
# seconds once the Go build cache has it.
set -eu
version=${1:-v1.34.0}
out=${2:-bin/critest-$version}
if [ -x "$out/critest" ] && [ -x "$out/ginkgo" ]; then
	echo "critest $version: $out (cached)"
	exit 0
fi
dir=$(go mod download -json "sigs.k8s.io/cri-tools@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-critest: go mod download sigs.k8s.io/cri-tools@$version gave no directory" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$(mktemp -d "${TMPDIR:-/tmp}/critest-src.XXXXXX")
trap 'rm -rf "$src"' EXIT
cp -R "$dir/." "$src"
chmod -R u+w "$src"
cd "$src"
CGO_ENABLED=0 go test -c -trimpath -ldflags '-s -w' -o "$out/critest.new" ./cmd/critest
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$out/ginkgo.new" github.com/onsi/ginkgo/v2/ginkgo
mv "$out/critest.new" "$out/critest"
mv "$out/ginkgo.new" "$out/ginkgo"
echo "critest $version: built $out"
