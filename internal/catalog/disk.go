package catalog

import (
	"fmt"
	"strings"
)

// DiskTiers are the portable disk tiers of a spec, lowest first.
var DiskTiers = []string{"low", "medium", "high", "ultra", "best"}

// Disk is a concrete boot disk for a tier on one cloud.
type Disk struct {
	Type       string // gp3, io2, pd-balanced, hyperdisk-extreme, ...
	IOPS       int64  // 0: the type's default
	Throughput int64  // MB/s, 0: default
}

// gcpDiskTypes maps a tier to its GCP disk type, per family that differs from
// the default. A missing tier means the family cannot use it.
var gcpDiskTypes = map[string]map[string]string{
	"":   {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd"},
	"n2": {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"},
	"m1": {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"},
	"m2": {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"},
	"m3": {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"},
	// Newer families drop pd-standard; the GPU ones with hyperdisk get it for ultra.
	"g2": {"medium": "pd-balanced", "high": "pd-ssd"},
	"a3": {"medium": "pd-balanced", "high": "pd-ssd", "ultra": "hyperdisk-extreme"},
	"c3": {"medium": "pd-balanced", "high": "pd-ssd", "ultra": "hyperdisk-extreme"},
}

// AllowedDiskTiers lists the tiers a machine family supports (plus "best").
func AllowedDiskTiers(cloud, family string) []string {
	if cloud != "gcp" {
		return DiskTiers
	}
	m, ok := gcpDiskTypes[family]
	if !ok {
		m = gcpDiskTypes[""]
	}
	var out []string
	for _, t := range DiskTiers[:4] {
		if _, ok := m[t]; ok {
			out = append(out, t)
		}
	}
	return append(out, "best")
}

// ResolveDisk maps a tier to a concrete disk for an instance type. "best"
// resolves to the highest tier the family allows. An unsupported combination
// is an error naming the allowed tiers.
func ResolveDisk(cloud, instanceType, tier string, sizeGB int64) (Disk, error) {
	valid := false
	for _, t := range DiskTiers {
		valid = valid || t == tier
	}
	if !valid {
		return Disk{}, fmt.Errorf("unknown disk_tier %q; use one of %s", tier, strings.Join(DiskTiers, ", "))
	}
	family := Family(cloud, instanceType)
	allowed := AllowedDiskTiers(cloud, family)
	if tier == "best" {
		tier = allowed[len(allowed)-2]
	}
	switch cloud {
	case "aws":
		return awsDisk(tier, sizeGB), nil
	case "gcp":
		m, ok := gcpDiskTypes[family]
		if !ok {
			m = gcpDiskTypes[""]
		}
		typ, ok := m[tier]
		if !ok {
			return Disk{}, fmt.Errorf("disk_tier %q is not supported by the %s machine family (%s); allowed: %s",
				tier, family, instanceType, strings.Join(allowed, ", "))
		}
		return Disk{Type: typ}, nil
	}
	return Disk{}, fmt.Errorf("disk tiers do not apply to cloud %q", cloud)
}

// awsDisk keeps AWS on gp3 up to high and uses io2 for ultra; io2 IOPS are
// capped at 500 per GiB by EBS.
func awsDisk(tier string, sizeGB int64) Disk {
	switch tier {
	case "low":
		return Disk{Type: "gp3", IOPS: 3000, Throughput: 125}
	case "medium":
		return Disk{Type: "gp3", IOPS: 6000, Throughput: 250}
	case "high":
		return Disk{Type: "gp3", IOPS: 16000, Throughput: 1000}
	}
	return Disk{Type: "io2", IOPS: min(64000, 500*max(sizeGB, 8))}
}
