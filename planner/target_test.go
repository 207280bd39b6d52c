package planner_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func addresses(p *planner.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Address+" "+c.Action.String())
	}
	return out
}

func TestTarget(t *testing.T) {
	ctl := caseCopy(caseAWSControllerAttrs, "bucket", "jobs-bucket")
	desired := []*spec.Resource{
		caseRes("bucket", "jobs", caseBucketAttrs),
		caseRes("jobs_controller", "main", ctl, "bucket.jobs"),
		caseRes("cluster", "train", caseClusterAttrs),
	}
	oldBucket := caseObs("bucket.old", "aws", caseCopy(caseBucketAttrs, "name", "old"))
	oldCtl := caseObs("jobs_controller.old", "aws", caseCopy(caseAWSControllerAttrs, "bucket", "old"), "bucket.old")
	tests := []struct {
		name    string
		destroy bool
		targets []string
		want    []string
		wantErr string
	}{
		{name: "a create brings what it references", targets: []string{"jobs_controller.main"},
			want: []string{"bucket.jobs create", "jobs_controller.main create"}},
		{name: "a dependency alone stays alone", targets: []string{"bucket.jobs"},
			want: []string{"bucket.jobs create"}},
		{name: "a delete brings what referenced it, which goes first", targets: []string{"bucket.old"},
			want: []string{"jobs_controller.old delete", "bucket.old delete"}},
		{name: "several targets", targets: []string{"cluster.train", "bucket.jobs"},
			want: []string{"bucket.jobs create", "cluster.train create"}},
		{name: "destroy: dependents", destroy: true, targets: []string{"bucket.old"},
			want: []string{"jobs_controller.old delete", "bucket.old delete"}},
		{name: "an unknown address is an error", targets: []string{"cluster.nope"},
			wantErr: "--target cluster.nope: no such resource in the spec or the state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := caseMake(t, planner.Input{Desired: desired, Destroy: tt.destroy,
				Prior:    casePrior(oldBucket, oldCtl),
				Observed: []*state.Resource{oldBucket, oldCtl}, ObservedClouds: map[string]bool{"aws": true}})
			err := p.Target(tt.targets)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Target = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, addresses(p)); d != "" {
				t.Errorf("targeted changes (-want +got):\n%s", d)
			}
			s := p.Summary
			if s.Add+s.Change+s.Replace+s.Destroy != len(tt.want) {
				t.Errorf("summary %+v does not count the targeted changes", s)
			}
			if len(p.Targets) != len(tt.targets) {
				t.Errorf("plan records targets %v", p.Targets)
			}
		})
	}
}

// A gap that hides only untargeted resources does not make a targeted plan
// incomplete; one that hides a target does.
func TestTargetGaps(t *testing.T) {
	in := planner.Input{Desired: []*spec.Resource{caseRes("bucket", "jobs", caseBucketAttrs)},
		Gaps: []planner.Gap{{Cloud: "gcp", Capability: "compute", Addresses: []string{"cluster.tpu"}, Reason: "denied"}}}
	p := caseMake(t, in)
	if err := p.Target([]string{"bucket.jobs"}); err != nil || !p.Complete() {
		t.Fatalf("Target = %v, complete = %v; gaps %v", err, p.Complete(), p.Gaps)
	}
	p = caseMake(t, in)
	if err := p.Target([]string{"cluster.tpu"}); err != nil || p.Complete() || len(p.Changes) != 0 {
		t.Fatalf("targeting a hidden resource: %v, gaps %v, changes %v", err, p.Gaps, addresses(p))
	}
	var b strings.Builder
	if err := planner.WriteText(&b, p, planner.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "targeted plan (--target cluster.tpu)") {
		t.Errorf("text does not say the plan is targeted:\n%s", b.String())
	}
}

func TestVariablesRoundTrip(t *testing.T) {
	vars := map[string]cty.Value{
		"region": cty.StringVal("us-east-1"),
		"nodes":  cty.NumberIntVal(3),
		"spot":   cty.True,
		"zones":  cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"labels": cty.MapVal(map[string]cty.Value{"team": cty.StringVal("ml")}),
		"obj":    cty.ObjectVal(map[string]cty.Value{"n": cty.NumberFloatVal(1.5), "s": cty.NullVal(cty.String)}),
	}
	enc, err := planner.EncodeVariables(vars)
	if err != nil {
		t.Fatal(err)
	}
	back, err := planner.DecodeVariables(enc)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range vars {
		if !back[name].RawEquals(v) {
			t.Errorf("%s: %#v → %#v", name, v, back[name])
		}
	}
	if _, err := planner.EncodeVariables(map[string]cty.Value{"x": cty.UnknownVal(cty.String)}); err == nil {
		t.Error("an unknown value was encoded")
	}
	if _, err := planner.DecodeVariables(map[string]planner.Variable{"x": {Type: []byte(`["list","string"]`), Value: []byte(`"x"`)}}); err == nil ||
		!strings.Contains(err.Error(), `variable "x" in the plan file`) {
		t.Errorf("a value of the wrong type: %v", err)
	}
}
