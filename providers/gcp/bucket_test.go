package gcp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func bucketAttrs(name string) map[string]any {
	return map[string]any{"cloud": "gcp", "name": name, "location": "us-central1", "storage_class": "nearline",
		"versioning": true, "force_destroy": false, "labels": map[string]string{"team": "ml"}}
}

func TestBucketCreateObserve(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	e.gcs.CreateBucket("not-ours", "US", nil)
	res := apply(t, p, providers.OpCreate, "bucket.jobs", bucketAttrs("acme-jobs"), nil)
	if diff := cmp.Diff([]string{"acme-jobs"}, res.IDs); diff != "" {
		t.Errorf("IDs (-want +got):\n%s", diff)
	}
	labels := e.gcs.BucketLabels("acme-jobs")
	if labels["team"] != "ml" || labels[providers.TagManaged] != "true" || labels[providers.TagWorkspace] != "prod" || labels[providers.TagAddress] != "bucket--jobs" {
		t.Errorf("bucket labels = %v", labels)
	}
	got := observe(t, p, hint("bucket.jobs", bucketAttrs("acme-jobs")))
	if len(got) != 1 {
		t.Fatalf("observed %d resources, want only bucket.jobs: %v", len(got), got)
	}
	// GCS answers US-CENTRAL1 and NEARLINE; the spec's spelling is kept.
	want := state.Attrs{"cloud": "gcp", "name": "acme-jobs", "location": "us-central1", "storage_class": "nearline",
		"versioning": true, "labels": map[string]string{"team": "ml"}}
	if diff := cmp.Diff(want, got["bucket.jobs"].Attrs); diff != "" {
		t.Errorf("observed bucket (-want +got):\n%s", diff)
	}
	// Without a hint (state rebuild) the API's spelling shows.
	if loc := observe(t, p)["bucket.jobs"].Attrs["location"]; loc != "US-CENTRAL1" {
		t.Errorf("location without hint = %v", loc)
	}
	// Update: storage class and labels; versioning is kept as desired.
	upd := bucketAttrs("acme-jobs")
	upd["storage_class"], upd["labels"] = "COLDLINE", map[string]string{"owner": "alice"}
	res = apply(t, p, providers.OpUpdate, "bucket.jobs", upd, res)
	if res.Attrs["storage_class"] != "COLDLINE" || res.Attrs["versioning"] != true {
		t.Errorf("after update: %v", res.Attrs)
	}
	if diff := cmp.Diff(map[string]string{"owner": "alice"}, userLabels(e.gcs.BucketLabels("acme-jobs"))); diff != "" {
		t.Errorf("user labels after update (-want +got):\n%s", diff)
	}
}

func TestBucketDeleteRefusesNonEmpty(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	res := apply(t, p, providers.OpCreate, "bucket.jobs", bucketAttrs("acme-jobs"), nil)
	e.gcs.PutObject("acme-jobs", "ckpt/step-1", []byte("weights"))
	del := func(prior *state.Resource) error {
		_, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: "prod", Address: "bucket.jobs", Type: spec.TypeBucket, Prior: prior})
		return err
	}
	err := del(res)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "force_destroy = true") || !strings.Contains(err.Error(), "ckpt/step-1") {
		t.Fatalf("delete of a non-empty bucket: %v", err)
	}
	if !e.gcs.BucketExists("acme-jobs") {
		t.Fatal("non-empty bucket deleted without force_destroy")
	}
	res.Attrs["force_destroy"] = true
	if err := del(res); err != nil {
		t.Fatalf("force_destroy delete: %v", err)
	}
	if e.gcs.BucketExists("acme-jobs") {
		t.Error("bucket still exists after force_destroy delete")
	}
	// Deleting what is already gone is fine.
	if err := del(res); err != nil {
		t.Errorf("delete of a missing bucket: %v", err)
	}
}

func TestBucketNameTaken(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	e.gcs.CreateBucket("taken", "US", map[string]string{"team": "other"})
	_, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "bucket.b", Type: spec.TypeBucket, Desired: bucketAttrs("taken")})
	if err == nil || !strings.Contains(err.Error(), "bucket.b") || !strings.Contains(err.Error(), "taken") || !strings.Contains(err.Error(), "global") {
		t.Errorf("create over an unowned bucket: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"team": "other"}, e.gcs.BucketLabels("taken")); diff != "" {
		t.Errorf("the unowned bucket was changed (-want +got):\n%s", diff)
	}
	// Deleting it by address is refused too.
	prior := &state.Resource{Address: "bucket.b", Type: spec.TypeBucket, IDs: []string{"taken"}, Attrs: map[string]any{"name": "taken", "force_destroy": true}}
	if _, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpDelete, Workspace: "prod", Address: "bucket.b", Type: spec.TypeBucket, Prior: prior}); err == nil || !strings.Contains(err.Error(), "refusing to delete") {
		t.Errorf("delete of an unowned bucket: %v", err)
	}
	// Our own bucket (a create retried after a crash) is adopted.
	e.gcs.CreateBucket("ours", "US-CENTRAL1", providers.Owner{Workspace: "prod", Address: "bucket.c"}.Labels())
	res := apply(t, p, providers.OpCreate, "bucket.c", bucketAttrs("ours"), nil)
	if res.Attrs["versioning"] != true || e.gcs.BucketLabels("ours")["team"] != "ml" {
		t.Errorf("adopted bucket not brought to the spec: %v, labels %v", res.Attrs, e.gcs.BucketLabels("ours"))
	}
}

func TestStorageOnlyCredentials(t *testing.T) {
	e := newEnv(t)
	e.fake.Inject("", "/compute/v1/**", gcpfake.Forbidden())
	e.fake.Inject("", "/v2/**", gcpfake.Forbidden())
	p := e.provider(t, "prod", map[string]any{"capabilities": []string{"storage"}})
	apply(t, p, providers.OpCreate, "bucket.jobs", bucketAttrs("acme-jobs"), nil)

	st := p.Check(ctxT(t))
	if st[0].Capability != spec.CapCompute || st[0].OK || !strings.Contains(st[0].Reason, "permission denied (403)") {
		t.Errorf("compute status = %+v", st[0])
	}
	if st[1].Capability != spec.CapStorage || !st[1].OK {
		t.Errorf("storage status = %+v", st[1])
	}
	// Buckets are observed; compute is not needed by any hint.
	got := observe(t, p, hint("bucket.jobs", bucketAttrs("acme-jobs")))
	if got["bucket.jobs"] == nil {
		t.Errorf("bucket not observed with storage-only credentials")
	}
	// Even when the cloud block declares compute, a denied scan no hint needs is skipped.
	all := e.provider(t, "prod")
	if got := observe(t, all, hint("bucket.jobs", bucketAttrs("acme-jobs"))); got["bucket.jobs"] == nil {
		t.Errorf("bucket not observed when compute is declared but denied")
	}
	// A cluster hint needs compute: then the denial is an error naming the call.
	_, err := all.Observe(ctxT(t), providers.ObserveRequest{Workspace: "prod", Resources: []providers.ResourceHint{hint("cluster.c", gceCluster(1))}})
	if err == nil || !strings.Contains(err.Error(), "aggregatedList") || !strings.Contains(err.Error(), "403") {
		t.Errorf("observe with a cluster hint and no compute access: %v", err)
	}
}
