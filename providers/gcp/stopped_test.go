package gcp

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	compute "google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

const testZone = "us-central1-a"

// powerOp calls stop/suspend on an instance through the Compute API, as a
// person would, and returns the operation without waiting for it.
func powerOp(t *testing.T, p *Provider, verb, name string) (*compute.Service, *compute.Operation) {
	t.Helper()
	svc, err := p.computeClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var op *compute.Operation
	switch verb {
	case "stop":
		op, err = svc.Instances.Stop(testProject, testZone, name).Do()
	case "suspend":
		op, err = svc.Instances.Suspend(testProject, testZone, name).Do()
	}
	if err != nil {
		t.Fatalf("%s %s: %v", verb, name, err)
	}
	return svc, op
}

// powerOpDone calls stop/suspend and polls its operation to the end.
func powerOpDone(t *testing.T, p *Provider, verb, name string) {
	t.Helper()
	svc, op := powerOp(t, p, verb, name)
	for i := 0; op.Status != "DONE"; i++ {
		var err error
		if op, err = svc.ZoneOperations.Wait(testProject, testZone, op.Name).Do(); err != nil || i > 10 {
			t.Fatalf("waiting for %s of %s: %v (status %s)", verb, name, err, op.Status)
		}
	}
}

// wantNotes checks the notes Expand writes for cluster NAME with desired
// attributes against what was observed.
func wantNotes(t *testing.T, p *Provider, name string, desired state.Attrs, obs *state.Resource, want ...string) {
	t.Helper()
	_, notes, err := p.Expand(ctxT(t), &spec.Resource{Type: spec.TypeCluster, Name: name, Attrs: desired}, obs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// planChange plans r, expanded to attrs and notes, against what was observed
// and the state apply recorded at creation.
func planChange(t *testing.T, r *spec.Resource, attrs map[string]any, notes []string, obs, created *state.Resource) *planner.Change {
	t.Helper()
	prior := state.New("prod")
	prior.Set(created)
	plan, err := planner.Make(planner.Input{Workspace: "prod", Desired: []*spec.Resource{r},
		Expanded: map[string]planner.Expansion{r.Address(): {Attrs: attrs, Notes: notes}},
		Observed: []*state.Resource{obs}, ObservedClouds: map[string]bool{"gcp": true}, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	return plan.Changes[0]
}

func TestGCEStoppedNodeIsStartedAgain(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	const addr = "cluster.stop"
	desired := gceCluster(3)
	created := apply(t, p, providers.OpCreate, addr, desired, nil)
	powerOpDone(t, p, "stop", "stop-prod-1")
	stoppedID := e.fake.Instance(testProject, testZone, "stop-prod-1").Id

	obs := observe(t, p, hint(addr, desired))[addr]
	if obs == nil || obs.Attrs["nodes"] != int64(2) {
		t.Fatalf("observed %+v; want nodes = 2 (one of 3 stopped)", obs)
	}
	if diff := cmp.Diff(created.IDs, obs.IDs); diff != "" {
		t.Errorf("observed IDs must keep the stopped node (-want +got):\n%s", diff)
	}

	r := &spec.Resource{Type: spec.TypeCluster, Name: "stop", Attrs: desired}
	attrs, notes, err := p.Expand(ctxT(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(desired)
	want[providers.AttrStoppedNodes] = []string{}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Errorf("Expand's desired attributes (-want +got):\n%s", diff)
	}
	if _, touched := desired[providers.AttrStoppedNodes]; touched {
		t.Error("Expand modified the spec's attribute map")
	}
	wantNote := "node 1 (stop-prod-1) is stopped outside skyplan; apply starts it again"
	if diff := cmp.Diff([]string{wantNote}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	c := planChange(t, r, attrs, notes, obs, created)
	if c.Action != planner.Update || !cmp.Equal(c.Attrs, []planner.AttrChange{{Name: "nodes", Before: int64(2), After: int64(3)},
		{Name: providers.AttrStoppedNodes, Before: []string{"stop-prod-1"}, After: []string{}}}) ||
		!cmp.Equal(c.Notes, []string{wantNote}) {
		t.Fatalf("plan: %s %+v notes %q; want update nodes 2 → 3, stopped_nodes emptied, with the note", c.Action, c.Attrs, c.Notes)
	}

	e.fake.ResetRequests()
	progress := &providertest.Progress{}
	res, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpUpdate, Workspace: "prod", Address: addr, Type: spec.TypeCluster,
		Desired: c.After, Prior: c.Prior, Progress: progress.Add})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances"); n != 0 {
		t.Errorf("apply inserted %d instance(s), want none", n)
	}
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances/stop-prod-1/start"); n != 1 {
		t.Errorf("apply started stop-prod-1 %d times, want 1", n)
	}
	if progress.Index("starting node 1 (stop-prod-1) stopped outside skyplan") < 0 {
		t.Errorf("progress %s does not report the start", progress)
	}
	inst := e.fake.Instance(testProject, testZone, "stop-prod-1")
	if inst.Status != "RUNNING" || inst.Id != stoppedID {
		t.Errorf("stop-prod-1 after apply: %s, id %d; want the same instance %d RUNNING", inst.Status, inst.Id, stoppedID)
	}
	if n := len(e.fake.Instances()); n != 3 {
		t.Errorf("%d instances after apply, want 3", n)
	}
	if diff := cmp.Diff(created.IDs, res.IDs); diff != "" {
		t.Errorf("IDs after apply (-want +got):\n%s", diff)
	}
	if res.Attrs["nodes"] != int64(3) || res.Private[providers.AttrStoppedNodes] != "" {
		t.Errorf("apply returned nodes = %v, private %v", res.Attrs["nodes"], res.Private)
	}
	again := observe(t, p, hint(addr, desired))[addr]
	if again.Attrs["nodes"] != int64(3) || again.Private[providers.AttrStoppedNodes] != "" {
		t.Errorf("observed after apply: nodes = %v, private %v", again.Attrs["nodes"], again.Private)
	}
}

// A node still stopping is waited for (the API refuses to start it until
// it is TERMINATED); a suspended one is resumed, not started.
func TestGCEStoppingAndSuspendedNodes(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	const addr = "cluster.mix"
	desired := gceCluster(3)
	apply(t, p, providers.OpCreate, addr, desired, nil)
	powerOpDone(t, p, "suspend", "mix-prod-0")
	e.fake.OperationPolls = 3
	svc, stopOp := powerOp(t, p, "stop", "mix-prod-1") // left STOPPING until its operation is polled
	// Each GET of the stopping instance advances its stop, so it settles on
	// the third poll: apply must poll rather than start it at once.
	e.fake.OnRequest("GET", "/compute/v1/projects/*/zones/*/instances/mix-prod-1", func(*http.Request) *gcpfake.Fault {
		svc.ZoneOperations.Get(testProject, testZone, stopOp.Name).Do()
		return nil
	})

	obs := observe(t, p, hint(addr, desired))[addr]
	if obs.Attrs["nodes"] != int64(1) || len(obs.IDs) != 3 {
		t.Fatalf("observed nodes = %v, IDs %v; want 1 running of 3", obs.Attrs["nodes"], obs.IDs)
	}
	wantNotes(t, p, "mix", desired, obs,
		"node 0 (mix-prod-0) is suspended outside skyplan; apply resumes it",
		"node 1 (mix-prod-1) is stopping outside skyplan; apply waits for it to stop, then starts it again")

	e.fake.ResetRequests()
	progress := &providertest.Progress{}
	res, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpUpdate, Workspace: "prod", Address: addr, Type: spec.TypeCluster,
		Desired: desired, Prior: obs, Progress: progress.Add})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CountRequests("GET", "/compute/v1/projects/*/zones/*/instances/mix-prod-1"); n < 3 {
		t.Errorf("apply polled the stopping node %d times, want at least 3 (until TERMINATED)", n)
	}
	wait, start := progress.Index("waiting for node 1 (mix-prod-1) to finish stopping"), progress.Index("starting node 1 (mix-prod-1)")
	if wait < 0 || start < wait {
		t.Errorf("progress %s: want the wait, then the start", progress)
	}
	if progress.Index("resuming node 0 (mix-prod-0) suspended outside skyplan") < 0 {
		t.Errorf("progress %s does not report the resume", progress)
	}
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances/mix-prod-0/resume"); n != 1 {
		t.Errorf("resume calls = %d, want 1", n)
	}
	for _, inst := range e.fake.Instances() {
		if inst.Status != "RUNNING" {
			t.Errorf("%s is %s after apply", inst.Name, inst.Status)
		}
	}
	if res.Attrs["nodes"] != int64(3) {
		t.Errorf("apply returned nodes = %v, want 3", res.Attrs["nodes"])
	}
}

