package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Children lists the children of pid, from /proc/PID/task/*/children
// (proc(5)).
func Children(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(s)
			kids = append(kids, n)
		}
	}
	return kids
}

// Descendants lists every process below pid.
func Descendants(pid int) []int {
	var all []int
	queue := []int{pid}
	for len(queue) > 0 {
		kids := Children(queue[0])
		queue = append(queue[1:], kids...)
		all = append(all, kids...)
	}
	return all
}

// ProcessAlive reports whether pid exists and is not a zombie.
func ProcessAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
