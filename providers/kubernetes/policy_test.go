package kubernetes

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
	corev1 "k8s.io/api/core/v1"
)

const testWorkspace = "test"

type cluster struct {
	srv        *k8sfake.Server
	kubeconfig string
	p          *Provider
}

func startCluster(t testing.TB, nodes ...*corev1.Node) *cluster {
	t.Helper()
	srv, err := k8sfake.Start(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := srv.WriteKubeconfig(kc, "fake"); err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), providers.Config{
		Cloud:     &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{"kubeconfig": kc, "context": "fake"}},
		Workspace: testWorkspace,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{srv: srv, kubeconfig: kc, p: p.(*Provider)}
}

func policy(name string, attrs map[string]any) *spec.Resource {
	a := map[string]any{"cloud": "kubernetes", "label_key": DefaultLabelKey, "overwrite": false}
	for k, v := range attrs {
		a[k] = v
	}
	return &spec.Resource{Type: spec.TypeGPULabelPolicy, Name: name, Attrs: a}
}

// observe returns the observed policy at addr (nil when absent).
func (c *cluster) observe(t *testing.T, hints ...providers.ResourceHint) *state.Resource {
	t.Helper()
	got, err := c.p.Observe(context.Background(), providers.ObserveRequest{Workspace: testWorkspace, Resources: hints})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 1 {
		t.Fatalf("observed %d policies, want at most 1", len(got))
	}
	if len(got) == 0 {
		return nil
	}
	return got[0]
}

