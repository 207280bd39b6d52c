package catalog

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Which upstream rows skyplan keeps: the rule that selected the embedded
// extract (see data/README.md), applied again by `skyplan catalog update`,
// so a refreshed catalog has the same shape, only newer.
var (
	// awsWholeFamilies are AWS families kept with every size, with or
	// without an AcceleratorName upstream (trn2 has none).
	awsWholeFamilies = []string{"g4dn", "g5", "g5g", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2", "inf2", "dl1"}
	// gcpWholeFamilies are the GCE series whose machine types carry built-in
	// GPUs (their rows price only the host; see gceBuiltInGPUs).
	gcpWholeFamilies = []string{"a2", "a3", "a4", "g2"}
	// cpuTypes are the few CPU types kept for controllers and head nodes.
	cpuTypes = map[string][]string{
		"aws": {"m5.large", "m5.xlarge", "m5.2xlarge", "m6i.large", "m6i.xlarge", "m6i.2xlarge", "m7i.xlarge", "c6i.xlarge", "t3.micro", "t3.medium", "t3.large"},
		"gcp": {"n2-standard-2", "n2-standard-4", "n2-standard-8", "e2-standard-2", "e2-standard-4", "e2-standard-8", "n1-standard-4", "n1-standard-8", "c4-standard-4"},
	}
)

// selected reports whether skyplan keeps an upstream row.
func selected(cloud string, rec *record) bool {
	if rec.accelerator != "" {
		return true
	}
	whole := awsWholeFamilies
	if cloud == "gcp" {
		whole = gcpWholeFamilies
	}
	return slices.Contains(whole, Family(cloud, rec.instanceType)) || slices.Contains(cpuTypes[cloud], rec.instanceType)
}

// awsTypeName is the shape of every AWS instance type name: a family, a dot
// and a size (p4d.24xlarge, u-6tb1.metal, m7i.metal-48xl).
var awsTypeName = regexp.MustCompile(`^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal|metal-[0-9]+xl)$`)

// gceBuiltInGPUs maps GCE machine kinds to the GPU they are built with; the
// count is the name's trailing "<N>g" (a2-highgpu-8g) except on G2. The
// catalog prices these as a host row plus an accelerator row. resolve is
// false for kinds that `accelerators = "H100:8"` should not pick although
// they carry the GPU (A3 Edge serves a few regions; SkyPilot maps H100 to
// a3-highgpu too).
var gceBuiltInGPUs = []struct {
	prefix, accelerator string
	resolve             bool
}{
	{"a2-highgpu-", "A100", true},
	{"a2-megagpu-", "A100", true},
	{"a2-ultragpu-", "A100-80GB", true},
	{"a3-highgpu-", "H100", true},
	{"a3-edgegpu-", "H100", false},
	{"a3-megagpu-", "H100-MEGA", true},
	{"a3-ultragpu-", "H200", true},
	{"a4-highgpu-", "B200", true},
	{"g2-standard-", "L4", true},
}

// g2GPUs is the L4 count of each G2 size (GCE documents it; the name does not say).
var g2GPUs = map[string]int{"4": 1, "8": 1, "12": 1, "16": 1, "24": 2, "32": 1, "48": 4, "96": 8}

// gceBuiltInGPU returns the built-in GPU of a GCE machine type.
func gceBuiltInGPU(machineType string) (accelerator string, count int, resolve bool) {
	for _, s := range gceBuiltInGPUs {
		rest, ok := strings.CutPrefix(machineType, s.prefix)
		if !ok {
			continue
		}
		size, variant, _ := strings.Cut(rest, "-") // a3-ultragpu-8g-nolssd
		if s.prefix == "g2-standard-" {
			count = g2GPUs[size]
		} else if n, err := strconv.Atoi(strings.TrimSuffix(size, "g")); err == nil && strings.HasSuffix(size, "g") {
			count = n
		}
		if count == 0 {
			return "", 0, false
		}
		return s.accelerator, count, s.resolve && variant == ""
	}
	return "", 0, false
}

// gceGuestTypes are the GCE accelerator types attached to N1 VMs, by catalog
// name. Other GPUs come built into their machine series.
var gceGuestTypes = map[string]string{
	"T4": "nvidia-tesla-t4", "V100": "nvidia-tesla-v100", "P100": "nvidia-tesla-p100", "P4": "nvidia-tesla-p4",
}

// gceAttachHostMinVCPUs sizes the default N1 host for attached GPUs: the
// cheapest N1 type with at least this many vCPUs (SkyPilot's default host
// has 8; smaller ones starve data loading).
const gceAttachHostMinVCPUs = 8

// GuestAcceleratorType returns the GCE accelerator type (nvidia-tesla-t4)
// that attaches a catalog GPU (T4) to an N1 VM, or "" when the GPU is not
// attached that way.
func GuestAcceleratorType(accelerator string) string { return gceGuestTypes[accelerator] }

// AcceleratorForGuestType is the inverse of GuestAcceleratorType.
func AcceleratorForGuestType(guestType string) string {
	for acc, g := range gceGuestTypes {
		if g == guestType {
			return acc
		}
	}
	return ""
}

// AttachesGuestGPUs reports whether a GCE machine type takes attached GPUs.
func AttachesGuestGPUs(cloud, instanceType string) bool {
	return cloud == "gcp" && Family(cloud, instanceType) == "n1"
}

// runtimeExamples are runtime_version values GCP documents per TPU generation.
var runtimeExamples = map[string]string{
	"v2": "tpu-ubuntu2204-base", "v3": "tpu-ubuntu2204-base", "v4": "tpu-ubuntu2204-base",
	"v5litepod": "v2-alpha-tpuv5-lite", "v5p": "v2-alpha-tpuv5", "v6e": "v2-alpha-tpuv6e",
}

// RuntimeVersionExample returns a runtime_version that TPU VMs of a
// generation (v4, v5p, ...) boot with.
func RuntimeVersionExample(generation string) string {
	if v, ok := runtimeExamples[generation]; ok {
		return v
	}
	return "tpu-ubuntu2204-base"
}
