package catalog

import (
	"regexp"
	"strconv"
	"strings"
)

// GPU model names as skyplan prints them: the catalog's canonical accelerator
// names (A100, A100-80GB, H100, H200, ...), plus models the catalog offers no
// instance type for but Kubernetes nodes may still carry (A10, A40, L40, ...).
// The SkyPilot scheduler expects the lowercase form as a node label value
// (skypilot.co/accelerator=a100-80gb): see GPULabelValue.

// gpuModelTokens maps a model token, as it appears in nvidia-smi names, GPU
// Feature Discovery labels and GKE/EKS accelerator labels, to its canonical
// name. A100 is sized separately (40 vs 80 GB).
var gpuModelTokens = map[string]string{
	"b200": "B200", "gh200": "GH200", "h200": "H200", "h100": "H100",
	"a100": "A100", "a10g": "A10G", "a10": "A10", "a40": "A40",
	"l40s": "L40S", "l40": "L40", "l4": "L4", "t4": "T4",
	"v100": "V100", "p100": "P100", "p4": "P4", "k80": "K80", "t4g": "T4g",
}

var nameSeparators = regexp.MustCompile(`[\s\-_/,()]+`)

// a100LargeMiB separates the 40 GB A100 (40960 MiB) from the 80 GB one
// (81920 MiB) when a name does not say which.
const a100LargeMiB = 60000

// NormalizeGPUName maps a GPU name to its canonical model, or "" when the
// model cannot be told. It accepts nvidia-smi names ("NVIDIA H100 80GB HBM3",
// "NVIDIA A100-SXM4-40GB", "Tesla T4"), GPU Feature Discovery product labels
// ("NVIDIA-A100-SXM4-80GB"), GKE and EKS accelerator labels
// ("nvidia-tesla-a100", "nvidia-h100-80gb") and canonical names in any case
// ("a100-80gb"). memoryMiB (0 when unknown) sizes an A100 whose name carries
// no size.
func NormalizeGPUName(name string, memoryMiB int64) string {
	tokens := nameSeparators.Split(strings.ToLower(strings.TrimSpace(name)), -1)
	model := ""
	var sizeGB int64
	for _, tok := range tokens {
		if m, ok := gpuModelTokens[tok]; ok && model == "" {
			model = m
			continue
		}
		if gb, ok := strings.CutSuffix(tok, "gb"); ok && sizeGB == 0 {
			if n, err := strconv.ParseInt(gb, 10, 64); err == nil {
				sizeGB = n
			}
		}
	}
	if model != "A100" {
		return model
	}
	switch {
	case sizeGB >= 80, sizeGB == 0 && memoryMiB > a100LargeMiB:
		return "A100-80GB"
	}
	return "A100"
}

// GPULabelValue is the node label value the SkyPilot scheduler expects for a
// canonical model name: lowercase, e.g. A100-80GB → a100-80gb.
func GPULabelValue(model string) string { return strings.ToLower(model) }

// GPUForInstanceType returns the GPU model an instance type carries (AWS or
// GCP), from the catalog entry or, for sizes the catalog does not list, from
// its family: the GCE series (a2-ultragpu-2g → A100-80GB) or an AWS family
// whose catalog types all carry one model (g5.64xlarge → A10G). ok is false
// for CPU-only and unknown types, for accelerators that are not GPUs
// (Trainium, Inferentia, FPGAs) and for families whose GPUs are attached,
// not built in (GCP n1): those cannot be told from the type name.
func GPUForInstanceType(name string) (model string, ok bool) {
	c := Default()
	for _, cloud := range []string{"aws", "gcp"} {
		if t, found := c.LookupInstanceType(cloud, name); found {
			return gpuModel(t.Accelerator)
		}
	}
	if acc, _, _ := gceBuiltInGPU(name); acc != "" {
		return gpuModel(acc)
	}
	family, _, isAWS := strings.Cut(name, ".")
	if !isAWS {
		return "", false
	}
	for _, t := range c.InstanceTypes("aws") {
		if t.Family != family {
			continue
		}
		m, ok := gpuModel(t.Accelerator)
		if !ok || (model != "" && m != model) {
			return "", false
		}
		model = m
	}
	return model, model != ""
}

// gpuModel names the GPU model of a catalog accelerator: H100-MEGA (a
// machine variant) is an H100, V100-32GB a V100.
func gpuModel(accelerator string) (string, bool) {
	m := NormalizeGPUName(accelerator, 0)
	return m, m != ""
}
