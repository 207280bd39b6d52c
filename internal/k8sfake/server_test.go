package k8sfake

import (
	"context"
	"path/filepath"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/pager"
)

func start(t *testing.T, nodes ...*corev1.Node) (*Server, kubernetes.Interface) {
	t.Helper()
	s, err := Start(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(path, "fake"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{CurrentContext: "fake"}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, cs
}

func TestPaginatedListWithPager(t *testing.T) {
	s, cs := start(t, SimulatedCluster(5000)...)
	ctx := context.Background()
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Nodes().List(ctx, opts)
	})
	p.PageSize = 500
	seen := map[string]bool{}
	err := p.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		n := obj.(*corev1.Node)
		if seen[n.Name] {
			t.Errorf("node %s listed twice", n.Name)
		}
		seen[n.Name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5000 {
		t.Fatalf("listed %d nodes, want 5000", len(seen))
	}
	if got := s.Calls()["list nodes"]; got != 10 {
		t.Errorf("list calls = %d, want 10 pages of 500", got)
	}
}

func TestListLimitContinueAndSelectors(t *testing.T) {
	_, cs := start(t, SimulatedCluster(30)...)
	ctx := context.Background()
	first, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != 7 || first.Continue == "" || first.RemainingItemCount == nil || *first.RemainingItemCount != 23 {
		t.Fatalf("first page: %d items, continue %q, remaining %v", len(first.Items), first.Continue, first.RemainingItemCount)
	}
	second, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 7, Continue: first.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if second.Items[0].Name <= first.Items[6].Name {
		t.Errorf("second page starts at %s, not after %s", second.Items[0].Name, first.Items[6].Name)
	}
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{Continue: "bm90LWEtdG9rZW4"}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad continue token: err = %v, want BadRequest", err)
	}

	gke, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: LabelGKEAccelerator})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range gke.Items {
		if n.Labels[LabelGKEAccelerator] == "" {
			t.Errorf("label selector returned %s without %s", n.Name, LabelGKEAccelerator)
		}
	}
	if len(gke.Items) == 0 {
		t.Error("label selector matched no GKE node")
	}
	one, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=cpu-0000"})
	if err != nil || len(one.Items) != 1 {
		t.Fatalf("field selector: %v, %d items", err, len(one.Items))
	}
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "a b c"}); !apierrors.IsBadRequest(err) {
		t.Errorf("invalid selector: err = %v, want BadRequest", err)
	}
}

func TestPatchKinds(t *testing.T) {
	s, cs := start(t, GPUNode("n1", "p4d.24xlarge", 8, map[string]string{"team": "ml"}))
	ctx := context.Background()
	nodes := cs.CoreV1().Nodes()

	if _, err := nodes.Patch(ctx, "n1", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"1","team":null}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Patch(ctx, "n1", types.StrategicMergePatchType, []byte(`{"metadata":{"annotations":{"x":"y"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Patch(ctx, "n1", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/labels/b","value":"2"}]`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	n := s.Node("n1")
	if n.Labels["a"] != "1" || n.Labels["b"] != "2" || n.Annotations["x"] != "y" {
		t.Errorf("after patches: labels %v annotations %v", n.Labels, n.Annotations)
	}
	if _, ok := n.Labels["team"]; ok {
		t.Error("merge patch with null did not remove the label")
	}
	if n.Labels[LabelInstanceType] != "p4d.24xlarge" {
		t.Error("patch lost an unrelated label")
	}
	if q := n.Status.Capacity[ResourceGPU]; q.Value() != 8 {
		t.Errorf("patch changed GPU capacity to %v", q.String())
	}

	// A stale resourceVersion in the patch is a conflict.
	stale := `{"metadata":{"resourceVersion":"1","labels":{"c":"3"}}}`
	if _, err := nodes.Patch(ctx, "n1", types.MergePatchType, []byte(stale), metav1.PatchOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale patch: err = %v, want Conflict", err)
	}
	cur, err := nodes.Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur.Labels["d"] = "4"
	if _, err := nodes.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Update(ctx, cur, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with old resourceVersion: err = %v, want Conflict", err)
	}
	if _, err := nodes.Patch(ctx, "nope", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("patch of a missing node: err = %v, want NotFound", err)
	}
	if _, err := nodes.Patch(ctx, "n1", types.ApplyPatchType, []byte(`{}`), metav1.PatchOptions{FieldManager: "x"}); err == nil {
		t.Error("server-side apply should be refused")
	}
}

func TestAccessReviewAndEnforcement(t *testing.T) {
	s, cs := start(t, CPUNode("n1", ""))
	ctx := context.Background()
	review := func(verb string) bool {
		t.Helper()
		r, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Resource: "nodes"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	if !review("patch") || !review("list") {
		t.Fatal("access denied by default")
	}
	s.SetAccess("patch", "nodes", false)
	if review("patch") {
		t.Error("patch allowed after SetAccess(patch, nodes, false)")
	}
	if !review("list") {
		t.Error("denying patch also denied list")
	}
	_, err := cs.CoreV1().Nodes().Patch(ctx, "n1", types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`), metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("denied patch: err = %v, want Forbidden", err)
	}
	if v, err := cs.Discovery().ServerVersion(); err != nil || v.Major != "1" {
		t.Errorf("server version: %v, %v", v, err)
	}
}

func TestWrongTokenIsUnauthorized(t *testing.T) {
	s, cs := start(t, CPUNode("n1", ""))
	s.SetToken("other")
	if _, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("err = %v, want Unauthorized", err)
	}
}

func TestSimulatedCluster(t *testing.T) {
	nodes := SimulatedCluster(20)
	if len(nodes) != 20 {
		t.Fatalf("got %d nodes", len(nodes))
	}
	if _, ok := nodes[0].Status.Capacity[ResourceGPU]; ok {
		t.Error("node 0 should be a CPU node")
	}
	names := map[string]bool{}
	for _, n := range nodes {
		if names[n.Name] {
			t.Errorf("duplicate name %s", n.Name)
		}
		names[n.Name] = true
	}
}
