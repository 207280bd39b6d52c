package planner_test

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

const caseWS = "ws"

func caseRes(typ, name string, attrs map[string]any, deps ...string) *spec.Resource {
	return &spec.Resource{Type: typ, Name: name, Attrs: attrs, DependsOn: deps}
}

func caseObs(addr, cloud string, attrs map[string]any, deps ...string) *state.Resource {
	typ, _, _ := strings.Cut(addr, ".")
	return &state.Resource{Address: addr, Type: typ, Cloud: cloud, IDs: []string{"id-" + addr}, Attrs: attrs, DependsOn: deps}
}

// caseCopy returns a shallow copy of attrs with overrides applied (nil value deletes).
func caseCopy(attrs map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range attrs {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func casePrior(rs ...*state.Resource) *state.State {
	st := &state.State{Version: state.Version, Lineage: "lineage-1", Serial: 7, Workspace: caseWS}
	for _, r := range rs {
		st.Set(r)
	}
	return st
}

var (
	caseBucketAttrs  = map[string]any{"cloud": "aws", "name": "jobs-bucket", "region": "us-east-1", "versioning": false, "force_destroy": false}
	caseClusterAttrs = map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "p4d.24xlarge", "accelerators": "A100:8",
		"nodes": int64(2), "disk_size": int64(256), "disk_tier": "medium", "use_spot": false, "labels": map[string]string{"team": "ml"}}
	caseGCPControllerAttrs = map[string]any{"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "n2-standard-4",
		"disk_size": int64(50), "bucket": "jobs-bucket"}
	caseAWSControllerAttrs = map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "m6i.xlarge",
		"disk_size": int64(50), "bucket": "jobs-bucket"}
)

var caseCmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func caseMake(t *testing.T, in planner.Input) *planner.Plan {
	t.Helper()
	if in.Workspace == "" {
		in.Workspace = caseWS
	}
	p, err := planner.Make(in)
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	return p
}

func caseOnly(t *testing.T, p *planner.Plan, addr string) *planner.Change {
	t.Helper()
	c := p.Change(addr)
	if c == nil {
		t.Fatalf("no change for %s in plan", addr)
	}
	return c
}

func TestCaseCreateFromEmptyState(t *testing.T) {
	b := caseRes("bucket", "jobs", caseBucketAttrs)
	p := caseMake(t, planner.Input{SpecHash: "h1", Desired: []*spec.Resource{b}, ObservedClouds: map[string]bool{"aws": true}})
	want := &planner.Change{Address: "bucket.jobs", Type: "bucket", Cloud: "aws", Action: planner.Create,
		Attrs: []planner.AttrChange{
			{Name: "cloud", After: "aws"}, {Name: "force_destroy", After: false}, {Name: "name", After: "jobs-bucket"},
			{Name: "region", After: "us-east-1"}, {Name: "versioning", After: false},
		},
		After: caseBucketAttrs}
	if d := cmp.Diff([]*planner.Change{want}, p.Changes, caseCmpOpts...); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if p.Summary != (planner.Summary{Add: 1}) || p.FormatVersion != "1" || p.SpecHash != "h1" || p.Workspace != caseWS ||
		p.Serial != 0 || p.Lineage == "" || !p.HasChanges() {
		t.Errorf("plan header = %+v", p)
	}
}

