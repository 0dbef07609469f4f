// compose-check loads a Compose file with compose-go, the library `docker compose` itself
// uses, so the file is validated against the Compose specification's JSON schema and
// interpolated and normalised exactly as `docker compose config` would, without a
// container engine. It also checks that every bind-mounted host path and build context
// exists. Exit status 1 on any problem.
//
// Usage: go run ./deploy/tools/compose-check deploy/docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose file>")
		os.Exit(2)
	}
	options, err := cli.NewProjectOptions([]string{os.Args[1]}, cli.WithOsEnv, cli.WithResolvedPaths(true))
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	problems := 0
	for _, name := range project.ServiceNames() {
		service := project.Services[name]
		if service.Build != nil {
			dockerfile := service.Build.Dockerfile
			if !filepath.IsAbs(dockerfile) {
				dockerfile = filepath.Join(service.Build.Context, dockerfile)
			}
			problems += mustExist(name, "build context", service.Build.Context)
			problems += mustExist(name, "Dockerfile", dockerfile)
		}
		for _, volume := range service.Volumes {
			if volume.Type == types.VolumeTypeBind {
				problems += mustExist(name, "bind mount", volume.Source)
			}
		}
	}
	if problems > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: valid compose project %q with services %v\n", os.Args[1], project.Name, project.ServiceNames())
}

func mustExist(service, what, path string) int {
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(os.Stderr, "service %s: %s %s: %v\n", service, what, path, err)
		return 1
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "invalid compose file:", err)
	os.Exit(1)
}
