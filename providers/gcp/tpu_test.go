package gcp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

const tpuParentTest = "projects/" + testProject + "/locations/us-central2-b"

func tpuCluster(nodes int64) map[string]any {
	return map[string]any{
		"cloud": "gcp", "zone": "us-central2-b", "region": "us-central2",
		"accelerators": "tpu-v4-8", "runtime_version": "tpu-ubuntu2204-base",
		"nodes": nodes, "tpu_vm": true, "use_spot": false, "use_internal_ips": false,
		"disk_size": int64(256), "disk_tier": "medium",
		"labels": map[string]string{"team": "research"},
	}
}

func TestTPUVMLifecycle(t *testing.T) {
	e := newEnv(t)
	e.fake.MaxPageSize = 1
	p := e.provider(t, "prod")
	created := apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(2), nil)
	if len(created.IDs) != 2 || created.Private["kind"] != "tpu" {
		t.Fatalf("create: IDs %v private %v", created.IDs, created.Private)
	}
	nodes := e.fake.Nodes()
	if len(nodes) != 2 {
		t.Fatalf("nodes in the fake: %d", len(nodes))
	}
	n := nodes[0]
	if n.Name != tpuParentTest+"/nodes/tpu-prod-0" || n.AcceleratorType != "v4-8" || n.RuntimeVersion != "tpu-ubuntu2204-base" ||
		n.State != "READY" || n.Labels["team"] != "research" || n.Labels[providers.TagAddress] != "cluster--tpu" || !n.NetworkConfig.EnableExternalIps {
		t.Errorf("node = %+v", n)
	}

	e.fake.ResetRequests()
	got := observe(t, p, hint("cluster.tpu", tpuCluster(2)))["cluster.tpu"]
	want := state.Attrs{
		"cloud": "gcp", "zone": "us-central2-b", "region": "us-central2", "accelerators": "tpu-v4-8",
		"runtime_version": "tpu-ubuntu2204-base", "tpu_vm": true, "nodes": int64(2), "use_spot": false,
		"use_internal_ips": false, "labels": map[string]string{"team": "research"},
	}
	if got == nil {
		t.Fatal("TPU cluster not observed")
	}
	if diff := cmp.Diff(want, got.Attrs); diff != "" {
		t.Errorf("observed TPU attrs (-want +got):\n%s", diff)
	}
	if n := e.fake.CountRequests("GET", "/v2/projects/*/locations/-/nodes"); n != 2 {
		t.Errorf("nodes.list requests across all zones = %d, want 2 (two pages of one)", n)
	}
	if n := e.fake.CountRequests("GET", "/v2/projects/*/locations/us-central2-b/nodes"); n != 0 {
		t.Errorf("observe listed the hinted zone %d times besides the all-zones list", n)
	}

	down := apply(t, p, providers.OpUpdate, "cluster.tpu", tpuCluster(1), got)
	if len(down.IDs) != 1 || e.fake.Node(tpuParentTest+"/nodes/tpu-prod-1") != nil {
		t.Errorf("scale in: IDs %v, node 1 still there: %v", down.IDs, e.fake.Node(tpuParentTest+"/nodes/tpu-prod-1") != nil)
	}
	relabel := tpuCluster(1)
	relabel["labels"] = map[string]string{"team": "infra"}
	apply(t, p, providers.OpUpdate, "cluster.tpu", relabel, down)
	if l := e.fake.Node(tpuParentTest + "/nodes/tpu-prod-0").Labels; l["team"] != "infra" || l[providers.TagManaged] != "true" {
		t.Errorf("labels after update: %v", l)
	}

	if _, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: "prod", Address: "cluster.tpu", Type: spec.TypeCluster, Prior: down}); err != nil {
		t.Fatal(err)
	}
	if len(e.fake.Nodes()) != 0 {
		t.Errorf("nodes after delete: %d", len(e.fake.Nodes()))
	}
	if got := observe(t, p, hint("cluster.tpu", tpuCluster(1))); len(got) != 0 {
		t.Errorf("observed after delete: %v", got)
	}
}

