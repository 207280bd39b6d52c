package kubernetes

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/spec"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// wantByKind is what each simulated node kind must be labelled, worked out
// from the kinds' definitions, not from the code under test.
var wantByKind = map[string]string{
	"eks-p4d":           "a100",      // p4d.24xlarge, no GPU label
	"eks-p5":            "h100",      // p5.48xlarge
	"eks-g5":            "a10g",      // g5.xlarge
	"gke-t4":            "t4",        // n1 + gke-accelerator=nvidia-tesla-t4
	"gke-h100":          "h100",      // gke-accelerator=nvidia-h100-80gb
	"gfd-a100-80gb":     "a100-80gb", // GFD product NVIDIA-A100-SXM4-80GB
	"eks-labelled-v100": "v100",      // k8s.amazonaws.com/accelerator=nvidia-tesla-v100
}

func kindOf(name string) string {
	i := strings.LastIndex(name, "-")
	return name[:i]
}

func TestDetectFromNode(t *testing.T) {
	tests := []struct {
		node       *corev1.Node
		wantValue  string
		wantSource string
	}{
		{k8sfake.GPUNode("a", "p4d.24xlarge", 8, nil), "a100", "instance type p4d.24xlarge"},
		{k8sfake.GPUNode("b", "p5.48xlarge", 8, nil), "h100", "instance type p5.48xlarge"},
		{k8sfake.GPUNode("c", "g5.12xlarge", 4, nil), "a10g", "instance type g5.12xlarge"},
		{k8sfake.GPUNode("d", "g5.2xlarge", 1, nil), "a10g", "instance type g5.2xlarge"},
		// GFD reads the device: it wins over the instance type.
		{k8sfake.GPUNode("e", "p4d.24xlarge", 8, map[string]string{LabelGFDProduct: "NVIDIA-A100-SXM4-80GB"}), "a100-80gb", "label nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB"},
		{k8sfake.GPUNode("f", "bare", 8, map[string]string{LabelGFDProduct: "NVIDIA-A100", LabelGFDMemory: "81920"}), "a100-80gb", "label nvidia.com/gpu.product=NVIDIA-A100"},
		{k8sfake.GPUNode("g", "n1-standard-8", 1, map[string]string{LabelGKEAccelerator: "nvidia-tesla-t4"}), "t4", "label cloud.google.com/gke-accelerator=nvidia-tesla-t4"},
		{k8sfake.GPUNode("h", "", 4, map[string]string{LabelEKSAccelerator: "nvidia-tesla-v100"}), "v100", "label k8s.amazonaws.com/accelerator=nvidia-tesla-v100"},
		{k8sfake.GPUNode("i", "", 1, map[string]string{LabelInstanceTypeV1: "p5en.48xlarge"}), "h200", "instance type p5en.48xlarge"},
		// Not determinable: never guessed.
		{k8sfake.GPUNode("j", "n1-standard-8", 1, nil), "", ""},
		{k8sfake.GPUNode("k", "custom.gpu-box", 8, nil), "", ""},
		{k8sfake.GPUNode("l", "", 8, map[string]string{LabelGFDProduct: "NVIDIA-GeForce-RTX-4090"}), "", ""},
	}
	for _, tt := range tests {
		d := DetectFromNode(tt.node)
		if d.Value != tt.wantValue || d.Source != tt.wantSource {
			t.Errorf("node %s: got %q from %q, want %q from %q", tt.node.Name, d.Value, d.Source, tt.wantValue, tt.wantSource)
		}
	}
}