func (c *cluster) expand(t *testing.T, r *spec.Resource) (map[string]any, []string) {
	t.Helper()
	attrs, notes, err := c.p.Expand(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return attrs, notes
}

func (c *cluster) apply(t *testing.T, op providers.Operation, r *spec.Resource, desired map[string]any, prior *state.Resource) *state.Resource {
	t.Helper()
	res, err := c.p.Apply(context.Background(), providers.ApplyRequest{Op: op, Workspace: testWorkspace, Address: r.Address(), Type: r.Type, Desired: desired, Prior: prior})
	if err != nil {
		t.Fatalf("%s %s: %v", op, r.Address(), err)
	}
	return res
}

func labelsOf(attrs state.Attrs) map[string]string {
	m := attrs.StringMap("node_labels")
	if m == nil {
		m = map[string]string{}
	}
	return m
}

func TestPolicyLifecycle(t *testing.T) {
	nodes := k8sfake.SimulatedCluster(30)
	// A person's labels: the right value on one node, a wrong one on another,
	// and an unrelated label skyplan must never touch.
	nodes[2].Labels[DefaultLabelKey] = "a100"
	nodes[3].Labels[DefaultLabelKey] = "H100"
	nodes[4].Labels["team"] = "research"
	c := startCluster(t, nodes...)
	pol := policy("eks", nil)

	if got := c.observe(t); got != nil {
		t.Fatalf("observed a policy before any apply: %+v", got)
	}
	attrs, notes := c.expand(t, pol)
	desired := labelsOf(attrs)
	if len(desired) != 26 { // 30 - CPU - mystery - right by hand - conflict
		t.Errorf("desired labels on %d nodes, want 26: %v", len(desired), desired)
	}
	for name, v := range desired {
		if want := wantByKind[kindOf(name)]; v != want {
			t.Errorf("desired %s=%s, want %s", name, v, want)
		}
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "conflict: node eks-p5-0003 has skypilot.co/accelerator=H100 (not set by skyplan)") ||
		!strings.Contains(joined, "undetermined: cannot tell the GPU model of 1 node(s) with instance type custom.gpu-box (mystery-0001)") {
		t.Errorf("notes:\n%s", joined)
	}

	created := c.apply(t, providers.OpCreate, pol, attrs, nil)
	if diff := cmp.Diff(desired, labelsOf(created.Attrs)); diff != "" {
		t.Errorf("created node_labels (-want +got):\n%s", diff)
	}
	if len(created.IDs) != 26 {
		t.Errorf("IDs = %d nodes", len(created.IDs))
	}
	for name, v := range desired {
		if got := c.srv.Node(name).Labels[DefaultLabelKey]; got != v {
			t.Errorf("node %s label = %q, want %q", name, got, v)
		}
	}
	if got := c.srv.Node("eks-p5-0003").Labels[DefaultLabelKey]; got != "H100" {
		t.Errorf("conflicting human label changed to %q", got)
	}

	// Rerun converges: observed node_labels equal the desired ones.
	obs := c.observe(t, providers.ResourceHint{Address: pol.Address(), Type: pol.Type, Attrs: pol.Attrs})
	if obs == nil {
		t.Fatal("policy not observed after create")
	}
	attrs2, _ := c.expand(t, pol)
	if diff := cmp.Diff(labelsOf(attrs2), labelsOf(obs.Attrs)); diff != "" {
		t.Errorf("after apply, desired vs observed node_labels differ (-desired +observed):\n%s", diff)
	}
	if obs.Attrs["label_key"] != DefaultLabelKey || obs.Address != "gpu_label_policy.eks" || obs.Cloud != "kubernetes" {
		t.Errorf("observed %+v", obs)
	}
	c.srv.ResetCalls()
	again := c.apply(t, providers.OpUpdate, pol, attrs2, obs)
	if calls := c.srv.Calls(); calls["patch nodes"] != 0 {
		t.Errorf("a converged update patched %d nodes", calls["patch nodes"])
	}
	if diff := cmp.Diff(labelsOf(attrs2), labelsOf(again.Attrs)); diff != "" {
		t.Errorf("converged update changed node_labels:\n%s", diff)
	}

	// Drift: someone changes skyplan's label; the plan shows it, apply fixes it.
	if err := c.srv.SetNodeLabel("eks-g5-0004", DefaultLabelKey, "l4"); err != nil {
		t.Fatal(err)
	}
	obs = c.observe(t)
	if got := labelsOf(obs.Attrs)["eks-g5-0004"]; got != "l4" {
		t.Errorf("observed drifted label = %q, want l4", got)
	}
	attrs3, _ := c.expand(t, pol)
	if got := labelsOf(attrs3)["eks-g5-0004"]; got != "a10g" {
		t.Errorf("desired after drift = %q, want a10g (skyplan owns it)", got)
	}
	c.apply(t, providers.OpUpdate, pol, attrs3, obs)
	if got := c.srv.Node("eks-g5-0004").Labels[DefaultLabelKey]; got != "a10g" {
		t.Errorf("drift not repaired: %q", got)
	}

	// Destroy removes only skyplan's labels.
	obs = c.observe(t)
	if res := c.apply(t, providers.OpDelete, pol, nil, obs); res != nil {
		t.Errorf("delete returned %+v", res)
	}
	for _, n := range c.srv.Nodes() {
		if _, ok := n.Annotations[OwnershipAnnotation]; ok {
			t.Errorf("node %s keeps the ownership annotation after destroy", n.Name)
		}
		v, has := n.Labels[DefaultLabelKey]
		switch n.Name {
		case "eks-p4d-0002":
			if v != "a100" {
				t.Errorf("person's label on %s removed by destroy (now %q)", n.Name, v)
			}
		case "eks-p5-0003":
			if v != "H100" {
				t.Errorf("person's conflicting label on %s changed by destroy (now %q)", n.Name, v)
			}
		default:
			if has {
				t.Errorf("node %s keeps %s=%s after destroy", n.Name, DefaultLabelKey, v)
			}
		}
	}
	if got := c.srv.Node("eks-g5-0004").Labels["team"]; got != "research" {
		t.Errorf("unrelated label changed: team=%q", got)
	}
	if got := c.observe(t); got != nil {
		t.Errorf("policy still observed after destroy: %+v", got)
	}
}

func TestPolicyOverwriteRestoresOnDestroy(t *testing.T) {
	nodes := []*corev1.Node{
		k8sfake.GPUNode("p5-a", "p5.48xlarge", 8, map[string]string{DefaultLabelKey: "H100"}),
		k8sfake.GPUNode("p5-b", "p5.48xlarge", 8, nil),
	}
	c := startCluster(t, nodes...)
	pol := policy("eks", map[string]any{"overwrite": true})
	attrs, notes := c.expand(t, pol)
	if diff := cmp.Diff(map[string]string{"p5-a": "h100", "p5-b": "h100"}, labelsOf(attrs)); diff != "" {
		t.Errorf("overwrite desired (-want +got):\n%s", diff)
	}
	if len(notes) != 0 {
		t.Errorf("notes with overwrite = true: %v", notes)
	}
	c.apply(t, providers.OpCreate, pol, attrs, nil)
	if got := c.srv.Node("p5-a").Labels[DefaultLabelKey]; got != "h100" {
		t.Fatalf("overwrite did not replace: %q", got)
	}
	c.apply(t, providers.OpDelete, pol, nil, c.observe(t))
	if got := c.srv.Node("p5-a").Labels[DefaultLabelKey]; got != "H100" {
		t.Errorf("destroy did not restore the replaced value: %q", got)
	}
	if _, has := c.srv.Node("p5-b").Labels[DefaultLabelKey]; has {
		t.Error("destroy left skyplan's label on p5-b")
	}
}

func TestPolicyConflictAppearingAfterPlanIsNotOverwritten(t *testing.T) {
	c := startCluster(t, k8sfake.GPUNode("p4d-a", "p4d.24xlarge", 8, nil), k8sfake.GPUNode("p4d-b", "p4d.24xlarge", 8, nil))
	pol := policy("eks", nil)
	attrs, _ := c.expand(t, pol)
	// A person labels p4d-a between plan and apply.
	if err := c.srv.SetNodeLabel("p4d-a", DefaultLabelKey, "a100-40gb"); err != nil {
		t.Fatal(err)
	}
	res, err := c.p.Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Workspace: testWorkspace, Address: pol.Address(), Type: pol.Type, Desired: attrs})
	if err == nil || !strings.Contains(err.Error(), "node p4d-a: changed since the plan: skypilot.co/accelerator=a100-40gb (not set by skyplan); not overwritten") {
		t.Fatalf("err = %v", err)
	}
	if got := c.srv.Node("p4d-a").Labels[DefaultLabelKey]; got != "a100-40gb" {
		t.Errorf("person's label overwritten: %q", got)
	}
	if diff := cmp.Diff(map[string]string{"p4d-b": "a100"}, labelsOf(res.Attrs)); diff != "" {
		t.Errorf("partial result must record what was labelled (-want +got):\n%s", diff)
	}
}

