package aws

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func oneNode() map[string]any {
	return map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "t3.micro", "nodes": int64(1)}
}

func hints(n int) []providers.ResourceHint {
	var out []providers.ResourceHint
	for i := range n {
		out = append(out, providers.ResourceHint{Address: fmt.Sprintf("cluster.c%d", i), Type: spec.TypeCluster, Attrs: oneNode()})
	}
	return out
}

// A plan's compute check is the first page of its observation: Check and
// Observe of 7 clusters cost one DescribeInstances at pages of 1,000, and
// at pages of 5 Observe goes on from Check's page.
func TestCheckAndObserveShareTheFirstPage(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	maker := newProvider(t, ws, nil)
	for i := range 7 {
		applyCluster(t, maker, ws, fmt.Sprintf("cluster.c%d", i), providers.OpCreate, oneNode(), nil)
	}
	for _, tt := range []struct {
		pageSize  int32
		wantCalls int
	}{{0, 1}, {5, 2}} {
		log := &callLog{}
		p := newProvider(t, ws, map[string]any{"regions": []string{"us-east-1"}, "capabilities": []string{"compute"}}, log.option())
		p.listPageSize = tt.pageSize
		for _, st := range p.Check(testCtx(t)) {
			if !st.OK || st.Reason != "DescribeInstances in us-east-1 succeeded" {
				t.Fatalf("check: %+v", st)
			}
		}
		got, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: ws, Resources: hints(7)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 7 {
			t.Errorf("page size %d: observed %d clusters, want 7", tt.pageSize, len(got))
		}
		if diff := cmp.Diff(map[string]int{"us-east-1": tt.wantCalls}, log.count("DescribeInstances")); diff != "" {
			t.Errorf("page size %d: DescribeInstances (-want +got):\n%s", tt.pageSize, diff)
		}
		if n := log.count("DescribeAvailabilityZones"); len(n) != 0 {
			t.Errorf("page size %d: DescribeAvailabilityZones %v, want none", tt.pageSize, n)
		}
		inputs := log.inputs("DescribeInstances")
		first := inputs[0].(*ec2.DescribeInstancesInput)
		if want := cmpOr(tt.pageSize, maxResults); awssdk.ToInt32(first.MaxResults) != want {
			t.Errorf("MaxResults = %d, want %d", awssdk.ToInt32(first.MaxResults), want)
		}
		if len(inputs) > 1 && inputs[1].(*ec2.DescribeInstancesInput).NextToken == nil {
			t.Error("Observe started the listing over instead of going on from Check's page")
		}
	}
}

func cmpOr(a, b int32) int32 {
	if a != 0 {
		return a
	}
	return b
}

// After an observation, a plain create launches without looking again,
// waits with one DescribeInstances and reads nothing back; concurrent
// creates look the image up once. A second create of the same address (a
// retry) looks again and adopts what the first launched.
func TestCreatesAfterObservationShareLookups(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	if _, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: ws, Resources: hints(6)}); err != nil {
		t.Fatal(err)
	}
	log.reset()
	applyCluster(t, p, ws, "cluster.c0", providers.OpCreate, oneNode(), nil)
	want := map[string]map[string]int{
		"DescribeInstances": {"us-east-1": 1}, // the wait
		"RunInstances":      {"us-east-1": 1},
		"DescribeImages":    {"us-east-1": 2}, // moto has no 22.04 image: the second search finds one
	}
	got := map[string]map[string]int{}
	for op := range want {
		got[op] = log.count(op)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("one create (-want +got):\n%s", diff)
	}

	// Five at once: the image is known, one launch and one poll each at most.
	log.reset()
	p.images = memo[imageChoice]{}
	var wg sync.WaitGroup
	for i := 1; i < 6; i++ {
		wg.Go(func() { applyCluster(t, p, ws, fmt.Sprintf("cluster.c%d", i), providers.OpCreate, oneNode(), nil) })
	}
	wg.Wait()
	if n := log.count("DescribeImages")["us-east-1"]; n != 2 {
		t.Errorf("5 concurrent creates made %d DescribeImages, want 2 (one lookup, shared)", n)
	}
	if n := log.count("RunInstances")["us-east-1"]; n != 5 {
		t.Errorf("RunInstances = %d, want 5", n)
	}
	if n := log.count("DescribeInstances")["us-east-1"]; n < 1 || n > 5 {
		t.Errorf("DescribeInstances = %d, want 1 to 5 (waits only, batched when launches end together)", n)
	}

	log.reset()
	again := applyCluster(t, p, ws, "cluster.c0", providers.OpCreate, oneNode(), nil)
	if n := log.count("RunInstances"); len(n) != 0 {
		t.Errorf("create retried in the same run launched again: %v", n)
	}
	if n := log.count("DescribeInstances")["us-east-1"]; n != 2 {
		t.Errorf("create retried in the same run: %d DescribeInstances, want 2 (it looks, and reads back the node it keeps)", n)
	}
	if len(again.IDs) != 1 {
		t.Errorf("retried create reports %v, want the node the first launched", again.IDs)
	}
}

