// Command gen rebuilds internal/catalog/data/catalog.zip, the catalog
// embedded in skyplan, from two vms.csv files in SkyPilot's catalog format
// (the extract in /work/shared/catalog, or full upstream files: the same
// row selection applies). Run from the repository root:
//
//	go run ./internal/catalog/gen -aws aws-vms.csv -gcp gcp-vms.csv \
//	  -aws-commit SHA -gcp-commit SHA -read-on YYYY-MM-DD
//
// and update data/README.md (source, commits, date) to match.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/skyplan/skyplan/internal/catalog"
)

func main() {
	awsPath := flag.String("aws", "", "AWS vms.csv")
	gcpPath := flag.String("gcp", "", "GCP vms.csv")
	out := flag.String("out", "internal/catalog/data/catalog.zip", "archive to write")
	src := catalog.Source{Origin: "embedded",
		Repository: "github.com/skypilot-org/skypilot-catalog/catalogs/v7",
		License:    "Apache-2.0, © the SkyPilot authors"}
	flag.StringVar(&src.AWSCommit, "aws-commit", "", "upstream commit of aws/vms.csv")
	flag.StringVar(&src.GCPCommit, "gcp-commit", "", "upstream commit of gcp/vms.csv")
	flag.StringVar(&src.ReadOn, "read-on", "", "day the files were read, YYYY-MM-DD")
	flag.Parse()
	if err := run(*awsPath, *gcpPath, *out, src); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(awsPath, gcpPath, out string, src catalog.Source) error {
	if awsPath == "" || gcpPath == "" || src.ReadOn == "" {
		return fmt.Errorf("-aws, -gcp and -read-on are required")
	}
	awsCSV, err := os.ReadFile(awsPath)
	if err != nil {
		return err
	}
	gcpCSV, err := os.ReadFile(gcpPath)
	if err != nil {
		return err
	}
	archive, err := catalog.BuildArchive(awsCSV, gcpCSV, src)
	if err != nil {
		return err
	}
	return os.WriteFile(out, archive, 0o644)
}
