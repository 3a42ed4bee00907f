// compose-check loads Compose files the way `docker compose config` does (compose-go: schema
// validation, interpolation, merge, consistency checks) and prints the resolved project as YAML.
// No Docker engine is needed. Usage: compose-check FILE [KEY=VALUE ...]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE [KEY=VALUE ...]")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions(os.Args[1:2], cli.WithEnv(os.Args[2:]), cli.WithConsistency(true))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
