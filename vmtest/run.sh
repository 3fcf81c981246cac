#!/bin/sh
# vmtest/run.sh STAGE CACHE SUITE...: boot each Debian SUITE's cloud kernel
# under qemu (TCG: KVM does not work nested on the development VMs) with an
# initramfs made of STAGE (tests/, bin/, the plan) plus busybox-static and
# vmtest/init, and fail unless every test binary in the plan passed.
#
# STAGE is what the Makefile built: static test binaries (go test -c,
# CGO_ENABLED=0, GOARCH=VMTEST_ARCH) in STAGE/tests, rawns in STAGE/bin.
# CACHE keeps the kernels between runs (vmtest/kernel.sh).
#
# VMTEST_ARCH (amd64 unless set) picks the kernel's architecture, and with
# it what differs between the emulated machines: the qemu binary, the
# machine, the serial console the kernel writes to, and where busybox comes
# from (the host's for its own architecture, else the suite's
# busybox-static for VMTEST_ARCH, which kernel.sh fetches).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stage=$1
cache=$2
shift 2
timeout=${VMTEST_TIMEOUT:-450}
arch=${VMTEST_ARCH:-amd64}
case "$arch" in
amd64)
	qemu=qemu-system-x86_64
	machine="-accel tcg"
	console=ttyS0
	mem=${VMTEST_MEM:-512}
	;;
arm64)
	# virt: the generic board, its PL011 UART is ttyAMA0 (built into the
	# cloud kernel, as are the GIC and PSCI, which poweroff -f ends the VM
	# through). -cpu max: every extension TCG emulates (LSE atomics, which
	# Go's runtime then uses, PAC, BTI); pauth-impdef=on computes the
	# pointer signatures with QEMU's cheap function instead of QARMA, which
	# costs TCG dearly and proves nothing more here.
	qemu=qemu-system-aarch64
	machine="-M virt -cpu max,pauth-impdef=on -accel tcg"
	console=ttyAMA0
	mem=${VMTEST_MEM:-1024}
	;;
*)
	echo "vmtest: VMTEST_ARCH=$arch: amd64 or arm64" >&2
	exit 2
	;;
esac

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# The initramfs's / takes this directory's mode: 0700 from mktemp would
# keep every user but root out of the whole tree.
chmod 0755 "$root"
mkdir -p "$root/bin" "$root/tests" "$root/etc" "$root/mnt"
# The users and groups every host has: tests resolve names (--map-user root,
# --user nobody) through /etc/passwd and /etc/group, as rawns does.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	cp /bin/busybox "$root/bin/busybox"
else
	kernel=$("$here/kernel.sh" "$1" "$cache" "$arch")
	cp "$(dirname "$(dirname "$kernel")")/bin/busybox" "$root/bin/busybox"
fi
cp "$here/init" "$root/init"
cp "${VMTEST_PLAN:-$here/plan}" "$root/tests/plan"
cp "$stage"/tests/* "$root/tests/"
cp "$stage"/bin/* "$root/bin/"
# The shared libraries of dynamically linked test binaries (-race on arm64
# needs cgo: the Makefile's vmtest-arm64-race puts the loader and libc here).
if [ -d "$stage/lib" ]; then
	cp -a "$stage/lib" "$root/"
fi
# Each kernel's overlay module, for the overlay tests (/init loads it).
for suite in "$@"; do
	kernel=$("$here/kernel.sh" "$suite" "$cache" "$arch")
	kroot=$(dirname "$(dirname "$kernel")")
	for ko in "$kroot"/lib/modules/*/kernel/fs/overlayfs/overlay.ko; do
		[ -f "$ko" ] || continue
		ver=$(basename "$(dirname "$(dirname "$(dirname "$(dirname "$ko")")")")")
		mkdir -p "$root/lib/modules/$ver"
		cp "$ko" "$root/lib/modules/$ver/overlay.ko"
	done