func TestPolicyLabelKeyChangeMovesLabels(t *testing.T) {
	c := startCluster(t, k8sfake.GPUNode("g5-a", "g5.xlarge", 1, nil))
	pol := policy("eks", nil)
	attrs, _ := c.expand(t, pol)
	c.apply(t, providers.OpCreate, pol, attrs, nil)

	moved := policy("eks", map[string]any{"label_key": "example.com/gpu"})
	hint := providers.ResourceHint{Address: moved.Address(), Type: moved.Type, Attrs: moved.Attrs}
	obs := c.observe(t, hint)
	if obs.Attrs["label_key"] != DefaultLabelKey {
		t.Errorf("observed label_key = %v, want the old key so the plan shows the change", obs.Attrs["label_key"])
	}
	attrs, _ = c.expand(t, moved)
	c.apply(t, providers.OpUpdate, moved, attrs, obs)
	n := c.srv.Node("g5-a")
	if _, has := n.Labels[DefaultLabelKey]; has || n.Labels["example.com/gpu"] != "a10g" {
		t.Errorf("labels after key change: %v", n.Labels)
	}
	if obs := c.observe(t, hint); obs.Attrs["label_key"] != "example.com/gpu" {
		t.Errorf("observed label_key after move = %v", obs.Attrs["label_key"])
	}
}

func TestObserveEmptyPolicyKnownToState(t *testing.T) {
	c := startCluster(t, k8sfake.CPUNode("cpu", "m6i.xlarge"))
	pol := policy("none", nil)
	attrs, _ := c.expand(t, pol)
	res := c.apply(t, providers.OpCreate, pol, attrs, nil)
	// Spec hint only: nothing in the cluster says the policy exists.
	if got := c.observe(t, providers.ResourceHint{Address: pol.Address(), Type: pol.Type, Attrs: pol.Attrs}); got != nil {
		t.Errorf("empty policy observed from a spec hint alone: %+v", got)
	}
	// State hint (carries node_labels): reported, with no labels, so the plan converges.
	got := c.observe(t, providers.ResourceHint{Address: res.Address, Type: res.Type, Attrs: res.Attrs})
	if got == nil || len(labelsOf(got.Attrs)) != 0 || got.Attrs["label_key"] != DefaultLabelKey {
		t.Errorf("empty policy from state: %+v", got)
	}
}

