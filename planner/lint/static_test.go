package lint

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	_ "github.com/skyplan/skyplan/providers/all"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func load(t *testing.T, src string) *spec.Config {
	t.Helper()
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatalf("spec does not load: %v", diags)
	}
	return cfg
}

// ruleHits returns "RULE-ID@line" for each finding of the given rule.
func ruleHits(rep *Report, ruleID string) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.RuleID == ruleID {
			out = append(out, f.RuleID+"@"+itoa(f.Range.Start.Line))
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

const clouds = `
cloud "aws" {
  regions      = ["us-east-1", "eu-south-1"]
  capabilities = ["compute", "storage"]
}
cloud "gcp" {
  project      = "p"
  capabilities = ["compute", "storage"]
}
`

func TestStaticRules(t *testing.T) {
	tests := []struct {
		name, rule, src string
		// want lists the 1-based lines (in src) where the rule must fire; nil: must not fire.
		want []int
		// fix must appear in the finding's fix (first finding).
		fix string
	}{
		{
			name: "capability not declared", rule: "SP-CLOUD-001",
			src: `cloud "gcp" {
  project      = "p"
  capabilities = ["storage"]
}
cluster "c" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n2-standard-4"
}
bucket "b" {
  cloud = "gcp"
  name  = "fine-bucket"
}`,
			want: []int{6}, fix: `capabilities = ["compute", "storage"]`,
		},
		{name: "capabilities declared", rule: "SP-CLOUD-001", src: clouds + `
bucket "b" {
  cloud = "gcp"
  name  = "fine-bucket"
}`},
		{
			name: "job cloud without compute", rule: "SP-CLOUD-003",
			src: `cloud "aws" {
  regions = ["us-east-1"]
}
cloud "kubernetes" {
  capabilities = []
}
bucket "b" {
  cloud = "aws"
  name  = "jobs-bucket"
}
jobs_controller "m" {
  cloud      = "aws"
  bucket     = bucket.b.name
  job_clouds = ["aws", "kubernetes"]
}`,
			want: []int{14}, fix: `capabilities = ["compute"]`,
		},
		{name: "job clouds with compute", rule: "SP-CLOUD-003", src: clouds + `
jobs_controller "m" {
  cloud      = "aws"
  bucket     = "x"
  job_clouds = ["aws", "gcp"]
}`},
		{
			name: "controller bucket on cloud without storage", rule: "SP-CLOUD-004",
			src: `cloud "aws" {
  regions = ["us-east-1"]
}
cloud "gcp" {
  project      = "p"
  capabilities = ["compute"]
}
bucket "jobs" {
  cloud = "gcp"
  name  = "jobs-bucket"
}
jobs_controller "m" {
  cloud  = "aws"
  bucket = bucket.jobs.name
}`,
			want: []int{14}, fix: `in cloud "gcp": capabilities = ["compute", "storage"]`,
		},
		{
			name: "TPU node requested", rule: "SP-GCP-001",
			src: clouds + `
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central1-b"
  accelerators    = "tpu-v3-8"
  runtime_version = "tpu-vm-base"
  tpu_vm          = false
}`,
			want: []int{16}, fix: "use a TPU VM (remove tpu_vm = false)",
		},
		{name: "TPU VM is fine", rule: "SP-GCP-001", src: clouds + `
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central1-b"
  accelerators    = "tpu-v3-8"
  runtime_version = "tpu-vm-base"
}`},
		{
			name: "disk tier unsupported by family", rule: "SP-DISK-001",
			src: clouds + `
cluster "g" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "L4:1"
  disk_tier    = "low"
}`,
			want: []int{15}, fix: "allowed for g2-standard-4:",
		},
		{name: "disk tier supported", rule: "SP-DISK-001", src: clouds + `
cluster "g" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "L4:1"
  disk_tier    = "best"
}`},
		{
			name: "accelerator not offered in region", rule: "SP-ACC-001",
			src: clouds + `
cluster "a" {
  cloud        = "aws"
  region       = "eu-south-1"
  accelerators = "H100:8"
}`,
			want: []int{13}, fix: `region = "us-east-1"`,
		},
		{
			name: "TPU not offered in zone", rule: "SP-ACC-001",
			src: clouds + `
cluster "t" {
  cloud           = "gcp"
  zone            = "us-central1-a"
  accelerators    = "tpu-v4-8"
  runtime_version = "tpu-ubuntu2204-base"
}`,
			want: []int{13}, fix: `zone = "us-central2-b"`,
		},
		{name: "accelerator offered", rule: "SP-ACC-001", src: clouds + `
cluster "a" {
  cloud        = "aws"
  region       = "us-east-1"
  accelerators = "H100:8"
}`},
		{
			name: "S3 bucket name", rule: "SP-BKT-001",
			src: clouds + `
bucket "a" {
  cloud = "aws"
  name  = "My_Bucket"
}
bucket "b" {
  cloud = "aws"
  name  = "192.168.1.1"
}
bucket "c" {
  cloud = "aws"
  name  = "ok-bucket.name"
}`,
			want: []int{13, 17}, fix: `name = "my-bucket"`,
		},
		{
			name: "GCS bucket name", rule: "SP-BKT-001",
			src: clouds + `
bucket "a" {
  cloud = "gcp"
  name  = "google-data"
}
bucket "b" {
  cloud = "gcp"
  name  = "gooddata_with_underscores"
}`,
			want: []int{13},
		},
		{
			name: "ignore without reason", rule: "SP-LINT-001",
			src: clouds + `
# skyplan:ignore SP-BKT-001
bucket "a" {
  cloud = "aws"
  name  = "Bad_Name"
}
# skyplan:ignore SP-NOPE-999 typo
bucket "b" {
  cloud = "aws"
  name  = "fine-name"
}`,
			want: []int{11, 16},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Static(load(t, tt.src), nil)
			var want []string
			for _, l := range tt.want {
				want = append(want, tt.rule+"@"+itoa(l))
			}
			if diff := cmp.Diff(want, ruleHits(rep, tt.rule)); diff != "" {
				t.Fatalf("findings of %s (-want +got):\n%s\nall: %+v", tt.rule, diff, rep.Findings)
			}
			if tt.fix != "" {
				for _, f := range rep.Findings {
					if f.RuleID == tt.rule {
						if !strings.Contains(f.Fix, tt.fix) {
							t.Errorf("fix %q does not contain %q", f.Fix, tt.fix)
						}
						break // the first finding's fix
					}
				}
			}
		})
	}
}