func TestGCEScaleInAndDestroyWithStoppedNodes(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	const addr = "cluster.shrink"
	apply(t, p, providers.OpCreate, addr, gceCluster(3), nil)
	powerOpDone(t, p, "stop", "shrink-prod-2")
	powerOpDone(t, p, "stop", "shrink-prod-0")
	obs := observe(t, p, hint(addr, gceCluster(2)))[addr]

	wantNotes(t, p, "shrink", gceCluster(2), obs,
		"node 0 (shrink-prod-0) is stopped outside skyplan; apply starts it again",
		"node 2 (shrink-prod-2) is stopped outside skyplan; apply deletes it (nodes = 2)")
	e.fake.ResetRequests()
	res := apply(t, p, providers.OpUpdate, addr, gceCluster(2), obs)
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances/shrink-prod-2/start"); n != 0 {
		t.Error("scale-in started the node it deletes")
	}
	var names []string
	for _, inst := range e.fake.Instances() {
		names = append(names, inst.Name+"="+inst.Status)
	}
	if diff := cmp.Diff([]string{"shrink-prod-0=RUNNING", "shrink-prod-1=RUNNING"}, names); diff != "" {
		t.Errorf("instances after scale-in (-want +got):\n%s", diff)
	}
	if res.Attrs["nodes"] != int64(2) {
		t.Errorf("nodes = %v, want 2", res.Attrs["nodes"])
	}

	// Destroy deletes a stopped node too.
	powerOpDone(t, p, "stop", "shrink-prod-1")
	if got := apply(t, p, providers.OpDelete, addr, nil, observe(t, p)[addr]); got != nil {
		t.Errorf("delete returned %+v", got)
	}
	if n := len(e.fake.Instances()); n != 0 {
		t.Errorf("%d instances left after destroy", n)
	}
}

