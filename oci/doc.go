// Package oci maps an OCI bundle's config.json (the runtime-spec's own Go
// types, github.com/opencontainers/runtime-spec/specs-go) onto what rawns
// runs: a clone.Spec (namespaces, root, mounts, the privilege phase), a
// cgroup and its limits (package cgroup), and the hooks. There is no second
// configuration model in between: each field of config.json lands on the
// field of clone, cgroup or security that does its job, and a field rawns
// cannot honour is an error naming its JSON path
// ("linux.resources.memory.swappiness: not supported: ..."), never
// dropped. Features lists the same support as the runtime-spec's features
// document.
//
// The package is pure mapping: it reads the bundle (config.json, and the
// root's /etc/passwd for names) and makes no change to the system. The
// lifecycle (state, the start gate, hooks, kill, delete) is package
// container's; the command line is internal/cmd/oci's.
package oci
