#!/bin/sh
# ocitest/validate/build-suite.sh OUT [GOARCH]: builds the OCI runtime
# conformance suite, github.com/opencontainers/runtime-tools v0.9.0, into
# OUT: OUT/runtimetest (the program the tests run inside each container),
# OUT/rootfs-$GOARCH.tar.gz (the suite's own busybox root), and one program
# per test in OUT/validation/ (58 of them).
#
# The module comes from the Go module proxy (go mod download). v0.9.0 has
# no go.mod of its own, and the commits its Godeps pin are refused by the
# proxy, so the build uses ours: runtime-tools.mod and runtime-tools.sum
# beside this script, which name the nearest tagged versions of each
# dependency (runtime-spec v1.0.2, selinux v1.6.0, satori/go.uuid v1.2.0,
# ...) and were made once with go mod tidy. Nothing of the module is kept
# in this repository: it is copied out of the module cache into a
# temporary directory, built there, and only the binaries are kept.
#
# OUT/.built records what was built (module version, our go.mod and go.sum,
# the go version, GOARCH): when it matches, nothing is rebuilt (about a
# minute of a 2-vCPU machine saved on every later run).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
arch=${2:-$(go env GOARCH)}
mod=github.com/opencontainers/runtime-tools
ver=v0.9.0
GO=${GO:-go}

want="$mod@$ver $(cat "$here/runtime-tools.mod" "$here/runtime-tools.sum" | sha256sum | cut -c1-16) $($GO env GOVERSION) $arch"
if [ -f "$out/.built" ] && [ "$(cat "$out/.built")" = "$want" ]; then
	exit 0
fi

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
# Outside any module (the temporary directory), so that go mod download
# fetches the module itself rather than resolving it in rawns's go.mod.
dir=$(cd "$tmp" && GOFLAGS=-mod=mod $GO mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ -z "$dir" ] || [ ! -d "$dir/validation" ]; then
	echo "build-suite: go mod download $mod@$ver gave no module directory" >&2
	exit 1
fi
src=$tmp/src
cp -r "$dir" "$src"
# The module cache is read-only; our go.mod and go.sum go in the copy.
chmod -R u+w "$src"
cp "$here/runtime-tools.mod" "$src/go.mod"
cp "$here/runtime-tools.sum" "$src/go.sum"
rm -rf "$src/Godeps"

echo "build-suite: building $mod@$ver's runtimetest and validation programs for $arch into $out"
rm -rf "$out/validation" "$out/.built"
mkdir -p "$out/validation"
# runtimetest runs inside the suite's own busybox root: static, as the
# suite's Makefile builds it. The validation programs run on the host.
# -s -w: 58 programs of 6.6 MB each otherwise.
(cd "$src" && CGO_ENABLED=0 GOARCH=$arch $GO build -trimpath -ldflags '-s -w' -o "$out/runtimetest" ./cmd/runtimetest)
(cd "$src" && CGO_ENABLED=0 GOARCH=$arch $GO build -trimpath -ldflags '-s -w' -o "$out/validation/" ./validation/...)
cp "$src/rootfs-$arch.tar.gz" "$out/"
n=$(find "$out/validation" -type f | wc -l)
if [ "$n" != 58 ]; then
	echo "build-suite: built $n validation programs, expected 58" >&2
	exit 1
fi
echo "$want" >"$out/.built"
