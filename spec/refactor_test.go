package spec_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/spec"
)

const refactorBase = `
variable "bucket_id" {
  default = "legacy-data"
}
cloud "aws" {
  regions = ["us-east-1"]
}
bucket "d" {
  cloud = "aws"
  name  = "data-bucket-d"
}
bucket "e" {
  cloud = "aws"
  name  = "data-bucket-e"
}
`

func TestMovedAndImportBlocks(t *testing.T) {
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": refactorBase + `
moved {
  from = bucket.c
  to   = bucket.d
}
import {
  to = bucket.e
  id = var.bucket_id
}
`}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if d := cmp.Diff([]spec.Moved{{From: "bucket.c", To: "bucket.d"}}, cfg.Moved, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Range" }, cmp.Ignore())); d != "" {
		t.Errorf("moved (-want +got):\n%s", d)
	}
	if len(cfg.Imports) != 1 || cfg.Imports[0].To != "bucket.e" || cfg.Imports[0].ID != "legacy-data" {
		t.Errorf("imports = %+v", cfg.Imports)
	}
}

func TestRefactorBlockErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, summary, detail string
	}{
		{"move between types", "moved {\n  from = cluster.c\n  to   = bucket.d\n}\n", "Move between types", "keeps the resource type"},
		{"move from a declared resource", "moved {\n  from = bucket.e\n  to   = bucket.d\n}\n", "Moved from a declared resource", "no longer in the spec"},
		{"move to nothing", "moved {\n  from = bucket.c\n  to   = bucket.x\n}\n", "Moved to an undeclared resource", "no bucket.x"},
		{"quoted address", "moved {\n  from = \"bucket.c\"\n  to   = bucket.d\n}\n", "Invalid address", "no quotes"},
		{"two moves to one", "moved {\n  from = bucket.a\n  to   = bucket.d\n}\nmoved {\n  from = bucket.b\n  to   = bucket.d\n}\n", "Duplicate move", "already moves to bucket.d"},
		{"a chain needs its middle declared", "moved {\n  from = bucket.a\n  to   = bucket.c\n}\nmoved {\n  from = bucket.c\n  to   = bucket.d\n}\n", "Moved to an undeclared resource", "no bucket.c"},
		{"import to nothing", "import {\n  to = bucket.x\n  id = \"x\"\n}\n", "Import to an undeclared resource", "skyplan import --generate-config"},
		{"empty import id", "import {\n  to = bucket.e\n  id = \"\"\n}\n", "Invalid import id", "non-empty string"},
		{"import and move to one", "moved {\n  from = bucket.c\n  to   = bucket.d\n}\nimport {\n  to = bucket.d\n  id = \"x\"\n}\n", "Import and move to one address", "keep one"},
		{"a candidate region outside regions", "cluster \"t\" {\n  cloud         = \"aws\"\n  regions       = [\"us-east-1\", \"eu-west-1\"]\n  instance_type = \"p4d.24xlarge\"\n}\n", "Region outside the cloud's regions", `Add "eu-west-1" to the cloud block's regions`},
		{"region outside regions", "cluster \"t\" {\n  cloud         = \"aws\"\n  region        = \"eu-west-1\"\n  instance_type = \"t3.micro\"\n}\n", "Region outside the cloud's regions", `Add "eu-west-1" to the cloud block's regions`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := caseLoad(t, map[string]string{"main.hcl": refactorBase + tc.src}, spec.Options{})
			d := caseFindDiag(t, diags, tc.summary)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tc.detail)
			}
			if d.Subject == nil || d.Subject.Start.Line == 0 {
				t.Errorf("diagnostic without a source range: %+v", d)
			}
		})
	}
}
