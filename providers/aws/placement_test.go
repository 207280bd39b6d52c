package aws

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// capacityEnv is a provider talking to moto through a proxy that refuses
// launches as EC2 does when a zone, a market or a quota runs out.
type capacityEnv struct {
	t     *testing.T
	ws    string
	proxy *cloudproxy.Proxy
	p     *Provider
	// progress holds the apply's progress lines.
	progress providertest.Progress
}

func newCapacityEnv(t *testing.T) *capacityEnv {
	t.Helper()
	needMoto(t)
	proxy := cloudproxy.ForTest(t, moto.Endpoint)
	ws := unique("cap")
	p := newProvider(t, ws, nil, config.WithBaseEndpoint(proxy.URL))
	return &capacityEnv{t: t, ws: ws, proxy: proxy, p: p}
}

func (e *capacityEnv) apply(op providers.Operation, desired state.Attrs) (*state.Resource, error) {
	return e.p.Apply(testCtx(e.t), providers.ApplyRequest{Op: op, Workspace: e.ws, Address: "cluster.c", Type: spec.TypeCluster, Desired: desired,
		Progress: e.progress.Add})
}

func (e *capacityEnv) reported(line string) bool { return e.progress.Index(line) >= 0 }

// live lists the workspace's live instances in a region as "zone/index".
func (e *capacityEnv) live(region string) []string {
	e.t.Helper()
	out, err := rawEC2(e.t, region).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		filter("tag:"+providers.TagWorkspace, e.ws), filter("instance-state-name", liveStates...)}})
	if err != nil {
		e.t.Fatal(err)
	}
	var got []string
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			got = append(got, awssdk.ToString(inst.Placement.AvailabilityZone)+"/"+tagMap(inst.Tags)[tagNodeIndex])
		}
	}
	slices.Sort(got)
	return got
}

func candidates(nodes int64, zones ...string) state.Attrs {
	d := clusterAttrs(nodes)
	d["zones"], d["zone"] = zones, zones[0]
	return d
}

