#!/bin/sh
# vmtest/kernel.sh SUITE CACHE [ARCH]: fetch Debian SUITE's cloud kernel
# package for ARCH (amd64 unless given; linux-image-cloud-ARCH's
# dependency, the concrete linux-image-X.Y.Z-N-cloud-ARCH) with apt-get
# download, unpack it with dpkg-deb -x into CACHE/SUITE (CACHE/SUITE-ARCH
# for an ARCH other than amd64), and print the path of its vmlinuz.
# Nothing is fetched when the cache already holds it.
#
# For an ARCH other than the host's dpkg architecture the host's
# /bin/busybox cannot run in the VM: SUITE's busybox-static for ARCH is
# fetched and unpacked into the same root the same way, as
# CACHE/SUITE-ARCH/root/bin/busybox (vmtest/run.sh takes it from there).
#
# apt runs with a configuration of its own (sources list, lists and
# archive directories under CACHE, APT::Architecture=ARCH), so the host's
# apt sources and architectures are neither needed nor changed: one
# "deb http://deb.debian.org/debian SUITE main" line, checked with the
# Debian archive keyring.
set -eu
suite=$1
arch=${3:-amd64}
mkdir -p "$2"
cache=$(cd "$2" && pwd)
dir=$cache/$suite
[ "$arch" = amd64 ] || dir=$cache/$suite-$arch
native=$(dpkg --print-architecture)
mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/sources.list.d"
if ls "$dir"/root/boot/vmlinuz-* >/dev/null 2>&1 &&
	{ [ "$arch" = "$native" ] || [ -x "$dir/root/bin/busybox" ]; }; then
	ls "$dir"/root/boot/vmlinuz-* | head -n 1
	exit 0
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$dir/sources.list"
apt_opts="-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=$dir/sources.list.d -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir -o Dir::Cache::archives=$dir/archives -o Dir::State::status=/dev/null -o APT::Architecture=$arch -o APT::Architectures=$arch -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $apt_opts -qq update >&2
# shellcheck disable=SC2086
pkg=$(apt-cache $apt_opts depends "linux-image-cloud-$arch" | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
	echo "vmtest: no cloud kernel package for $arch in $suite" >&2
	exit 1
fi
pkgs=$pkg
[ "$arch" = "$native" ] || pkgs="$pkgs busybox-static"
rm -rf "$dir/root"
for p in $pkgs; do
	# shellcheck disable=SC2086
	(cd "$dir" && apt-get $apt_opts -qq download "$p" >&2)
	dpkg-deb -x "$dir"/"$p"_*.deb "$dir/root"
	rm -f "$dir"/"$p"_*.deb
done
ls "$dir"/root/boot/vmlinuz-* | head -n 1
