#!/bin/sh
# Builds a small root filesystem in DIR (default bin/rootfs) from Debian's
# busybox-static package, fetched with apt-get download (no install on the
# host, no image registry): busybox and a symlink per applet, enough for sh,
# ls, ps, mount and the rest. Try it with:
#   rawns run --rootfs bin/rootfs --dev /dev --proc /proc -- sh
set -eu
dir=${1:-bin/rootfs}
work=$(mktemp -d "${TMPDIR:-/tmp}/rawns-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && { apt-get download busybox-static 2>/dev/null || { apt-get update -qq && apt-get download busybox-static; }; })
dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
rm -rf "$dir.new"
mkdir -p "$dir.new"
cd "$dir.new"
mkdir -p bin sbin usr/bin usr/sbin dev proc sys tmp run etc root mnt home var/tmp
chmod 1777 tmp var/tmp
cp "$work/x/bin/busybox" bin/busybox
# busybox --install -s, but into this tree: each applet a link to
# /bin/busybox, which resolves inside the root once it is /.
for a in $(./bin/busybox --list-full); do
	[ -e "$a" ] || ln -s /bin/busybox "$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >etc/passwd
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >etc/group
echo rawns >etc/hostname
cd - >/dev/null
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "root filesystem in $dir: $(find "$dir" -type l | wc -l) applets, $(du -sh "$dir" | cut -f1)"
