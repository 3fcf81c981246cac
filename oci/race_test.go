//go:build race

package oci

func init() { raceEnabled = true }
