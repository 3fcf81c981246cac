package oci

var startVerb = verb{
	name:  "start",
	usage: "start a created container's program",
	run:   runStart,
}

// runStart lets the created container's process through its start gate,
// then runs the poststart hooks (their failures are warnings).
func runStart(g *globals, args []string) error {
	_, rest, err := parse("start", nil, args, 1, "ID")
	if err != nil {
		return err
	}
	c, err := g.load(rest[0], true)
	if err != nil {
		return err
	}
	err = c.Start()
	c.Release()
	if err != nil {
		return err
	}
	for _, w := range c.Started() {
		g.warn(w)
	}
	return nil
}
