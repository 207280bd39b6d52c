package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/spec"
)

// located is one diagnostic as a user sees it: what and where.
type located struct {
	Summary   string
	File      string
	Line, Col int
}

func locate(diags hcl.Diagnostics) []located {
	var out []located
	for _, d := range diags {
		l := located{Summary: d.Summary}
		if d.Subject != nil {
			l.File, l.Line, l.Col = d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
		}
		out = append(out, l)
	}
	return out
}

// TestEveryIndependentErrorIsReportedOnce: problems in different blocks are
// all reported in one run, each once, and what is computed from a broken
// value is not reported again.
func TestEveryIndependentErrorIsReportedOnce(t *testing.T) {
	cases := []struct {
		name string
		src  string // err.hcl, next to caseBase in base.hcl
		opts spec.Options
		want []located
	}{
		{name: "type, unknown attribute and undeclared reference in three resources",
			src: `cluster "typed" {
  cloud         = "aws"
  instance_type = "m6i.large"
  nodes         = "two"
}
bucket "attr" {
  cloud  = "aws"
  name   = "attr-bucket"
  colour = "red"
}
bucket "ref" {
  cloud = "aws"
  name  = bucket.nope.name
}
`,
			want: []located{
				{"Incorrect attribute value type", "err.hcl", 4, 19},
				{"Unsupported argument", "err.hcl", 9, 3},
				{"Reference to undeclared resource", "err.hcl", 13, 11},
			}},
		{name: "two problems in one block",
			src: "bucket \"two\" {\n  cloud      = \"aws\"\n  name       = \"two-bucket\"\n  versioning = \"sometimes\"\n  colour     = \"red\"\n}\n",
			want: []located{
				{"Incorrect attribute value type", "err.hcl", 4, 16},
				{"Unsupported argument", "err.hcl", 5, 3},
			}},
		{name: "an undeclared local is reported where it is read, not again downstream",
			src: `locals {
  a = local.nope
  b = "${local.a}-x"
}
bucket "l" {
  cloud = "aws"
  name  = local.b
}
bucket "m" {
  cloud = "aws"
  name  = local.nope
}
`,
			want: []located{
				{"Reference to undeclared local value", "err.hcl", 2, 7},
				{"Reference to undeclared local value", "err.hcl", 11, 11},
			}},
		{name: "a bad variable declaration is reported, not its readers",
			src: `variable "n" {
  type    = number
  default = "many"
}
cluster "c" {
  cloud         = "aws"
  instance_type = "m6i.large"
  nodes         = var.n
}
bucket "b2" {
  cloud      = "aws"
  name       = "b2-bucket"
  versioning = 3
  colour     = "red"
}
`,
			want: []located{
				{"Invalid default value for variable", "err.hcl", 3, 13},
				{"Incorrect attribute value type", "err.hcl", 13, 16},
				{"Unsupported argument", "err.hcl", 14, 3},
			}},
		{name: "missing required variable and an invalid -var, with their readers quiet",
			src: `variable "region" {}
variable "count" {
  type = number
}
bucket "r" {
  cloud  = "aws"
  name   = "r-bucket"
  region = var.region
}
cluster "n" {
  cloud         = "aws"
  instance_type = "m6i.large"
  nodes         = var.count
}
`,
			opts: spec.Options{Vars: []string{"count=lots"}},
			want: []located{
				{"Invalid value for variable", "", 0, 0},
				{"No value for required variable", "err.hcl", 1, 1},
			}},
		{name: "the whole var object with a broken variable in it",
			src: `variable "n" {
  type    = number
  default = "many"
}
bucket "all" {
  cloud  = "aws"
  name   = "all-bucket"
  labels = { for k, v in var : k => "${v}" }
}
`,
			want: []located{
				{"Invalid default value for variable", "err.hcl", 3, 13},
			}},
		{name: "a cycle and an unrelated error",
			src: `locals {
  a = local.b
  b = local.a
}
bucket "uses_cycle" {
  cloud = "aws"
  name  = local.a
}
cluster "bad" {
  cloud         = "aws"
  instance_type = "m6i.large"
  disk_size     = "big"
}
`,
			want: []located{
				{"Reference cycle", "err.hcl", 2, 3},
				{"Incorrect attribute value type", "err.hcl", 12, 19},
			}},
		{name: "an unknown cloud block, its resources quiet, another cloud's resource checked",
			src: `cloud "azure" {}
bucket "az" {
  cloud = "azure"
  name  = "az-bucket"
}
cluster "aws_bad" {
  cloud = "aws"
}
`,
			want: []located{
				{"Unknown cloud", "err.hcl", 1, 7},
				{"Missing instance_type or accelerators", "err.hcl", 6, 1},
			}},
		{name: "an error in a resource leaves its readers quiet",
			src: `bucket "src" {
  cloud      = "aws"
  name       = "src-bucket"
  versioning = "yes please"
}
jobs_controller "ctl" {
  cloud  = "aws"
  bucket = bucket.src.name
}
bucket "other" {
  cloud  = "aws"
  name   = "other-bucket"
  labels = "not a map"
}
`,
			want: []located{
				{"Incorrect attribute value type", "err.hcl", 4, 16},
				{"Incorrect attribute value type", "err.hcl", 13, 12},
			}},
		{name: "unknown block type, invalid name and a duplicate, all at once",
			src: "widget \"w\" {}\nbucket \"9lives\" {\n  cloud = \"aws\"\n  name  = \"n\"\n}\nbucket \"base\" {\n  cloud = \"aws\"\n  name  = \"dup\"\n}\n",
			want: []located{
				{"Unsupported block type", "err.hcl", 1, 1},
				{"Invalid resource name", "err.hcl", 2, 8},
				{"Duplicate bucket.base", "err.hcl", 6, 1},
			}},
		{name: "skyplan block and resources",
			src: "skyplan {\n  workspace = \"Prod!\"\n}\nbucket \"x\" {\n  cloud = \"aws\"\n}\n",
			want: []located{
				{"Invalid workspace name", "err.hcl", 2, 15},
				{"Missing required argument", "err.hcl", 4, 12},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := caseLoad(t, map[string]string{"base.hcl": caseBase, "err.hcl": tc.src}, tc.opts)
			if d := cmp.Diff(tc.want, locate(diags)); d != "" {
				t.Errorf("diagnostics (-want +got):\n%s\n%s", d, diagText(diags))
			}
		})
	}
}

