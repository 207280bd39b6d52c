// Package providertest is the conformance suite every provider runs against
// its emulator: create, observe by tags, idempotent create, scale, replace,
// drift, destroy, and never touching objects skyplan does not own.
package providertest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Harness adapts the suite to one provider and its emulator.
type Harness struct {
	// New returns a provider for the given workspace, talking to the emulator.
	New func(t *testing.T, workspace string) providers.Provider
	// Cluster returns desired attributes of a cluster with n nodes (spec
	// attribute names, defaults filled in as the spec loader would).
	Cluster func(nodes int64) map[string]any
	// ReplaceAttr/ReplaceValue change the cluster in a way that forces replacement.
	ReplaceAttr  string
	ReplaceValue any
	// Bucket returns desired attributes of a bucket; nil skips the bucket cases.
	Bucket func() map[string]any
	// DeleteOutOfBand deletes one object (by provider ID) behind skyplan's back.
	DeleteOutOfBand func(t *testing.T, id string)
	// CreateUnowned creates an object with no ownership tags and returns its ID.
	CreateUnowned func(t *testing.T) string
	// Exists reports whether an object is still there (not deleted/terminated).
	Exists func(t *testing.T, id string) bool
}

const workspace = "conformance"

// Run runs the whole suite; the steps share emulator state, so they run in order.
func Run(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := h.New(t, workspace)
	unowned := h.CreateUnowned(t)

	const addr = "cluster.conf"
	apply := func(t *testing.T, req providers.ApplyRequest) *state.Resource {
		t.Helper()
		req.Workspace, req.Address, req.Type = workspace, addr, spec.TypeCluster
		res, err := p.Apply(ctx, req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Op, req.Address, err)
		}
		return res
	}
	observe := func(t *testing.T, prov providers.Provider, want ...map[string]any) map[string]*state.Resource {
		t.Helper()
		hints := []providers.ResourceHint{{Address: addr, Type: spec.TypeCluster, Attrs: h.Cluster(1)}}
		if h.Bucket != nil {
			hints = append(hints, providers.ResourceHint{Address: "bucket.conf", Type: spec.TypeBucket, Attrs: h.Bucket()})
		}
		got, err := prov.Observe(ctx, providers.ObserveRequest{Workspace: workspace, Resources: hints})
		if err != nil {
			t.Fatalf("observe: %v", err)
		}
		out := map[string]*state.Resource{}
		for _, r := range got {
			if _, dup := out[r.Address]; dup {
				t.Fatalf("observe returned %s twice", r.Address)
			}
			out[r.Address] = r
			for _, id := range r.IDs {
				if id == unowned {
					t.Fatalf("observe returned the unowned object %s as part of %s", unowned, r.Address)
				}
			}
		}
		return out
	}
	nodesOf := func(r *state.Resource) int64 {
		if r == nil {
			return 0
		}
		n, _ := r.Attrs["nodes"].(int64)
		return n
	}

	var created *state.Resource
	t.Run("create", func(t *testing.T) {
		created = apply(t, providers.ApplyRequest{Op: providers.OpCreate, Desired: h.Cluster(2)})
		if len(created.IDs) != 2 {
			t.Fatalf("create 2 nodes: got IDs %v", created.IDs)
		}
	})
	t.Run("observe by tags", func(t *testing.T) {
		got := observe(t, p)[addr]
		if got == nil {
			t.Fatalf("created cluster not observed")
		}
		if nodesOf(got) != 2 {
			t.Errorf("observed nodes = %d, want 2", nodesOf(got))
		}
		if diff := cmp.Diff(sorted(created.IDs), sorted(got.IDs)); diff != "" {
			t.Errorf("observed IDs differ from created (-created +observed):\n%s", diff)
		}
		for _, k := range []string{"cloud", "instance_type"} {
			if got.Attrs[k] != h.Cluster(2)[k] {
				t.Errorf("observed %s = %v, want %v", k, got.Attrs[k], h.Cluster(2)[k])
			}
		}
	})
	t.Run("other workspace sees nothing", func(t *testing.T) {
		other := h.New(t, "other-ws")
		got, err := other.Observe(ctx, providers.ObserveRequest{Workspace: "other-ws",
			Resources: []providers.ResourceHint{{Address: addr, Type: spec.TypeCluster, Attrs: h.Cluster(1)}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("workspace other-ws observed %d resources of workspace %s", len(got), workspace)
		}
	})
	t.Run("create again is idempotent", func(t *testing.T) {
		// A create retried after a crash (state lost) must adopt the tagged nodes.
		again := apply(t, providers.ApplyRequest{Op: providers.OpCreate, Desired: h.Cluster(2)})
		if diff := cmp.Diff(sorted(created.IDs), sorted(again.IDs)); diff != "" {
			t.Errorf("retried create made new nodes (-first +retry):\n%s", diff)
		}
		if n := nodesOf(observe(t, p)[addr]); n != 2 {
			t.Errorf("nodes after retried create = %d, want 2", n)
		}
	})
	t.Run("scale out and in", func(t *testing.T) {
		prior := observe(t, p)[addr]
		up := apply(t, providers.ApplyRequest{Op: providers.OpUpdate, Desired: h.Cluster(3), Prior: prior})
		if len(up.IDs) != 3 {
			t.Fatalf("scale to 3: IDs %v", up.IDs)
		}
		for _, id := range created.IDs {
			if !containsStr(up.IDs, id) {
				t.Errorf("scale out replaced existing node %s", id)
			}
		}
		if n := nodesOf(observe(t, p)[addr]); n != 3 {
			t.Fatalf("observed nodes after scale out = %d, want 3", n)
		}
		down := apply(t, providers.ApplyRequest{Op: providers.OpUpdate, Desired: h.Cluster(1), Prior: observe(t, p)[addr]})
		if len(down.IDs) != 1 {
			t.Fatalf("scale to 1: IDs %v", down.IDs)
		}
		if n := nodesOf(observe(t, p)[addr]); n != 1 {
			t.Fatalf("observed nodes after scale in = %d, want 1", n)
		}
		created = down
	})
	t.Run("replace", func(t *testing.T) {
		prior := observe(t, p)[addr]
		if _, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpDelete, Workspace: workspace, Address: addr, Type: spec.TypeCluster, Prior: prior}); err != nil {
			t.Fatalf("replace (delete): %v", err)
		}
		desired := h.Cluster(1)
		desired[h.ReplaceAttr] = h.ReplaceValue
		res := apply(t, providers.ApplyRequest{Op: providers.OpCreate, Desired: desired})
		for _, id := range prior.IDs {
			if containsStr(res.IDs, id) {
				t.Errorf("replacement reused old node %s", id)
			}
			if h.Exists(t, id) {
				t.Errorf("old node %s still exists after replace", id)
			}
		}
		got := observe(t, p)[addr]
		if got == nil || got.Attrs[h.ReplaceAttr] != h.ReplaceValue {
			t.Fatalf("observed after replace: %+v, want %s = %v", got, h.ReplaceAttr, h.ReplaceValue)
		}
		created = res
	})
	t.Run("drift: object deleted behind skyplan's back", func(t *testing.T) {
		h.DeleteOutOfBand(t, created.IDs[0])
		if got := observe(t, p)[addr]; nodesOf(got) != 0 {
			t.Fatalf("after out-of-band delete, observed %+v; want the cluster gone", got)
		}
		// Apply heals it: create again.
		created = apply(t, providers.ApplyRequest{Op: providers.OpCreate, Desired: h.Cluster(1)})
		if n := nodesOf(observe(t, p)[addr]); n != 1 {
			t.Fatalf("after healing, nodes = %d, want 1", n)
		}
	})
	if h.Bucket != nil {
		t.Run("bucket lifecycle", func(t *testing.T) {
			b := h.Bucket()
			req := providers.ApplyRequest{Op: providers.OpCreate, Workspace: workspace, Address: "bucket.conf", Type: spec.TypeBucket, Desired: b}
			res, err := p.Apply(ctx, req)
			if err != nil {
				t.Fatalf("create bucket: %v", err)
			}
			got := observe(t, p)["bucket.conf"]
			if got == nil || got.Attrs["name"] != b["name"] {
				t.Fatalf("bucket not observed by tags: %+v", got)
			}
			b2 := h.Bucket()
			b2["versioning"] = true
			b2["labels"] = map[string]string{"team": "ml"}
			if _, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpUpdate, Workspace: workspace, Address: "bucket.conf", Type: spec.TypeBucket, Desired: b2, Prior: got}); err != nil {
				t.Fatalf("update bucket: %v", err)
			}
			got = observe(t, p)["bucket.conf"]
			if got.Attrs["versioning"] != true {
				t.Errorf("versioning not observed after update: %v", got.Attrs)
			}
			if diff := cmp.Diff(map[string]string{"team": "ml"}, got.Attrs["labels"]); diff != "" {
				t.Errorf("labels after update (-want +got):\n%s", diff)
			}
			if _, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpDelete, Workspace: workspace, Address: "bucket.conf", Type: spec.TypeBucket, Prior: res}); err != nil {
				t.Fatalf("delete bucket: %v", err)
			}
			if got := observe(t, p)["bucket.conf"]; got != nil {
				t.Fatalf("bucket still observed after delete: %+v", got)
			}
		})
	}
	t.Run("destroy", func(t *testing.T) {
		prior := observe(t, p)[addr]
		if _, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpDelete, Workspace: workspace, Address: addr, Type: spec.TypeCluster, Prior: prior}); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		if got := observe(t, p); len(got) != 0 {
			t.Fatalf("after destroy, observed %d resources", len(got))
		}
		for _, id := range prior.IDs {
			if h.Exists(t, id) {
				t.Errorf("node %s exists after destroy", id)
			}
		}
	})
	t.Run("unowned object untouched", func(t *testing.T) {
		if !h.Exists(t, unowned) {
			t.Fatalf("the unowned object %s was deleted", unowned)
		}
	})
}

func sorted(ids []string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