func TestCaseDiff(t *testing.T) {
	jc := "jobs_controller.main"
	labels2 := map[string]string{"team": "ml", "env": "prod"}
	cases := []struct {
		name     string
		in       planner.Input
		addr     string
		action   planner.Action
		attrs    []planner.AttrChange
		reason   string // substring
		blocked  bool
		stateOnl bool
	}{
		{name: "no-op when observed matches",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Prior:    casePrior(caseObs("cluster.c", "aws", caseClusterAttrs)),
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.NoOp},
		{name: "numbers compare by value not representation",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "nodes", 2.0, "disk_size", 256))}},
			addr: "cluster.c", action: planner.NoOp, reason: "found by its tags but not in the state file"},
		{name: "update in place: nodes 2→3",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "nodes", int64(3)))},
				Prior:    casePrior(caseObs("cluster.c", "aws", caseClusterAttrs)),
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.Update, attrs: []planner.AttrChange{{Name: "nodes", Before: int64(2), After: int64(3)}}},
		{name: "update in place: labels map",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "labels", labels2))},
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}},
			addr: "cluster.c", action: planner.Update,
			attrs: []planner.AttrChange{{Name: "labels", Before: map[string]string{"team": "ml"}, After: labels2}}},
		{name: "replace with forcing attribute and reason",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "instance_type", "p5.48xlarge", "nodes", int64(3)))},
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}},
			addr: "cluster.c", action: planner.Replace,
			attrs: []planner.AttrChange{
				{Name: "instance_type", Before: "p4d.24xlarge", After: "p5.48xlarge", ForcesReplacement: true, Reason: "the machine type of running nodes cannot change in place"},
				{Name: "nodes", Before: int64(2), After: int64(3)},
			},
			reason: `instance_type "p4d.24xlarge" → "p5.48xlarge" forces replacement; the machine type of running nodes cannot change in place`},
		{name: "controller cloud gcp→aws is blocked",
			in: planner.Input{Desired: []*spec.Resource{caseRes("jobs_controller", "main", caseAWSControllerAttrs)},
				Prior:    casePrior(caseObs(jc, "gcp", caseGCPControllerAttrs)),
				Observed: []*state.Resource{caseObs(jc, "gcp", caseGCPControllerAttrs)}, ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			addr: jc, action: planner.Replace, reason: "managed jobs running on the old controller are not migrated", blocked: true},
		{name: "controller replace allowed from the CLI",
			in: planner.Input{Desired: []*spec.Resource{caseRes("jobs_controller", "main", caseAWSControllerAttrs)},
				Prior:    casePrior(caseObs(jc, "gcp", caseGCPControllerAttrs)),
				Observed: []*state.Resource{caseObs(jc, "gcp", caseGCPControllerAttrs)}, ObservedClouds: map[string]bool{"aws": true, "gcp": true},
				AllowReplace: map[string]bool{jc: true}},
			addr: jc, action: planner.Replace, reason: "managed jobs running on the old controller are not migrated"},
		{name: "controller replace allowed by lifecycle",
			in: planner.Input{Desired: []*spec.Resource{{Type: "jobs_controller", Name: "main", Attrs: caseAWSControllerAttrs, AllowReplace: true}},
				Prior:    casePrior(caseObs(jc, "gcp", caseGCPControllerAttrs)),
				Observed: []*state.Resource{caseObs(jc, "gcp", caseGCPControllerAttrs)}, ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			addr: jc, action: planner.Replace, reason: "managed jobs running on the old controller are not migrated"},
		{name: "controller cloud change detected when observation omits cloud",
			in: planner.Input{Desired: []*spec.Resource{caseRes("jobs_controller", "main", caseAWSControllerAttrs)},
				Observed: []*state.Resource{caseObs(jc, "gcp", caseCopy(caseGCPControllerAttrs, "cloud", nil))}},
			addr: jc, action: planner.Replace, reason: `cloud "gcp" → "aws"`, blocked: true},
		{name: "controller bucket change is an update, not blocked",
			in: planner.Input{Desired: []*spec.Resource{caseRes("jobs_controller", "main", caseCopy(caseGCPControllerAttrs, "bucket", "other"))},
				Observed: []*state.Resource{caseObs(jc, "gcp", caseGCPControllerAttrs)}},
			addr: jc, action: planner.Update, attrs: []planner.AttrChange{{Name: "bucket", Before: "jobs-bucket", After: "other"}}},
		{name: "delete when removed from spec",
			in: planner.Input{Prior: casePrior(caseObs("bucket.old", "aws", caseBucketAttrs)),
				Observed: []*state.Resource{caseObs("bucket.old", "aws", caseBucketAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.old", action: planner.Delete, reason: "no longer in the spec",
			attrs: []planner.AttrChange{{Name: "cloud", Before: "aws"}, {Name: "force_destroy", Before: false}, {Name: "name", Before: "jobs-bucket"},
				{Name: "region", Before: "us-east-1"}, {Name: "versioning", Before: false}}},
		{name: "removed from spec and already gone from the cloud",
			in:   planner.Input{Prior: casePrior(caseObs("bucket.old", "aws", caseBucketAttrs)), ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.old", action: planner.Delete, reason: "already deleted outside skyplan"},
		{name: "drift: deleted outside skyplan is created again",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Prior: casePrior(caseObs("cluster.c", "aws", caseClusterAttrs)), ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.Create, reason: "deleted outside skyplan"},
		{name: "not drift when the cloud was not observed",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Prior: casePrior(caseObs("cluster.c", "aws", caseClusterAttrs)), ObservedClouds: map[string]bool{"gcp": true}},
			addr: "cluster.c", action: planner.NoOp},
		{name: "state-only update (force_destroy)",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseCopy(caseBucketAttrs, "force_destroy", true))},
				Prior:    casePrior(caseObs("bucket.b", "aws", caseBucketAttrs)),
				Observed: []*state.Resource{caseObs("bucket.b", "aws", caseCopy(caseBucketAttrs, "force_destroy", nil))}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.Update, stateOnl: true, reason: "only skyplan's own settings change",
			attrs: []planner.AttrChange{{Name: "force_destroy", Before: false, After: true}}},
		{name: "force_destroy with a cloud change is not state-only",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseCopy(caseBucketAttrs, "force_destroy", true, "versioning", true))},
				Prior:    casePrior(caseObs("bucket.b", "aws", caseBucketAttrs)),
				Observed: []*state.Resource{caseObs("bucket.b", "aws", caseCopy(caseBucketAttrs, "force_destroy", nil))}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.Update,
			attrs: []planner.AttrChange{{Name: "force_destroy", Before: false, After: true}, {Name: "versioning", Before: false, After: true}}},
		{name: "attribute missing from observation falls back to prior state",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "disk_tier", "high"))},
				Prior:    casePrior(caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "disk_tier", "low"))),
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "disk_tier", nil))}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.Replace, reason: `disk_tier "low" → "high"`,
			attrs: []planner.AttrChange{{Name: "disk_tier", Before: "low", After: "high", ForcesReplacement: true, Reason: "the boot disk type is fixed at creation"}}},
		{name: "observation wins over prior state",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Prior:    casePrior(caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "nodes", int64(5)))),
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.NoOp},
		{name: "attribute unknown to both is not diffed",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "image", "ami-123", "subnet", "subnet-1"))},
				Prior:    casePrior(caseObs("cluster.c", "aws", caseClusterAttrs)),
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.c", action: planner.NoOp},
		{name: "null and empty collections are equal",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseCopy(caseClusterAttrs, "labels", map[string]string{}))},
				Observed: []*state.Resource{caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "labels", nil))}},
			addr: "cluster.c", action: planner.NoOp, reason: "found by its tags but not in the state file"},
		{name: "a cluster of 0 nodes is not deleted outside skyplan (nothing to observe)",
			in: planner.Input{Desired: []*spec.Resource{caseRes("cluster", "z", caseCopy(caseClusterAttrs, "nodes", int64(0)))},
				Prior: casePrior(func() *state.Resource {
					r := caseObs("cluster.z", "aws", caseCopy(caseClusterAttrs, "nodes", int64(0)))
					r.IDs = nil
					return r
				}()), ObservedClouds: map[string]bool{"aws": true}},
			addr: "cluster.z", action: planner.NoOp},
		{name: "an interrupted create with nothing found is created again, with its intent",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)},
				Prior: casePrior(func() *state.Resource {
					r := caseObs("bucket.b", "aws", caseBucketAttrs)
					r.IDs, r.Pending = nil, state.PendingCreate
					return r
				}()), ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.Create, reason: "an earlier apply was interrupted while creating bucket.b"},
		{name: "an interrupted create whose object is found is adopted",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)},
				Prior: casePrior(func() *state.Resource {
					r := caseObs("bucket.b", "aws", caseBucketAttrs)
					r.Pending = state.PendingCreate
					return r
				}()), Observed: []*state.Resource{caseObs("bucket.b", "aws", caseBucketAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.NoOp, reason: "apply records it"},
		{name: "observed-only owned object not in spec is deleted",
			in:   planner.Input{Observed: []*state.Resource{caseObs("bucket.stray", "aws", caseBucketAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.stray", action: planner.Delete, reason: `found on aws with workspace "ws"'s ownership tags but in neither the spec nor state`},
		{name: "observed-only object in the spec is adopted",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseBucketAttrs)},
				Observed: []*state.Resource{caseObs("bucket.b", "aws", caseBucketAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.NoOp, reason: "apply records it"},
		{name: "observed-only object in the spec is adopted and updated",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "b", caseCopy(caseBucketAttrs, "versioning", true))},
				Observed: []*state.Resource{caseObs("bucket.b", "aws", caseBucketAttrs)}, ObservedClouds: map[string]bool{"aws": true}},
			addr: "bucket.b", action: planner.Update, attrs: []planner.AttrChange{{Name: "versioning", Before: false, After: true}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := caseMake(t, tc.in)
			if len(p.Changes) != 1 {
				t.Fatalf("want 1 change, got %d: %+v", len(p.Changes), p.Changes)
			}
			c := caseOnly(t, p, tc.addr)
			if c.Action != tc.action {
				t.Errorf("action = %s, want %s (reason %q)", c.Action, tc.action, c.Reason)
			}
			if tc.attrs != nil {
				if d := cmp.Diff(tc.attrs, c.Attrs, caseCmpOpts...); d != "" {
					t.Errorf("attrs (-want +got):\n%s", d)
				}
			}
			if tc.action == planner.NoOp && len(c.Attrs) != 0 {
				t.Errorf("no-op with attribute changes: %+v", c.Attrs)
			}
			if !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", c.Reason, tc.reason)
			}
			if tc.reason == "" && c.Reason != "" {
				t.Errorf("unexpected reason %q", c.Reason)
			}
			if (c.Blocked != "") != tc.blocked {
				t.Errorf("blocked = %q, want blocked=%v", c.Blocked, tc.blocked)
			}
			if tc.blocked && !strings.Contains(c.Blocked, "--allow-replace "+tc.addr) {
				t.Errorf("blocked message %q does not say how to allow it", c.Blocked)
			}
			if c.StateOnly != tc.stateOnl {
				t.Errorf("StateOnly = %v, want %v", c.StateOnly, tc.stateOnl)
			}
			// A create carries a Prior only to pass an interrupted run's intent on.
			if c.Action == planner.Create && c.Prior != nil && c.Prior.Pending != state.PendingCreate {
				t.Errorf("create has a Prior that is not an intent: %+v", c.Prior)
			}
			if (c.Action == planner.Update || c.Action == planner.Replace || c.Action == planner.Delete) && c.Prior == nil {
				t.Error("change of an existing resource lacks Prior")
			}
			wantSummary := planner.Summary{}
			switch c.Action {
			case planner.Create:
				wantSummary.Add = 1
			case planner.Update:
				wantSummary.Change = 1
			case planner.Replace:
				wantSummary.Replace = 1
			case planner.Delete:
				wantSummary.Destroy = 1
			}
			if p.Summary != wantSummary {
				t.Errorf("summary = %+v, want %+v", p.Summary, wantSummary)
			}
		})
	}
}

