package aws

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// stopOutOfBand stops instances with the EC2 API, as a person would.
func stopOutOfBand(t *testing.T, client *ec2.Client, ids ...string) {
	t.Helper()
	if _, err := client.StopInstances(context.Background(), &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if st := describeByID(t, client, id).State.Name; st != ec2types.InstanceStateNameStopped {
			t.Fatalf("%s is %s after StopInstances", id, st)
		}
	}
}

// ownedInstances lists the workspace's instances in every state but terminated.
func ownedInstances(t *testing.T, client *ec2.Client, ws string) []ec2types.Instance {
	t.Helper()
	insts, err := describeAll(context.Background(), client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		filter("tag:"+providers.TagWorkspace, ws), filter("instance-state-name", "pending", "running", "stopping", "stopped", "shutting-down")}})
	if err != nil {
		t.Fatal(err)
	}
	return insts
}

func TestClusterStoppedNodeIsStartedAgain(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	const addr = "cluster.stop"
	created := applyCluster(t, p, ws, addr, providers.OpCreate, clusterAttrs(3), nil)
	stoppedID := created.IDs[1]
	stopOutOfBand(t, raw, stoppedID)

	// Observe: two nodes run; the stopped one is still part of the cluster.
	obs := observeAddr(t, p, ws, addr)
	if obs == nil {
		t.Fatal("cluster not observed")
	}
	if obs.Attrs["nodes"] != int64(2) {
		t.Errorf("observed nodes = %v, want 2 (one of 3 stopped)", obs.Attrs["nodes"])
	}
	if diff := cmp.Diff(created.IDs, obs.IDs); diff != "" {
		t.Errorf("observed IDs must keep the stopped node (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff([]string{stoppedID}, obs.Attrs[providers.AttrStoppedNodes]); diff != "" {
		t.Errorf("observed stopped_nodes (-want +got):\n%s", diff)
	}

	// Expand names the instance and wants no stopped nodes, on a copy.
	r := &spec.Resource{Type: spec.TypeCluster, Name: "stop", Attrs: clusterAttrs(3)}
	attrs, notes, err := p.Expand(testCtx(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := clusterAttrs(3)
	want[providers.AttrStoppedNodes] = []string{}
	if diff := cmp.Diff(want, attrs); diff != "" {
		t.Errorf("Expand's desired attributes (-want +got):\n%s", diff)
	}
	if _, touched := r.Attrs[providers.AttrStoppedNodes]; touched {
		t.Error("Expand modified the spec's attribute map")
	}
	wantNote := "node 1 (" + stoppedID + ") is stopped outside skyplan; apply starts it again"
	if diff := cmp.Diff([]string{wantNote}, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}

	// The planner turns this into an update nodes 2 → 3, stopped_nodes
	// emptied, carrying the note.
	prior := state.New(ws)
	prior.Set(created)
	plan, err := planner.Make(planner.Input{Workspace: ws, Desired: []*spec.Resource{r},
		Expanded: map[string]planner.Expansion{addr: {Attrs: attrs, Notes: notes}},
		Observed: []*state.Resource{obs}, ObservedClouds: map[string]bool{"aws": true}, Prior: prior})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 1 || plan.Changes[0].Action != planner.Update {
		t.Fatalf("plan = %+v, want one update", plan.Changes)
	}
	c := plan.Changes[0]
	if diff := cmp.Diff([]planner.AttrChange{{Name: "nodes", Before: int64(2), After: int64(3)},
		{Name: providers.AttrStoppedNodes, Before: []string{stoppedID}, After: []string{}}}, c.Attrs); diff != "" {
		t.Errorf("planned attribute changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{wantNote}, c.Notes); diff != "" {
		t.Errorf("planned notes (-want +got):\n%s", diff)
	}

	// Apply starts the same instance instead of launching a replacement.
	log.reset()
	progress := &providertest.Progress{}
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpUpdate, Workspace: ws, Address: addr, Type: spec.TypeCluster,
		Desired: c.After, Prior: c.Prior, Progress: progress.Add})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(log.inputs("RunInstances")); n != 0 {
		t.Errorf("apply launched %d instance(s), want none", n)
	}
	starts := log.inputs("StartInstances")
	if len(starts) != 1 || !cmp.Equal(starts[0].(*ec2.StartInstancesInput).InstanceIds, []string{stoppedID}) {
		t.Errorf("StartInstances calls = %+v, want one for %s", starts, stoppedID)
	}
	if progress.Index("starting node 1 ("+stoppedID+") stopped outside skyplan") < 0 {
		t.Errorf("progress lines %s do not report the start", progress)
	}
	if st := describeByID(t, raw, stoppedID).State.Name; st != ec2types.InstanceStateNameRunning {
		t.Errorf("%s is %s after apply, want running", stoppedID, st)
	}
	if n := len(ownedInstances(t, raw, ws)); n != 3 {
		t.Errorf("workspace has %d instances after apply, want 3", n)
	}
	if diff := cmp.Diff(created.IDs, res.IDs); diff != "" {
		t.Errorf("IDs after apply (-want +got):\n%s", diff)
	}
	if _, ok := res.Attrs[providers.AttrStoppedNodes]; ok {
		t.Errorf("apply returned stopped_nodes = %v; the state must not keep the desired []", res.Attrs[providers.AttrStoppedNodes])
	}
	if res.Attrs["nodes"] != int64(3) || res.Private[providers.AttrStoppedNodes] != "" {
		t.Errorf("apply returned nodes = %v, private %v; want 3 running and no stopped nodes", res.Attrs["nodes"], res.Private)
	}

	// The next plan has nothing to do.
	again := observeAddr(t, p, ws, addr)
	if again.Attrs["nodes"] != int64(3) || again.Private[providers.AttrStoppedNodes] != "" {
		t.Errorf("observed after apply: nodes = %v, private %v", again.Attrs["nodes"], again.Private)
	}
	if _, notes, _ := p.Expand(testCtx(t), r, again); len(notes) != 0 {
		t.Errorf("notes after apply: %q", notes)
	}
}

func TestClusterScaleInTerminatesStoppedHighestNode(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	const addr = "cluster.shrink"
	created := applyCluster(t, p, ws, addr, providers.OpCreate, clusterAttrs(3), nil)
	stopOutOfBand(t, raw, created.IDs[2])
	obs := observeAddr(t, p, ws, addr)

	r := &spec.Resource{Type: spec.TypeCluster, Name: "shrink", Attrs: clusterAttrs(1)}
	_, notes, err := p.Expand(testCtx(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"node 2 (" + created.IDs[2] + ") is stopped outside skyplan; apply terminates it (nodes = 1)"}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	log.reset()
	res := applyCluster(t, p, ws, addr, providers.OpUpdate, clusterAttrs(1), obs)
	if n := len(log.inputs("StartInstances")); n != 0 {
		t.Errorf("scale-in started %d stopped node(s), want none", n)
	}
	for _, id := range created.IDs[1:] {
		if st := describeByID(t, raw, id).State.Name; st != ec2types.InstanceStateNameTerminated {
			t.Errorf("%s is %s, want terminated", id, st)
		}
	}
	if diff := cmp.Diff(created.IDs[:1], res.IDs); diff != "" {
		t.Errorf("IDs after scale-in (-want +got):\n%s", diff)
	}
}

func TestClusterDestroyTerminatesStoppedNodes(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	const addr = "cluster.gone"
	created := applyCluster(t, p, ws, addr, providers.OpCreate, clusterAttrs(2), nil)
	stopOutOfBand(t, raw, created.IDs[0])
	obs := observeAddr(t, p, ws, addr)
	if res := applyCluster(t, p, ws, addr, providers.OpDelete, nil, obs); res != nil {
		t.Errorf("delete returned %+v, want nil", res)
	}
	for _, id := range created.IDs {
		if st := describeByID(t, raw, id).State.Name; st != ec2types.InstanceStateNameTerminated {
			t.Errorf("%s is %s after destroy, want terminated", id, st)
		}
	}
	if got := observeAddr(t, p, ws, addr); got != nil {
		t.Errorf("observed after destroy: %+v", got)
	}
}

func TestControllerStoppedIsStartedAgain(t *testing.T) {
	needMoto(t)
	ws := unique("ctrl")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	desired := map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "m6i.xlarge", "disk_size": int64(50),
		"bucket": "jobs-bucket", "job_clouds": []string{"aws"}}
	created := applyController(t, p, ws, providers.OpCreate, desired, nil)
	stopOutOfBand(t, raw, created.IDs[0])
	obs := observeAddr(t, p, ws, "jobs_controller.main")
	if obs == nil || obs.Attrs["nodes"] != int64(0) || !cmp.Equal(obs.IDs, created.IDs) {
		t.Fatalf("observed stopped controller = %+v; want nodes 0 and its instance kept", obs)
	}
	// The controller schema has no nodes: the plan is an update through stopped_nodes.
	r := &spec.Resource{Type: spec.TypeJobsController, Name: "main", Attrs: desired}
	attrs, notes, err := p.Expand(testCtx(t), r, obs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := desired[providers.AttrStoppedNodes]; ok {
		t.Error("Expand modified the spec's attribute map")
	}
	plan, err := planner.Make(planner.Input{Workspace: ws, Desired: []*spec.Resource{r},
		Expanded: map[string]planner.Expansion{r.Address(): {Attrs: attrs, Notes: notes}},
		Observed: []*state.Resource{obs}, ObservedClouds: map[string]bool{"aws": true}})
	if err != nil {
		t.Fatal(err)
	}
	c := plan.Changes[0]
	if c.Action != planner.Update || !cmp.Equal(c.Attrs, []planner.AttrChange{{Name: providers.AttrStoppedNodes, Before: created.IDs, After: []string{}}}) ||
		len(c.Notes) != 1 || !strings.Contains(c.Notes[0], created.IDs[0]) {
		t.Fatalf("plan = %s %+v notes %q; want update stopped_nodes %v → [] naming it", c.Action, c.Attrs, c.Notes, created.IDs)
	}
	res := applyController(t, p, ws, providers.OpUpdate, c.After, c.Prior)
	if !cmp.Equal(res.IDs, created.IDs) || res.Attrs["nodes"] != int64(1) {
		t.Errorf("after apply: IDs %v nodes %v; want %v running", res.IDs, res.Attrs["nodes"], created.IDs)
	}
	if st := describeByID(t, raw, created.IDs[0]).State.Name; st != ec2types.InstanceStateNameRunning {
		t.Errorf("controller is %s after apply, want running", st)
	}
}

// moto stops instances at once, so a node caught "stopping" is simulated by
// handing startStopped an instance whose recorded state is stopping: it must
// wait (the stopped waiter, against the real API) before starting it.
func TestStartStoppedWaitsForStopping(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	created := applyCluster(t, p, ws, "cluster.wait", providers.OpCreate, clusterAttrs(2), nil)
	stopOutOfBand(t, raw, created.IDs[0])
	node0, node1 := describeByID(t, raw, created.IDs[0]), describeByID(t, raw, created.IDs[1])
	node0.State.Name = ec2types.InstanceStateNameStopping

	client, err := p.ec2Client(testCtx(t), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	log.reset()
	progress := &providertest.Progress{}
	req := providers.ApplyRequest{Op: providers.OpUpdate, Workspace: ws, Address: "cluster.wait", Progress: progress.Add}
	started, err := p.startStopped(testCtx(t), client, req, "us-east-1", map[int]ec2types.Instance{0: node0, 1: node1})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(started, []string{created.IDs[0]}) {
		t.Errorf("started %v, want only node 0 %s", started, created.IDs[0])
	}
	wait, start := progress.Index("waiting for node 0 ("+created.IDs[0]+") to finish stopping"), progress.Index("starting node 0")
	if wait < 0 || start < wait {
		t.Errorf("progress %s: want the wait reported before the start", progress)
	}
	var ops []string
	for _, c := range log.calls {
		ops = append(ops, c.Op)
	}
	if i, j := slices.Index(ops, "DescribeInstances"), slices.Index(ops, "StartInstances"); i < 0 || j < i {
		t.Errorf("calls %v: want the stopped waiter's DescribeInstances before StartInstances", ops)
	}
}

func TestPlanNodesPrefersRunningOverStoppedDuplicate(t *testing.T) {
	inst := func(id, state string, minute int) ec2types.Instance {
		return ec2types.Instance{InstanceId: awssdk.String(id), State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(state)},
			Tags:       []ec2types.Tag{{Key: awssdk.String(tagNodeIndex), Value: awssdk.String("0")}},
			LaunchTime: awssdk.Time(awssdk.ToTime(nil).AddDate(2020, 0, 0).Add(time.Duration(minute) * time.Minute))}
	}
	keep, extra, _ := planNodes([]ec2types.Instance{inst("i-new", "running", 2), inst("i-old", "stopped", 1)}, 1)
	if id := awssdk.ToString(keep[0].InstanceId); id != "i-new" {
		t.Errorf("kept %s for node 0, want the running i-new over the older stopped i-old", id)
	}
	if len(extra) != 1 || awssdk.ToString(extra[0].InstanceId) != "i-old" {
		t.Errorf("extra = %v, want the stopped duplicate", instanceIDs(extra))
	}
	// With both running (or both stopped), the oldest still wins.
	keep, _, _ = planNodes([]ec2types.Instance{inst("i-new", "stopped", 2), inst("i-old", "stopped", 1)}, 1)
	if id := awssdk.ToString(keep[0].InstanceId); id != "i-old" {
		t.Errorf("kept %s, want the oldest", id)
	}
}
