package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawns/rawns/internal/cli"
	ocispec "github.com/rawns/rawns/oci"
)

var specVerb = verb{
	name:  "spec",
	usage: "write a default config.json (--rootless: for a user without root)",
	run:   runSpec,
}

func runSpec(g *globals, args []string) error {
	flags, _, err := parse("spec", []cli.Def{{Name: "bundle", Short: "b", Kind: cli.String}, {Name: "rootless", Kind: cli.Bool}}, args, 0, "no arguments")
	if err != nil {
		return err
	}
	dir := flags.Get("bundle", ".")
	name := filepath.Join(dir, ocispec.ConfigFile)
	data, err := json.MarshalIndent(ocispec.DefaultSpec(flags.Has("rootless")), "", "\t")
	if err != nil {
		return err
	}
	// O_EXCL: an existing config.json is the user's; runc refuses too.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("spec: %s exists; remove it first", name)
	}
	if err != nil {
		return fmt.Errorf("spec: %v", err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
