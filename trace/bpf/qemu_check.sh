#!/bin/sh
# Runs trace/bpf's watcher tests on another kernel, booted in qemu (TCG), so
# that the hooks this machine's kernel refuses (fentry/fexit) are exercised
# too. Needs qemu-system-x86, busybox-static and cpio (apt-get install -y
# qemu-system-x86 busybox-static cpio) and a kernel image with BTF, e.g.
# Debian bookworm's cloud kernel:
#
#	apt-get download linux-image-6.1.0-57-cloud-amd64
#	dpkg-deb -x linux-image-6.1.0-57-cloud-amd64_*.deb k
#	trace/bpf/qemu_check.sh k/boot/vmlinuz-6.1.0-57-cloud-amd64
#
# The guest is an initramfs: busybox (sh, unshare, nsenter, hostname, true,
# ...), the static test binary, proc, sysfs, devtmpfs and tmpfs on /tmp and
# /run; tracefs is not mounted, as on a fresh host. Prints the test output
# and exits 0 when every test passed.
#
# With AFTER="rawns-trace overhead ..." that command runs in the guest after
# the tests (the guest has /bin/rawns-trace); its output is printed, its exit
# status does not count.
#
# usage: [SKIP=REGEX] [AFTER=COMMAND] trace/bpf/qemu_check.sh VMLINUZ [TEST-REGEX]
set -eu
kernel=$(realpath "$1")
run=${2:-'^(TestWatch|TestDrop)'}
# TestWatchUnshare looks for the exec of "hostname"; busybox's unshare
# re-executes itself as /proc/self/exe first, so it cannot match there.
skip=${SKIP:-'^TestWatchUnshare$'}
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/etc"
CGO_ENABLED=0 go test -c -o "$root/bpf.test" ./trace/bpf
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/bin/rawns-trace" ./cmd/rawns-trace
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh mount umount unshare nsenter hostname true sleep cat ls poweroff mkdir; do
	ln -s busybox "$root/bin/$a"
done
cat >"$root/init" <<EOF
#!/bin/sh
export PATH=/bin RAWNS_REQUIRE_ROOT=1 HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo "guest kernel: \$(cat /proc/sys/kernel/osrelease)"
cd /tmp
/bpf.test -test.run '$run' -test.skip '$skip' -test.v -test.count=1 -test.timeout=10m
echo "qemu_check: exit \$?"
${AFTER:+$AFTER}
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd"
qemu-system-x86_64 -accel tcg -m 1536 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/initrd" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init" | tee "$work/log"
grep -q '^qemu_check: exit 0' "$work/log"
