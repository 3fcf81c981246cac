package security

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rawns/rawns/clone"
)

// User resolves --user UID[:GID] and --groups LIST into a credential.
// Names are looked up in root's /etc/passwd and /etc/group (root is the
// command's root directory: "/" on the host, the new root with a rootfs),
// never through NSS, which would read the host's databases and could load
// code. Numbers are taken as they are, whether the files know them or not.
//
// The group is GID when given; else the passwd entry's group; else, for a
// uid the passwd file does not know, the number of the uid (docker takes
// group 0 then, root's group, which rawns does not hand out unasked). The
// supplementary groups are groups when given (an empty list clears them);
// else those /etc/group lists the user's name in, as login(1) does.
func User(root, user string, groups []string, groupsGiven bool) (*clone.Credential, error) {
	uidS, gidS, hasGID := strings.Cut(user, ":")
	if uidS == "" || (hasGID && gidS == "") {
		return nil, fmt.Errorf("%q: give UID[:GID], numbers or names, e.g. 1000:1000 or nobody", user)
	}
	cred := &clone.Credential{}
	var name string
	pw, pwErr := readDB(root, "passwd")
	if uid, ok := parseID(uidS); ok {
		cred.UID = uid
		cred.GID = uid
		if e := findByID(pw, uid); e != nil {
			name = e[0]
			cred.GID, _ = parseID(e[3])
		}
	} else {
		if pwErr != nil {
			return nil, fmt.Errorf("user %q: %v; give a number instead", uidS, pwErr)
		}
		e := findByName(pw, uidS)
		if e == nil {
			return nil, fmt.Errorf("user %q not found in %s; give a number or a name it lists", uidS, filepath.Join(root, "etc/passwd"))
		}
		name = e[0]
		var ok1, ok2 bool
		cred.UID, ok1 = parseID(e[2])
		cred.GID, ok2 = parseID(e[3])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("user %q: bad entry in %s", uidS, filepath.Join(root, "etc/passwd"))
		}
	}
	var gr [][]string
	var grErr error
	needGroups := (hasGID && !isNumber(gidS)) || groupsGiven || name != ""
	if needGroups {
		gr, grErr = readDB(root, "group")
	}
	if hasGID {
		g, err := groupID(root, gr, grErr, gidS)
		if err != nil {
			return nil, err
		}
		cred.GID = g
	}
	if groupsGiven {
		cred.Groups = []uint32{}
		for _, s := range groups {
			g, err := groupID(root, gr, grErr, s)
			if err != nil {
				return nil, err
			}
			cred.Groups = append(cred.Groups, g)
		}
	} else if name != "" {
		for _, e := range gr {
			for _, m := range strings.Split(e[3], ",") {
				if m == name {
					if g, ok := parseID(e[2]); ok {
						cred.Groups = append(cred.Groups, g)
					}
				}
			}
		}
	}
	return cred, nil
}

func groupID(root string, gr [][]string, grErr error, s string) (uint32, error) {
	if g, ok := parseID(s); ok {
		return g, nil
	}
	if grErr != nil {
		return 0, fmt.Errorf("group %q: %v; give a number instead", s, grErr)
	}
	e := findByName(gr, s)
	if e == nil {
		return 0, fmt.Errorf("group %q not found in %s; give a number or a name it lists", s, filepath.Join(root, "etc/group"))
	}
	g, ok := parseID(e[2])
	if !ok {
		return 0, fmt.Errorf("group %q: bad entry in %s", s, filepath.Join(root, "etc/group"))
	}
	return g, nil
}

// readDB reads root/etc/NAME as colon-separated lines of at least 4 fields
// (passwd(5), group(5)); the file must stay inside root.
func readDB(root, name string) ([][]string, error) {
	f, err := os.OpenInRoot(root, "etc/"+name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var db [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		fs := strings.Split(l, ":")
		if len(fs) >= 4 {
			db = append(db, fs)
		}
	}
	return db, sc.Err()
}

func findByName(db [][]string, name string) []string {
	for _, e := range db {
		if e[0] == name {
			return e
		}
	}
	return nil
}

func findByID(db [][]string, id uint32) []string {
	for _, e := range db {
		if v, ok := parseID(e[2]); ok && v == id {
			return e
		}
	}
	return nil
}

func isNumber(s string) bool { _, ok := parseID(s); return ok }

// parseID parses a uid or gid; (uid_t)-1 is not one (setresuid(2) takes it
// as "unchanged").
func parseID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// NameID returns the id of a user (db "passwd") or group (db "group")
// named name in root/etc/DB: for unshare's --map-user NAME and
// --map-group NAME, which take the host's names (root "/").
func NameID(root, db, name string) (uint32, error) {
	d, err := readDB(root, db)
	if err != nil {
		return 0, err
	}
	e := findByName(d, name)
	if e == nil {
		return 0, fmt.Errorf("%q not found in %s", name, filepath.Join(root, "etc", db))
	}
	id, ok := parseID(e[2])
	if !ok {
		return 0, fmt.Errorf("%q: bad entry in %s", name, filepath.Join(root, "etc", db))
	}
	return id, nil
}