func TestObserveIgnoresOtherWorkspacesAndCLI(t *testing.T) {
	n1 := k8sfake.GPUNode("a", "p5.48xlarge", 8, map[string]string{DefaultLabelKey: "h100"})
	n1.Annotations = map[string]string{OwnershipAnnotation: *Ownership{DefaultLabelKey: {Workspace: "other", Address: "gpu_label_policy.eks"}}.encode()}
	n2 := k8sfake.GPUNode("b", "p5.48xlarge", 8, map[string]string{DefaultLabelKey: "h100"})
	n2.Annotations = map[string]string{OwnershipAnnotation: *Ownership{DefaultLabelKey: CLIOwner()}.encode()}
	c := startCluster(t, n1, n2)
	if got := c.observe(t); got != nil {
		t.Errorf("observed %+v", got)
	}
	// A policy here adopts the CLI's label but not the other workspace's.
	attrs, notes := c.expand(t, policy("eks", nil))
	if diff := cmp.Diff(map[string]string{"b": "h100"}, labelsOf(attrs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], `set by gpu_label_policy.eks in workspace "other"`) {
		t.Errorf("notes = %v", notes)
	}
}

func TestObservePaginates5000Nodes(t *testing.T) {
	// Nodes labelled by an earlier apply (the benchmark times applying).
	nodes := k8sfake.SimulatedCluster(5000)
	me := Owner{Workspace: testWorkspace, Address: "gpu_label_policy.eks"}
	for _, n := range nodes {
		if d := DetectFromNode(n); d.Found() {
			n.Labels[DefaultLabelKey] = d.Value
			n.Annotations = map[string]string{OwnershipAnnotation: *Ownership{DefaultLabelKey: me}.encode()}
		}
	}
	c := startCluster(t, nodes...)
	pol := policy("eks", nil)
	obs := c.observe(t)
	if got := c.srv.Calls()["list nodes"]; got != 10 {
		t.Errorf("Observe made %d list calls for 5,000 nodes, want 10 pages of 500", got)
	}
	if n := len(labelsOf(obs.Attrs)); n != 4998 {
		t.Errorf("observed %d labelled nodes, want 4998", n)
	}
	// Expand right after Observe reuses its list, and finds nothing to do.
	c.srv.ResetCalls()
	attrs, _ := c.expand(t, pol)
	if got := c.srv.Calls()["list nodes"]; got != 0 {
		t.Errorf("Expand after Observe listed nodes again (%d calls)", got)
	}
	if diff := cmp.Diff(labelsOf(attrs), labelsOf(obs.Attrs)); diff != "" {
		t.Errorf("desired vs observed (-desired +observed):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	c := startCluster(t, k8sfake.CPUNode("cpu", ""))
	st := c.p.Check(context.Background())
	if len(st) != 1 || st[0].Capability != spec.CapCompute || !st[0].OK {
		t.Fatalf("check = %+v", st)
	}
	c.srv.SetAccess("patch", "nodes", false)
	st = c.p.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, `kubeconfig context "fake" may not patch nodes`) || !strings.Contains(st[0].Reason, "they may list nodes") {
		t.Errorf("patch denied: %+v", st)
	}
	c.srv.SetAccess("list", "nodes", false)
	st = c.p.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, "may not list or patch nodes") {
		t.Errorf("both denied: %+v", st)
	}

	c.srv.SetToken("rotated")
	st = c.p.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, "rejected the credentials") {
		t.Errorf("wrong token: %+v", st)
	}

	c.srv.Close()
	st = c.p.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, "cannot reach the Kubernetes API server") {
		t.Errorf("unreachable: %+v", st)
	}

	noConfig, _ := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{"kubeconfig": filepath.Join(t.TempDir(), "missing")}}})
	st = noConfig.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, "kubeconfig") {
		t.Errorf("missing kubeconfig: %+v", st)
	}
	wrongCtx, _ := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{"kubeconfig": c.kubeconfig, "context": "prod"}}})
	st = wrongCtx.Check(context.Background())
	if st[0].OK || !strings.Contains(st[0].Reason, `"prod"`) {
		t.Errorf("unknown context: %+v", st)
	}
}