func TestCaseDestroyMode(t *testing.T) {
	prior := casePrior(caseObs("bucket.jobs", "aws", caseBucketAttrs), caseObs("cluster.c", "aws", caseClusterAttrs))
	p := caseMake(t, planner.Input{Destroy: true,
		Desired:  []*spec.Resource{caseRes("bucket", "jobs", caseBucketAttrs), caseRes("cluster", "c", caseClusterAttrs), caseRes("bucket", "new", caseBucketAttrs)},
		Prior:    prior,
		Observed: []*state.Resource{caseObs("cluster.c", "aws", caseClusterAttrs)}, ObservedClouds: map[string]bool{"aws": true}})
	if !p.Destroy {
		t.Error("plan.Destroy not set")
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Action.String()+" "+c.Address+": "+c.Reason)
	}
	want := []string{"delete bucket.jobs: destroy requested", "delete cluster.c: destroy requested"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if p.Summary != (planner.Summary{Destroy: 2}) {
		t.Errorf("summary = %+v", p.Summary)
	}
}

func TestCaseExpandedAttrsAndNotes(t *testing.T) {
	addr := "gpu_label_policy.p"
	desired := map[string]any{"cloud": "kubernetes", "label_key": "skypilot.co/accelerator", "overwrite": false}
	expanded := caseCopy(desired, "overrides", map[string]string{"node-1": "A100"})
	obs := caseCopy(desired, "overrides", map[string]string{"node-1": "H100"})
	p := caseMake(t, planner.Input{
		Desired:  []*spec.Resource{caseRes("gpu_label_policy", "p", desired)},
		Expanded: map[string]planner.Expansion{addr: {Attrs: expanded, Notes: []string{"node-2 has no GPU"}}},
		Observed: []*state.Resource{caseObs(addr, "kubernetes", obs)}, ObservedClouds: map[string]bool{"kubernetes": true}})
	c := caseOnly(t, p, addr)
	want := []planner.AttrChange{{Name: "overrides", Before: map[string]string{"node-1": "H100"}, After: map[string]string{"node-1": "A100"}}}
	if d := cmp.Diff(want, c.Attrs); d != "" {
		t.Errorf("attrs (-want +got):\n%s", d)
	}
	if c.Action != planner.Update {
		t.Errorf("action = %s", c.Action)
	}
	if d := cmp.Diff(expanded, c.After); d != "" {
		t.Errorf("After is not the expansion (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"node-2 has no GPU"}, c.Notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
}

func TestCaseDuplicateObserved(t *testing.T) {
	_, err := planner.Make(planner.Input{Workspace: caseWS,
		Observed: []*state.Resource{caseObs("bucket.b", "aws", caseBucketAttrs), caseObs("bucket.b", "gcp", caseBucketAttrs)}})
	if err == nil {
		t.Fatal("want an error for an address observed twice")
	}
	for _, s := range []string{"bucket.b", "aws", "gcp"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestCaseSensitiveAttrs(t *testing.T) {
	r := &spec.Resource{Type: "cluster", Name: "c", Attrs: caseCopy(caseClusterAttrs, "labels", map[string]string{"token": "new"}),
		Sensitive: map[string]bool{"labels": true}}
	// Create.
	p := caseMake(t, planner.Input{Desired: []*spec.Resource{r}})
	c := caseOnly(t, p, "cluster.c")
	if d := cmp.Diff([]string{"labels"}, c.Sensitive); d != "" {
		t.Errorf("Change.Sensitive (-want +got):\n%s", d)
	}
	for _, a := range c.Attrs {
		if a.Sensitive != (a.Name == "labels") {
			t.Errorf("create attr %s Sensitive = %v", a.Name, a.Sensitive)
		}
	}
	// Update.
	p = caseMake(t, planner.Input{Desired: []*spec.Resource{r},
		Observed: []*state.Resource{caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": "old"}))}})
	c = caseOnly(t, p, "cluster.c")
	want := []planner.AttrChange{{Name: "labels", Before: map[string]string{"token": "old"}, After: map[string]string{"token": "new"}, Sensitive: true}}
	if d := cmp.Diff(want, c.Attrs); d != "" {
		t.Errorf("attrs (-want +got):\n%s", d)
	}
	// Replace forced by a sensitive attribute: the reason names it but not its value.
	r2 := &spec.Resource{Type: "cluster", Name: "c", Attrs: caseCopy(caseClusterAttrs, "image", "secret-image-2"), Sensitive: map[string]bool{"image": true}}
	p = caseMake(t, planner.Input{Desired: []*spec.Resource{r2},
		Observed: []*state.Resource{caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "image", "secret-image-1"))}})
	c = caseOnly(t, p, "cluster.c")
	if c.Action != planner.Replace || !strings.Contains(c.Reason, "image (sensitive value)") || strings.Contains(c.Reason, "secret-image") {
		t.Errorf("replace reason %q (action %s)", c.Reason, c.Action)
	}
	// Delete: sensitivity comes from state.
	pr := caseObs("cluster.c", "aws", caseCopy(caseClusterAttrs, "labels", map[string]string{"token": "old"}))
	pr.Sensitive = []string{"labels"}
	p = caseMake(t, planner.Input{Prior: casePrior(pr)})
	c = caseOnly(t, p, "cluster.c")
	for _, a := range c.Attrs {
		if a.Sensitive != (a.Name == "labels") {
			t.Errorf("delete attr %s Sensitive = %v", a.Name, a.Sensitive)
		}
	}
}

func caseOrder(p *planner.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		s := c.Action.String() + " " + c.Address
		if len(c.DependsOn) > 0 {
			s += " after " + strings.Join(c.DependsOn, ",")
		}
		out = append(out, s)
	}
	return out
}

func TestCaseOrdering(t *testing.T) {
	ctl := caseRes("jobs_controller", "main", caseGCPControllerAttrs, "bucket.jobs")
	cases := []struct {
		name string
		in   planner.Input
		want []string
	}{
		{name: "bucket before controller on create",
			in:   planner.Input{Desired: []*spec.Resource{ctl, caseRes("bucket", "jobs", caseBucketAttrs)}},
			want: []string{"create bucket.jobs", "create jobs_controller.main after bucket.jobs"}},
		{name: "dependency beats address order on create",
			in:   planner.Input{Desired: []*spec.Resource{caseRes("bucket", "a", caseBucketAttrs, "bucket.z"), caseRes("bucket", "z", caseBucketAttrs)}},
			want: []string{"create bucket.z", "create bucket.a after bucket.z"}},
		{name: "controller before bucket on delete",
			in: planner.Input{Prior: casePrior(caseObs("bucket.jobs", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs, "bucket.jobs")),
				ObservedClouds: map[string]bool{}},
			want: []string{"delete jobs_controller.main", "delete bucket.jobs after jobs_controller.main"}},
		{name: "destroy deletes in reverse dependency order",
			in: planner.Input{Destroy: true, Desired: []*spec.Resource{ctl, caseRes("bucket", "jobs", caseBucketAttrs)},
				Prior: casePrior(caseObs("bucket.jobs", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs, "bucket.jobs"))},
			want: []string{"delete jobs_controller.main", "delete bucket.jobs after jobs_controller.main"}},
		{name: "without state, a controller found in the cloud goes before its bucket",
			in: planner.Input{Destroy: true,
				Observed:       []*state.Resource{caseObs("bucket.a_jobs", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)},
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			want: []string{"delete jobs_controller.main", "delete bucket.a_jobs after jobs_controller.main"}},
		{name: "without state, another bucket does not wait for the controller",
			in: planner.Input{Destroy: true,
				Observed:       []*state.Resource{caseObs("bucket.a_other", "aws", caseCopy(caseBucketAttrs, "name", "other")), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)},
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			want: []string{"delete bucket.a_other", "delete jobs_controller.main"}},
		{name: "old bucket deleted after the controller moves off it",
			in: planner.Input{
				Desired: []*spec.Resource{caseRes("bucket", "new", caseCopy(caseBucketAttrs, "name", "new-bucket")),
					caseRes("jobs_controller", "main", caseCopy(caseGCPControllerAttrs, "bucket", "new-bucket"), "bucket.new")},
				Prior:          casePrior(caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs, "bucket.old")),
				Observed:       []*state.Resource{caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)},
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			want: []string{"create bucket.new", "update jobs_controller.main after bucket.new", "delete bucket.old after jobs_controller.main"}},
		{name: "old bucket deleted after the controller that used it is replaced",
			in: planner.Input{
				Desired: []*spec.Resource{caseRes("bucket", "new", caseCopy(caseBucketAttrs, "name", "new-bucket")),
					caseRes("jobs_controller", "main", caseCopy(caseAWSControllerAttrs, "bucket", "new-bucket"), "bucket.new")},
				Prior:          casePrior(caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs, "bucket.old")),
				Observed:       []*state.Resource{caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)},
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}, AllowReplace: map[string]bool{"jobs_controller.main": true}},
			want: []string{"create bucket.new", "replace jobs_controller.main after bucket.new", "delete bucket.old after jobs_controller.main"}},
		{name: "delete does not wait for an unchanged former dependent",
			in: planner.Input{
				Desired:        []*spec.Resource{caseRes("jobs_controller", "main", caseGCPControllerAttrs)},
				Prior:          casePrior(caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs, "bucket.old")),
				Observed:       []*state.Resource{caseObs("bucket.old", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)},
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}},
			want: []string{"delete bucket.old", "no-op jobs_controller.main"}},
		{name: "independent changes have no deps",
			in:   planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs), caseRes("bucket", "b", caseBucketAttrs)}},
			want: []string{"create bucket.b", "create cluster.c"}},
		{name: "no wait on a dependency without changes; no-ops last",
			in: planner.Input{Desired: []*spec.Resource{caseRes("bucket", "jobs", caseBucketAttrs), caseRes("jobs_controller", "main", caseCopy(caseGCPControllerAttrs, "bucket", "x"), "bucket.jobs")},
				Observed: []*state.Resource{caseObs("bucket.jobs", "aws", caseBucketAttrs), caseObs("jobs_controller.main", "gcp", caseGCPControllerAttrs)}},
			want: []string{"update jobs_controller.main", "no-op bucket.jobs"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, caseOrder(caseMake(t, tc.in))); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}

