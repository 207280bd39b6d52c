package planner_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// A cluster with zone candidates, as the spec loader leaves it: zone and
// region point at the first candidate.
var candidateAttrs = caseCopy(caseClusterAttrs, "zone", "us-east-1a", "zones", []string{"us-east-1a", "us-east-1b"}, "regions", []string{"us-east-1"})

func observedIn(zone string, gen int, attrs map[string]any) *state.Resource {
	o := caseObs("cluster.c", "aws", caseCopy(attrs, "zone", zone, "zones", nil, "regions", nil))
	o.Generation = gen
	return o
}

// After a failover, the cluster runs in its second candidate: a later plan
// sees no change, neither a replace nor a zone update.
func TestPlanAcceptsAnyCandidate(t *testing.T) {
	recorded := caseObs("cluster.c", "aws", caseCopy(candidateAttrs, "zone", "us-east-1b"))
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", candidateAttrs)},
		Prior: casePrior(recorded), Observed: []*state.Resource{observedIn("us-east-1b", 0, caseClusterAttrs)},
		ObservedClouds: map[string]bool{"aws": true}})
	if c := caseOnly(t, p, "cluster.c"); c.Action != planner.NoOp || p.HasChanges() {
		t.Fatalf("plan after failover: %s %s %+v", c.Action, c.Reason, c.Attrs)
	}
}

// A region candidate is satisfied by any of its regions as well.
func TestPlanAcceptsAnyCandidateRegion(t *testing.T) {
	want := caseCopy(caseClusterAttrs, "regions", []string{"us-east-1", "us-west-2"})
	have := caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "region", "us-west-2"))
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", want)},
		Prior: casePrior(have), Observed: []*state.Resource{have}, ObservedClouds: map[string]bool{"aws": true}})
	if c := caseOnly(t, p, "cluster.c"); c.Action != planner.NoOp {
		t.Fatalf("plan: %s %+v, want no change", c.Action, c.Attrs)
	}
}

// A zone dropped from the candidates moves the cluster: a replacement, and
// the reason says the zone is no longer a candidate.
func TestPlanReplacesWhenTheZoneIsNoLongerACandidate(t *testing.T) {
	want := caseCopy(candidateAttrs, "zones", []string{"us-east-1a", "us-east-1c"})
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", want)},
		Prior:    casePrior(caseObs("cluster.c", "aws", caseCopy(candidateAttrs, "zone", "us-east-1b"))),
		Observed: []*state.Resource{observedIn("us-east-1b", 0, caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}})
	c := caseOnly(t, p, "cluster.c")
	if c.Action != planner.Replace || !strings.Contains(c.Reason, `"us-east-1b" is not one of the candidates (us-east-1a, us-east-1c)`) {
		t.Fatalf("plan: %s %q", c.Action, c.Reason)
	}
	if c.ReplaceMode != planner.ReplaceCreateBeforeDestroy || c.Generation != 1 {
		t.Errorf("replace mode %q generation %d, want create_before_destroy and generation 1", c.ReplaceMode, c.Generation)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"create-before-destroy", "the old one keeps running", "tried in this order on capacity and quota errors: us-east-1a, us-east-1c"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestPlanShowsCandidatesOfACreate(t *testing.T) {
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", candidateAttrs)}, ObservedClouds: map[string]bool{"aws": true}})
	c := caseOnly(t, p, "cluster.c")
	want := []string{"placement candidates, tried in this order on capacity and quota errors: us-east-1a, us-east-1b (the cost shown is us-east-1a's)"}
	if d := cmp.Diff(want, c.Notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

// How a replacement runs: clusters and controllers create first, unless the
// lifecycle opts out; buckets always delete first.
func TestPlanReplaceModes(t *testing.T) {
	moved := caseCopy(caseClusterAttrs, "instance_type", "p5.48xlarge")
	optOut := caseRes("cluster", "c", moved)
	optOut.DestroyBeforeCreate = true
	cases := []struct {
		name string
		r    *spec.Resource
		have *state.Resource
		mode string
		note string
	}{
		{"cluster", caseRes("cluster", "c", moved), caseObs("cluster.c", "aws", caseClusterAttrs), planner.ReplaceCreateBeforeDestroy, "create-before-destroy"},
		{"opted out", optOut, caseObs("cluster.c", "aws", caseClusterAttrs), planner.ReplaceDeleteThenCreate, "lifecycle { create_before_destroy = false }"},
		{"bucket", caseRes("bucket", "b", caseCopy(caseBucketAttrs, "region", "us-west-2")), caseObs("bucket.b", "aws", caseBucketAttrs), planner.ReplaceDeleteThenCreate, "delete-then-create (buckets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := caseMake(t, planner.Input{Desired: []*spec.Resource{tc.r}, Prior: casePrior(tc.have), Observed: []*state.Resource{tc.have},
				ObservedClouds: map[string]bool{"aws": true}})
			c := caseOnly(t, p, tc.r.Address())
			if c.Action != planner.Replace || c.ReplaceMode != tc.mode || !strings.Contains(strings.Join(c.Notes, "\n"), tc.note) {
				t.Errorf("%s mode %q notes %q; want replace, %q, a note with %q", c.Action, c.ReplaceMode, c.Notes, tc.mode, tc.note)
			}
		})
	}
}

