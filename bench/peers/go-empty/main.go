// Command go-empty does nothing: it is the floor of any Go tool in
// rawns bench --whole, the Go runtime's own start-up and exit.
package main

func main() {}
