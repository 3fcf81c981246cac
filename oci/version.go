package oci

import specs "github.com/opencontainers/runtime-spec/specs-go"

// specVersion is the runtime-spec version of the Go types rawns reads
// config.json with.
var specVersion = specs.Version

// SpecVersion is the runtime-spec version rawns implements.
func SpecVersion() string { return specVersion }
