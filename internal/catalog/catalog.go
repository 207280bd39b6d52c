// Package catalog is skyplan's small, static knowledge of GPU/TPU offerings:
// which instance types carry which accelerators, where they are offered, and
// which disk types each machine family supports. It is data plus lookups, no
// network, so the spec loader, lint and providers agree on one answer.
package catalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// InstanceType is one machine type with its accelerators.
type InstanceType struct {
	Cloud  string
	Name   string
	Family string
	// Accelerator is the canonical accelerator name (A100, A100-80GB, H100, ...);
	// empty for CPU-only types.
	Accelerator string
	Count       int
	VCPUs       int
	MemoryGiB   int
	// Locations are AWS regions or GCP zones where the type is offered.
	Locations []string
	// GuestAccelerator is the GCE accelerator type attached to the VM (for
	// families such as n1 where GPUs are attached rather than built in).
	GuestAccelerator string
}

// Offered reports whether the type is offered in a region or zone. For a GCP
// region (e.g. us-central1) any zone in it counts.
func (t *InstanceType) Offered(location string) bool {
	for _, l := range t.Locations {
		if l == location || strings.HasPrefix(l, location+"-") {
			return true
		}
	}
	return false
}

var (
	awsP4dRegions = []string{"us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "ap-northeast-1", "ap-southeast-1"}
	awsP5Regions  = []string{"us-east-1", "us-east-2", "us-west-2", "eu-north-1", "ap-northeast-1", "ap-southeast-2"}
	awsG5Regions  = []string{"us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-north-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ca-central-1", "sa-east-1"}
	awsCPURegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1"}

	gcpA2Zones  = []string{"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-east1-b", "us-west1-b", "europe-west4-a", "europe-west4-b", "asia-northeast1-a"}
	gcpA3Zones  = []string{"us-central1-a", "us-central1-c", "us-east4-a", "us-east5-a", "europe-west4-b", "asia-northeast1-b"}
	gcpG2Zones  = []string{"us-central1-a", "us-central1-b", "us-central1-c", "us-east1-b", "us-east4-a", "us-west1-a", "us-west4-a", "europe-west4-a", "europe-west4-b", "asia-northeast1-a"}
	gcpN1Zones  = []string{"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-east1-b", "us-east1-c", "us-east1-d", "us-west1-a", "us-west1-b", "europe-west4-a", "europe-west4-b", "asia-east1-a"}
	gcpC4Zones  = []string{"us-central1-a", "us-central1-b", "us-central1-c", "us-east1-b", "us-east4-a", "us-west1-a", "europe-west4-a", "asia-northeast1-a"}
	gcpCPUZones = append(append([]string{}, gcpN1Zones...), "us-central2-b", "us-east5-a", "us-west4-a", "us-east4-a", "asia-northeast1-a", "asia-northeast1-b")
)

var instanceTypes = []InstanceType{
	// AWS
	{Cloud: "aws", Name: "p3.2xlarge", Family: "p3", Accelerator: "V100", Count: 1, VCPUs: 8, MemoryGiB: 61, Locations: awsP4dRegions},
	{Cloud: "aws", Name: "p3.8xlarge", Family: "p3", Accelerator: "V100", Count: 4, VCPUs: 32, MemoryGiB: 244, Locations: awsP4dRegions},
	{Cloud: "aws", Name: "p3.16xlarge", Family: "p3", Accelerator: "V100", Count: 8, VCPUs: 64, MemoryGiB: 488, Locations: awsP4dRegions},
	{Cloud: "aws", Name: "p4d.24xlarge", Family: "p4d", Accelerator: "A100", Count: 8, VCPUs: 96, MemoryGiB: 1152, Locations: awsP4dRegions},
	{Cloud: "aws", Name: "p4de.24xlarge", Family: "p4de", Accelerator: "A100-80GB", Count: 8, VCPUs: 96, MemoryGiB: 1152, Locations: []string{"us-east-1", "us-west-2"}},
	{Cloud: "aws", Name: "p5.48xlarge", Family: "p5", Accelerator: "H100", Count: 8, VCPUs: 192, MemoryGiB: 2048, Locations: awsP5Regions},
	{Cloud: "aws", Name: "p5e.48xlarge", Family: "p5e", Accelerator: "H200", Count: 8, VCPUs: 192, MemoryGiB: 2048, Locations: []string{"us-east-2", "us-west-2"}},
	{Cloud: "aws", Name: "p5en.48xlarge", Family: "p5en", Accelerator: "H200", Count: 8, VCPUs: 192, MemoryGiB: 2048, Locations: []string{"us-east-1", "us-east-2", "us-west-2", "ap-northeast-1"}},
	{Cloud: "aws", Name: "g4dn.xlarge", Family: "g4dn", Accelerator: "T4", Count: 1, VCPUs: 4, MemoryGiB: 16, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g4dn.12xlarge", Family: "g4dn", Accelerator: "T4", Count: 4, VCPUs: 48, MemoryGiB: 192, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g4dn.metal", Family: "g4dn", Accelerator: "T4", Count: 8, VCPUs: 96, MemoryGiB: 384, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g5.xlarge", Family: "g5", Accelerator: "A10G", Count: 1, VCPUs: 4, MemoryGiB: 16, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g5.12xlarge", Family: "g5", Accelerator: "A10G", Count: 4, VCPUs: 48, MemoryGiB: 192, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g5.48xlarge", Family: "g5", Accelerator: "A10G", Count: 8, VCPUs: 192, MemoryGiB: 768, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g6.xlarge", Family: "g6", Accelerator: "L4", Count: 1, VCPUs: 4, MemoryGiB: 16, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g6.12xlarge", Family: "g6", Accelerator: "L4", Count: 4, VCPUs: 48, MemoryGiB: 192, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g6.48xlarge", Family: "g6", Accelerator: "L4", Count: 8, VCPUs: 192, MemoryGiB: 768, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g6e.xlarge", Family: "g6e", Accelerator: "L40S", Count: 1, VCPUs: 4, MemoryGiB: 32, Locations: awsG5Regions},
	{Cloud: "aws", Name: "g6e.48xlarge", Family: "g6e", Accelerator: "L40S", Count: 8, VCPUs: 192, MemoryGiB: 1536, Locations: awsG5Regions},
	{Cloud: "aws", Name: "t3.micro", Family: "t3", VCPUs: 2, MemoryGiB: 1, Locations: awsCPURegions},
	{Cloud: "aws", Name: "t3.medium", Family: "t3", VCPUs: 2, MemoryGiB: 4, Locations: awsCPURegions},
	{Cloud: "aws", Name: "m6i.large", Family: "m6i", VCPUs: 2, MemoryGiB: 8, Locations: awsCPURegions},
	{Cloud: "aws", Name: "m6i.xlarge", Family: "m6i", VCPUs: 4, MemoryGiB: 16, Locations: awsCPURegions},
	{Cloud: "aws", Name: "m6i.2xlarge", Family: "m6i", VCPUs: 8, MemoryGiB: 32, Locations: awsCPURegions},
	{Cloud: "aws", Name: "m6i.4xlarge", Family: "m6i", VCPUs: 16, MemoryGiB: 64, Locations: awsCPURegions},

	// GCP
	{Cloud: "gcp", Name: "a2-highgpu-1g", Family: "a2", Accelerator: "A100", Count: 1, VCPUs: 12, MemoryGiB: 85, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-highgpu-2g", Family: "a2", Accelerator: "A100", Count: 2, VCPUs: 24, MemoryGiB: 170, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-highgpu-4g", Family: "a2", Accelerator: "A100", Count: 4, VCPUs: 48, MemoryGiB: 340, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-highgpu-8g", Family: "a2", Accelerator: "A100", Count: 8, VCPUs: 96, MemoryGiB: 680, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-ultragpu-1g", Family: "a2", Accelerator: "A100-80GB", Count: 1, VCPUs: 12, MemoryGiB: 170, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-megagpu-16g", Family: "a2", Accelerator: "A100", Count: 16, VCPUs: 96, MemoryGiB: 1360, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-ultragpu-2g", Family: "a2", Accelerator: "A100-80GB", Count: 2, VCPUs: 24, MemoryGiB: 340, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-ultragpu-4g", Family: "a2", Accelerator: "A100-80GB", Count: 4, VCPUs: 48, MemoryGiB: 680, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a2-ultragpu-8g", Family: "a2", Accelerator: "A100-80GB", Count: 8, VCPUs: 96, MemoryGiB: 1360, Locations: gcpA2Zones},
	{Cloud: "gcp", Name: "a3-highgpu-8g", Family: "a3", Accelerator: "H100", Count: 8, VCPUs: 208, MemoryGiB: 1872, Locations: gcpA3Zones},
	{Cloud: "gcp", Name: "a3-megagpu-8g", Family: "a3", Accelerator: "H100", Count: 8, VCPUs: 208, MemoryGiB: 1872, Locations: gcpA3Zones},
	{Cloud: "gcp", Name: "a3-ultragpu-8g", Family: "a3", Accelerator: "H200", Count: 8, VCPUs: 224, MemoryGiB: 2952, Locations: []string{"us-central1-b", "us-east4-b", "europe-west1-b"}},
	{Cloud: "gcp", Name: "g2-standard-4", Family: "g2", Accelerator: "L4", Count: 1, VCPUs: 4, MemoryGiB: 16, Locations: gcpG2Zones},
	{Cloud: "gcp", Name: "g2-standard-24", Family: "g2", Accelerator: "L4", Count: 2, VCPUs: 24, MemoryGiB: 96, Locations: gcpG2Zones},
	{Cloud: "gcp", Name: "g2-standard-48", Family: "g2", Accelerator: "L4", Count: 4, VCPUs: 48, MemoryGiB: 192, Locations: gcpG2Zones},
	{Cloud: "gcp", Name: "g2-standard-96", Family: "g2", Accelerator: "L4", Count: 8, VCPUs: 96, MemoryGiB: 384, Locations: gcpG2Zones},
	{Cloud: "gcp", Name: "n1-standard-8", Family: "n1", Accelerator: "T4", Count: 1, VCPUs: 8, MemoryGiB: 30, Locations: gcpN1Zones, GuestAccelerator: "nvidia-tesla-t4"},
	{Cloud: "gcp", Name: "n1-standard-16", Family: "n1", Accelerator: "T4", Count: 2, VCPUs: 16, MemoryGiB: 60, Locations: gcpN1Zones, GuestAccelerator: "nvidia-tesla-t4"},
	{Cloud: "gcp", Name: "n1-standard-32", Family: "n1", Accelerator: "T4", Count: 4, VCPUs: 32, MemoryGiB: 120, Locations: gcpN1Zones, GuestAccelerator: "nvidia-tesla-t4"},
	{Cloud: "gcp", Name: "n1-highmem-8", Family: "n1", Accelerator: "V100", Count: 1, VCPUs: 8, MemoryGiB: 52, Locations: gcpN1Zones, GuestAccelerator: "nvidia-tesla-v100"},
	{Cloud: "gcp", Name: "n1-highmem-64", Family: "n1", Accelerator: "V100", Count: 8, VCPUs: 64, MemoryGiB: 416, Locations: gcpN1Zones, GuestAccelerator: "nvidia-tesla-v100"},
	{Cloud: "gcp", Name: "n1-standard-4", Family: "n1", VCPUs: 4, MemoryGiB: 15, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "n2-standard-4", Family: "n2", VCPUs: 4, MemoryGiB: 16, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "n2-standard-8", Family: "n2", VCPUs: 8, MemoryGiB: 32, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "n2-standard-64", Family: "n2", VCPUs: 64, MemoryGiB: 256, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "n2-standard-80", Family: "n2", VCPUs: 80, MemoryGiB: 320, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "e2-standard-4", Family: "e2", VCPUs: 4, MemoryGiB: 16, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "c4-standard-8", Family: "c4", VCPUs: 8, MemoryGiB: 30, Locations: gcpC4Zones},
	{Cloud: "gcp", Name: "n4-standard-8", Family: "n4", VCPUs: 8, MemoryGiB: 32, Locations: gcpC4Zones},
	{Cloud: "gcp", Name: "c3-standard-8", Family: "c3", VCPUs: 8, MemoryGiB: 32, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "c3-standard-88", Family: "c3", VCPUs: 88, MemoryGiB: 352, Locations: gcpCPUZones},
	{Cloud: "gcp", Name: "m3-megamem-64", Family: "m3", VCPUs: 64, MemoryGiB: 976, Locations: gcpCPUZones},
}

// InstanceTypes returns the catalog's types of one cloud.
func InstanceTypes(cloud string) []InstanceType {
	var out []InstanceType
	for _, t := range instanceTypes {
		if t.Cloud == cloud {
			out = append(out, t)
		}
	}
	return out
}

// LookupInstanceType finds a type by name; ok is false for types the catalog
// does not know (they may still exist: providers pass them through).
func LookupInstanceType(cloud, name string) (InstanceType, bool) {
	for _, t := range instanceTypes {
		if t.Cloud == cloud && t.Name == name {
			return t, true
		}
	}
	return InstanceType{}, false
}

// Family returns the machine family of an instance type name:
// p4d.24xlarge → p4d, a2-highgpu-8g → a2.
func Family(cloud, name string) string {
	if t, ok := LookupInstanceType(cloud, name); ok {
		return t.Family
	}
	if cloud == "aws" {
		f, _, _ := strings.Cut(name, ".")
		return f
	}
	f, _, _ := strings.Cut(name, "-")
	return f
}

// Accelerator is a parsed `accelerators` value.
type Accelerator struct {
	Name  string // canonical, e.g. A100-80GB
	Count int
}

func (a Accelerator) String() string { return fmt.Sprintf("%s:%d", a.Name, a.Count) }

// ParseAccelerators parses "A100:8" (count defaults to 1). TPU values
// ("tpu-v4-8") are not accelerators in this sense: see ParseTPU.
func ParseAccelerators(s string) (Accelerator, error) {
	name, countStr, hasCount := strings.Cut(strings.TrimSpace(s), ":")
	if name == "" {
		return Accelerator{}, fmt.Errorf("empty accelerator name; use NAME:COUNT, e.g. A100:8")
	}
	count := 1
	if hasCount {
		n, err := strconv.Atoi(countStr)
		if err != nil || n < 1 {
			return Accelerator{}, fmt.Errorf("invalid accelerator count %q; use NAME:COUNT, e.g. A100:8", countStr)
		}
		count = n
	}
	canon := CanonicalAccelerator(name)
	if canon == "" {
		return Accelerator{}, fmt.Errorf("unknown accelerator %q; known: %s", name, strings.Join(KnownAccelerators(), ", "))
	}
	return Accelerator{Name: canon, Count: count}, nil
}

var acceleratorAliases = map[string]string{
	"V100": "V100", "T4": "T4", "A10G": "A10G", "L4": "L4", "L40S": "L40S",
	"A100": "A100", "A100-40GB": "A100", "A100-80GB": "A100-80GB",
	"H100": "H100", "H100-80GB": "H100", "H200": "H200", "H200-141GB": "H200",
}

// CanonicalAccelerator maps user spellings (case-insensitive) to the catalog
// name, or "" when unknown.
func CanonicalAccelerator(name string) string {
	return acceleratorAliases[strings.ToUpper(strings.TrimSpace(name))]
}

// KnownAccelerators lists canonical accelerator names.
func KnownAccelerators() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range acceleratorAliases {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// ResolveInstanceType picks the smallest catalog type on a cloud with exactly
// the requested accelerators.
func ResolveInstanceType(cloud string, acc Accelerator) (InstanceType, error) {
	var offered []string
	for _, t := range instanceTypes {
		if t.Cloud != cloud || t.Accelerator != acc.Name {
			continue
		}
		if t.Count == acc.Count {
			return t, nil
		}
		offered = append(offered, fmt.Sprintf("%s:%d (%s)", t.Accelerator, t.Count, t.Name))
	}
	if len(offered) == 0 {
		return InstanceType{}, fmt.Errorf("%s is not offered on %s", acc.Name, cloud)
	}
	return InstanceType{}, fmt.Errorf("no %s instance type has %d× %s; offered: %s", cloud, acc.Count, acc.Name, strings.Join(offered, ", "))
}
