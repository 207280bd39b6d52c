package spec_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/spec"
)

// Candidates are ordered by the catalog's price for the market asked
// (on-demand or spot), kept as written with placement_order = "listed", and
// zone/region point at the first; GCP regions stand for their zones that
// offer the machine.
func TestPlacementCandidatesOrder(t *testing.T) {
	cases := []struct {
		name, body              string
		zone, region            string
		zones, regions          []string
		wantNoZones, wantNoRegs bool
	}{
		{
			name: "gcp zones, on-demand: europe-west4 is cheaper",
			body: "cloud = \"gcp\"\n  instance_type = \"a2-highgpu-1g\"\n  zones = [\"us-central1-a\", \"europe-west4-a\"]",
			zone: "europe-west4-a", region: "europe-west4",
			zones: []string{"europe-west4-a", "us-central1-a"}, regions: []string{"europe-west4", "us-central1"},
		},
		{
			name: "gcp zones, spot: us-central1 is cheaper",
			body: "cloud = \"gcp\"\n  instance_type = \"a2-highgpu-1g\"\n  use_spot = true\n  zones = [\"europe-west4-a\", \"us-central1-a\"]",
			zone: "us-central1-a", region: "us-central1",
			zones: []string{"us-central1-a", "europe-west4-a"}, regions: []string{"us-central1", "europe-west4"},
		},
		{
			name: "listed order is kept",
			body: "cloud = \"gcp\"\n  instance_type = \"a2-highgpu-1g\"\n  placement_order = \"listed\"\n  zones = [\"us-central1-a\", \"europe-west4-a\"]",
			zone: "us-central1-a", region: "us-central1",
			zones: []string{"us-central1-a", "europe-west4-a"}, regions: []string{"us-central1", "europe-west4"},
		},
		{
			name: "gcp regions become the zones offering the machine",
			body: "cloud = \"gcp\"\n  accelerators = \"A100:1\"\n  regions = [\"us-east1\", \"europe-west4\"]",
			zone: "europe-west4-a", region: "europe-west4",
			zones: []string{"europe-west4-a", "europe-west4-b", "us-east1-b"}, regions: []string{"europe-west4", "us-east1"},
		},
		{
			name: "tpu regions, spot",
			body: "cloud = \"gcp\"\n  accelerators = \"tpu-v5litepod-4\"\n  runtime_version = \"v2-alpha-tpuv5-lite\"\n  use_spot = true\n  regions = [\"us-east5\", \"us-central1\"]",
			zone: "us-central1-a", region: "us-central1",
			zones: []string{"us-central1-a", "us-east5-a", "us-east5-b", "us-east5-c"}, regions: []string{"us-central1", "us-east5"},
		},
		{
			name:   "aws regions, on-demand: a tie keeps the written order",
			body:   "cloud = \"aws\"\n  instance_type = \"p4d.24xlarge\"\n  regions = [\"eu-west-1\", \"us-west-2\", \"us-east-1\"]",
			region: "us-west-2", regions: []string{"us-west-2", "us-east-1", "eu-west-1"}, wantNoZones: true,
		},
		{
			name:   "aws regions, spot",
			body:   "cloud = \"aws\"\n  instance_type = \"p4d.24xlarge\"\n  use_spot = true\n  regions = [\"eu-west-1\", \"us-west-2\", \"us-east-1\"]",
			region: "us-east-1", regions: []string{"us-east-1", "us-west-2", "eu-west-1"}, wantNoZones: true,
		},
		{
			name: "aws zones of one region keep the written order (names are not AZ IDs)",
			body: "cloud = \"aws\"\n  accelerators = \"A100:8\"\n  zones = [\"us-east-1c\", \"us-east-1a\"]",
			zone: "us-east-1c", region: "us-east-1",
			zones: []string{"us-east-1c", "us-east-1a"}, regions: []string{"us-east-1"},
		},
		{
			name: "aws zones within an explicit region",
			body: "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  region = \"us-west-2\"\n  zones = [\"us-west-2b\", \"us-west-2a\"]",
			zone: "us-west-2b", region: "us-west-2",
			zones: []string{"us-west-2b", "us-west-2a"}, regions: []string{"us-west-2"},
		},
		{
			name: "aws zones across regions, cheaper region first",
			body: "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zones = [\"eu-west-1a\", \"us-east-1b\"]",
			zone: "us-east-1b", region: "us-east-1",
			zones: []string{"us-east-1b", "eu-west-1a"}, regions: []string{"us-east-1", "eu-west-1"},
		},
		{
			name: "jobs controller candidates",
			body: "cloud = \"aws\"\n  bucket = \"b\"\n  zones = [\"us-east-1a\", \"us-east-1b\"]",
			zone: "us-east-1a", region: "us-east-1",
			zones: []string{"us-east-1a", "us-east-1b"}, regions: []string{"us-east-1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			typ := "cluster"
			if strings.Contains(tc.body, "bucket") {
				typ = "jobs_controller"
			}
			src := "cloud \"aws\" {\n  regions = [\"us-east-1\", \"us-west-2\", \"eu-west-1\"]\n}\ncloud \"gcp\" {}\n" + typ + " \"c\" {\n  " + tc.body + "\n}\n"
			cfg, diags := caseLoad(t, map[string]string{"main.hcl": src}, spec.Options{})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			r := cfg.Resource(typ + ".c")
			got := []any{r.String("zone"), r.String("region"), r.StringList("zones"), r.StringList("regions")}
			want := []any{tc.zone, tc.region, tc.zones, tc.regions}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("zone, region, zones, regions (-want +got):\n%s", d)
			}
			if _, has := r.Attrs["zones"]; has == tc.wantNoZones {
				t.Errorf("zones present = %v, want %v", has, !tc.wantNoZones)
			}
		})
	}
}

