package gcp

import (
	"context"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func TestGCSBucketNameRules(t *testing.T) {
	for _, tt := range []struct {
		name    string
		problem string // "" when valid
	}{
		{"my-bucket", ""},
		{"under_score", ""},
		{"xn--bucket", ""},
		{"bucket-s3alias", ""},
		// Dotted names may reach 222 characters (domain-named buckets).
		{strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + ".example.com", ""},
		{"ab", "3 to 222"},
		{strings.Repeat("a", 64), "without dots are at most 63"},
		{"Upper", "lowercase"},
		{"-leading", "start and end"},
		{"googlebucket", `start with "goog"`},
		{"my-google-data", `contain "google"`},
		{"10.0.0.1", "IP address"},
		{strings.Repeat("a", 64) + ".com", "1 to 63"},
	} {
		got := Validate(spec.TypeBucket, state.Attrs{"name": tt.name})
		if (len(got) == 0) != (tt.problem == "") {
			t.Errorf("%q: problems %v, want one about %q", tt.name, got, tt.problem)
			continue
		}
		if tt.problem != "" && (got[0].Rule != providers.RuleBucketName || !strings.Contains(got[0].Message, tt.problem)) {
			t.Errorf("%q: %+v, want %s about %q", tt.name, got[0], providers.RuleBucketName, tt.problem)
		}
	}
}

func TestGCPLabelRules(t *testing.T) {
	many := map[string]string{}
	for i := range 62 {
		many[strings.Repeat("k", 1+i%60)+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = "v"
	}
	for _, tt := range []struct {
		labels  map[string]string
		problem string
	}{
		{map[string]string{"team": "ml"}, ""},
		{map[string]string{"skyplan-address": "x"}, "reserved prefix"},
		{map[string]string{"Team": "ml"}, "key \"Team\" is not valid"},
		{map[string]string{"team": "ML"}, "value is not valid"},
		{many, "GCP allows 64"},
	} {
		got := Validate(spec.TypeCluster, state.Attrs{"labels": tt.labels})
		if (len(got) == 0) != (tt.problem == "") {
			t.Errorf("%v: problems %v, want one about %q", tt.labels, got, tt.problem)
			continue
		}
		if tt.problem != "" && (got[0].Rule != providers.RuleLabels || !strings.Contains(got[0].Message, tt.problem)) {
			t.Errorf("%v: %+v, want %s about %q", tt.labels, got[0], providers.RuleLabels, tt.problem)
		}
	}
}

func TestGCPApplyRefusesWhatTheRulebookRejects(t *testing.T) {
	p, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: CloudName, Attrs: map[string]any{"project": "p"}}, Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	attrs := state.Attrs{"cloud": "gcp", "name": "goog-data", "location": "US"}
	problems := Validate(spec.TypeBucket, attrs)
	_, err = p.Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "ws", Address: "bucket.x", Type: spec.TypeBucket, Desired: attrs})
	if len(problems) == 0 || err == nil || !strings.Contains(err.Error(), problems[0].Message) {
		t.Errorf("apply error %v, want the rulebook's %v", err, problems)
	}
}
