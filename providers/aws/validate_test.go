package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func TestS3BucketNameRules(t *testing.T) {
	for _, tt := range []struct {
		name    string
		problem string // "" when valid
	}{
		{"my-bucket", ""},
		{"googlebucket", ""},
		{"a.b-c", ""},
		{"ab", "3 to 63"},
		{strings.Repeat("a", 64), "3 to 63"},
		{"Upper", "lowercase"},
		{"under_score", "lowercase"},
		{"a..b", "adjacent dots"},
		{"-leading", "start and end"},
		{"10.0.0.1", "IP address"},
		{"xn--bucket", "xn--"},
		{"bucket-s3alias", "-s3alias"},
	} {
		got := Validate(spec.TypeBucket, state.Attrs{"name": tt.name})
		if (len(got) == 0) != (tt.problem == "") {
			t.Errorf("%q: problems %v, want one about %q", tt.name, got, tt.problem)
			continue
		}
		if tt.problem == "" {
			continue
		}
		if got[0].Rule != providers.RuleBucketName || got[0].Attr != "name" || !strings.Contains(got[0].Message, tt.problem) {
			t.Errorf("%q: %+v, want %s on name about %q", tt.name, got[0], providers.RuleBucketName, tt.problem)
		}
		if fix := Validate(spec.TypeBucket, state.Attrs{"name": providers.SuggestBucketName(tt.name)}); len(fix) > 0 {
			t.Errorf("the suggested name for %q is itself invalid: %v", tt.name, fix)
		}
	}
}

// What the rulebook rejects, apply refuses before any call (there is no
// endpoint here to call): lint and apply use one set of rules.
func TestApplyRefusesWhatTheRulebookRejects(t *testing.T) {
	p, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: CloudName, Attrs: map[string]any{"regions": []string{"us-east-1"}}}, Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		typ   string
		attrs state.Attrs
	}{
		{spec.TypeBucket, state.Attrs{"cloud": "aws", "name": "Bad_Name"}},
		{spec.TypeBucket, state.Attrs{"cloud": "aws", "name": "ok-name", "labels": map[string]string{"aws:x": "y"}}},
		{spec.TypeCluster, state.Attrs{"cloud": "aws", "instance_type": "t3.micro", "labels": map[string]string{strings.Repeat("k", 129): "v"}}},
	} {
		problems := Validate(tt.typ, tt.attrs)
		if len(problems) == 0 {
			t.Fatalf("%v: the rulebook found nothing", tt.attrs)
		}
		_, err := p.Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "ws", Address: tt.typ + ".x", Type: tt.typ, Desired: tt.attrs})
		if err == nil || !strings.Contains(err.Error(), problems[0].Message) {
			t.Errorf("%v: apply error %v, want the rulebook's %q", tt.attrs, err, problems[0].Message)
		}
	}
}