func TestKubeconfigFromEnvironment(t *testing.T) {
	c := startCluster(t, k8sfake.GPUNode("g", "g5.xlarge", 1, nil))
	t.Setenv("KUBECONFIG", c.kubeconfig)
	p, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "kubernetes", Attrs: map[string]any{}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Check(context.Background()); !st[0].OK {
		t.Fatalf("KUBECONFIG not honoured: %+v", st)
	}
}

func TestApplyRejectsOtherTypes(t *testing.T) {
	c := startCluster(t)
	_, err := c.p.Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Address: "cluster.x", Type: spec.TypeCluster})
	if err == nil || !strings.Contains(err.Error(), "cluster.x: the kubernetes provider manages only gpu_label_policy") {
		t.Errorf("err = %v", err)
	}
}

func TestGPUNodesInspector(t *testing.T) {
	cpuLabelled := k8sfake.CPUNode("cpu-labelled", "m6i.xlarge")
	cpuLabelled.Labels[DefaultLabelKey] = "a40"
	c := startCluster(t, append(k8sfake.SimulatedCluster(9), cpuLabelled)...)
	got, err := c.p.GPUNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]providers.GPUNode{}
	for _, n := range got {
		byName[n.Name] = n
	}
	if len(got) != 9 { // 8 GPU nodes + the labelled CPU node
		t.Errorf("GPUNodes returned %d nodes", len(got))
	}
	if n := byName["cpu-labelled"]; n.GPUCapacity != 0 || n.Labels[DefaultLabelKey] != "a40" {
		t.Errorf("labelled CPU node: %+v", n)
	}
	if n := byName["eks-p4d-0002"]; n.Detected != "A100" || n.GPUCapacity != 8 || n.InstanceType != "p4d.24xlarge" {
		t.Errorf("p4d node: %+v", n)
	}
	if n := byName["mystery-0001"]; n.Detected != "" {
		t.Errorf("mystery node detected as %q", n.Detected)
	}
}

func TestApplyRereadsNodesChangedSincePlan(t *testing.T) {
	c := startCluster(t, k8sfake.GPUNode("p5-a", "p5.48xlarge", 8, nil), k8sfake.GPUNode("p5-b", "p5.48xlarge", 8, nil))
	pol := policy("eks", nil)
	attrs, _ := c.expand(t, pol)
	// An unrelated change bumps p5-a's resourceVersion after the plan.
	if err := c.srv.SetNodeLabel("p5-a", "team", "infra"); err != nil {
		t.Fatal(err)
	}
	c.srv.ResetCalls()
	res := c.apply(t, providers.OpCreate, pol, attrs, nil)
	if diff := cmp.Diff(map[string]string{"p5-a": "h100", "p5-b": "h100"}, labelsOf(res.Attrs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	n := c.srv.Node("p5-a")
	if n.Labels[DefaultLabelKey] != "h100" || n.Labels["team"] != "infra" {
		t.Errorf("p5-a labels %v", n.Labels)
	}
	if calls := c.srv.Calls(); calls["patch nodes"] != 3 || calls["get nodes"] != 1 {
		t.Errorf("calls %v: want one conflicting patch, one get, two good patches", calls)
	}
}

func TestObserveSkipsDeniedCompute(t *testing.T) {
	c := startCluster(t, k8sfake.GPUNode("a", "p5.48xlarge", 8, nil))
	got, err := c.p.Observe(context.Background(), providers.ObserveRequest{Workspace: testWorkspace, Skip: map[spec.Capability]bool{spec.CapCompute: true}})
	if err != nil || got != nil {
		t.Errorf("got %v, %v", got, err)
	}
	if n := c.srv.Calls()["list nodes"]; n != 0 {
		t.Errorf("listed nodes %d times with compute skipped", n)
	}
}
