package oci

var stateVerb = verb{
	name:  "state",
	usage: "print the state of a container (JSON)",
	run:   runState,
}

func runState(g *globals, args []string) error {
	_, rest, err := parse("state", nil, args, 1, "ID")
	if err != nil {
		return err
	}
	c, err := g.load(rest[0], false)
	if err != nil {
		return err
	}
	defer c.Release()
	st := c.OCIState()
	data, err := st.AppendJSON(nil)
	if err != nil {
		return err
	}
	_, err = g.stdout.Write(append(data, '\n'))
	return err
}
