// Command specgen writes a generated spec directory (internal/specgen) for
// scale checks of the CLI, e.g.
//
//	go run ./internal/cmd/specgen -n 100000 -dir /tmp/spec100k
//	/usr/bin/time -v go run ./cmd/skyplan --chdir /tmp/spec100k validate
package main

import (
	"flag"
	"fmt"
	"log"

	"github.com/skyplan/skyplan/internal/specgen"
)

func main() {
	n := flag.Int("n", 10000, "number of resources")
	dir := flag.String("dir", "", "directory to write (required)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("specgen: -dir DIR is required")
	}
	if err := specgen.Write(*dir, *n); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %d resources to %s\n", specgen.Resources(*n), *dir)
}
