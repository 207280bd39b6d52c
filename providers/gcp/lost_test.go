package gcp

import (
	"net/http"
	"testing"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Creates and deletes whose answer is lost after the API acted are tried
// again, and the second try finds what the first did (a 409 on a name this
// state owns, a 404 on a name already gone): apply and destroy succeed in
// one run, with one object per node.
func TestLostAnswersAreRetriedWithoutDuplicates(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	lost := gcpfake.Fault{Drop: true, Times: 1}
	e.fake.Inject(http.MethodPost, "/compute/v1/projects/*/zones/*/instances", lost)
	e.fake.Inject(http.MethodPost, "/v2/projects/*/locations/*/nodes", lost)
	e.fake.Inject(http.MethodPost, "/compute/v1/projects/*/zones/*/operations/*/wait", lost)
	e.gcs.Inject(http.MethodPost, "/storage/v1/b", lost)

	gce := apply(t, p, providers.OpCreate, "cluster.gpu", gceCluster(2), nil)
	tpu := apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	bucket := apply(t, p, providers.OpCreate, "bucket.data", bucketAttrs("lost-answers"), nil)
	if len(gce.IDs) != 2 || len(e.fake.Instances()) != 2 {
		t.Errorf("GCE: result %v, %d instances in the fake; want 2 and 2", gce.IDs, len(e.fake.Instances()))
	}
	if len(tpu.IDs) != 1 || len(e.fake.Nodes()) != 1 {
		t.Errorf("TPU: result %v, %d nodes in the fake; want 1 and 1", tpu.IDs, len(e.fake.Nodes()))
	}
	if o, ok := providers.OwnerOfLabels(e.gcs.BucketLabels("lost-answers"), providers.DecodeLabelValue); !ok || o.Address != "bucket.data" {
		t.Errorf("bucket labels %v, want this state's", e.gcs.BucketLabels("lost-answers"))
	}
	if n := e.fake.CountRequests(http.MethodPost, "/compute/v1/projects/*/zones/*/instances"); n != 3 {
		t.Errorf("%d instance inserts; want 3 (two nodes, the lost one tried again)", n)
	}

	e.fake.Inject(http.MethodDelete, "/compute/v1/projects/*/zones/*/instances/*", lost)
	e.fake.Inject(http.MethodDelete, "/v2/projects/*/locations/*/nodes/*", lost)
	for _, d := range []struct {
		addr  string
		prior *state.Resource
	}{{"cluster.gpu", gce}, {"cluster.tpu", tpu}, {"bucket.data", bucket}} {
		res, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: "prod", Address: d.addr, Type: spec.AddressType(d.addr), Prior: d.prior})
		if err != nil || res != nil {
			t.Errorf("delete %s: %v, %v left", d.addr, err, res)
		}
	}
	if n := len(e.fake.Instances()) + len(e.fake.Nodes()); n != 0 || e.gcs.BucketExists("lost-answers") {
		t.Errorf("after delete: %d instance(s) and node(s), bucket exists %v; want nothing", n, e.gcs.BucketExists("lost-answers"))
	}
}

// A TPU VM being deleted (a delete an interrupted apply started) is gone
// for observe as for apply: plan shows no change apply would not make.
func TestDeletingTPUNodeIsNotObserved(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(2), nil)
	svc, err := p.tpuClient(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	// The delete's operation is never polled, so the node stays DELETING.
	if _, err := svc.Projects.Locations.Nodes.Delete(tpuParentTest + "/nodes/tpu-prod-1").Context(ctxT(t)).Do(); err != nil {
		t.Fatal(err)
	}
	got := observe(t, p, hint("cluster.tpu", tpuCluster(1)))["cluster.tpu"]
	if got == nil || got.Attrs["nodes"] != int64(1) || len(got.IDs) != 1 {
		t.Fatalf("observed %+v; want one node, the deleting one left out", got)
	}
}
