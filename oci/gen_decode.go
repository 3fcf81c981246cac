//go:build ignore

// gen_decode writes decode_gen.go (go generate ./oci/); the generator is
// oci/internal/specgen.
package main

import (
	"log"
	"os"

	"github.com/rawns/rawns/oci/internal/specgen"
)

func main() {
	src, err := specgen.Generate()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("decode_gen.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