func TestCaseOrderDeterministic(t *testing.T) {
	var desired []*spec.Resource
	var observed []*state.Resource
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		desired = append(desired, caseRes("bucket", n, caseBucketAttrs))
		desired = append(desired, caseRes("cluster", n, caseClusterAttrs, "bucket."+n))
		if n < "c" {
			observed = append(observed, caseObs("cluster."+n, "aws", caseCopy(caseClusterAttrs, "nodes", int64(9))))
		}
	}
	first := caseOrder(caseMake(t, planner.Input{Desired: desired, Observed: observed}))
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		d := append([]*spec.Resource{}, desired...)
		o := append([]*state.Resource{}, observed...)
		rng.Shuffle(len(d), func(i, j int) { d[i], d[j] = d[j], d[i] })
		rng.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		if diff := cmp.Diff(first, caseOrder(caseMake(t, planner.Input{Desired: d, Observed: o}))); diff != "" {
			t.Fatalf("order changed with input order (-first +now):\n%s", diff)
		}
	}
	// Every change comes after what it depends on.
	pos := map[string]int{}
	for i, s := range first {
		addr := strings.Fields(s)[1]
		pos[addr] = i
	}
	p := caseMake(t, planner.Input{Desired: desired, Observed: observed})
	for _, c := range p.Changes {
		for _, d := range c.DependsOn {
			if pos[d] >= pos[c.Address] {
				t.Errorf("%s is ordered before its dependency %s", c.Address, d)
			}
		}
	}
}

