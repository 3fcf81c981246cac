#!/bin/sh
# Installs what `make e2e` needs on a fresh machine, from Debian's packages:
# the engines (podman 4.3 with conmon, containerd 1.6, docker.io 20.10),
# the runtimes to compare with (runc, crun), the CNI plugins, the registry,
# and Debian's dynamically linked busybox for the CRI images (unpacked into
# bin/e2e/busybox, not installed: it conflicts with busybox-static).
#
# The packages' maintainer scripts would start dockerd and containerd on the
# host through invoke-rc.d; a policy-rc.d that says no (exit 101) is put in
# place for the install when the machine has none, and removed after.
set -eu
cd "$(dirname "$0")/.."
pkgs="podman conmon containerd docker.io containernetworking-plugins docker-registry iptables runc crun tini busybox-static util-linux procps iproute2"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "e2e: apt-get install$missing"
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -x bin/e2e/busybox/bin/busybox ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/rawns-busybox.XXXXXX")
	(cd "$work" && { apt-get download -qq busybox 2>/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get download busybox; }; })
	rm -rf bin/e2e/busybox
	mkdir -p bin/e2e
	dpkg-deb -x "$work"/busybox_*.deb bin/e2e/busybox
	rm -rf "$work"
fi
