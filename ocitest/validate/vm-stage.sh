#!/bin/sh
# ocitest/validate/vm-stage.sh STAGE SUITE: lays out STAGE for vmtest/run.sh
# so that the conformance suite runs in a qemu VM on a pure cgroup v2 host
# (make oci-validate-vm): the harness (bin/oci-validate), rawns-oci, runc
# and crun with the shared libraries they load, the suite built in SUITE
# packed as one tar, a script that unpacks and runs it, and a plan naming
# that script.
#
# Two things of the VM's busybox differ from a distribution: its tar does
# not read gzip, so the suite's rootfs-amd64.tar.gz goes in uncompressed
# (under the name the suite opens); and the dynamic loader is put at
# /lib64 by the script, where runc and crun look for it.
set -eu
stage=$1
suite=$2
rm -rf "$stage"
mkdir -p "$stage/tests" "$stage/bin" "$stage/lib/x86_64-linux-gnu"
cp bin/oci-validate bin/rawns-oci "$stage/bin/"
for rt in runc crun; do
	p=$(command -v "$rt")
	cp "$p" "$stage/bin/$rt"
	ldd "$p" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | while read -r lib; do
		cp -L "$lib" "$stage/lib/x86_64-linux-gnu/"
	done
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/suite"
cp -r "$suite/validation" "$suite/runtimetest" "$tmp/suite/"
gunzip -c "$suite/rootfs-amd64.tar.gz" >"$tmp/suite/rootfs-amd64.tar.gz"
tar -C "$tmp" -cf "$stage/tests/runtime-tools.tar" suite
cat >"$stage/tests/oci-validate.sh" <<'EOF'
#!/bin/sh
# Run by the VM's /init (the plan): the suite against rawns-oci, runc and
# crun on this kernel's pure cgroup v2 hierarchy.
set -e
mkdir -p /lib64
ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
tar -C /tmp -xf /tests/runtime-tools.tar
rm -f /tests/runtime-tools.tar # memory: the VM's files are all in RAM
echo "OCI-VALIDATE BEGIN"
status=0
/bin/oci-validate -suite /tmp/suite -j 2 -timeout 5m -runtime rawns=/bin/rawns-oci -runtime runc=/bin/runc -runtime crun=/bin/crun -json /tmp/oci-validate.json "$@" || status=$?
echo "OCI-VALIDATE END"
# The JSON report, for oci-validate -from on the host (the Makefile cuts
# it out of the console log).
echo "OCI-VALIDATE JSON"
cat /tmp/oci-validate.json
echo "OCI-VALIDATE JSON END"
exit $status
EOF
chmod +x "$stage/tests/oci-validate.sh"
printf '%s\n' "# ocitest/validate/vm-stage.sh's plan: the conformance suite, on every kernel" \
	"oci-validate * oci-validate.sh" >"$stage/plan"