func TestSyntaxErrorsOfEveryFileButNothingAfter(t *testing.T) {
	// A file that does not parse cannot say what it declares, so references
	// into it cannot be checked: loading stops after parsing, with the
	// syntax errors of every file.
	_, diags := caseLoad(t, map[string]string{
		"a.hcl": "bucket \"a\" {\n  cloud = \"aws\"\n",
		"b.hcl": "bucket \"b\" {\n  cloud = = \"aws\"\n}\n",
		"c.hcl": "bucket \"c\" {\n  cloud = \"aws\"\n  name  = bucket.a.name\n  colour = 1\n}\n",
	}, spec.Options{})
	want := []located{
		{"Unclosed configuration block", "a.hcl", 1, 12},
		{"Invalid expression", "b.hcl", 2, 11},
	}
	if d := cmp.Diff(want, locate(diags)); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s\n%s", d, diagText(diags))
	}
}

func TestErrorsAreCappedPerFile(t *testing.T) {
	var many strings.Builder
	for i := range spec.MaxDiagnosticsPerFile + 7 {
		fmt.Fprintf(&many, "bucket \"b%d\" {\n  cloud  = \"aws\"\n  name   = \"b%d-bucket\"\n  colour = \"red\"\n}\n", i, i)
	}
	_, diags := caseLoad(t, map[string]string{
		"base.hcl": caseBase,
		"many.hcl": many.String(),
		"one.hcl":  "bucket \"one\" {\n  cloud = \"aws\"\n  name  = [\"x\"]\n}\n",
	}, spec.Options{})
	got := locate(diags)
	perFile := map[string]int{}
	for _, l := range got {
		perFile[l.File]++
	}
	if perFile["many.hcl"] != spec.MaxDiagnosticsPerFile+1 || perFile["one.hcl"] != 1 {
		t.Errorf("diagnostics per file = %v, want %d for many.hcl (with the count) and 1 for one.hcl", perFile, spec.MaxDiagnosticsPerFile+1)
	}
	last := diags[len(diags)-1]
	if want := (located{"And 7 more errors in many.hcl", "many.hcl", 5*spec.MaxDiagnosticsPerFile + 4, 3}); locate(hcl.Diagnostics{last})[0] != want {
		t.Errorf("last diagnostic = %+v, want %+v", locate(hcl.Diagnostics{last})[0], want)
	}
}
