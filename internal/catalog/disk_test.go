package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveDiskGCP(t *testing.T) {
	tests := []struct {
		instanceType, tier string
		size               int64
		want               Disk
	}{
		// Default series (n1, e2, a2): standard PD tiers, no ultra.
		{"n1-standard-8", "low", 100, Disk{Type: "pd-standard"}},
		{"n1-standard-8", "medium", 100, Disk{Type: "pd-balanced"}},
		{"n1-standard-8", "high", 100, Disk{Type: "pd-ssd"}},
		{"e2-standard-4", "low", 100, Disk{Type: "pd-standard"}},
		{"a2-highgpu-8g", "low", 100, Disk{Type: "pd-standard"}},
		{"a2-highgpu-8g", "medium", 100, Disk{Type: "pd-balanced"}},
		{"a2-highgpu-8g", "high", 100, Disk{Type: "pd-ssd"}},
		// N2: pd-extreme for ultra on 64+ vCPUs.
		{"n2-standard-4", "low", 100, Disk{Type: "pd-standard"}},
		{"n2-standard-4", "high", 100, Disk{Type: "pd-ssd"}},
		{"n2-standard-64", "ultra", 100, Disk{Type: "pd-extreme", IOPS: 20000}},
		{"n2-standard-80", "ultra", 100, Disk{Type: "pd-extreme", IOPS: 20000}},
		// Memory-optimised.
		{"m3-megamem-64", "medium", 100, Disk{Type: "pd-balanced"}},
		{"m3-megamem-64", "ultra", 100, Disk{Type: "pd-extreme", IOPS: 20000}},
		{"m1-megamem-96", "low", 100, Disk{Type: "pd-standard"}},
		{"m2-ultramem-208", "ultra", 100, Disk{Type: "pd-extreme", IOPS: 20000}},
		// G2: balanced and SSD only.
		{"g2-standard-4", "medium", 100, Disk{Type: "pd-balanced"}},
		{"g2-standard-4", "high", 100, Disk{Type: "pd-ssd"}},
		// C3 and A3: PD up to high, Hyperdisk Balanced for ultra.
		{"c3-standard-8", "medium", 100, Disk{Type: "pd-balanced"}},
		{"c3-standard-8", "high", 100, Disk{Type: "pd-ssd"}},
		{"c3-standard-8", "ultra", 256, Disk{Type: "hyperdisk-balanced", IOPS: 80000, Throughput: 1200}},
		{"a3-highgpu-8g", "medium", 100, Disk{Type: "pd-balanced"}},
		{"a3-highgpu-8g", "high", 100, Disk{Type: "pd-ssd"}},
		{"a3-highgpu-8g", "ultra", 100, Disk{Type: "hyperdisk-balanced", IOPS: 50000, Throughput: 1200}},
		// Hyperdisk-only series: performance differs per tier, capped by size.
		{"a3-ultragpu-8g", "medium", 100, Disk{Type: "hyperdisk-balanced", IOPS: 3000, Throughput: 140}},
		{"a3-ultragpu-8g", "high", 100, Disk{Type: "hyperdisk-balanced", IOPS: 15000, Throughput: 400}},
		{"a3-ultragpu-8g", "ultra", 10, Disk{Type: "hyperdisk-balanced", IOPS: 5000, Throughput: 1200}},
		{"c4-standard-8", "high", 10, Disk{Type: "hyperdisk-balanced", IOPS: 5000, Throughput: 400}},
		{"n4-standard-8", "medium", 50, Disk{Type: "hyperdisk-balanced", IOPS: 3000, Throughput: 140}},
		{"c4-standard-8", "ultra", 2, Disk{Type: "hyperdisk-balanced", IOPS: 3000, Throughput: 750}},
	}
	for _, tt := range tests {
		got, err := ResolveDisk("gcp", tt.instanceType, tt.tier, tt.size)
		if err != nil {
			t.Errorf("ResolveDisk(gcp, %s, %s): %v", tt.instanceType, tt.tier, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ResolveDisk(gcp, %s, %s, %d) (-want +got):\n%s", tt.instanceType, tt.tier, tt.size, diff)
		}
	}
}

func TestResolveDiskBest(t *testing.T) {
	tests := []struct {
		cloud, instanceType string
		want                string
	}{
		{"gcp", "n1-standard-8", "pd-ssd"},
		{"gcp", "n2-standard-4", "pd-ssd"}, // too small for pd-extreme
		{"gcp", "n2-standard-80", "pd-extreme"},
		{"gcp", "g2-standard-4", "pd-ssd"},
		{"gcp", "a3-highgpu-8g", "hyperdisk-balanced"},
		{"gcp", "m3-megamem-64", "pd-extreme"},
		{"aws", "p4d.24xlarge", "io2"},
	}
	for _, tt := range tests {
		got, err := ResolveDisk(tt.cloud, tt.instanceType, "best", 256)
		if err != nil {
			t.Errorf("best for %s: %v", tt.instanceType, err)
			continue
		}
		if got.Type != tt.want {
			t.Errorf("best for %s = %s, want %s", tt.instanceType, got.Type, tt.want)
		}
	}
}

func TestResolveDiskUnsupported(t *testing.T) {
	tests := []struct {
		instanceType, tier string
		wantInErr          []string
	}{
		{"g2-standard-4", "low", []string{`"low"`, "g2", "g2-standard-4", "allowed: medium, high, best"}},
		{"g2-standard-4", "ultra", []string{`"ultra"`, "allowed: medium, high, best"}},
		{"n1-standard-8", "ultra", []string{`"ultra"`, "n1", "allowed: low, medium, high, best"}},
		{"a2-highgpu-8g", "ultra", []string{`"ultra"`, "a2-highgpu-8g", "allowed: low, medium, high, best"}},
		{"a3-highgpu-8g", "low", []string{`"low"`, "a3", "allowed: medium, high, ultra, best"}},
		{"a3-ultragpu-8g", "low", []string{`"low"`, "a3-ultragpu", "allowed: medium, high, ultra, best"}},
		{"c3-standard-8", "low", []string{`"low"`, "c3", "allowed: medium, high, ultra, best"}},
		{"c4-standard-8", "low", []string{`"low"`, "c4", "allowed: medium, high, ultra, best"}},
		{"m3-megamem-64", "low", []string{`"low"`, "m3"}},
		{"n2-standard-4", "ultra", []string{`"ultra"`, "pd-extreme", "at least 64 vCPUs", "n2-standard-4 has 4", "allowed: low, medium, high, best"}},
	}
	for _, tt := range tests {
		_, err := ResolveDisk("gcp", tt.instanceType, tt.tier, 100)
		if err == nil {
			t.Errorf("ResolveDisk(gcp, %s, %s): no error", tt.instanceType, tt.tier)
			continue
		}
		for _, want := range tt.wantInErr {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ResolveDisk(gcp, %s, %s) error %q does not mention %q", tt.instanceType, tt.tier, err, want)
			}
		}
	}
}

