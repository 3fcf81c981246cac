#!/bin/sh
# vmtest/userbins.sh DIR: copies pasta (Debian's passt: passt, passt.avx2
# and the pasta link) and slirp4netns into DIR/usr/bin, with the shared
# libraries ldd names for them at their own paths (the loader, libc, glib
# ...), so that the vmtest's initramfs can run TestNetwork's pasta and
# slirp4netns cases: DIR is copied over the initramfs's root (run.sh).
# For the host's own architecture only; a tool that is not installed is
# left out (the Makefile installs both).
set -eu
dir=$1
mkdir -p "$dir/usr/bin"
for b in passt passt.avx2 slirp4netns; do
	p=/usr/bin/$b
	[ -x "$p" ] || continue
	cp "$p" "$dir/usr/bin/$b"
	ldd "$p" | awk '/=> \// {print $3} /^\t\// {print $1}' | while read -r lib; do
		[ -e "$dir$lib" ] || cp -L --parents "$lib" "$dir"
	done
done
[ -x "$dir/usr/bin/passt" ] && ln -sf passt "$dir/usr/bin/pasta"
[ -x "$dir/usr/bin/passt.avx2" ] && ln -sf passt.avx2 "$dir/usr/bin/pasta.avx2"
exit 0