// Lowering nodes to the running count leaves nodes unchanged, yet apply
// still has the stopped node past it to delete: the plan must not be a no-op.
func TestGCEStoppedNodePastLoweredNodesPlansAnUpdate(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	const addr = "cluster.trim"
	created := apply(t, p, providers.OpCreate, addr, gceCluster(3), nil)
	powerOpDone(t, p, "stop", "trim-prod-2")
	obs := observe(t, p, hint(addr, gceCluster(2)))[addr]
	r := &spec.Resource{Type: spec.TypeCluster, Name: "trim", Attrs: gceCluster(2)}
	attrs, notes, err := p.Expand(ctxT(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	c := planChange(t, r, attrs, notes, obs, created)
	wantAttrs := []planner.AttrChange{{Name: providers.AttrStoppedNodes, Before: []string{"trim-prod-2"}, After: []string{}}}
	if c.Action != planner.Update || !cmp.Equal(c.Attrs, wantAttrs) ||
		!cmp.Equal(c.Notes, []string{"node 2 (trim-prod-2) is stopped outside skyplan; apply deletes it (nodes = 2)"}) {
		t.Fatalf("plan: %s %+v notes %q; want an update emptying stopped_nodes", c.Action, c.Attrs, c.Notes)
	}
	res := apply(t, p, providers.OpUpdate, addr, c.After, c.Prior)
	if e.fake.Instance(testProject, testZone, "trim-prod-2") != nil || len(res.IDs) != 2 {
		t.Errorf("after apply: IDs %v, trim-prod-2 still there: %v", res.IDs, e.fake.Instance(testProject, testZone, "trim-prod-2") != nil)
	}
	if _, ok := res.Attrs[providers.AttrStoppedNodes]; ok {
		t.Errorf("apply returned stopped_nodes = %v", res.Attrs[providers.AttrStoppedNodes])
	}
}

func TestGCEStoppedControllerPlansAnUpdate(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	desired := map[string]any{"cloud": "gcp", "zone": testZone, "region": "us-central1", "instance_type": "n2-standard-4",
		"disk_size": int64(50), "bucket": "jobs", "job_clouds": []string{"gcp"}}
	created := apply(t, p, providers.OpCreate, "jobs_controller.main", desired, nil)
	powerOpDone(t, p, "stop", "main-prod-0")
	obs := observe(t, p, hint("jobs_controller.main", desired))["jobs_controller.main"]
	r := &spec.Resource{Type: spec.TypeJobsController, Name: "main", Attrs: desired}
	attrs, notes, err := p.Expand(ctxT(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := desired[providers.AttrStoppedNodes]; ok || !cmp.Equal(attrs[providers.AttrStoppedNodes], []string{}) {
		t.Errorf("Expand: stopped_nodes = %v (spec map touched: %v); want [] on a copy", attrs[providers.AttrStoppedNodes], ok)
	}
	if !cmp.Equal(notes, []string{"node 0 (main-prod-0) is stopped outside skyplan; apply starts it again"}) {
		t.Errorf("notes = %q", notes)
	}
	res := apply(t, p, providers.OpUpdate, "jobs_controller.main", attrs, obs)
	if !cmp.Equal(res.IDs, created.IDs) || res.Attrs["nodes"] != int64(1) ||
		e.fake.Instance(testProject, testZone, "main-prod-0").Status != "RUNNING" {
		t.Errorf("after apply: IDs %v (want %v), nodes %v, status %s", res.IDs, created.IDs, res.Attrs["nodes"],
			e.fake.Instance(testProject, testZone, "main-prod-0").Status)
	}
}

// Expand leaves everything without stopped nodes as it is: buckets, TPU
// clusters, running clusters, nothing observed.
func TestExpandPassesOtherResourcesThrough(t *testing.T) {
	p := &Provider{workspace: "prod"}
	for _, tc := range []struct {
		r   *spec.Resource
		obs *state.Resource
	}{
		{&spec.Resource{Type: spec.TypeBucket, Name: "b", Attrs: map[string]any{"cloud": "gcp", "name": "b"}}, &state.Resource{Private: map[string]string{providers.AttrStoppedNodes: "0:x:TERMINATED"}}},
		{&spec.Resource{Type: spec.TypeCluster, Name: "c", Attrs: gceCluster(2)}, nil},
		{&spec.Resource{Type: spec.TypeCluster, Name: "c", Attrs: gceCluster(2)}, &state.Resource{Private: map[string]string{"kind": "tpu"}}},
	} {
		attrs, notes, err := p.Expand(context.Background(), tc.r, tc.obs)
		if err != nil || notes != nil || !cmp.Equal(attrs, tc.r.Attrs) {
			t.Errorf("%s: Expand = %v, %q, %v; want the desired attributes, no notes", tc.r.Address(), attrs, notes, err)
		}
	}
}
