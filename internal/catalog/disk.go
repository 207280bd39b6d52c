package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// DiskTiers are the portable disk tiers of a spec, lowest first.
var DiskTiers = []string{"low", "medium", "high", "ultra", "best"}

// Disk is a concrete boot disk for a tier on one cloud.
type Disk struct {
	Type       string // gp3, io2, pd-balanced, hyperdisk-balanced, ...
	IOPS       int64  // 0: the type's default
	Throughput int64  // MB/s, 0: default
}

// gcpBootDisks maps a tier to the boot disk of a GCE machine series. Only
// bootable types appear (hyperdisk-extreme, -throughput and -ml cannot boot).
// A missing tier means the series cannot use it. Keys are series names as
// Family returns them, or longer prefixes (a3-ultragpu) where a sub-series
// differs; "" is the default for series not listed.
var gcpBootDisks = map[string]map[string]gcpDiskRule{
	"": {"low": pd("pd-standard"), "medium": pd("pd-balanced"), "high": pd("pd-ssd")},
	// pd-extreme is offered on N2 (64+ vCPUs) and the memory-optimised series.
	"n2": {"low": pd("pd-standard"), "medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": pdExtreme(64)},
	"m1": {"low": pd("pd-standard"), "medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": pdExtreme(0)},
	"m2": {"low": pd("pd-standard"), "medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": pdExtreme(0)},
	// Third-generation series drop pd-standard; their fast tier is Hyperdisk.
	"m3":  {"medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": pdExtreme(0)},
	"c3":  {"medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": hyperdisk("ultra")},
	"c3d": {"medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": hyperdisk("ultra")},
	"g2":  {"medium": pd("pd-balanced"), "high": pd("pd-ssd")},
	"a3":  {"medium": pd("pd-balanced"), "high": pd("pd-ssd"), "ultra": hyperdisk("ultra")},
	// Hyperdisk-only series: the tiers differ by provisioned performance.
	"a3-ultragpu": {"medium": hyperdisk("medium"), "high": hyperdisk("high"), "ultra": hyperdisk("ultra")},
	"a4":          {"medium": hyperdisk("medium"), "high": hyperdisk("high"), "ultra": hyperdisk("ultra")},
	"c4":          {"medium": hyperdisk("medium"), "high": hyperdisk("high"), "ultra": hyperdisk("ultra")},
	"n4":          {"medium": hyperdisk("medium"), "high": hyperdisk("high"), "ultra": hyperdisk("ultra")},
}

// gcpDiskRule builds the disk for a size; minVCPUs > 0 restricts it to
// machine types with at least that many vCPUs.
type gcpDiskRule struct {
	build    func(sizeGB int64) Disk
	minVCPUs int
}

func pd(typ string) gcpDiskRule {
	return gcpDiskRule{build: func(int64) Disk { return Disk{Type: typ} }}
}

// pdExtreme provisions IOPS explicitly, as pd-extreme requires.
func pdExtreme(minVCPUs int) gcpDiskRule {
	return gcpDiskRule{minVCPUs: minVCPUs, build: func(int64) Disk { return Disk{Type: "pd-extreme", IOPS: 20000} }}
}

// hyperdisk provisions hyperdisk-balanced performance per tier, within its
// limits: 3,000 IOPS minimum, at most 500 IOPS per GiB, throughput at most
// IOPS/4 MB/s.
func hyperdisk(tier string) gcpDiskRule {
	return gcpDiskRule{build: func(sizeGB int64) Disk {
		switch tier {
		case "medium":
			return Disk{Type: "hyperdisk-balanced", IOPS: 3000, Throughput: 140}
		case "high":
			iops := clamp(500*sizeGB, 3000, 15000)
			return Disk{Type: "hyperdisk-balanced", IOPS: iops, Throughput: min(400, iops/4)}
		}
		iops := clamp(500*sizeGB, 3000, 80000)
		return Disk{Type: "hyperdisk-balanced", IOPS: iops, Throughput: min(1200, iops/4)}
	}}
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }

// gcpSeriesRules returns the table for an instance type: the longest matching
// sub-series key, else its family, else the default.
func gcpSeriesRules(instanceType string) (key string, rules map[string]gcpDiskRule) {
	for k, m := range gcpBootDisks {
		if k != "" && strings.Contains(k, "-") && strings.HasPrefix(instanceType, k+"-") {
			return k, m
		}
	}
	family := Family("gcp", instanceType)
	if m, ok := gcpBootDisks[family]; ok {
		return family, m
	}
	return family, gcpBootDisks[""]
}

