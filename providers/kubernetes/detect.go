package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/skyplan/skyplan/internal/catalog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// Node labels and resources GPU detection reads.
const (
	ResourceGPU         = corev1.ResourceName("nvidia.com/gpu")
	LabelInstanceType   = "node.kubernetes.io/instance-type"
	LabelInstanceTypeV1 = "beta.kubernetes.io/instance-type" // still set by older kubelets
	LabelGFDProduct     = "nvidia.com/gpu.product"
	LabelGFDMemory      = "nvidia.com/gpu.memory"
	LabelGKEAccelerator = "cloud.google.com/gke-accelerator"
	LabelEKSAccelerator = "k8s.amazonaws.com/accelerator"
	// DefaultLabelKey is the label the SkyPilot scheduler selects GPU nodes by.
	DefaultLabelKey = "skypilot.co/accelerator"
)

// modelLabels are the labels that already name a node's GPU model, in the
// order they are trusted: GPU Feature Discovery reads the device itself.
var modelLabels = []string{LabelGFDProduct, LabelGKEAccelerator, LabelEKSAccelerator}

// listPageSize is the page size of node lists: 5,000 nodes take 10 calls.
const listPageSize = 500

// ListNodes lists nodes (optionally by label selector) in pages through
// client-go's pager.
func ListNodes(ctx context.Context, cs kubernetes.Interface, selector string) ([]*corev1.Node, error) {
	p := pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Nodes().List(ctx, opts)
	})
	p.PageSize = listPageSize
	var out []*corev1.Node
	err := p.EachListItem(ctx, metav1.ListOptions{LabelSelector: selector}, func(obj runtime.Object) error {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return fmt.Errorf("node list returned a %T", obj)
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GPUCount is the node's nvidia.com/gpu capacity, else its allocatable.
func GPUCount(n *corev1.Node) int64 {
	if q, ok := n.Status.Capacity[ResourceGPU]; ok && q.Value() > 0 {
		return q.Value()
	}
	if q, ok := n.Status.Allocatable[ResourceGPU]; ok {
		return q.Value()
	}
	return 0
}

// InstanceType is the node's instance-type label.
func InstanceType(n *corev1.Node) string {
	if t := n.Labels[LabelInstanceType]; t != "" {
		return t
	}
	return n.Labels[LabelInstanceTypeV1]
}

// Detection is what skyplan knows of a node's GPU model.
type Detection struct {
	// Model is the canonical model (catalog spelling, e.g. A100-80GB), or
	// an override's value as written when the catalog does not know it.
	Model string
	// Value is the label value the scheduler expects (lowercase).
	Value string
	// Source says where the model came from, for plans and notes.
	Source string
}

// Found reports whether the model was determined.
func (d Detection) Found() bool { return d.Value != "" }

// DetectFromNode infers the GPU model from the node's own labels (GFD, GKE,
// EKS), then from its instance type through the catalog. It never guesses:
// an unknown model gives a zero Detection.
func DetectFromNode(n *corev1.Node) Detection {
	for _, key := range modelLabels {
		v := n.Labels[key]
		if v == "" {
			continue
		}
		var mem int64
		if key == LabelGFDProduct {
			mem, _ = strconv.ParseInt(n.Labels[LabelGFDMemory], 10, 64)
		}
		if m := catalog.NormalizeGPUName(v, mem); m != "" {
			return Detection{Model: m, Value: catalog.GPULabelValue(m), Source: fmt.Sprintf("label %s=%s", key, v)}
		}
	}
	if t := InstanceType(n); t != "" {
		if m, ok := catalog.GPUForInstanceType(t); ok {
			return Detection{Model: m, Value: catalog.GPULabelValue(m), Source: "instance type " + t}
		}
	}
	return Detection{}
}

// IgnoredOverride is an override that detection contradicted.
type IgnoredOverride struct {
	Key, Value string
	Node       string
	Detected   Detection
}

// Detect is DetectFromNode, then the overrides (keyed by node name, then by
// instance type) for nodes whose model the cluster does not reveal. An
// override that detection contradicts is returned, so the plan can say so.
func Detect(n *corev1.Node, overrides map[string]string) (Detection, *IgnoredOverride) {
	key, value := overrideFor(n, overrides)
	d := DetectFromNode(n)
	if d.Found() {
		if value != "" && overrideDetection(key, value).Value != d.Value {
			return d, &IgnoredOverride{Key: key, Value: value, Node: n.Name, Detected: d}
		}
		return d, nil
	}
	if value != "" {
		return overrideDetection(key, value), nil
	}
	return Detection{}, nil
}

func overrideFor(n *corev1.Node, overrides map[string]string) (key, value string) {
	if v, ok := overrides[n.Name]; ok {
		return n.Name, v
	}
	if t := InstanceType(n); t != "" {
		if v, ok := overrides[t]; ok {
			return t, v
		}
	}
	return "", ""
}

// overrideDetection canonicalises an override value when the catalog knows
// the model; other values are taken as written (lowercased), since overrides
// exist for GPUs skyplan cannot recognise.
func overrideDetection(key, value string) Detection {
	src := fmt.Sprintf("override %q", key)
	if m := catalog.NormalizeGPUName(value, 0); m != "" {
		return Detection{Model: m, Value: catalog.GPULabelValue(m), Source: src}
	}
	return Detection{Model: value, Value: catalog.GPULabelValue(value), Source: src}
}