// First zone sold out: the whole cluster lands in the second; EC2's 500 is
// answered once, not retried by the SDK.
func TestFailoverToTheNextZone(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1a", InstanceType: "t3.micro"})
	res, err := e.apply(providers.OpCreate, candidates(2, "us-east-1a", "us-east-1b"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.live("us-east-1"), []string{"us-east-1b/0", "us-east-1b/1"}; !slices.Equal(got, want) {
		t.Errorf("live %v, want %v", got, want)
	}
	if res.Attrs.String("zone") != "us-east-1b" || len(res.IDs) != 2 {
		t.Errorf("result zone %q IDs %v", res.Attrs.String("zone"), res.IDs)
	}
	if !e.reported("us-east-1a: InsufficientInstanceCapacity; trying us-east-1b") {
		t.Errorf("progress %s lacks the refusal", e.progress.String())
	}
	if n := e.proxy.Counts()["ec2:RunInstances"]; n != 3 {
		t.Errorf("RunInstances called %d times, want 3 (one refusal, not retried, then two nodes)", n)
	}
}

// EC2 names zones with capacity: those candidates go first.
func TestFailoverFollowsEC2sHint(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1a", InstanceType: "t3.micro"})
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1b", InstanceType: "t3.micro"})
	if _, err := e.apply(providers.OpCreate, candidates(1, "us-east-1a", "us-east-1b", "us-east-1c")); err != nil {
		t.Fatal(err)
	}
	if got := e.live("us-east-1"); !slices.Equal(got, []string{"us-east-1c/0"}) {
		t.Errorf("live %v, want us-east-1c", got)
	}
	if !e.reported("us-east-1a: InsufficientInstanceCapacity; trying us-east-1c") {
		t.Errorf("progress %s: want us-east-1c tried next, as EC2's message suggests", e.progress.String())
	}
}

// Every zone sold out: one error listing each, nothing left running, and
// the error says nothing was made. A node launched in a zone that then
// refused the next is terminated before moving on.
func TestEveryZoneSoldOut(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1b", InstanceType: "t3.micro"})
	// us-east-1a takes node 0, then runs out.
	var once sync.Once
	e.proxy.OnCall(func(c cloudproxy.Call) {
		if c.Op.String() == "ec2:RunInstances" && c.Status == 200 {
			once.Do(func() { e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1a", InstanceType: "t3.micro"}) })
		}
	})
	res, err := e.apply(providers.OpCreate, candidates(2, "us-east-1a", "us-east-1b"))
	if res != nil || !providers.IsRefused(err) || !providers.IsCapacity(err) {
		t.Fatalf("Apply = %v, %v; want no result and a refused capacity error", res, err)
	}
	for _, want := range []string{"every placement candidate refused (2 tried)", "\n  us-east-1a: ", "\n  us-east-1b: ", "InsufficientInstanceCapacity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := e.live("us-east-1"); len(got) != 0 {
		t.Errorf("left running: %v", got)
	}
	if !e.reported("cluster.c: terminating the 1 node(s) launched in us-east-1a") {
		t.Errorf("progress %s", e.progress.String())
	}
}

// A region out of capacity (launches without a zone): the next region.
func TestFailoverToTheNextRegion(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Region: "us-east-1", InstanceType: "t3.micro"})
	d := clusterAttrs(2)
	d["regions"] = []string{"us-east-1", "us-west-2"}
	res, err := e.apply(providers.OpCreate, d)
	if err != nil {
		t.Fatal(err)
	}
	west := e.live("us-west-2")
	if len(west) != 2 || len(e.live("us-east-1")) != 0 || res.Attrs.String("region") != "us-west-2" {
		t.Fatalf("us-west-2 %v, us-east-1 %v, result region %q", west, e.live("us-east-1"), res.Attrs.String("region"))
	}
	// EC2 chose node 0's zone; node 1 joined it.
	if zone0, _, _ := strings.Cut(west[0], "/"); !strings.HasPrefix(west[1], zone0+"/") {
		t.Errorf("nodes in %v: a cluster's nodes share one zone", west)
	}
	if !e.reported("us-east-1: InsufficientInstanceCapacity; trying us-west-2") {
		t.Errorf("progress %s", e.progress.String())
	}
	// Observation finds it in the candidate region, and apply again keeps it.
	obs, err := e.p.Observe(testCtx(t), providers.ObserveRequest{Workspace: e.ws, Resources: []providers.ResourceHint{{Address: "cluster.c", Type: spec.TypeCluster, Attrs: d}}})
	if err != nil || len(obs) != 1 || obs[0].Attrs.String("region") != "us-west-2" {
		t.Fatalf("observe: %v %v", obs, err)
	}
	if _, err := e.apply(providers.OpUpdate, d); err != nil || len(e.live("us-west-2")) != 2 || len(e.live("us-east-1")) != 0 {
		t.Errorf("second apply: %v; us-west-2 %v, us-east-1 %v", err, e.live("us-west-2"), e.live("us-east-1"))
	}
}

// A regional quota skips the region's other zones.
func TestQuotaSkipsTheRegion(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Region: "us-east-1", Code: cloudproxy.VcpuLimitExceeded})
	res, err := e.apply(providers.OpCreate, candidates(1, "us-east-1a", "us-east-1b", "us-west-2a"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attrs.String("zone") != "us-west-2a" || e.proxy.Counts()["ec2:RunInstances"] != 2 {
		t.Errorf("zone %q after %d launches; want us-west-2a after 2 (us-east-1b skipped)", res.Attrs.String("zone"), e.proxy.Counts()["ec2:RunInstances"])
	}
	if !e.reported("us-east-1a: VcpuLimitExceeded (a quota of region us-east-1); trying us-west-2a") {
		t.Errorf("progress %s", e.progress.String())
	}
}

// Spot: a zone without spot capacity is skipped; later, a node the cloud
// took back is launched again in the cluster's zone, and when that zone
// has no spot capacity, apply says so and leaves the running node alone.
func TestSpotCapacity(t *testing.T) {
	e := newCapacityEnv(t)
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1a", Market: cloudproxy.MarketSpot})
	d := candidates(2, "us-east-1a", "us-east-1b")
	d["use_spot"] = true
	res, err := e.apply(providers.OpCreate, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.live("us-east-1"); !slices.Equal(got, []string{"us-east-1b/0", "us-east-1b/1"}) {
		t.Fatalf("live %v", got)
	}
	// The cloud reclaims node 1; us-east-1b's spot capacity is gone too,
	// while us-east-1a has some again.
	raw := rawEC2(t, "us-east-1")
	if _, err := raw.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: res.IDs[1:]}); err != nil {
		t.Fatal(err)
	}
	e.proxy.ClearFaults()
	e.proxy.AddCapacityRule(cloudproxy.CapacityRule{Zone: "us-east-1b", Market: cloudproxy.MarketSpot})
	res, err = e.apply(providers.OpUpdate, d)
	if err == nil || providers.IsRefused(err) {
		t.Fatalf("Apply = %v; want an error (not a refusal: a node runs)", err)
	}
	for _, want := range []string{"us-east-1b refused the launch: InsufficientInstanceCapacity", "existing node(s) are there"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := e.live("us-east-1"); !slices.Equal(got, []string{"us-east-1b/0"}) {
		t.Errorf("live %v, want node 0 alone in us-east-1b", got)
	}
	if res == nil || len(res.IDs) != 1 {
		t.Errorf("result %+v, want the running node", res)
	}
}

// Two generations of one address coexist: each apply touches its own only,
// and observation reports them apart.
func TestGenerationsCoexist(t *testing.T) {
	e := newCapacityEnv(t)
	old, err := e.apply(providers.OpCreate, clusterAttrs(1))
	if err != nil {
		t.Fatal(err)
	}
	next := clusterAttrs(2)
	if _, err := e.p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: e.ws, Address: "cluster.c", Type: spec.TypeCluster,
		Generation: 1, Desired: next}); err != nil {
		t.Fatal(err)
	}
	got, err := e.p.Observe(testCtx(t), providers.ObserveRequest{Workspace: e.ws})
	if err != nil {
		t.Fatal(err)
	}
	var gens []int
	var nodes []any
	for _, r := range got {
		gens, nodes = append(gens, r.Generation), append(nodes, r.Attrs["nodes"])
	}
	if d := cmp.Diff([]any{[]int{0, 1}, []any{int64(1), int64(2)}}, []any{gens, nodes}); d != "" {
		t.Fatalf("observed generations and nodes (-want +got):\n%s", d)
	}
	if _, err := e.p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: e.ws, Address: "cluster.c", Type: spec.TypeCluster, Prior: old}); err != nil {
		t.Fatal(err)
	}
	if got := e.live("us-east-1"); len(got) != 2 {
		t.Errorf("after deleting generation 0: %v, want generation 1's two nodes", got)
	}
}