// AllowedDiskTiers lists the tiers a machine family supports (plus "best"),
// before per-type limits (e.g. pd-extreme on N2 needs 64+ vCPUs): see
// AllowedDiskTiersFor.
func AllowedDiskTiers(cloud, family string) []string {
	if cloud != "gcp" {
		return DiskTiers
	}
	m, ok := gcpBootDisks[family]
	if !ok {
		m = gcpBootDisks[""]
	}
	return tiersOf(m, 0)
}

// AllowedDiskTiersFor lists the tiers one instance type supports (plus "best").
func AllowedDiskTiersFor(cloud, instanceType string) []string {
	if cloud != "gcp" {
		return DiskTiers
	}
	_, m := gcpSeriesRules(instanceType)
	return tiersOf(m, vcpus(cloud, instanceType))
}

func tiersOf(m map[string]gcpDiskRule, vcpus int) []string {
	var out []string
	for _, t := range DiskTiers[:4] {
		if r, ok := m[t]; ok && (vcpus == 0 || r.minVCPUs <= vcpus) {
			out = append(out, t)
		}
	}
	return append(out, "best")
}

// vcpus is the catalog's vCPU count, else the trailing number of a GCE name
// (n2-standard-80 → 80), else 0 (unknown).
func vcpus(cloud, instanceType string) int {
	if t, ok := LookupInstanceType(cloud, instanceType); ok {
		return t.VCPUs
	}
	if i := strings.LastIndex(instanceType, "-"); i >= 0 {
		if n, err := strconv.Atoi(instanceType[i+1:]); err == nil {
			return n
		}
	}
	return 0
}

// ResolveDisk maps a tier to a concrete boot disk for an instance type.
// "best" resolves to the highest tier the type allows. An unsupported
// combination is an error naming the tier and the allowed tiers.
func ResolveDisk(cloud, instanceType, tier string, sizeGB int64) (Disk, error) {
	valid := false
	for _, t := range DiskTiers {
		valid = valid || t == tier
	}
	if !valid {
		return Disk{}, fmt.Errorf("unknown disk_tier %q; use one of %s", tier, strings.Join(DiskTiers, ", "))
	}
	switch cloud {
	case "aws":
		if tier == "best" {
			tier = "ultra"
		}
		return awsDisk(tier, sizeGB), nil
	case "gcp":
		series, m := gcpSeriesRules(instanceType)
		n := vcpus(cloud, instanceType)
		allowed := tiersOf(m, n)
		if tier == "best" {
			tier = allowed[len(allowed)-2]
		}
		rule, ok := m[tier]
		if !ok {
			return Disk{}, fmt.Errorf("disk_tier %q is not supported by the %s machine series (%s); allowed: %s",
				tier, series, instanceType, strings.Join(allowed, ", "))
		}
		if n > 0 && rule.minVCPUs > n {
			return Disk{}, fmt.Errorf("disk_tier %q (%s) needs a %s machine type with at least %d vCPUs, %s has %d; allowed: %s",
				tier, rule.build(sizeGB).Type, series, rule.minVCPUs, instanceType, n, strings.Join(allowed, ", "))
		}
		return rule.build(sizeGB), nil
	}
	return Disk{}, fmt.Errorf("disk tiers do not apply to cloud %q", cloud)
}

// DiskTierOf reverse-maps an observed boot disk to the tier that resolves to
// it. ok is false when no tier or more than one tier matches. IOPS are
// compared only where the tier provisions them.
func DiskTierOf(cloud, instanceType string, d Disk, sizeGB int64) (tier string, ok bool) {
	for _, t := range DiskTiers[:4] {
		want, err := ResolveDisk(cloud, instanceType, t, sizeGB)
		if err != nil || want.Type != d.Type || (want.IOPS != 0 && want.IOPS != d.IOPS) {
			continue
		}
		if tier != "" {
			return "", false
		}
		tier = t
	}
	return tier, tier != ""
}

// awsDisk keeps AWS on gp3 up to high and uses io2 for ultra, within EBS
// limits: gp3 IOPS at most 500 per GiB (3,000 baseline) and throughput at
// most IOPS/4; io2 IOPS capped at 500 per GiB here.
func awsDisk(tier string, sizeGB int64) Disk {
	gp3 := func(iops, throughput int64) Disk {
		iops = clamp(500*sizeGB, 3000, iops)
		return Disk{Type: "gp3", IOPS: iops, Throughput: clamp(iops/4, 125, throughput)}
	}
	switch tier {
	case "low":
		return Disk{Type: "gp3", IOPS: 3000, Throughput: 125}
	case "medium":
		return gp3(6000, 250)
	case "high":
		return gp3(16000, 1000)
	}
	return Disk{Type: "io2", IOPS: min(64000, 500*max(sizeGB, 8))}
}