func TestDetectOverrides(t *testing.T) {
	mystery := k8sfake.GPUNode("mystery", "custom.gpu-box", 8, nil)
	p4d := k8sfake.GPUNode("p4d", "p4d.24xlarge", 8, nil)
	overrides := map[string]string{"custom.gpu-box": "RTX-A6000", "mystery": "A100-80GB", "p4d.24xlarge": "h100"}

	d, ignored := Detect(mystery, overrides)
	if d.Value != "a100-80gb" || d.Source != `override "mystery"` || ignored != nil {
		t.Errorf("node-name override: got %+v, ignored %+v", d, ignored)
	}
	delete(overrides, "mystery")
	if d, _ := Detect(mystery, overrides); d.Value != "rtx-a6000" || d.Source != `override "custom.gpu-box"` {
		t.Errorf("instance-type override of an unknown model: got %+v", d)
	}
	// Detection comes first; a contradicting override is reported.
	d, ignored = Detect(p4d, overrides)
	if d.Value != "a100" || ignored == nil || ignored.Key != "p4d.24xlarge" || ignored.Node != "p4d" {
		t.Errorf("contradicted override: got %+v, ignored %+v", d, ignored)
	}
	// The plan reports it once per override, not once per node.
	p4d2 := k8sfake.GPUNode("p4d-2", "p4d.24xlarge", 8, nil)
	lp, err := PlanLabels([]*corev1.Node{p4d, p4d2}, LabelPolicy{LabelKey: DefaultLabelKey, Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`override "p4d.24xlarge" = "h100" ignored on 2 node(s) (e.g. p4d): detected a100 from instance type p4d.24xlarge`}
	if diff := cmp.Diff(want, lp.Notes()); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestGPUCountCapacityOrAllocatable(t *testing.T) {
	n := k8sfake.CPUNode("n", "")
	if GPUCount(n) != 0 {
		t.Fatal("CPU node has GPUs")
	}
	n.Status.Allocatable[ResourceGPU] = *resource.NewQuantity(4, resource.DecimalSI)
	if GPUCount(n) != 4 {
		t.Errorf("allocatable only: GPUCount = %d, want 4", GPUCount(n))
	}
	n.Status.Capacity[ResourceGPU] = *resource.NewQuantity(8, resource.DecimalSI)
	if GPUCount(n) != 8 {
		t.Errorf("capacity: GPUCount = %d, want 8", GPUCount(n))
	}
}

// fakeClientset is client-go's fake clientset holding nodes. It does not
// paginate: pagination is tested against k8sfake.
func fakeClientset(nodes []*corev1.Node) *fake.Clientset {
	objs := make([]runtime.Object, len(nodes))
	for i, n := range nodes {
		objs[i] = n
	}
	return fake.NewClientset(objs...)
}

func TestPlanLabels5000NodesFakeClientset(t *testing.T) {
	nodes := k8sfake.SimulatedCluster(5000)
	// Three nodes a person labelled by hand: one right, one wrong (upper case), one CPU node.
	nodes[2].Labels[DefaultLabelKey] = "a100" // eks-p4d: right value
	nodes[3].Labels[DefaultLabelKey] = "H100" // eks-p5: conflicts with h100
	nodes[0].Labels[DefaultLabelKey] = "a100" // cpu node: not ours, left alone
	cs := fakeClientset(nodes)
	listed, err := ListNodes(context.Background(), cs, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 5000 {
		t.Fatalf("listed %d nodes", len(listed))
	}
	pol := LabelPolicy{Owner: Owner{Workspace: "ws", Address: "gpu_label_policy.eks"}, LabelKey: DefaultLabelKey}
	lp, err := PlanLabels(listed, pol)
	if err != nil {
		t.Fatal(err)
	}
	if lp.GPUNodes != 4999 {
		t.Errorf("GPU nodes = %d, want 4999", lp.GPUNodes)
	}
	for _, nl := range lp.Nodes {
		switch {
		case nl.Node == "mystery-0001":
			if nl.State != StateUndetermined {
				t.Errorf("mystery node: state %s", nl.State)
			}
		case nl.Node == nodes[2].Name:
			if nl.State != StateForeignSame {
				t.Errorf("%s (labelled right by hand): state %s, want %s", nl.Node, nl.State, StateForeignSame)
			}
		case nl.Node == nodes[3].Name:
			if nl.State != StateConflict {
				t.Errorf("%s (labelled H100 by hand): state %s, want conflict", nl.Node, nl.State)
			}
		default:
			want := wantByKind[kindOf(nl.Node)]
			if nl.State != StateAdd || lp.Desired[nl.Node] != want {
				t.Errorf("%s: state %s value %q, want add %q", nl.Node, nl.State, lp.Desired[nl.Node], want)
			}
		}
	}
	if len(lp.Desired) != 4996 {
		t.Errorf("desired labels on %d nodes, want 4996", len(lp.Desired))
	}
	for _, name := range []string{"cpu-0000", "mystery-0001", nodes[2].Name, nodes[3].Name} {
		if _, ok := lp.Desired[name]; ok {
			t.Errorf("%s must not be labelled", name)
		}
	}
	notes := strings.Join(lp.Notes(), "\n")
	for _, want := range []string{
		"conflict: node " + nodes[3].Name + " has skypilot.co/accelerator=H100 (not set by skyplan)",
		"set overwrite = true to replace",
		"undetermined: cannot tell the GPU model of 1 node(s) with instance type custom.gpu-box (mystery-0001)",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	pol.Overwrite = true
	lp, err = PlanLabels(listed, pol)
	if err != nil {
		t.Fatal(err)
	}
	if lp.Desired[nodes[3].Name] != "h100" {
		t.Errorf("overwrite = true: %s not relabelled (state %v)", nodes[3].Name, lp.Desired[nodes[3].Name])
	}
	if _, ok := lp.Desired[nodes[2].Name]; ok {
		t.Errorf("overwrite = true must not take over a label that is already right")
	}
}

func TestPlanLabelsSelectorAndOwnership(t *testing.T) {
	me := Owner{Workspace: "ws", Address: "gpu_label_policy.a"}
	other := Owner{Workspace: "ws", Address: "gpu_label_policy.b"}
	withOwner := func(n *corev1.Node, key, value string, o Owner) *corev1.Node {
		n.Labels[key] = value
		n.Annotations = map[string]string{OwnershipAnnotation: *Ownership{key: o}.encode()}
		return n
	}
	nodes := []*corev1.Node{
		withOwner(k8sfake.GPUNode("mine-stale", "p5.48xlarge", 8, nil), DefaultLabelKey, "a100", me),
		withOwner(k8sfake.GPUNode("mine-ok", "p5.48xlarge", 8, nil), DefaultLabelKey, "h100", me),
		withOwner(k8sfake.GPUNode("cli", "p5.48xlarge", 8, nil), DefaultLabelKey, "h100", CLIOwner()),
		withOwner(k8sfake.GPUNode("theirs", "p5.48xlarge", 8, nil), DefaultLabelKey, "a100", other),
		withOwner(k8sfake.CPUNode("mine-cpu", "m6i.xlarge"), DefaultLabelKey, "a100", me),
		withOwner(k8sfake.GPUNode("mine-unselected", "p5.48xlarge", 8, map[string]string{"pool": "b"}), DefaultLabelKey, "h100", me),
	}
	sel, err := labels.Parse("pool!=b")
	if err != nil {
		t.Fatal(err)
	}
	lp, err := PlanLabels(nodes, LabelPolicy{Owner: me, LabelKey: DefaultLabelKey, Selector: sel})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]NodeState{}
	for _, nl := range lp.Nodes {
		states[nl.Node] = nl.State
	}
	want := map[string]NodeState{"mine-stale": StateChange, "mine-ok": StateUnchanged, "cli": StateAdopt, "theirs": StateOtherOwner}
	for n, s := range want {
		if states[n] != s {
			t.Errorf("%s: state %s, want %s", n, states[n], s)
		}
	}
	if strings.Join(lp.Remove, ",") != "mine-cpu,mine-unselected" {
		t.Errorf("Remove = %v, want the CPU node and the unselected node", lp.Remove)
	}
	if !strings.Contains(strings.Join(lp.Notes(), "\n"), `node theirs has skypilot.co/accelerator=a100 set by gpu_label_policy.b in workspace "ws"`) {
		t.Errorf("notes do not name the other policy: %v", lp.Notes())
	}
	// The CLI never takes a policy's label, even with --overwrite.
	lp, err = PlanLabels(nodes, LabelPolicy{Owner: CLIOwner(), LabelKey: DefaultLabelKey, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, nl := range lp.Nodes {
		if nl.Node == "mine-ok" && nl.State != StateOtherOwner {
			t.Errorf("CLI with --overwrite on a policy's label: state %s", nl.State)
		}
	}
}

func TestBadOwnershipAnnotationIsAnError(t *testing.T) {
	n := k8sfake.GPUNode("n", "p5.48xlarge", 8, nil)
	n.Annotations = map[string]string{OwnershipAnnotation: "{not json"}
	_, err := PlanLabels([]*corev1.Node{n}, LabelPolicy{LabelKey: DefaultLabelKey})
	if err == nil || !strings.Contains(err.Error(), "node n: annotation skyplan.dev/owned-labels") {
		t.Fatalf("err = %v", err)
	}
}

func TestPolicyValidation(t *testing.T) {
	tests := []struct {
		attrs map[string]any
		want  string
	}{
		{map[string]any{"label_key": "bad key!"}, `label_key "bad key!" is not a valid Kubernetes label key`},
		{map[string]any{"overrides": map[string]string{"p4d.24xlarge": "not valid!"}}, `overrides["p4d.24xlarge"] = "not valid!" is not a valid label value`},
		{map[string]any{"overrides": map[string]string{"x": ""}}, `overrides["x"] is empty`},
		{map[string]any{"node_selector": map[string]string{"a": "b c"}}, "node_selector is not a valid label selector"},
	}
	for _, tt := range tests {
		_, err := policyFromAttrs(tt.attrs, Owner{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.attrs, err, tt.want)
		}
	}
	if _, err := policyFromAttrs(map[string]any{"node_selector": map[string]any{"pool": "gpu"}, "overrides": map[string]any{"x": "a100"}}, Owner{}); err != nil {
		t.Errorf("state-shaped attributes: %v", err)
	}
}

func TestExpandAndInspectWithFakeClientset(t *testing.T) {
	nodes := k8sfake.SimulatedCluster(5000)
	p := NewWithClient(fakeClientset(nodes), "ws", "fake")
	r := &spec.Resource{Type: spec.TypeGPULabelPolicy, Name: "eks", Attrs: map[string]any{"cloud": "kubernetes", "label_key": DefaultLabelKey}}
	attrs, notes, err := p.Expand(context.Background(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(attrs["node_labels"].(map[string]string)); n != 4998 {
		t.Errorf("node_labels on %d nodes, want 4998", n)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "undetermined: cannot tell the GPU model of 1 node(s)") {
		t.Errorf("notes = %v", notes)
	}
	gpuNodes, err := p.GPUNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	undetected := 0
	for _, n := range gpuNodes {
		if n.Detected == "" {
			undetected++
		}
	}
	if len(gpuNodes) != 4999 || undetected != 1 {
		t.Errorf("GPUNodes: %d nodes, %d undetected; want 4999, 1", len(gpuNodes), undetected)
	}
}
