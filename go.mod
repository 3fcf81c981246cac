module github.com/rawns/rawns

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0
	github.com/moby/profiles/seccomp v0.3.0
	github.com/opencontainers/runtime-spec v1.2.1
	golang.org/x/sys v0.50.0
)

tool github.com/cilium/ebpf/cmd/bpf2go
