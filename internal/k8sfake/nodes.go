package k8sfake

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Well-known node labels the simulated nodes carry, as real clusters set them.
const (
	LabelInstanceType   = "node.kubernetes.io/instance-type"
	LabelGFDProduct     = "nvidia.com/gpu.product"
	LabelGFDMemory      = "nvidia.com/gpu.memory"
	LabelGKEAccelerator = "cloud.google.com/gke-accelerator"
	LabelEKSAccelerator = "k8s.amazonaws.com/accelerator"
	LabelEKSNodegroup   = "eks.amazonaws.com/nodegroup"
	ResourceGPU         = corev1.ResourceName("nvidia.com/gpu")
)

// GPUNode builds a node with `gpus` nvidia.com/gpu in capacity and
// allocatable, the instance-type label (when instanceType is not "") and
// the given extra labels.
func GPUNode(name, instanceType string, gpus int64, extra map[string]string) *corev1.Node {
	n := CPUNode(name, instanceType)
	for k, v := range extra {
		n.Labels[k] = v
	}
	q := *resource.NewQuantity(gpus, resource.DecimalSI)
	n.Status.Capacity[ResourceGPU] = q
	n.Status.Allocatable[ResourceGPU] = q
	return n
}

// CPUNode builds a node without GPUs.
func CPUNode(name, instanceType string) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
		}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("96"),
				corev1.ResourceMemory: resource.MustParse("768Gi"),
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("95"),
				corev1.ResourceMemory: resource.MustParse("760Gi"),
			},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	if instanceType != "" {
		n.Labels[LabelInstanceType] = instanceType
	}
	return n
}

// SimulatedKinds are the node kinds SimulatedCluster mixes; a node's name
// starts with its kind, so tests can tell what each node should be.
var SimulatedKinds = []string{"eks-p4d", "eks-p5", "eks-g5", "gke-t4", "gke-h100", "gfd-a100-80gb", "eks-labelled-v100"}

// SimulatedCluster returns n nodes (n ≥ 2) of a mixed GPU cluster:
//   - cpu-0000: a CPU node (no nvidia.com/gpu);
//   - mystery-0001: 8 GPUs, no GPU label and an instance type no catalog
//     knows, so its model cannot be determined;
//   - the rest cycle through SimulatedKinds: EKS p4d.24xlarge, p5.48xlarge and
//     g5.xlarge nodes with GPU capacity but no accelerator label (the EKS
//     problem), GKE n1-standard-8 nodes with a T4 attached (only the
//     gke-accelerator label tells) and a3-highgpu-8g nodes, nodes labelled by
//     GPU Feature Discovery on a bare-metal type, and EKS nodes carrying the
//     k8s.amazonaws.com/accelerator label.
func SimulatedCluster(n int) []*corev1.Node {
	out := make([]*corev1.Node, 0, n)
	for i := 0; i < n; i++ {
		var node *corev1.Node
		switch {
		case i == 0:
			node = CPUNode(fmt.Sprintf("cpu-%04d", i), "m6i.xlarge")
		case i == 1:
			node = GPUNode(fmt.Sprintf("mystery-%04d", i), "custom.gpu-box", 8, nil)
		default:
			kind := SimulatedKinds[(i-2)%len(SimulatedKinds)]
			name := fmt.Sprintf("%s-%04d", kind, i)
			switch kind {
			case "eks-p4d":
				node = GPUNode(name, "p4d.24xlarge", 8, map[string]string{LabelEKSNodegroup: "p4d"})
			case "eks-p5":
				node = GPUNode(name, "p5.48xlarge", 8, map[string]string{LabelEKSNodegroup: "p5"})
			case "eks-g5":
				node = GPUNode(name, "g5.xlarge", 1, map[string]string{LabelEKSNodegroup: "g5"})
			case "gke-t4":
				node = GPUNode(name, "n1-standard-8", 1, map[string]string{LabelGKEAccelerator: "nvidia-tesla-t4"})
			case "gke-h100":
				node = GPUNode(name, "a3-highgpu-8g", 8, map[string]string{LabelGKEAccelerator: "nvidia-h100-80gb"})
			case "gfd-a100-80gb":
				node = GPUNode(name, "bare-metal", 8, map[string]string{LabelGFDProduct: "NVIDIA-A100-SXM4-80GB", LabelGFDMemory: "81920"})
			case "eks-labelled-v100":
				node = GPUNode(name, "", 4, map[string]string{LabelEKSAccelerator: "nvidia-tesla-v100"})
			}
		}
		out = append(out, node)
	}
	return out
}