func TestTPUQuotaAndAdoption(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	e.fake.Inject("POST", "/v2/projects/*/locations/*/nodes", gcpfake.TPUQuotaExceeded())
	_, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "cluster.tpu", Type: spec.TypeCluster, Desired: tpuCluster(1)})
	if err == nil {
		t.Fatal("TPU quota error not reported")
	}
	for _, want := range []string{"cluster.tpu", "tpu-prod-0", "v4-8", "us-central2-b", "RESOURCE_EXHAUSTED", "no more capacity"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	e.fake.ClearFaults()
	e.fake.OnRequest("POST", "/v2/projects/*/locations/*/nodes", func(*http.Request) *gcpfake.Fault {
		if e.fake.Node(tpuParentTest+"/nodes/tpu-prod-0") == nil {
			e.fake.AddNode(tpuParentTest, "tpu-prod-0", &tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "tpu-ubuntu2204-base",
				Labels: providers.Owner{Workspace: "prod", Address: "cluster.tpu"}.Labels()})
		}
		return nil
	})
	res := apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	if len(res.IDs) != 1 || len(e.fake.Nodes()) != 1 || e.fake.Nodes()[0].Labels["team"] != "research" {
		t.Errorf("409 of our own node: IDs %v, nodes %v", res.IDs, e.fake.Nodes())
	}
}

// A TPU VM is found with neither spec nor state naming its zone (lost state,
// resource gone from the spec): destroy and state rebuild must see it.
func TestObserveFindsTPUVMsInAnyZone(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	e.fake.ResetRequests()
	got := observe(t, p)
	if r := got["cluster.tpu"]; r == nil || r.Attrs["zone"] != "us-central2-b" || len(r.IDs) != 1 {
		t.Fatalf("observe without hints = %v; want cluster.tpu in us-central2-b", got)
	}
	if n := e.fake.CountRequests("GET", "/v2/projects/*/locations/*/nodes"); n != 1 {
		t.Errorf("TPU nodes.list requests = %d, want 1 (all zones at once)", n)
	}
}

// A zone the all-zones list cannot reach is listed on its own when a hint
// names it; an unhinted unreachable zone is simply not seen.
func TestObserveTPUUnreachableZone(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	e.fake.TPUUnreachable = []string{"us-central2-b"}
	e.fake.ResetRequests()
	if got := observe(t, p, hint("cluster.tpu", tpuCluster(1)))["cluster.tpu"]; got == nil || len(got.IDs) != 1 {
		t.Fatalf("hinted TPU in an unreachable zone not observed: %+v", got)
	}
	if n := e.fake.CountRequests("GET", "/v2/projects/*/locations/us-central2-b/nodes"); n != 1 {
		t.Errorf("direct lists of the unreachable hinted zone = %d, want 1", n)
	}
	// The direct list failing is an error, never "the TPU is gone".
	e.fake.Inject("GET", "/v2/projects/*/locations/us-central2-b/nodes", gcpfake.Forbidden())
	if _, err := p.Observe(ctxT(t), providers.ObserveRequest{Workspace: "prod", Resources: []providers.ResourceHint{hint("cluster.tpu", tpuCluster(1))}}); err == nil {
		t.Error("observe succeeded though the TPU's zone could not be listed")
	}
}

// An endpoint that refuses locations/- falls back to one list per hinted zone.
func TestObserveTPUWithoutWildcard(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	e.fake.Inject("GET", "/v2/projects/*/locations/-/nodes", gcpfake.Fault{Status: 400, Message: "Invalid location: -"})
	if got := observe(t, p, hint("cluster.tpu", tpuCluster(1)))["cluster.tpu"]; got == nil || len(got.IDs) != 1 {
		t.Fatalf("TPU not observed through the per-zone fallback: %+v", got)
	}
}

// Most GCE-only projects never enable the TPU API: its errors must not block
// observing their instances, unless a TPU is in the spec or state.
func TestObserveWithTPUAPIDisabled(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	apply(t, p, providers.OpCreate, "cluster.train", gceCluster(1), nil)
	e.fake.Inject("", "/v2/**", gcpfake.ServiceDisabled("tpu.googleapis.com"))
	if got := observe(t, p)["cluster.train"]; got == nil {
		t.Fatal("GCE cluster not observed while the TPU API is disabled")
	}
	e.fake.ClearFaults()
	e.fake.Inject("", "/v2/**", gcpfake.Fault{Status: 500, Message: "backend error"})
	if got := observe(t, p)["cluster.train"]; got == nil {
		t.Fatal("GCE cluster not observed while the TPU API fails")
	}
	e.fake.ClearFaults()
	e.fake.Inject("", "/v2/**", gcpfake.ServiceDisabled("tpu.googleapis.com"))
	_, err := p.Observe(ctxT(t), providers.ObserveRequest{Workspace: "prod", Resources: []providers.ResourceHint{hint("cluster.tpu", tpuCluster(1))}})
	if err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("observe with a TPU hint and the API disabled: err = %v, want the TPU error", err)
	}
}
