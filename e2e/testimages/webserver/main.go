// Command webserver stands in for the web servers of the images the CRI
// conformance suite (critest) pulls from registry.k8s.io, which is not
// reachable here (e2e/criimages_test.go). It is installed as nginx and as
// httpd, and does what the suite checks of each, by the name it runs as:
//
//   - nginx: PID 1's command line says "master process" (it re-executes
//     itself with that argv[0]; comm stays "nginx", the file's name, for
//     pidof), and it writes its pid to /var/run/nginx.pid;
//   - httpd: it logs a line naming httpd when it starts, as Apache does.
//
// Both answer HTTP GET / with 200 on $PORT (default 80), and exit on
// SIGTERM, SIGINT or SIGQUIT.
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
)

const nginxTitle = "nginx: master process nginx -g daemon off;"

func main() {
	self, _ := os.Executable()
	name := filepath.Base(self)
	if name == "nginx" && os.Args[0] != nginxTitle {
		err := syscall.Exec("/proc/self/exe", []string{nginxTitle}, os.Environ())
		fmt.Fprintln(os.Stderr, "nginx: exec:", err)
		os.Exit(1)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	switch name {
	case "nginx":
		if err := os.MkdirAll("/var/run", 0o755); err == nil {
			os.WriteFile("/var/run/nginx.pid", []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
		}
	default:
		fmt.Fprintf(os.Stderr, "%s: serving on port %s (pid %d)\n", name, port, os.Getpid())
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		<-sigs
		os.Exit(0)
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html><body><h1>It works! (%s)</h1></body></html>\n", name)
	})
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