func TestIgnoreCommentSilencesOneRuleForOneBlock(t *testing.T) {
	src := clouds + `
# skyplan:ignore SP-BKT-001 legacy bucket created before the naming rules
bucket "a" {
  cloud = "aws"
  name  = "Legacy_Bucket"
}
bucket "b" {
  cloud = "aws"
  name  = "Other_Bucket"
}
// skyplan:ignore bucket-name-invalid rule names work too
bucket "c" {
  cloud = "aws"
  name  = "Third_Bucket"
}
`
	rep := Static(load(t, src), nil)
	if diff := cmp.Diff([]string{"SP-BKT-001@" + itoa(18)}, ruleHits(rep, "SP-BKT-001")); diff != "" {
		t.Fatalf("only bucket.b should be reported (-want +got):\n%s", diff)
	}
	if hits := ruleHits(rep, "SP-LINT-001"); len(hits) != 0 {
		t.Fatalf("ignores with reasons reported: %v", hits)
	}
}

func TestControllerCloudChangeAgainstState(t *testing.T) {
	src := clouds + `
bucket "jobs" {
  cloud = "gcp"
  name  = "jobs-bucket"
}
jobs_controller "main" {
  cloud  = "aws"
  region = "us-east-1"
  bucket = bucket.jobs.name
}
`
	cfg := load(t, src)
	st := state.New("default")
	st.Set(&state.Resource{Address: "jobs_controller.main", Type: spec.TypeJobsController, Cloud: "gcp",
		Attrs: map[string]any{"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1"}})
	rep := Static(cfg, st)
	hits := ruleHits(rep, "SP-JOBS-001")
	if diff := cmp.Diff([]string{"SP-JOBS-001@" + itoa(16)}, hits); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	for _, f := range rep.Findings {
		if f.RuleID == "SP-JOBS-001" {
			if f.Severity != Warning || !strings.Contains(f.Message, "not migrated") || !strings.Contains(f.Fix, "--allow-replace jobs_controller.main") {
				t.Fatalf("finding: %+v", f)
			}
		}
	}
	// Same cloud in state: no finding; no state: no finding.
	st.Set(&state.Resource{Address: "jobs_controller.main", Type: spec.TypeJobsController, Cloud: "aws",
		Attrs: map[string]any{"cloud": "aws", "region": "us-east-1"}})
	if hits := ruleHits(Static(cfg, st), "SP-JOBS-001"); len(hits) != 0 {
		t.Fatalf("unchanged controller reported: %v", hits)
	}
	if hits := ruleHits(Static(cfg, nil), "SP-JOBS-001"); len(hits) != 0 {
		t.Fatalf("reported without state: %v", hits)
	}
}

func TestOfflineSkipsLiveRulesWithReason(t *testing.T) {
	rep := Static(load(t, clouds+`
cluster "a" {
  cloud         = "aws"
  instance_type = "t3.micro"
}`), nil)
	want := map[string]bool{"SP-AWS-001": true, "SP-CLOUD-002": true}
	for _, s := range rep.Skipped {
		if !want[s.RuleID] {
			t.Errorf("unexpected skip %v", s)
		}
		if !strings.Contains(s.Reason, "--offline") {
			t.Errorf("skip reason %q does not say why", s.Reason)
		}
		delete(want, s.RuleID)
	}
	if len(want) != 0 {
		t.Errorf("live rules not reported as skipped: %v", want)
	}
}

// A run given the static report of the same spec takes its findings
// instead of running the static rules again (a plan lints twice: the gate
// before the refresh, every rule after).
func TestRunReusesTheStaticReport(t *testing.T) {
	cfg := load(t, clouds+`
bucket "b" {
  cloud = "aws"
  name  = "Bad_Bucket"
}
`)
	static := Static(cfg, nil)
	fresh := Run(context.Background(), cfg, Options{Offline: true})
	reused := Run(context.Background(), cfg, Options{Offline: true, Static: static})
	if diff := cmp.Diff(fresh.Findings, reused.Findings, cmpopts.IgnoreUnexported(Finding{})); diff != "" || len(fresh.Findings) == 0 {
		t.Fatalf("findings with the static report given (-run again +reused):\n%s", diff)
	}
	static.Findings = append(static.Findings, Finding{RuleID: "SP-TEST-000", Message: "only in the given report"})
	if got := ruleHits(Run(context.Background(), cfg, Options{Offline: true, Static: static}), "SP-TEST-000"); len(got) != 1 {
		t.Errorf("the given report's findings were not used: %v", got)
	}
}
