// kubectl-dev-agent: the pod's end of kubectl-dev's reverse forwards. kubectl-dev copies it into
// the sync sidecar and runs it with exec; it listens on 127.0.0.1:PORT for each port given and
// carries every connection to kubectl-dev over the exec session's stdin and stdout, which are
// its only way in (no other listener).
//
//	kubectl-dev-agent serve PORT...
//	kubectl-dev-agent version
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "version" {
		fmt.Println(helloText)
		return
	}
	if len(os.Args) < 3 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: kubectl-dev-agent serve PORT... | version")
		os.Exit(2)
	}
	var ports []int
	for _, arg := range os.Args[2:] {
		port, err := strconv.Atoi(arg)
		if err != nil || port < 1 || port > 65535 {
			fmt.Fprintf(os.Stderr, "kubectl-dev-agent: %q is not a port\n", arg)
			os.Exit(2)
		}
		ports = append(ports, port)
	}
	if err := newAgent(45*time.Second).serve(os.Stdin, os.Stdout, ports); err != nil {
		fmt.Fprintf(os.Stderr, "kubectl-dev-agent: %v\n", err)
		os.Exit(1)
	}
}
