package oci

import (
	"encoding/json"
	"fmt"

	ocispec "github.com/rawns/rawns/oci"
)

var featuresVerb = verb{
	name:  "features",
	usage: "print what this runtime supports (the runtime-spec's features JSON)",
	run: func(g *globals, args []string) error {
		if _, _, err := parse("features", nil, args, 0, "no arguments"); err != nil {
			return err
		}
		f := ocispec.Features(map[string]string{"io.github.rawns.version": g.version})
		data, err := json.MarshalIndent(f, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s\n", data)
		return nil
	},
}
