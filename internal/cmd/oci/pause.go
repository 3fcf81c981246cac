package oci

var pauseVerb = verb{
	name:  "pause",
	usage: "freeze every process of a container (its cgroup's freezer)",
	run: func(g *globals, args []string) error {
		_, rest, err := parse("pause", nil, args, 1, "ID")
		if err != nil {
			return err
		}
		c, err := g.load(rest[0], true)
		if err != nil {
			return err
		}
		defer c.Release()
		return c.Pause()
	},
}

var resumeVerb = verb{
	name:  "resume",
	usage: "thaw a paused container",
	run: func(g *globals, args []string) error {
		_, rest, err := parse("resume", nil, args, 1, "ID")
		if err != nil {
			return err
		}
		c, err := g.load(rest[0], true)
		if err != nil {
			return err
		}
		defer c.Release()
		return c.Resume()
	},
}
