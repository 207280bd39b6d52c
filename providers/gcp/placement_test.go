package gcp

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func withZones(attrs map[string]any, zones ...string) map[string]any {
	out := map[string]any{}
	for k, v := range attrs {
		out[k] = v
	}
	out["zones"], out["zone"], out["region"] = zones, zones[0], regionOfZone(zones[0])
	return out
}

func applyWith(ctx context.Context, p *Provider, op providers.Operation, addr string, gen int, desired state.Attrs, pr *providertest.Progress) (*state.Resource, error) {
	return p.Apply(ctx, providers.ApplyRequest{Op: op, Workspace: p.workspace, Address: addr, Type: spec.AddressType(addr),
		Generation: gen, Desired: desired, Progress: pr.Add})
}

// zonesOf lists the zones of the fake's instances of a name prefix.
func (e *env) zonesOf(prefix string) []string {
	var out []string
	for _, inst := range e.fake.Instances() {
		if strings.HasPrefix(inst.Name, prefix) {
			out = append(out, lastSegment(inst.Zone)+"/"+inst.Name)
		}
	}
	slices.Sort(out)
	return out
}

// First zone sold out: the cluster lands whole in the second, the
// refusal is a progress line, and what the attempt made in the first is gone.
func TestGCEFailsOverToTheNextZone(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "fo")
	// One of the two inserts in us-central1-a is refused, the other made:
	// the attempt is cleared before the next zone.
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/us-central1-a/instances", gcpfake.Fault{OperationError: "ZONE_RESOURCE_POOL_EXHAUSTED", Times: 1,
		Message: "The zone 'us-central1-a' does not have enough resources available to fulfill the request."})
	pr := &providertest.Progress{}
	res, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.c", 0, withZones(gceCluster(2), "us-central1-a", "us-central1-b"), pr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.zonesOf("c-fo-"), []string{"us-central1-b/c-fo-0", "us-central1-b/c-fo-1"}; !slices.Equal(got, want) {
		t.Errorf("instances %v, want %v", got, want)
	}
	if res.Attrs.String("zone") != "us-central1-b" || res.Attrs["nodes"] != int64(2) {
		t.Errorf("result zone %q nodes %v", res.Attrs.String("zone"), res.Attrs["nodes"])
	}
	if pr.Index("us-central1-a: ZONE_RESOURCE_POOL_EXHAUSTED; trying us-central1-b") < 0 {
		t.Errorf("progress %s lacks the refusal", pr)
	}
	// Applying again keeps it where it is.
	again, err := applyWith(ctxT(t), p, providers.OpUpdate, "cluster.c", 0, withZones(gceCluster(2), "us-central1-a", "us-central1-b"), &providertest.Progress{})
	if err != nil || again.Attrs.String("zone") != "us-central1-b" || len(e.zonesOf("c-fo-")) != 2 {
		t.Errorf("second apply: %v, zone %q, instances %v", err, again.Attrs.String("zone"), e.zonesOf("c-fo-"))
	}
}

// Every zone sold out: one error listing each, nothing left behind, and
// the error says nothing was made.
func TestGCEEveryZoneSoldOut(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "so")
	e.fake.ExhaustZone("us-central1-a")
	e.fake.ExhaustZone("us-central1-b")
	res, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.c", 0, withZones(gceCluster(1), "us-central1-a", "us-central1-b"), &providertest.Progress{})
	if res != nil || !providers.IsRefused(err) || !providers.IsCapacity(err) {
		t.Fatalf("Apply = %v, %v; want no result and a refused capacity error", res, err)
	}
	for _, want := range []string{"every placement candidate refused (2 tried)", "\n  us-central1-a: ", "\n  us-central1-b: ", "ZONE_RESOURCE_POOL_EXHAUSTED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := e.zonesOf("c-so-"); len(got) != 0 {
		t.Errorf("instances left: %v", got)
	}
}

// A quota is the region's: its other zones are not tried.
func TestGCEQuotaSkipsTheRegion(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "qu")
	e.fake.ExceedQuota("us-central1-a", "CPUS")
	var inserts []string
	e.fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/instances", func(r *http.Request) *gcpfake.Fault {
		inserts = append(inserts, strings.Split(r.URL.Path, "/")[6])
		return nil
	})
	pr := &providertest.Progress{}
	res, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.c", 0, withZones(gceCluster(1), "us-central1-a", "us-central1-b", "us-east1-b"), pr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attrs.String("zone") != "us-east1-b" || !slices.Equal(inserts, []string{"us-central1-a", "us-east1-b"}) {
		t.Errorf("landed in %q after inserts in %v; want us-east1-b, us-central1-b skipped", res.Attrs.String("zone"), inserts)
	}
	if pr.Index("us-central1-a: QUOTA_EXCEEDED (a quota of region us-central1); trying us-east1-b") < 0 {
		t.Errorf("progress %s", pr)
	}
}

func TestTPUFailsOverToTheNextZone(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "tp")
	e.fake.ExhaustZone("us-central2-b")
	attrs := withZones(tpuCluster(1), "us-central2-b", "us-central1-a")
	attrs["accelerators"] = "tpu-v4-8"
	pr := &providertest.Progress{}
	res, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.tpu", 0, attrs, pr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attrs.String("zone") != "us-central1-a" || len(res.IDs) != 1 || e.fake.Node("projects/"+testProject+"/locations/us-central1-a/nodes/tpu-tp-0") == nil {
		t.Errorf("TPU VM in %q (%v), want us-central1-a", res.Attrs.String("zone"), res.IDs)
	}
	if pr.Index("us-central2-b: RESOURCE_EXHAUSTED; trying us-central1-a") < 0 {
		t.Errorf("progress %s", pr)
	}
	got := observe(t, p, hint("cluster.tpu", attrs))
	if got["cluster.tpu"] == nil || got["cluster.tpu"].Attrs.String("zone") != "us-central1-a" {
		t.Errorf("observed %v", got["cluster.tpu"])
	}
}