func TestCaseActionText(t *testing.T) {
	for _, a := range []planner.Action{planner.NoOp, planner.Create, planner.Update, planner.Replace, planner.Delete} {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back planner.Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("%s round-trips to %s (%v)", a, back, err)
		}
	}
	if got := planner.Replace.Symbol(); got != "-/+" {
		t.Errorf("Replace.Symbol() = %q", got)
	}
}

// Objects found by their tags that the state file does not record are
// recorded by the next apply: a whole resource (found, not in state), and a
// resource whose objects differ from the state's IDs (a killed scale-up or
// scale-down); the same IDs in another order are no change.
func TestCaseAdoptWhatStateLacks(t *testing.T) {
	withIDs := func(ids ...string) *state.Resource {
		r := caseObs("cluster.c", "aws", caseClusterAttrs)
		r.IDs = ids
		return r
	}
	for _, tt := range []struct {
		name   string
		prior  *state.Resource
		obs    *state.Resource
		adopt  bool
		reason string
	}{
		{"not in state", nil, withIDs("i-1", "i-2"), true, "found by its tags but not in the state file"},
		{"a node state lacks", withIDs("i-1"), withIDs("i-1", "i-2"), true, "(i-1, i-2) are not those the state file lists (i-1)"},
		{"a node state still lists", withIDs("i-1", "i-2", "i-3"), withIDs("i-1", "i-2"), true, "are not those the state file lists (i-1, i-2, i-3)"},
		{"same nodes", withIDs("i-2", "i-1"), withIDs("i-1", "i-2"), false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prior := casePrior()
			if tt.prior != nil {
				prior = casePrior(tt.prior)
			}
			p := caseMake(t, planner.Input{Desired: []*spec.Resource{caseRes("cluster", "c", caseClusterAttrs)},
				Prior: prior, Observed: []*state.Resource{tt.obs}, ObservedClouds: map[string]bool{"aws": true}})
			c := caseOnly(t, p, "cluster.c")
			if c.Action != planner.NoOp || c.Adopt != tt.adopt || !strings.Contains(c.Reason, tt.reason) || p.HasChanges() {
				t.Errorf("%s adopt %v, reason %q, changes %v; want a no-op, adopt %v, reason with %q", c.Action, c.Adopt, c.Reason, p.HasChanges(), tt.adopt, tt.reason)
			}
			if got := p.Adoptions(); got != map[bool]int{true: 1, false: 0}[tt.adopt] {
				t.Errorf("Adoptions() = %d", got)
			}
		})
	}
}