// Bad candidate lists are errors at the attribute, never a silent choice.
func TestPlacementCandidateErrors(t *testing.T) {
	cases := []struct {
		name, body, summary, detail string
		line, column                int
	}{
		{"zone and zones", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zone = \"us-east-1a\"\n  zones = [\"us-east-1a\", \"us-east-1b\"]",
			"Both zone and zones", `zones = ["us-east-1a"]`, 5, 11},
		{"region and regions", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  region = \"us-east-1\"\n  regions = [\"us-east-1\", \"us-west-2\"]",
			"Both region and regions", "", 5, 13},
		{"zones and regions", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zones = [\"us-east-1a\"]\n  regions = [\"us-west-2\"]",
			"Both zones and regions", "", 5, 13},
		{"empty zones", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zones = []",
			"Empty zones", "", 4, 11},
		{"duplicate zone", "cloud = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  zones = [\"us-central1-a\", \"us-central1-a\"]",
			"Duplicate candidate", `"us-central1-a" twice`, 4, 11},
		{"unknown gcp zone", "cloud = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  zones = [\"us-central1-a\", \"us-central1-g\"]",
			"Unknown zone", "us-central1-b", 4, 11},
		{"gcp zone without a letter", "cloud = \"gcp\"\n  instance_type = \"n2-standard-4\"\n  zones = [\"us-central1\"]",
			"Invalid zone", "", 4, 11},
		{"aws region as a zone", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zones = [\"us-east-1\"]",
			"Invalid zone", "us-east-1a", 4, 11},
		{"zone outside the explicit region", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  region = \"us-east-1\"\n  zones = [\"us-east-1a\", \"us-west-2a\"]",
			"Zone outside region", `"us-west-2a" is not in region "us-east-1"`, 5, 11},
		{"unknown placement order", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  zones = [\"us-east-1a\"]\n  placement_order = \"random\"",
			"Invalid placement_order", `"price"`, 5, 21},
		{"subnet with candidates", "cloud = \"aws\"\n  instance_type = \"t3.micro\"\n  subnet = \"subnet-1\"\n  zones = [\"us-east-1a\", \"us-east-1b\"]",
			"subnet with placement candidates", "vpc picks a subnet", 4, 12},
		{"gcp region without the machine", "cloud = \"gcp\"\n  accelerators = \"tpu-v4-8\"\n  runtime_version = \"tpu-ubuntu2204-base\"\n  regions = [\"europe-west4\"]",
			"No zone offers the machine", `"europe-west4"`, 5, 13},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "cluster \"c\" {\n  " + tc.body + "\n}\n"
			_, diags := caseLoad(t, map[string]string{"base.hcl": caseBase, "err.hcl": src}, spec.Options{})
			caseEveryErrorHasSubject(t, diags)
			d := caseFindDiag(t, diags, tc.summary)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not contain %q", d.Detail, tc.detail)
			}
			if got := (caseSubject{d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}); got != (caseSubject{"err.hcl", tc.line, tc.column}) {
				t.Errorf("subject = %+v, want err.hcl:%d:%d", got, tc.line, tc.column)
			}
		})
	}
}

func TestLifecycleCreateBeforeDestroy(t *testing.T) {
	src := caseBase + `
cluster "keep" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
cluster "optout" {
  cloud         = "aws"
  instance_type = "t3.micro"
  lifecycle {
    create_before_destroy = false
  }
}
`
	cfg, diags := caseLoad(t, map[string]string{"main.hcl": src}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if cfg.Resource("cluster.keep").DestroyBeforeCreate || !cfg.Resource("cluster.optout").DestroyBeforeCreate {
		t.Errorf("DestroyBeforeCreate: keep %v, optout %v; want false, true",
			cfg.Resource("cluster.keep").DestroyBeforeCreate, cfg.Resource("cluster.optout").DestroyBeforeCreate)
	}

	bucket := "bucket \"b2\" {\n  cloud = \"aws\"\n  name  = \"skyplan-b2\"\n  lifecycle {\n    create_before_destroy = true\n  }\n}\n"
	_, diags = caseLoad(t, map[string]string{"base.hcl": caseBase, "err.hcl": bucket}, spec.Options{})
	d := caseFindDiag(t, diags, "create_before_destroy on a bucket")
	if d.Subject == nil || d.Subject.Start.Line != 5 || !strings.Contains(d.Detail, "delete-then-create") {
		t.Errorf("diagnostic %+v, want it at err.hcl:5 saying buckets are replaced delete-then-create", d)
	}
}
