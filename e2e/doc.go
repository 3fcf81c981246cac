// Package e2e drives real container engines with rawns as their OCI runtime,
// and with runc in the same run: podman 4.3 through conmon, containerd 1.6
// through ctr and its runc shim v2, dockerd through the same shim, and a
// Kubernetes node through containerd's CRI plugin, checked with the CRI
// conformance suite critest. Every engine is Debian's package, started by
// the test with its state, sockets and configuration under one temporary
// directory.
//
// The tests are behind the e2e build tag (`make e2e`), because they install
// and start daemons and take minutes. The test binary builds its own
// sandbox before any engine starts (main_test.go): it re-executes itself in
// new mount, network, PID, UTS and IPC namespaces, so that the bridges,
// iptables rules, mounts and processes the engines make exist only there,
// and checks from the host, after the sandbox is gone, that nothing of the
// run is left (leaks_test.go).
package e2e
