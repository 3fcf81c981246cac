//go:build race

package clone

func init() { raceEnabled = true }