func TestResolveDiskUnknownTier(t *testing.T) {
	for _, cloud := range []string{"gcp", "aws"} {
		_, err := ResolveDisk(cloud, "n2-standard-4", "fast", 100)
		if err == nil || !strings.Contains(err.Error(), `"fast"`) || !strings.Contains(err.Error(), "low, medium, high, ultra, best") {
			t.Errorf("%s: unknown tier error = %v", cloud, err)
		}
	}
	if _, err := ResolveDisk("kubernetes", "x", "low", 10); err == nil {
		t.Errorf("disk tiers on kubernetes: no error")
	}
}

func TestResolveDiskAWS(t *testing.T) {
	tests := []struct {
		tier string
		size int64
		want Disk
	}{
		{"low", 256, Disk{Type: "gp3", IOPS: 3000, Throughput: 125}},
		{"medium", 256, Disk{Type: "gp3", IOPS: 6000, Throughput: 250}},
		{"high", 256, Disk{Type: "gp3", IOPS: 16000, Throughput: 1000}},
		{"ultra", 256, Disk{Type: "io2", IOPS: 64000}},
		{"best", 256, Disk{Type: "io2", IOPS: 64000}},
		// Small volumes stay within gp3/io2 per-GiB limits.
		{"high", 8, Disk{Type: "gp3", IOPS: 4000, Throughput: 1000}},
		{"medium", 4, Disk{Type: "gp3", IOPS: 3000, Throughput: 250}},
		{"high", 4, Disk{Type: "gp3", IOPS: 3000, Throughput: 750}},
		{"ultra", 20, Disk{Type: "io2", IOPS: 10000}},
		{"ultra", 1, Disk{Type: "io2", IOPS: 4000}},
	}
	for _, tt := range tests {
		got, err := ResolveDisk("aws", "p4d.24xlarge", tt.tier, tt.size)
		if err != nil {
			t.Fatalf("aws %s: %v", tt.tier, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("aws %s %dGiB (-want +got):\n%s", tt.tier, tt.size, diff)
		}
		if got.Type == "gp3" && (got.IOPS > max(3000, 500*tt.size) || got.Throughput*4 > got.IOPS) {
			t.Errorf("aws %s %dGiB: %+v breaks gp3 limits", tt.tier, tt.size, got)
		}
	}
}

func TestAllowedDiskTiers(t *testing.T) {
	tests := []struct {
		cloud, family string
		want          []string
	}{
		{"gcp", "n1", []string{"low", "medium", "high", "best"}},
		{"gcp", "n2", []string{"low", "medium", "high", "ultra", "best"}},
		{"gcp", "g2", []string{"medium", "high", "best"}},
		{"gcp", "a3", []string{"medium", "high", "ultra", "best"}},
		{"gcp", "unknownfamily", []string{"low", "medium", "high", "best"}},
		{"aws", "p4d", DiskTiers},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, AllowedDiskTiers(tt.cloud, tt.family)); diff != "" {
			t.Errorf("AllowedDiskTiers(%s, %s) (-want +got):\n%s", tt.cloud, tt.family, diff)
		}
	}
	if diff := cmp.Diff([]string{"low", "medium", "high", "best"}, AllowedDiskTiersFor("gcp", "n2-standard-4")); diff != "" {
		t.Errorf("AllowedDiskTiersFor(n2-standard-4) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"medium", "high", "ultra", "best"}, AllowedDiskTiersFor("gcp", "a3-ultragpu-8g")); diff != "" {
		t.Errorf("AllowedDiskTiersFor(a3-ultragpu-8g) (-want +got):\n%s", diff)
	}
}

func TestDiskTierOf(t *testing.T) {
	tests := []struct {
		instanceType string
		disk         Disk
		size         int64
		want         string
		ok           bool
	}{
		{"n1-standard-8", Disk{Type: "pd-ssd"}, 100, "high", true},
		{"n2-standard-80", Disk{Type: "pd-extreme", IOPS: 20000}, 100, "ultra", true},
		{"a3-highgpu-8g", Disk{Type: "hyperdisk-balanced", IOPS: 50000}, 100, "ultra", true},
		// Hyperdisk-only: the provisioned IOPS tell the tiers apart.
		{"a3-ultragpu-8g", Disk{Type: "hyperdisk-balanced", IOPS: 3000}, 100, "medium", true},
		{"a3-ultragpu-8g", Disk{Type: "hyperdisk-balanced", IOPS: 15000}, 100, "high", true},
		// At 6 GiB high and ultra both cap at 3,000 IOPS, like medium: ambiguous.
		{"c4-standard-8", Disk{Type: "hyperdisk-balanced", IOPS: 3000}, 6, "", false},
		// A type no tier produces.
		{"g2-standard-4", Disk{Type: "pd-standard"}, 100, "", false},
		{"a3-ultragpu-8g", Disk{Type: "hyperdisk-balanced", IOPS: 7777}, 100, "", false},
	}
	for _, tt := range tests {
		got, ok := DiskTierOf("gcp", tt.instanceType, tt.disk, tt.size)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DiskTierOf(%s, %+v) = %q, %v; want %q, %v", tt.instanceType, tt.disk, got, ok, tt.want, tt.ok)
		}
	}
}

// Every tier a series advertises must resolve, so lint and providers agree.
func TestEveryAllowedTierResolves(t *testing.T) {
	for _, it := range InstanceTypes("gcp") {
		for _, tier := range AllowedDiskTiersFor("gcp", it.Name) {
			if _, err := ResolveDisk("gcp", it.Name, tier, 256); err != nil {
				t.Errorf("%s allows %s but ResolveDisk fails: %v", it.Name, tier, err)
			}
		}
	}
}