// A node the cloud took back (spot) is launched again where the cluster
// runs; when that zone is sold out, apply says so and leaves the running
// node alone, never moving part of the cluster to another candidate.
func TestGCEScaleUpStaysInTheClustersZone(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "sp")
	attrs := withZones(gceCluster(2), "us-central1-a", "us-central1-b")
	attrs["use_spot"] = true
	e.fake.ExhaustZone("us-central1-a")
	if _, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.c", 0, attrs, &providertest.Progress{}); err != nil {
		t.Fatal(err)
	}
	e.fake.ClearFaults()
	if !e.fake.DeleteInstance(testProject, "us-central1-b", "c-sp-1") {
		t.Fatal("no node 1 to preempt")
	}
	e.fake.ExhaustZone("us-central1-b")
	res, err := applyWith(ctxT(t), p, providers.OpUpdate, "cluster.c", 0, attrs, &providertest.Progress{})
	if err == nil || providers.IsRefused(err) {
		t.Fatalf("Apply = %v; want an error that is not a refusal (a node runs)", err)
	}
	for _, want := range []string{"us-central1-b refused the launch", "ZONE_RESOURCE_POOL_EXHAUSTED", "existing node(s) are there", "drop us-central1-b from its zones"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if got := e.zonesOf("c-sp-"); !slices.Equal(got, []string{"us-central1-b/c-sp-0"}) {
		t.Errorf("instances %v, want node 0 still in us-central1-b and nothing in us-central1-a", got)
	}
	if res == nil || len(res.IDs) != 1 || res.Attrs.String("zone") != "us-central1-b" {
		t.Errorf("result %+v, want the running node", res)
	}
}

// Two generations of one address coexist: their nodes have their own
// names and labels, each apply touches only its own generation, and
// observation reports them apart.
func TestGCEGenerationsCoexist(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "gen")
	old := apply(t, p, providers.OpCreate, "cluster.c", gceCluster(1), nil)
	bigger := gceCluster(1)
	bigger["instance_type"] = "n2-standard-8"
	if _, err := applyWith(ctxT(t), p, providers.OpCreate, "cluster.c", 1, bigger, &providertest.Progress{}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.zonesOf("c-gen-"), []string{"us-central1-a/c-gen-0", "us-central1-a/c-gen-g1-0"}; !slices.Equal(got, want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
	got, err := p.Observe(ctxT(t), providers.ObserveRequest{Workspace: "gen", Resources: []providers.ResourceHint{hint("cluster.c", bigger)}})
	if err != nil {
		t.Fatal(err)
	}
	var gens []string
	for _, r := range got {
		gens = append(gens, fmt.Sprintf("%d:%s:%v", r.Generation, r.Attrs.String("instance_type"), r.Attrs["nodes"]))
	}
	if d := cmp.Diff([]string{"0:n2-standard-4:1", "1:n2-standard-8:1"}, gens); d != "" {
		t.Errorf("observed generations (-want +got):\n%s", d)
	}
	// Deleting generation 0 leaves generation 1.
	if _, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: "gen", Address: "cluster.c", Type: spec.TypeCluster, Prior: old}); err != nil {
		t.Fatal(err)
	}
	if got := e.zonesOf("c-gen-"); !slices.Equal(got, []string{"us-central1-a/c-gen-g1-0"}) {
		t.Errorf("after deleting generation 0: %v", got)
	}
}

func TestGenerationNodeNames(t *testing.T) {
	cases := []struct {
		addr, ws  string
		gen, i    int
		name      string
		wantIndex int
	}{
		{"cluster.train", "prod", 0, 3, "train-prod-3", 3},
		{"cluster.train", "prod", 2, 3, "train-prod-g2-3", 3},
		{"cluster.train", "g1", 0, 0, "train-g1-0", 0}, // a workspace that looks like a generation
		{"cluster.train", "g1", 2, 5, "train-g1-g2-5", 5},
	}
	for _, tc := range cases {
		if got := generationNodeName(tc.addr, tc.ws, tc.gen, tc.i); got != tc.name {
			t.Errorf("generationNodeName(%s, %s, %d, %d) = %q, want %q", tc.addr, tc.ws, tc.gen, tc.i, got, tc.name)
		}
		if got := nodeIndex(tc.name, tc.addr, tc.ws); got != tc.wantIndex {
			t.Errorf("nodeIndex(%q) = %d, want %d", tc.name, got, tc.wantIndex)
		}
	}
	long := generationNodeName("cluster."+strings.Repeat("x", 80), "prod", 12, 3)
	if len(long) > 63 || !strings.HasSuffix(long, "-g12-3") || nodeIndex(long, "cluster."+strings.Repeat("x", 80), "prod") != 3 {
		t.Errorf("long generation name %q (%d characters)", long, len(long))
	}
	if nodeIndex("train-prod-g0-3", "cluster.train", "prod") != -1 {
		t.Error("a name no generation makes was taken for a node")
	}
}
