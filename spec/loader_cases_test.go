package spec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/spec"
)

const caseValidSpec = `skyplan {
  workspace = "prod"
  backend "s3" {
    bucket = "state-bucket"
    key    = "skyplan/state.json"
    region = "us-east-1"
  }
}

variable "team" {
  default = "ml"
}

variable "nodes" {
  type    = number
  default = 2
}

variable "token" {
  type      = string
  default   = "s3cr3t"
  sensitive = true
}

locals {
  bucket_name   = bucket.jobs.name
  common_labels = { team = var.team }
  auth          = "Bearer ${var.token}"
}

cloud "aws" {
  regions = ["us-west-2", "us-east-1"]
}

cloud "gcp" {
  project = "my-proj"
}

cloud "kubernetes" {
  context = "kind-ml"
}

cluster "train" {
  cloud        = "aws"
  accelerators = "a100:8"
  nodes        = var.nodes
  labels       = merge(local.common_labels, { auth = local.auth })
}

cluster "tune" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "a2-highgpu-1g"
  labels        = { data = bucket.jobs.name }
}

bucket "jobs" {
  cloud = "aws"
  name  = "ml-jobs-bucket"
}

jobs_controller "main" {
  cloud      = "gcp"
  zone       = "us-central1-a"
  bucket     = local.bucket_name
  job_clouds = ["aws", "gcp"]
  lifecycle {
    allow_replace = true
  }
}

gpu_label_policy "labels" {
  cloud     = "kubernetes"
  overrides = { "g5.xlarge" = "A10G" }
}
`

func caseLoad(t *testing.T, files map[string]string, opts spec.Options) (*spec.Config, hcl.Diagnostics) {
	t.Helper()
	sources := map[string][]byte{}
	for p, s := range files {
		sources[p] = []byte(s)
	}
	return spec.LoadSources(sources, opts)
}

func TestCaseLoadValidSpec(t *testing.T) {
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": caseValidSpec}, spec.Options{})
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags.Error())
	}
	want := []*spec.Resource{
		{Type: "bucket", Name: "jobs", Attrs: map[string]any{
			"cloud": "aws", "name": "ml-jobs-bucket", "region": "us-west-2", "versioning": false, "force_destroy": false,
		}},
		{Type: "cluster", Name: "train", Attrs: map[string]any{
			"cloud": "aws", "region": "us-west-2", "accelerators": "A100:8", "instance_type": "p4d.24xlarge",
			"nodes": int64(2), "disk_size": int64(256), "disk_tier": "medium", "use_spot": false, "use_internal_ips": false,
			"labels": map[string]string{"team": "ml", "auth": "Bearer s3cr3t"},
		}, Sensitive: map[string]bool{"labels": true}},
		{Type: "cluster", Name: "tune", Attrs: map[string]any{
			"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "a2-highgpu-1g", "accelerators": "A100:1",
			"nodes": int64(1), "disk_size": int64(256), "disk_tier": "medium", "use_spot": false, "use_internal_ips": false,
			"labels": map[string]string{"data": "ml-jobs-bucket"},
		}, DependsOn: []string{"bucket.jobs"}},
		{Type: "gpu_label_policy", Name: "labels", Attrs: map[string]any{
			"cloud": "kubernetes", "label_key": "skypilot.co/accelerator", "overrides": map[string]string{"g5.xlarge": "A10G"}, "overwrite": false,
		}},
		{Type: "jobs_controller", Name: "main", Attrs: map[string]any{
			"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "n2-standard-4", "disk_size": int64(50),
			"bucket": "ml-jobs-bucket", "job_clouds": []string{"aws", "gcp"},
		}, DependsOn: []string{"bucket.jobs"}, AllowReplace: true},
	}
	ignoreRanges := cmpopts.IgnoreFields(spec.Resource{}, "DeclRange", "AttrRanges")
	if d := cmp.Diff(want, cfg.Resources, ignoreRanges); d != "" {
		t.Errorf("resources (-want +got):\n%s", d)
	}
	var addrs []string
	for _, r := range cfg.Resources {
		addrs = append(addrs, r.Address())
	}
	wantAddrs := []string{"bucket.jobs", "cluster.train", "cluster.tune", "gpu_label_policy.labels", "jobs_controller.main"}
	if d := cmp.Diff(wantAddrs, addrs); d != "" {
		t.Errorf("addresses (-want +got):\n%s", d)
	}
	if got := cfg.Resource("cluster.train").DeclRange; got.Start.Line != 43 || got.Start.Column != 1 || got.Filename != "main.hcl" {
		t.Errorf("cluster.train DeclRange = %s, want main.hcl:43,1", got)
	}
	if got := cfg.Resource("cluster.train").Range("nodes"); got.Start.Line != 46 || got.Start.Column != 18 {
		t.Errorf("cluster.train nodes range = %s, want line 46 column 18", got)
	}

	if cfg.Workspace != "prod" {
		t.Errorf("workspace = %q, want prod", cfg.Workspace)
	}
	wantBackend := spec.Backend{Type: "s3", Attrs: map[string]string{"bucket": "state-bucket", "key": "skyplan/state.json", "region": "us-east-1"}}
	if d := cmp.Diff(wantBackend, cfg.Backend, cmpopts.IgnoreFields(spec.Backend{}, "Range")); d != "" {
		t.Errorf("backend (-want +got):\n%s", d)
	}
	wantClouds := map[string]map[string]any{
		"aws":        {"regions": []string{"us-west-2", "us-east-1"}},
		"gcp":        {"project": "my-proj"},
		"kubernetes": {"context": "kind-ml"},
	}
	gotClouds := map[string]map[string]any{}
	for name, c := range cfg.Clouds {
		if c.Name != name {
			t.Errorf("cloud %q has Name %q", name, c.Name)
		}
		gotClouds[name] = c.Attrs
	}
	if d := cmp.Diff(wantClouds, gotClouds); d != "" {
		t.Errorf("clouds (-want +got):\n%s", d)
	}
	if got := cfg.Clouds["kubernetes"].Capabilities(); !cmp.Equal(got, []spec.Capability{spec.CapCompute}) {
		t.Errorf("kubernetes capabilities = %v", got)
	}
	if n := cfg.Variables["nodes"]; n.AsBigFloat().String() != "2" {
		t.Errorf("var.nodes = %#v, want 2", n)
	}
	if cfg.Hash == "" {
		t.Error("Hash is empty")
	}
}