// A create whose earlier run left an intent looks at EC2 even after an
// observation, and adopts the node that run launched after the listing.
func TestCreateWithAnEarlierIntentLooksAgain(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	if _, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: ws, Resources: hints(1)}); err != nil {
		t.Fatal(err)
	}
	// The earlier run's launch, landing after the listing.
	earlier := newProvider(t, ws, nil)
	first := applyCluster(t, earlier, ws, "cluster.c0", providers.OpCreate, oneNode(), nil)

	log.reset()
	intent := &state.Resource{Address: "cluster.c0", Type: spec.TypeCluster, Cloud: "aws", Attrs: oneNode(), Pending: state.PendingCreate}
	got := applyCluster(t, p, ws, "cluster.c0", providers.OpCreate, oneNode(), intent)
	if n := log.count("RunInstances"); len(n) != 0 {
		t.Errorf("launched again despite the intent: %v", n)
	}
	if diff := cmp.Diff(first.IDs, got.IDs); diff != "" {
		t.Errorf("adopted IDs (-earlier run +this run):\n%s", diff)
	}
}

// A delete after the observation makes the listing stale for that address:
// the create after it (delete-then-create) looks and launches.
func TestListingForgetsAddressesChangedSinceObserved(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	old := applyCluster(t, p, ws, "cluster.c0", providers.OpCreate, oneNode(), nil)
	observed := observeAddr(t, p, ws, "cluster.c0")
	applyCluster(t, p, ws, "cluster.c0", providers.OpDelete, nil, observed)
	fresh := applyCluster(t, p, ws, "cluster.c0", providers.OpCreate, oneNode(), nil)
	if len(fresh.IDs) != 1 || fresh.IDs[0] == old.IDs[0] {
		t.Errorf("create after delete reports %v; want one new node, not %v", fresh.IDs, old.IDs)
	}
}