done
# What the network tests need (docs/network.md): each kernel's modules
# for veths, bridges, nf_tables with NAT, fib and conntrack, and tun, with
# every module they depend on, at their paths under /lib/modules/VERSION,
# and the list of them in load order (dependencies first) in netmods there,
# for /init to insmod. The package ships no modules.dep (depmod makes it at
# install), so the dependencies are read from each module's own .modinfo
# ("depends=a,b"); a module the tree lacks is built in.
netmods="veth bridge tun nf_tables nft_chain_nat nft_nat nft_masq nft_fib_inet nft_ct"
visit() {
	local m f rel d
	m=$(echo "$1" | tr - _)
	case " $seen " in *" $m "*) return ;; esac
	seen="$seen $m"
	f=$(find "$moddir/kernel" \( -name "$m.ko" -o -name "$(echo "$m" | tr _ -).ko" \) | head -n 1)
	[ -n "$f" ] || return 0
	for d in $(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | tr , ' '); do
		visit "$d"
	done
	rel=${f#"$moddir"/}
	mkdir -p "$out/$(dirname "$rel")"
	cp "$f" "$out/$rel"
	echo "$rel" >>"$out/netmods"
}
for suite in "$@"; do
	kernel=$("$here/kernel.sh" "$suite" "$cache" "$arch")
	kroot=$(dirname "$(dirname "$kernel")")
	for moddir in "$kroot"/lib/modules/*; do
		[ -d "$moddir/kernel" ] || continue
		out=$root/lib/modules/$(basename "$moddir")
		mkdir -p "$out"
		seen=
		for m in $netmods; do
			visit "$m"
		done
	done
done
# A root of the host's own architecture's tools (vmtest/userbins.sh: pasta
# and slirp4netns with their libraries), copied over the initramfs's.
if [ -d "$stage/root" ]; then
	cp -a "$stage/root/." "$root/"
fi
initrd=$stage/initrd.gz
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"

status=0
for suite in "$@"; do
	kernel=$("$here/kernel.sh" "$suite" "$cache" "$arch")
	log=$stage/$suite.log
	# Up to two boots. A run that hung gets a second boot, and says so,
	# with its first log kept as $log.first: no VMTEST DONE line (a stall
	# or hang past the VM's timeout), or a test binary past its
	# -test.timeout (its goroutines' stacks are in that log). Under TCG the
	# guest kernel goes wrong in some boots, never on the host:
	# - bullseye's 5.10 stalled a CPU for good ("soft lockup" every 22 s)
	#   in about half the runs on 2026-12-07, in a different test each
	#   time: the cpuset static key patched on and off with every cgroup a
	#   test made, which init now keeps on (vmtest/init, vmtest.pin);
	# - 6.1 on arm64 counted a busy loop more CPU time than wall time, its
	#   CFS period timer idle, in 4 of 15 boots on 2026-12-08
	#   (vmtest/plan-arm64, TestCPUQuota), and one amd64 boot of 6.1 in CI
	#   hung that day in TestChildInCgroupAtExec, a cat under a CPU quota.
	# A hang rawns caused would most likely hang the second boot too, and
	# the first boot's log says where it hung either way. The console's
	# loglevel=5 (not quiet) puts a stalled CPU's stack in the log.
	for attempt in 1 2; do
		echo "vmtest: $suite: booting $(basename "$kernel") under $qemu (TCG), log in $log"
		start=$(date +%s)
		# -no-reboot with panic=-1: a kernel panic ends qemu at once rather
		# than hanging; poweroff -f at the end of /init ends it normally.
		# shellcheck disable=SC2086
		timeout "$timeout" $qemu $machine -smp 2 -m "$mem" -nographic -no-reboot \
			-kernel "$kernel" -initrd "$initrd" \
			-append "console=$console loglevel=5 panic=-1" </dev/null >"$log" 2>&1 || true
		took=$(($(date +%s) - start))
		tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
		if [ "$attempt" = 1 ] && { ! grep -q '^VMTEST DONE' "$log" || grep -q '^panic: test timed out' "$log"; }; then
			echo "vmtest: $suite: the run hung after ${took}s (no VMTEST DONE line, or a test binary timed out); booting again. The end of its log ($log.first):"
			grep -E 'soft lockup|self-detected stall|^=== RUN|^panic: test timed out|^VMTEST (START|PASS|FAIL)' "$log" | tail -n 8
			cp "$log" "$log.first"
			continue
		fi
		break
	done
	pass=$(grep -c '^VMTEST PASS ' "$log" || true)
	fail=$(grep -c '^VMTEST FAIL ' "$log" || true)
	grep -o 'VMTEST \(KERNEL\|CONTROLLERS\|NOTE\) .*' "$log" | sed "s/^/vmtest: $suite: /"
	if ! grep -q '^VMTEST DONE' "$log"; then
		echo "vmtest: $suite: FAILED: no VMTEST DONE line (a panic, a hang past ${timeout}s, or a crash); end of $log:"
		tail -n 40 "$log"
		status=1
		continue
	fi
	planned=$(sed -n 's/^VMTEST PLANNED \([0-9]*\).*/\1/p' "$log")
	if [ "$fail" != 0 ] || [ -z "$planned" ] || [ "$planned" = 0 ] || [ "$pass" != "$planned" ]; then
		echo "vmtest: $suite: FAILED: $pass of $planned test binaries passed; failures:"
		grep -E '^(--- FAIL|FAIL|panic:|VMTEST FAIL)|_test.go:[0-9]+:' "$log" | head -n 60
		status=1
		continue
	fi
	echo "vmtest: $suite: ok, $pass of $planned test binaries passed in ${took}s: $(grep -c '^--- PASS' "$log") tests passed, $(grep -c '^--- SKIP' "$log") skipped"
done
exit $status
