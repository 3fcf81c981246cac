// Command nonewprivs stands in for the nonewprivs image of the CRI
// conformance suite (e2e/criimages_test.go): installed set-user-ID root and
// run as an unprivileged user, it prints its effective user ID. That is 0
// unless the container's no_new_privs bit made execve ignore the
// set-user-ID bit (prctl(2) PR_SET_NO_NEW_PRIVS), which is what the suite
// checks.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("Effective uid: %d\n", os.Geteuid())
}