// Waits registered together are asked about in one call.
func TestWaitsForManyInstancesShareOneCall(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	out, err := raw.RunInstances(testCtx(t), &ec2.RunInstancesInput{ImageId: awssdk.String(anyImage(t, raw)), InstanceType: "t3.micro",
		MinCount: awssdk.Int32(4), MaxCount: awssdk.Int32(4)})
	if err != nil {
		t.Fatal(err)
	}
	client, err := p.ec2Client(testCtx(t), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	w := p.runningWatch(client, "us-east-1")
	w.gather = 300 * time.Millisecond // room for four goroutines on a busy machine
	var wg sync.WaitGroup
	ran := make([]map[string]ec2types.Instance, 4)
	for i, inst := range out.Instances {
		wg.Go(func() {
			var err error
			ran[i], err = p.waitRunning(testCtx(t), client, fmt.Sprintf("cluster.c%d", i), "us-east-1", []string{*inst.InstanceId})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := log.count("DescribeInstances")["us-east-1"]; n != 1 {
		t.Errorf("4 waits made %d DescribeInstances, want 1", n)
	}
	for i, inst := range out.Instances {
		if got := ran[i][*inst.InstanceId]; got.State == nil || got.State.Name != ec2types.InstanceStateNameRunning {
			t.Errorf("wait %d returned %+v, want its instance running", i, ran[i])
		}
	}
}

// settle: running instances end their waits, one that terminates fails
// its wait with EC2's reason, pending ones are asked again later.
func TestSettleRunningFailedPending(t *testing.T) {
	instance := func(id string, st ec2types.InstanceStateName, reason string) ec2types.Instance {
		inst := ec2types.Instance{InstanceId: awssdk.String(id), State: &ec2types.InstanceState{Name: st}}
		if reason != "" {
			inst.StateReason = &ec2types.StateReason{Message: awssdk.String(reason)}
		}
		return inst
	}
	w := &runningWatch{region: "us-east-1", waiting: map[string]*awaited{}, wake: make(chan struct{}, 1)}
	waiter := func(ids ...string) *runWaiter {
		rw := &runWaiter{remaining: map[string]bool{}, ran: map[string]ec2types.Instance{}, done: make(chan struct{})}
		for _, id := range ids {
			rw.remaining[id] = true
			w.waiting[id] = &awaited{inFlight: true, waiters: []*runWaiter{rw}}
		}
		return rw
	}
	ok, failed, pending := waiter("i-1", "i-2"), waiter("i-3", "i-4"), waiter("i-5")
	start := time.Now()
	w.settle([]string{"i-1", "i-2", "i-3", "i-4", "i-5"}, map[string]ec2types.Instance{
		"i-1": instance("i-1", "running", ""), "i-2": instance("i-2", "running", ""),
		"i-3": instance("i-3", "running", ""), "i-4": instance("i-4", "terminated", "Server.SpotInstanceTermination: no capacity"),
		"i-5": instance("i-5", "pending", ""),
	}, nil)
	select {
	case <-ok.done:
		if ok.err != nil || len(ok.ran) != 2 {
			t.Errorf("running waiter: err %v, ran %v", ok.err, ok.ran)
		}
	default:
		t.Error("the waiter whose instances run is still waiting")
	}
	select {
	case <-failed.done:
		if ok := failed.err != nil && strings.Contains(failed.err.Error(), "i-4 is terminated (Server.SpotInstanceTermination: no capacity)"); !ok {
			t.Errorf("failed waiter: %v", failed.err)
		}
	default:
		t.Error("the waiter whose instance terminated is still waiting")
	}
	select {
	case <-pending.done:
		t.Error("the pending instance's waiter ended")
	default:
	}
	if diff := cmp.Diff([]string{"i-5"}, slices.Sorted(maps.Keys(w.waiting))); diff != "" {
		t.Errorf("still awaited (-want +got):\n%s", diff)
	}
	if a := w.waiting["i-5"]; a.inFlight || a.attempt != 1 || a.due.Sub(start) < runMinDelay/2 {
		t.Errorf("pending instance: %+v; want asked again after the backoff", a)
	}
}

// A network is inspected once per run, and a caller editing the facts it
// got does not change what the next caller gets.
func TestInspectNetworkOncePerRun(t *testing.T) {
	needMoto(t)
	log := &callLog{}
	p := newProvider(t, unique("ws"), nil, log.option())
	first, err := p.InspectNetwork(testCtx(t), providers.NetworkRequest{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	n := len(first.Subnets)
	first.Subnets = first.Subnets[:0]
	second, err := p.InspectNetwork(testCtx(t), providers.NetworkRequest{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Subnets) != n || n == 0 {
		t.Errorf("second inspection has %d subnets, want %d", len(second.Subnets), n)
	}
	for _, op := range []string{"DescribeVpcs", "DescribeSubnets", "DescribeRouteTables", "DescribeInternetGateways"} {
		if got := log.count(op)["us-east-1"]; got != 1 {
			t.Errorf("%s: %d calls, want 1", op, got)
		}
	}
}