func TestCaseLoadDefaultsWithoutSkyplanBlock(t *testing.T) {
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": `
cloud "aws" {}
bucket "b" {
  cloud  = "aws"
  name   = "b-bucket"
  region = "eu-west-1"
}
cloud "gcp" {}
bucket "g" {
  cloud = "gcp"
  name  = "g-bucket"
}
`}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Workspace != "default" {
		t.Errorf("workspace = %q, want default", cfg.Workspace)
	}
	if d := cmp.Diff(spec.Backend{Type: "local", Attrs: map[string]string{"path": ".skyplan/state.json"}}, cfg.Backend); d != "" {
		t.Errorf("backend (-want +got):\n%s", d)
	}
	if got := cfg.Resource("bucket.b").String("region"); got != "eu-west-1" {
		t.Errorf("explicit region replaced: %q", got)
	}
	if got := cfg.Resource("bucket.g").String("location"); got != "US" {
		t.Errorf("gcp bucket location = %q, want default US", got)
	}
}

const caseVarSpec = `
variable "team" {
  default = "default-team"
}
variable "nodes" {
  type    = number
  default = 1
}
variable "zones" {
  type    = list(string)
  default = []
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "c" {
  cloud         = "aws"
  instance_type = "m6i.large"
  nodes         = var.nodes
  labels        = { team = var.team, zones = join(",", var.zones) }
}
`

func TestCaseVariables(t *testing.T) {
	dir := t.TempDir()
	hclFile := filepath.Join(dir, "prod.vars.hcl")
	jsonFile := filepath.Join(dir, "prod.json")
	if err := os.WriteFile(hclFile, []byte("team = \"file-team\"\nnodes = 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jsonFile, []byte(`{"team": "json-team", "zones": ["a", "b"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Team  string
		Nodes int64
		Zones string
	}
	cases := []struct {
		name string
		opts spec.Options
		want result
	}{
		{"defaults", spec.Options{}, result{"default-team", 1, ""}},
		{"-var string", spec.Options{Vars: []string{"team=cli"}}, result{"cli", 1, ""}},
		{"-var number and list parsed as HCL", spec.Options{Vars: []string{"nodes=3", `zones=["x","y"]`}}, result{"default-team", 3, "x,y"}},
		{"-var with spaces around name", spec.Options{Vars: []string{" team =v"}}, result{"v", 1, ""}},
		{"hcl var file", spec.Options{VarFiles: []string{hclFile}}, result{"file-team", 4, ""}},
		{"json var file", spec.Options{VarFiles: []string{jsonFile}}, result{"json-team", 1, "a,b"}},
		{"later var file wins", spec.Options{VarFiles: []string{hclFile, jsonFile}}, result{"json-team", 4, "a,b"}},
		{"env", spec.Options{Env: []string{"SKYPLAN_VAR_team=env", "SKYPLAN_VAR_nodes=5", "SKYPLAN_VAR_other=ignored", "HOME=/x"}}, result{"env", 5, ""}},
		{"env beats var file", spec.Options{VarFiles: []string{hclFile}, Env: []string{"SKYPLAN_VAR_team=env"}}, result{"env", 4, ""}},
		{"-var beats env and var file", spec.Options{VarFiles: []string{hclFile}, Env: []string{"SKYPLAN_VAR_team=env", "SKYPLAN_VAR_nodes=5"}, Vars: []string{"team=cli"}}, result{"cli", 5, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := caseLoad(t, map[string]string{"main.hcl": caseVarSpec}, tc.opts)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			c := cfg.Resource("cluster.c")
			got := result{c.StringMap("labels")["team"], c.Int("nodes"), c.StringMap("labels")["zones"]}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestCaseVariableErrors(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.vars.hcl")
	if err := os.WriteFile(badFile, []byte("team = \"x\"\n\nnope = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	required := `variable "region" {}
cloud "aws" {}
bucket "b" {
  cloud  = "aws"
  name   = "b"
  region = var.region
}
`
	cases := []struct {
		name        string
		src         string
		opts        spec.Options
		summary     string
		detail      string
		subject     *hcl.Pos // nil: no subject expected (not from a file)
		subjectFile string
	}{
		{name: "undeclared -var", src: caseVarSpec, opts: spec.Options{Vars: []string{"nope=1"}},
			summary: "Value for undeclared variable", detail: `-var sets "nope"`},
		{name: "-var without =", src: caseVarSpec, opts: spec.Options{Vars: []string{"team"}},
			summary: "Invalid -var option", detail: `expected name=value`},
		{name: "-var number not a number", src: caseVarSpec, opts: spec.Options{Vars: []string{"nodes=many"}},
			summary: "Invalid value for variable", detail: `variable "nodes"`},
		{name: "env value not a number", src: caseVarSpec, opts: spec.Options{Env: []string{"SKYPLAN_VAR_nodes=[1"}},
			summary: "Invalid value for variable", detail: "SKYPLAN_VAR_nodes"},
		{name: "undeclared in var file", src: caseVarSpec, opts: spec.Options{Dir: dir, VarFiles: []string{badFile}},
			summary: "Value for undeclared variable", detail: `bad.vars.hcl sets "nope"`,
			subject: &hcl.Pos{Line: 3, Column: 1}, subjectFile: badFile},
		{name: "missing var file", src: caseVarSpec, opts: spec.Options{VarFiles: []string{filepath.Join(dir, "absent.hcl")}},
			summary: "Cannot read variable file"},
		{name: "missing required variable", src: required,
			summary: "No value for required variable", detail: `Variable "region" has no default`,
			subject: &hcl.Pos{Line: 1, Column: 1}, subjectFile: "main.hcl"},
		{name: "default does not match type", src: "variable \"n\" {\n  type    = number\n  default = \"x\"\n}\n",
			summary: "Invalid default value for variable", subject: &hcl.Pos{Line: 3, Column: 13}, subjectFile: "main.hcl"},
		{name: "duplicate variable", src: "variable \"a\" {\n  default = 1\n}\nvariable \"a\" {\n  default = 2\n}\n",
			summary: "Duplicate variable", subject: &hcl.Pos{Line: 4, Column: 1}, subjectFile: "main.hcl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := caseLoad(t, map[string]string{"main.hcl": tc.src}, tc.opts)
			d := caseFindDiag(t, diags, tc.summary)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tc.detail)
			}
			if tc.subject == nil {
				return
			}
			if d.Subject == nil {
				t.Fatalf("diagnostic %q has no Subject", d.Summary)
			}
			got := caseSubject{d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}
			want := caseSubject{tc.subjectFile, tc.subject.Line, tc.subject.Column}
			if got != want {
				t.Errorf("subject = %+v, want %+v", got, want)
			}
		})
	}
	// A required variable set from -var loads.
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": required}, spec.Options{Vars: []string{"region=eu-west-1"}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := cfg.Resource("bucket.b").String("region"); got != "eu-west-1" {
		t.Errorf("region = %q", got)
	}
}

type caseSubject struct {
	File         string
	Line, Column int
}

func caseFindDiag(t *testing.T, diags hcl.Diagnostics, summary string) *hcl.Diagnostic {
	t.Helper()
	if !diags.HasErrors() {
		t.Fatalf("expected error %q, got none", summary)
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary == summary {
			return d
		}
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary+": "+d.Detail)
	}
	t.Fatalf("no error %q; got:\n%s", summary, strings.Join(got, "\n"))
	return nil
}

// caseBase is valid on its own; each error case adds err.hcl next to it.
const caseBase = `cloud "aws" {
  regions = ["us-east-1"]
}

cloud "gcp" {}

bucket "base" {
  cloud = "aws"
  name  = "base-bucket"
}
`

// caseErrorCases are shared with the fuzzer as seeds.
var caseErrorCases = []struct {
	name    string
	src     string // err.hcl
	summary string
	detail  string
	line    int
	column  int
	file    string // defaults to err.hcl
}{
	{name: "unclosed block", src: "cluster \"x\" {\n  cloud = \"aws\"\n",
		summary: "Unclosed configuration block", line: 1, column: 13},
	{name: "unknown attribute", src: "bucket \"b\" {\n  cloud  = \"aws\"\n  name   = \"n\"\n  colour = \"red\"\n}\n",
		summary: "Unsupported argument", line: 4, column: 3},
	{name: "nodes is a word", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n  nodes         = \"two\"\n}\n",
		summary: "Incorrect attribute value type", detail: "number required", line: 4, column: 19},
	{name: "nodes is fractional", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n  nodes         = 1.5\n}\n",
		summary: "Invalid attribute value", detail: "whole number", line: 4, column: 19},
	{name: "negative nodes", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n  nodes         = -1\n}\n",
		summary: "Invalid nodes", line: 4, column: 19},
	{name: "missing cloud", src: "bucket \"b\" {\n  name = \"n\"\n}\n",
		summary: "Missing required argument", detail: `"cloud"`, line: 1, column: 12},
	{name: "duplicate address across files", src: "\nbucket \"base\" {\n  cloud = \"aws\"\n  name  = \"other\"\n}\n",
		summary: "Duplicate bucket.base", detail: "base.hcl:7,1", line: 2, column: 1},
	{name: "cycle between locals", src: "locals {\n  a = local.b\n  b = local.a\n}\n",
		summary: "Reference cycle", detail: "local.a → local.b → local.a", line: 2, column: 3},
	{name: "cycle between resources", src: "bucket \"a\" {\n  cloud = \"aws\"\n  name  = bucket.b.name\n}\nbucket \"b\" {\n  cloud = \"aws\"\n  name  = bucket.a.name\n}\n",
		summary: "Reference cycle", detail: "bucket.a → bucket.b → bucket.a", line: 1, column: 1},
	{name: "local self-reference", src: "locals {\n  a = local.a\n}\n",
		summary: "Self-reference", detail: "local.a refers to itself", line: 2, column: 7},
	{name: "cloud block referring to a resource", src: "cloud \"kubernetes\" {\n  context = bucket.base.name\n}\n",
		summary: "Reference cycle", detail: "a cloud block cannot refer to a resource", file: "base.hcl", line: 7, column: 1},
	{name: "self-reference", src: "bucket \"s\" {\n  cloud = \"aws\"\n  name  = bucket.s.cloud\n}\n",
		summary: "Self-reference", line: 3, column: 11},
	{name: "undeclared cloud", src: "gpu_label_policy \"p\" {\n  cloud = \"kubernetes\"\n}\n",
		summary: "Reference to undeclared cloud", detail: `cloud "kubernetes" {`, line: 2, column: 11},
	{name: "resource type on the wrong cloud", src: "cloud \"kubernetes\" {}\nbucket \"k\" {\n  cloud = \"kubernetes\"\n  name  = \"k\"\n}\n",
		summary: "Unsupported cloud for bucket", line: 3, column: 11},
	{name: "undeclared resource reference", src: "bucket \"r\" {\n  cloud = \"aws\"\n  name  = bucket.nope.name\n}\n",
		summary: "Reference to undeclared resource", detail: `bucket "nope"`, line: 3, column: 11},
	{name: "undeclared variable reference", src: "bucket \"r\" {\n  cloud = \"aws\"\n  name  = var.nope\n}\n",
		summary: "Reference to undeclared variable", detail: `"nope"`, line: 3, column: 11},
	{name: "undeclared local reference", src: "bucket \"r\" {\n  cloud = \"aws\"\n  name  = local.nope\n}\n",
		summary: "Reference to undeclared local value", line: 3, column: 11},
	{name: "unknown reference root", src: "bucket \"r\" {\n  cloud = \"aws\"\n  name  = widget.x.name\n}\n",
		summary: "Unknown reference", line: 3, column: 11},
	{name: "unknown block type", src: "\nwidget \"w\" {}\n",
		summary: "Unsupported block type", line: 2, column: 1},
	{name: "unknown cloud name", src: "cloud \"azure\" {}\n",
		summary: "Unknown cloud", detail: "aws, gcp, kubernetes", line: 1, column: 7},
	{name: "invalid disk_tier", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n  disk_tier     = \"fastest\"\n}\n",
		summary: "Invalid disk_tier", detail: "low, medium, high, ultra, best", line: 4, column: 19},
	{name: "gcp cluster without zone", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  instance_type = \"n2-standard-4\"\n}\n",
		summary: "Missing zone", line: 1, column: 1},
	{name: "cluster without instance_type or accelerators", src: "cluster \"c\" {\n  cloud = \"aws\"\n}\n",
		summary: "Missing instance_type or accelerators", detail: "p4d.24xlarge", line: 1, column: 1},
	{name: "unknown accelerator", src: "cluster \"c\" {\n  cloud        = \"aws\"\n  accelerators = \"Z999:1\"\n}\n",
		summary: "Invalid accelerators", detail: `unknown accelerator "Z999"`, line: 3, column: 18},
	{name: "accelerator count not offered", src: "cluster \"c\" {\n  cloud        = \"aws\"\n  accelerators = \"a100:3\"\n}\n",
		summary: "Accelerator not offered", detail: "offered: A100:8 (p4d.24xlarge)", line: 3, column: 18},
	{name: "accelerators contradict instance_type", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"p3.2xlarge\"\n  accelerators  = \"A100:8\"\n}\n",
		summary: "accelerators do not match instance_type", detail: "1× V100", line: 4, column: 19},
	{name: "instance type typo", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"p4d.24xl\"\n}\n",
		summary: "Unknown instance type", detail: "did you mean p4d.24xlarge?", line: 3, column: 19},
	{name: "instance type typo names the catalog update", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"p4d.24xl\"\n}\n",
		summary: "Unknown instance type", detail: "`skyplan catalog update` refreshes the catalog", line: 3, column: 19},
	{name: "unknown size of a GPU series", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  zone          = \"us-central1-a\"\n  instance_type = \"a2-highgpu-3g\"\n}\n",
		summary: "Unknown instance type", detail: "a2-highgpu-1g, a2-highgpu-2g or a2-highgpu-4g", line: 4, column: 19},
	{name: "controller instance type typo", src: "jobs_controller \"m\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.xlarg\"\n  bucket        = bucket.base.name\n}\n",
		summary: "Unknown instance type", detail: "did you mean m6i.xlarge?", line: 3, column: 19},
	{name: "accelerator typo", src: "cluster \"c\" {\n  cloud        = \"aws\"\n  accelerators = \"A10O:1\"\n}\n",
		summary: "Invalid accelerators", detail: "did you mean A100 or A10G?", line: 3, column: 18},
	{name: "unknown TPU size", src: "cluster \"t\" {\n  cloud           = \"gcp\"\n  zone            = \"us-central2-b\"\n  accelerators    = \"tpu-v4-9\"\n  runtime_version = \"tpu-ubuntu2204-base\"\n}\n",
		summary: "Unknown TPU type", detail: "did you mean tpu-v4-8?", line: 4, column: 21},
	{name: "TPU without runtime_version", src: "cluster \"t\" {\n  cloud        = \"gcp\"\n  zone         = \"us-east5-a\"\n  accelerators = \"tpu-v5p-8\"\n}\n",
		summary: "Missing runtime_version", detail: `runtime_version = "v2-alpha-tpuv5"`, line: 1, column: 1},
	{name: "unknown gcp zone", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  zone          = \"us-central1-g\"\n}\n",
		summary: "Unknown zone", detail: "did you mean us-central1-a, us-central1-b or us-central1-c?", line: 4, column: 19},
	{name: "GPU that n1 cannot attach", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  zone          = \"us-central1-a\"\n  instance_type = \"n1-standard-8\"\n  accelerators  = \"A100:1\"\n}\n",
		summary: "accelerators cannot be attached", detail: "built into their machine series", line: 5, column: 19},
	{name: "attached GPU count not offered", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  zone          = \"us-central1-a\"\n  instance_type = \"n1-standard-8\"\n  accelerators  = \"T4:3\"\n}\n",
		summary: "accelerators cannot be attached", detail: "does not attach 3× T4", line: 5, column: 19},
	{name: "GPU with no instance type in the catalog", src: "cluster \"g\" {\n  cloud        = \"gcp\"\n  zone         = \"us-central1-b\"\n  accelerators = \"B200:8\"\n}\n",
		summary: "Accelerator not offered", detail: "no gcp instance type in skyplan's catalog carries B200", line: 4, column: 18},
	{name: "TPU on aws", src: "cluster \"c\" {\n  cloud        = \"aws\"\n  accelerators = \"tpu-v4-8\"\n}\n",
		summary: "TPU on a cloud without TPUs", line: 3, column: 18},
	{name: "zone outside region", src: "cluster \"c\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n  zone          = \"eu-west-1a\"\n}\n",
		summary: "Zone outside region", line: 4, column: 19},
	{name: "gcp zone outside region", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  region        = \"europe-west4\"\n  zone          = \"us-central1-a\"\n}\n",
		summary: "Zone outside region", detail: `zone "us-central1-a" is in region "us-central1", not "europe-west4"`, line: 5, column: 19},
	{name: "gcp zone without a letter", src: "cluster \"g\" {\n  cloud         = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  zone          = \"us-central1\"\n}\n",
		summary: "Invalid zone", detail: "us-central1-a", line: 4, column: 19},
	{name: "bad workspace name", src: "skyplan {\n  workspace = \"Prod!\"\n}\n",
		summary: "Invalid workspace name", line: 2, column: 15},
	{name: "unsupported backend", src: "skyplan {\n  backend \"azurerm\" {}\n}\n",
		summary: "Unsupported backend", detail: `"azurerm"`, line: 2, column: 11},
	{name: "s3 backend without bucket", src: "skyplan {\n  backend \"s3\" {\n    key    = \"k\"\n    region = \"us-east-1\"\n  }\n}\n",
		summary: "Missing required argument", detail: `"bucket"`, line: 2, column: 16},
	{name: "duplicate skyplan block", src: "skyplan {}\nskyplan {}\n",
		summary: "Duplicate skyplan block", line: 2, column: 1},
	{name: "duplicate cloud block", src: "\ncloud \"aws\" {}\n",
		summary: "Duplicate cloud block", detail: "base.hcl:1,1", line: 2, column: 1},
	{name: "unknown capability", src: "cloud \"kubernetes\" {\n  capabilities = [\"gpu\"]\n}\n",
		summary: "Unknown capability", line: 2, column: 18},
	{name: "job_clouds names an undeclared cloud", src: "jobs_controller \"j\" {\n  cloud      = \"aws\"\n  bucket     = bucket.base.name\n  job_clouds = [\"aws\", \"kubernetes\"]\n}\n",
		summary: "Reference to undeclared cloud", detail: `job_clouds names "kubernetes"`, line: 4, column: 16},
	{name: "duplicate lifecycle block", src: "bucket \"l\" {\n  cloud = \"aws\"\n  name  = \"skyplan-l\"\n  lifecycle {}\n  lifecycle {\n    allow_replace = true\n  }\n}\n",
		summary: "Duplicate lifecycle block", detail: "err.hcl:4,3", line: 5, column: 3},
	{name: "invalid resource name", src: "bucket \"9lives\" {\n  cloud = \"aws\"\n  name  = \"n\"\n}\n",
		summary: "Invalid resource name", line: 1, column: 8},
}

func TestCaseLoadErrors(t *testing.T) {
	for _, tc := range caseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := caseLoad(t, map[string]string{"base.hcl": caseBase, "err.hcl": tc.src}, spec.Options{})
			caseEveryErrorHasSubject(t, diags)
			d := caseFindDiag(t, diags, tc.summary)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tc.detail)
			}
			if d.Subject == nil {
				t.Fatal("no Subject")
			}
			file := tc.file
			if file == "" {
				file = "err.hcl"
			}
			got := caseSubject{d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}
			want := caseSubject{file, tc.line, tc.column}
			if got != want {
				t.Errorf("subject = %+v, want %+v", got, want)
			}
		})
	}
}

func caseEveryErrorHasSubject(t *testing.T, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject == nil {
			t.Errorf("error %q (%s) has no Subject", d.Summary, d.Detail)
		}
	}
}

func TestCaseBaseIsValid(t *testing.T) {
	// The error cases are only meaningful if the base alone loads.
	_, diags := caseLoad(t, map[string]string{"base.hcl": caseBase}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}

func TestCaseLoadEmptyDir(t *testing.T) {
	dir := t.TempDir()
	// Variable files and hidden files are not spec files.
	for _, n := range []string{"prod.vars.hcl", ".hidden.hcl", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("a = 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := spec.Load(spec.Options{Dir: dir})
	if cfg == nil {
		t.Fatal("Load returned a nil Config")
	}
	d := caseFindDiag(t, diags, "No spec files")
	if !strings.Contains(d.Detail, dir) {
		t.Errorf("detail %q does not name the directory", d.Detail)
	}
	_, diags = spec.Load(spec.Options{Dir: filepath.Join(dir, "absent")})
	caseFindDiag(t, diags, "Cannot read spec directory")
}

func TestCaseLoadFromDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(caseBase), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, diags := spec.Load(spec.Options{Dir: dir})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Resource("bucket.base") == nil {
		t.Fatal("bucket.base not loaded")
	}
	if _, ok := cfg.Sources[filepath.Join(dir, "main.hcl")]; !ok {
		t.Errorf("Sources lacks main.hcl: %v", cfg.Sources)
	}
}

func TestCaseHash(t *testing.T) {
	load := func(src string, vars ...string) string {
		t.Helper()
		cfg, diags := caseLoad(t, map[string]string{"main.hcl": src}, spec.Options{Vars: vars})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return cfg.Hash
	}
	base := load(caseVarSpec)
	if again := load(caseVarSpec); again != base {
		t.Errorf("same input, different hash: %s vs %s", base, again)
	}
	if changed := load(caseVarSpec + "\n# comment\n"); changed == base {
		t.Error("changed file, same hash")
	}
	if withVar := load(caseVarSpec, "nodes=7"); withVar == base {
		t.Error("changed -var, same hash")
	}
	if load(caseVarSpec, "nodes=7") != load(caseVarSpec, "nodes=7") {
		t.Error("same -var, different hash")
	}
	if load(caseVarSpec, "nodes=1") != base {
		t.Error("-var equal to the default should hash like the default")
	}
}

func TestCaseParseAddress(t *testing.T) {
	cases := []struct {
		in, typ, name string
		ok            bool
	}{
		{"cluster.train", "cluster", "train", true},
		{"jobs_controller.main", "jobs_controller", "main", true},
		{"widget.x", "", "", false},
		{"cluster.", "", "", false},
		{"cluster", "", "", false},
		{"cluster.a.b", "", "", false},
		{"cluster.9x", "", "", false},
		{".train", "", "", false},
	}
	for _, tc := range cases {
		typ, name, err := spec.ParseAddress(tc.in)
		if (err == nil) != tc.ok || typ != tc.typ || name != tc.name {
			t.Errorf("ParseAddress(%q) = %q, %q, %v", tc.in, typ, name, err)
		}
	}
}

func TestCaseReferencesSeeCompletedValues(t *testing.T) {
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": `
variable "secret" {
  default   = "s3cr3t"
  sensitive = true
}
variable "context" {
  default = "kind-ml"
}
locals {
  ctx = var.context
}
cloud "aws" {
  regions = ["us-east-1"]
}
cloud "kubernetes" {
  context = local.ctx
}
cluster "a" {
  cloud        = "aws"
  accelerators = "a100:8"
}
bucket "s" {
  cloud = "aws"
  name  = var.secret
}
bucket "b" {
  cloud  = "aws"
  name   = "b-${bucket.s.region}"
  labels = { it = cluster.a.instance_type, acc = cluster.a.accelerators, region = cluster.a.region }
}
bucket "leak" {
  cloud  = "aws"
  name   = "leak"
  labels = { n = bucket.s.name }
}
`}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	b := cfg.Resource("bucket.b")
	// Values completed by validation (region from the cloud, instance_type
	// from accelerators, canonical accelerators) are what references see.
	want := map[string]string{"it": "p4d.24xlarge", "acc": "A100:8", "region": "us-east-1"}
	if d := cmp.Diff(want, b.StringMap("labels")); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if got := b.String("name"); got != "b-us-east-1" {
		t.Errorf("name = %q", got)
	}
	if len(b.Sensitive) != 0 {
		t.Errorf("bucket.b has sensitive attributes %v but references nothing sensitive", b.Sensitive)
	}
	// A value copied from a sensitive attribute stays sensitive.
	if d := cmp.Diff(map[string]bool{"labels": true}, cfg.Resource("bucket.leak").Sensitive); d != "" {
		t.Errorf("bucket.leak Sensitive (-want +got):\n%s", d)
	}
	if got := cfg.Clouds["kubernetes"].String("context"); got != "kind-ml" {
		t.Errorf("cloud context from a local = %q", got)
	}
	if d := cmp.Diff([]string{"bucket.s", "cluster.a"}, b.DependsOn); d != "" {
		t.Errorf("DependsOn (-want +got):\n%s", d)
	}
}

func TestCaseLoadSourcesKeepsInputAndReloads(t *testing.T) {
	varFile := filepath.Join(t.TempDir(), "prod.vars.hcl")
	if err := os.WriteFile(varFile, []byte("team = \"file-team\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sources := map[string][]byte{"main.hcl": []byte(caseVarSpec)}
	// Inside the spec directory: its lines may be shown.
	opts := spec.Options{Dir: filepath.Dir(varFile), VarFiles: []string{varFile}}
	first, diags := spec.LoadSources(sources, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if _, ok := first.Sources[varFile]; !ok {
		t.Error("Config.Sources lacks the variable file (needed for snippets)")
	}
	if len(sources) != 1 {
		t.Errorf("LoadSources modified its input: %d entries", len(sources))
	}
	second, diags := spec.LoadSources(sources, opts)
	if diags.HasErrors() {
		t.Fatalf("second load of the same sources: %s", diags.Error())
	}
	if first.Hash != second.Hash {
		t.Error("same sources and options, different hash")
	}
	// No sources at all must not panic, even with a variable file.
	if _, diags := spec.LoadSources(nil, opts); !diags.HasErrors() {
		t.Error("a variable file for an empty spec should be an error (undeclared variable)")
	}
}

func TestCaseCollectionReferences(t *testing.T) {
	// Names are chosen so that address order alone would evaluate the
	// referencing resource first: only a dependency edge makes these load.
	cases := []struct {
		name string
		src  string
		addr string
		want map[string]string // labels
		deps []string
	}{
		{name: "index with a literal name",
			src:  "bucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { r = cluster[\"z\"].region }\n}\n",
			addr: "bucket.a", want: map[string]string{"r": "us-east-1"}, deps: []string{"cluster.z"}},
		{name: "attribute by index",
			src:  "bucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { it = cluster.z[\"instance_type\"] }\n}\n",
			addr: "bucket.a", want: map[string]string{"it": "p4d.24xlarge"}, deps: []string{"cluster.z"}},
		{name: "whole resource type in a for expression",
			src:  "bucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { for k, c in cluster : k => c.instance_type }\n}\n",
			addr: "bucket.a", want: map[string]string{"y": "m6i.large", "z": "p4d.24xlarge"}, deps: []string{"cluster.y", "cluster.z"}},
		{name: "whole resource type through a local",
			src:  "locals {\n  clusters = cluster\n}\nbucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { z = local.clusters.z.accelerators }\n}\n",
			addr: "bucket.a", want: map[string]string{"z": "A100:8"}, deps: []string{"cluster.y", "cluster.z"}},
		{name: "index with a variable key depends on every member",
			src:  "variable \"pick\" {\n  default = \"y\"\n}\nbucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { it = cluster[var.pick].instance_type }\n}\n",
			addr: "bucket.a", want: map[string]string{"it": "m6i.large"}, deps: []string{"cluster.y", "cluster.z"}},
		{name: "whole locals object",
			src:  "locals {\n  team = \"ml\"\n}\nbucket \"a\" {\n  cloud  = \"aws\"\n  name   = \"a\"\n  labels = { for k, v in local : k => v }\n}\n",
			addr: "bucket.a", want: map[string]string{"team": "ml"}},
	}
	clusters := "cloud \"aws\" {\n  regions = [\"us-east-1\"]\n}\ncluster \"z\" {\n  cloud        = \"aws\"\n  accelerators = \"A100:8\"\n}\ncluster \"y\" {\n  cloud         = \"aws\"\n  instance_type = \"m6i.large\"\n}\n"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := caseLoad(t, map[string]string{"a.hcl": tc.src, "z.hcl": clusters}, spec.Options{})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			r := cfg.Resource(tc.addr)
			if d := cmp.Diff(tc.want, r.StringMap("labels")); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.deps, r.DependsOn, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("DependsOn (-want +got):\n%s", d)
			}
		})
	}
	// A collection reference that includes the resource itself is a cycle.
	_, diags := caseLoad(t, map[string]string{"main.hcl": caseBase + "bucket \"c\" {\n  cloud = \"aws\"\n  name  = \"n-${length(bucket)}\"\n}\n"}, spec.Options{})
	d := caseFindDiag(t, diags, "Self-reference")
	if got := (caseSubject{d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}); got != (caseSubject{"main.hcl", 13, 23}) {
		t.Errorf("subject = %+v", got)
	}
}

func TestCaseFunctionPanicIsAPlainError(t *testing.T) {
	// go-cty turns a panicking function into an error carrying a goroutine
	// dump; the user sees the message only.
	_, diags := caseLoad(t, map[string]string{"main.hcl": caseBase + "locals {\n  x = indent(-1, \"a\\nb\")\n}\n"}, spec.Options{})
	d := caseFindDiag(t, diags, "Error in function call")
	if strings.Contains(d.Detail, "goroutine") || strings.Contains(d.Detail, "\n") {
		t.Errorf("detail carries a stack trace:\n%s", d.Detail)
	}
	if !strings.Contains(d.Detail, `"indent"`) || !strings.Contains(d.Detail, "negative Repeat count") {
		t.Errorf("detail lost the message: %q", d.Detail)
	}
	if d.Subject == nil || d.Subject.Start.Line != 12 {
		t.Errorf("subject = %v, want main.hcl line 12", d.Subject)
	}
}

func TestCaseSensitiveThroughCollectionReferences(t *testing.T) {
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": `
variable "secret" {
  default   = "s3cr3t"
  sensitive = true
}
locals {
  token = var.secret
}
cloud "aws" {
  regions = ["us-east-1"]
}
bucket "z" {
  cloud = "aws"
  name  = var.secret
}
jobs_controller "a" {
  cloud  = "aws"
  bucket = "a"
  labels = { for k, b in bucket : k => b.name }
}
cluster "c" {
  cloud         = "aws"
  instance_type = "m6i.large"
  labels        = { for k, v in local : k => v }
}
`}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for _, addr := range []string{"jobs_controller.a", "cluster.c"} {
		r := cfg.Resource(addr)
		if d := cmp.Diff(map[string]bool{"labels": true}, r.Sensitive); d != "" {
			t.Errorf("%s Sensitive (-want +got):\n%s", addr, d)
		}
	}
	if got := cfg.Resource("jobs_controller.a").StringMap("labels")["z"]; got != "s3cr3t" {
		t.Errorf("jobs_controller.a labels.z = %q", got)
	}
}

// Accelerators resolve through the catalog to the cheapest type offered
// where the cluster runs; GPUs that GCE attaches to N1 hosts keep their host.
func TestCaseAcceleratorResolution(t *testing.T) {
	src := `cloud "aws" {
  regions = ["us-east-1"]
}
cloud "gcp" {}
cluster "a10g" {
  cloud        = "aws"
  accelerators = "a10g:1"
}
cluster "h200" {
  cloud        = "aws"
  accelerators = "H200:8"
}
cluster "h100" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "H100:8"
}
cluster "t4" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "t4:2"
}
cluster "v100" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n1-standard-4"
  accelerators  = "V100:1"
}
`
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": src}, spec.Options{})
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags.Error())
	}
	got := map[string]string{}
	for _, r := range cfg.Resources {
		got[r.Name] = r.String("instance_type") + " " + r.String("accelerators")
	}
	want := map[string]string{
		"a10g": "g5.xlarge A10G:1",
		"h200": "p5en.48xlarge H200:8", // p5e.48xlarge has no on-demand price in the catalog
		"h100": "a3-highgpu-8g H100:8", // not the A3 Edge type at the same price
		"t4":   "n1-standard-8 T4:2",
		"v100": "n1-standard-4 V100:1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("resolved (-want +got):\n%s", d)
	}
}