func TestCapacityRefusalClassification(t *testing.T) {
	cases := []struct {
		code, msg string
		want      *providers.Refusal
	}{
		{"InsufficientInstanceCapacity", "We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you requested (us-east-1a). You can currently get p4d.24xlarge capacity by not specifying an Availability Zone in your request or choosing us-east-1b, us-east-1c.",
			&providers.Refusal{Code: "InsufficientInstanceCapacity", Suggest: []string{"us-east-1b", "us-east-1c"}}},
		{"VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit of 0 allows.", &providers.Refusal{Code: "VcpuLimitExceeded", Regional: true}},
		{"SpotMaxPriceTooLow", "Your Spot request price of 0.1 is lower than the minimum required Spot request fulfillment price of 0.2.", &providers.Refusal{Code: "SpotMaxPriceTooLow"}},
		{"Unsupported", "Your requested instance type (p4d.24xlarge) is not supported in your requested Availability Zone (us-east-1e).", &providers.Refusal{Code: "Unsupported"}},
		{"Unsupported", "The requested configuration is currently not supported.", nil},
		{"InvalidParameterValue", "bad", nil},
	}
	for _, tc := range cases {
		got := capacityRefusal(&smithy.GenericAPIError{Code: tc.code, Message: tc.msg})
		if got != nil {
			got.Message = ""
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.code, tc.msg, d)
		}
	}
}