// Two generations at one address are not duplicates: the one state
// records is diffed, the other (left by an interrupted replacement) is
// deleted once the change succeeds; with nothing else to do, that is the
// whole change.
func TestPlanDeletesADeposedGeneration(t *testing.T) {
	current := observedIn("us-east-1a", 2, caseClusterAttrs)
	old := observedIn("us-east-1a", 1, caseClusterAttrs)
	old.IDs = []string{"i-old"}
	recorded := caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "zone", "us-east-1a"))
	recorded.Generation = 2
	want := caseCopy(caseClusterAttrs, "zone", "us-east-1a")
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", want)}, Prior: casePrior(recorded),
		Observed: []*state.Resource{current, old}, ObservedClouds: map[string]bool{"aws": true}})
	c := caseOnly(t, p, "cluster.c")
	if c.Action != planner.Update || !c.StateOnly || c.Generation != 2 || len(c.Deposed) != 1 || c.Deposed[0].Generation != 1 {
		t.Fatalf("plan: %s state-only %v generation %d deposed %v", c.Action, c.StateOnly, c.Generation, c.Deposed)
	}
	if !strings.Contains(c.Reason, "generation 1 (i-old)") || c.Prior.Generation != 2 {
		t.Errorf("reason %q, prior generation %d", c.Reason, c.Prior.Generation)
	}

	// A replacement of it numbers its objects past every generation known.
	p = caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(want, "instance_type", "p5.48xlarge"))}, Prior: casePrior(recorded),
		Observed: []*state.Resource{current, old}, ObservedClouds: map[string]bool{"aws": true}})
	if c := caseOnly(t, p, "cluster.c"); c.Action != planner.Replace || c.Generation != 3 || len(c.Deposed) != 1 {
		t.Errorf("replace: %s generation %d deposed %d", c.Action, c.Generation, len(c.Deposed))
	}

	// Destroy deletes every generation.
	p = caseMake(t, planner.Input{Destroy: true, Prior: casePrior(recorded), Observed: []*state.Resource{current, old}, ObservedClouds: map[string]bool{"aws": true}})
	if c := caseOnly(t, p, "cluster.c"); c.Action != planner.Delete || c.Generation != 2 || len(c.Deposed) != 1 {
		t.Errorf("destroy: %s generation %d deposed %d", c.Action, c.Generation, len(c.Deposed))
	}
}

// An interrupted replacement left its intent: the generation it was making
// is the one diffed when it exists, and the old one is deposed.
func TestPlanFinishesAnInterruptedReplacement(t *testing.T) {
	intent := &state.Resource{Address: "cluster.c", Type: "cluster", Cloud: "aws", Attrs: caseClusterAttrs, Pending: state.PendingCreate, Generation: 1}
	half := observedIn("us-east-1a", 1, caseCopy(caseClusterAttrs, "nodes", int64(1)))
	old := observedIn("us-east-1a", 0, caseClusterAttrs)
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)}, Prior: casePrior(intent),
		Observed: []*state.Resource{old, half}, ObservedClouds: map[string]bool{"aws": true}})
	c := caseOnly(t, p, "cluster.c")
	if c.Action != planner.Update || c.Generation != 1 || len(c.Deposed) != 1 || c.Deposed[0].Generation != 0 {
		t.Fatalf("plan: %s generation %d deposed %v; want generation 1 completed, 0 deposed", c.Action, c.Generation, c.Deposed)
	}
	if !strings.Contains(strings.Join(c.Notes, "\n"), "deletes it once this change succeeds") {
		t.Errorf("notes %q", c.Notes)
	}
}

func TestPlanRefusesTwoObjectsOfOneGeneration(t *testing.T) {
	a, b := observedIn("us-east-1a", 1, caseClusterAttrs), observedIn("us-east-1b", 1, caseClusterAttrs)
	_, err := planner.Make(planner.Input{Workspace: caseWS, Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
		Observed: []*state.Resource{a, b}, ObservedClouds: map[string]bool{"aws": true}})
	if err == nil || !strings.Contains(err.Error(), "found twice") {
		t.Fatalf("err = %v", err)
	}
}

// A spot node the cloud took back is planned again where the cluster runs.
func TestPlanScaleUpStaysInTheClustersZone(t *testing.T) {
	recorded := caseObs("cluster.c", "aws", caseCopy(candidateAttrs, "zone", "us-east-1b"))
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", candidateAttrs)}, Prior: casePrior(recorded),
		Observed:       []*state.Resource{observedIn("us-east-1b", 0, caseCopy(caseClusterAttrs, "nodes", int64(1)))},
		ObservedClouds: map[string]bool{"aws": true}})
	c := caseOnly(t, p, "cluster.c")
	if c.Action != planner.Update || len(c.Attrs) != 1 || c.Attrs[0].Name != "nodes" {
		t.Fatalf("plan: %s %+v", c.Action, c.Attrs)
	}
	if d := cmp.Diff([]string{"new nodes launch in us-east-1b, where the cluster runs (its nodes share one zone); if us-east-1b has no capacity, apply says so and leaves the running nodes as they are"}, c.Notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}
