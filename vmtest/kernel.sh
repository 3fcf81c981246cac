#!/bin/sh
# vmtest/kernel.sh SUITE CACHE: fetch Debian SUITE's cloud kernel package
# (linux-image-cloud-amd64's dependency, the concrete linux-image-X.Y.Z-N-
# cloud-amd64) with apt-get download, unpack it with dpkg-deb -x into
# CACHE/SUITE, and print the path of its vmlinuz. Nothing is fetched when
# the cache already holds it.
#
# apt runs with a configuration of its own (sources list, lists and
# archive directories under CACHE), so the host's apt sources are neither
# needed nor changed: one "deb http://deb.debian.org/debian SUITE main"
# line, checked with the Debian archive keyring.
set -eu
suite=$1
mkdir -p "$2"
cache=$(cd "$2" && pwd)
dir=$cache/$suite
mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/sources.list.d"
if ls "$dir"/root/boot/vmlinuz-* >/dev/null 2>&1; then
	ls "$dir"/root/boot/vmlinuz-* | head -n 1
	exit 0
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$dir/sources.list"
apt_opts="-o Dir::Etc::SourceList=$dir/sources.list -o Dir::Etc::SourceParts=$dir/sources.list.d -o Dir::State::Lists=$dir/lists -o Dir::Cache=$dir -o Dir::Cache::archives=$dir/archives -o Dir::State::status=/dev/null -o APT::Architecture=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root"
# shellcheck disable=SC2086
apt-get $apt_opts -qq update >&2
# shellcheck disable=SC2086
pkg=$(apt-cache $apt_opts depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
	echo "vmtest: no cloud kernel package in $suite" >&2
	exit 1
fi
# shellcheck disable=SC2086
(cd "$dir" && apt-get $apt_opts -qq download "$pkg" >&2)
rm -rf "$dir/root"
dpkg-deb -x "$dir"/"$pkg"_*.deb "$dir/root"
rm -f "$dir"/"$pkg"_*.deb
ls "$dir"/root/boot/vmlinuz-* | head -n 1
