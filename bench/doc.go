// Package bench is rawns's benchmark: the same job (spawn a command in new
// namespaces and reap it) done by every way a Go program can do it, side by
// side with a C program that does only the system calls the job needs.
//
// Two views. In process, each strategy spawns from inside this process and
// each spawn is timed from the call to the reap; the C reference times its
// own spawns in a loop (spawn-c --loop), so its start-up is not counted
// either. Whole process, each tool (rawns run, the C reference binary,
// unshare, bubblewrap, crun, runc) is started and reaped as a program,
// start to exit, which is what a user of a CLI pays.
//
// The machines this runs on are noisy: shared vCPUs, frequency changes,
// other tenants. So the strategies run in interleaved rounds, in a fresh
// random order each round, after warm-up rounds that are not counted; a
// strategy's ratio to the reference is the median over rounds of the
// ratio of the two round medians. Drift slower than a round cancels in each
// pair, and the median discards the rounds a burst of noise spoiled.
//
// The package does no work when the program starts (no init, no computed
// package variables): rawns run links it and must not pay for it.
package bench
