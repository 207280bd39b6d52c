package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/internal/catalog"
)

// Placement candidates: a cluster or controller may name several zones
// (zones) or regions (regions) instead of one; apply tries them in order on
// capacity and quota errors. The loader checks them, expands GCP regions into
// the zones that offer the machine, orders them (cheapest first unless
// placement_order = "listed"), and sets zone and region to the first, so
// everything that reads one place (cost, lint, observation hints) sees the
// place apply tries first.

// prepareCandidates checks zones and regions against zone and region before
// the single-place rules run, and points zone and region at the first
// listed candidate so those rules and the instance type resolution see a
// real place.
func prepareCandidates(r *Resource, cloud string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	errAt := func(attr, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.Range(attr).Ptr()})
	}
	_, hasZones := r.Attrs["zones"]
	_, hasRegions := r.Attrs["regions"]
	zones, regions := r.StringList("zones"), r.StringList("regions")
	if o := r.String("placement_order"); o != "" && o != OrderPrice && o != OrderListed {
		errAt("placement_order", "Invalid placement_order", fmt.Sprintf("placement_order %q is not %q (cheapest first) or %q (as written).", o, OrderPrice, OrderListed))
	}
	if !hasZones && !hasRegions {
		return diags
	}
	for _, c := range []struct {
		list   string
		set    bool
		values []string
	}{{"zones", hasZones, zones}, {"regions", hasRegions, regions}} {
		if !c.set {
			continue
		}
		if len(c.values) == 0 {
			errAt(c.list, "Empty "+c.list, fmt.Sprintf("%s lists no candidates; name at least one, or remove it.", c.list))
		}
		// One place pins the resource; candidates let apply choose.
		for _, single := range []string{"zone", "region"} {
			if rangeSet(r, single) && (c.list == "regions" || single == "zone") {
				detail := fmt.Sprintf("%s pins one %s while %s lists candidates; keep one of them.", single, single, c.list)
				if single+"s" == c.list {
					detail = strings.TrimSuffix(detail, ".") + fmt.Sprintf(" (a single candidate is %s = [%q]).", c.list, r.String(single))
				}
				errAt(c.list, fmt.Sprintf("Both %s and %s", single, c.list), detail)
			}
		}
		seen := map[string]bool{}
		for _, v := range c.values {
			if seen[v] {
				errAt(c.list, "Duplicate candidate", fmt.Sprintf("%s lists %q twice.", c.list, v))
			}
			if v == "" {
				errAt(c.list, "Empty candidate", fmt.Sprintf("%s contains an empty string.", c.list))
			}
			seen[v] = true
		}
	}
	if rangeSet(r, "subnet") && len(zones)+len(regions) > 1 {
		errAt("subnet", "subnet with placement candidates", "A subnet lives in one zone and fixes where nodes launch, so there is nothing to fail over to; remove subnet (vpc picks a subnet in the chosen zone) or the candidates.")
	}
	if hasZones && hasRegions {
		errAt("regions", "Both zones and regions", "zones already name their regions; remove regions (or zones, to let apply pick zones within the regions).")
	}
	if diags.HasErrors() {
		return diags
	}
	if hasZones {
		region := r.String("region")
		for _, z := range zones {
			if cloud == "gcp" && !gcpZonePattern.MatchString(z) {
				errAt("zones", "Invalid zone", fmt.Sprintf("%q is not a GCP zone; zones are a region and a letter, e.g. \"us-central1-a\".", z))
				continue
			}
			if cloud == "gcp" {
				if err := catalog.CheckZone(cloud, z); err != nil {
					errAt("zones", "Unknown zone", catalogDetail(err))
					continue
				}
			}
			if cloud == "aws" && !awsZoneName(z) {
				errAt("zones", "Invalid zone", fmt.Sprintf("%q is not an AWS availability zone name; zones are a region and a letter, e.g. \"us-east-1a\".", z))
				continue
			}
			if region != "" && regionOfZone(cloud, z) != region {
				errAt("zones", "Zone outside region", fmt.Sprintf("zone %q is not in region %q; drop region (zones may span regions) or make them agree.", z, region))
			}
		}
		if diags.HasErrors() {
			return diags
		}
		r.Attrs["zone"] = zones[0]
		r.Attrs["region"] = regionOfZone(cloud, zones[0])
		return diags
	}
	r.Attrs["region"] = regions[0]
	return diags
}

// rangeSet reports whether the spec wrote the attribute (not a default or
// a value the loader filled in).
func rangeSet(r *Resource, attr string) bool {
	_, ok := r.AttrRanges[attr]
	return ok
}

// finishCandidates runs once the machine is known: it expands GCP regions
// into the zones offering the machine, orders the candidates and points
// zone and region at the first.
func finishCandidates(r *Resource, cloud string) hcl.Diagnostics {
	zones, regions := r.StringList("zones"), r.StringList("regions")
	if len(zones) == 0 && len(regions) == 0 {
		return nil
	}
	offers, priced := machineOffers(cloud, r)
	if cloud == "gcp" && len(zones) == 0 {
		// GCP launches in a zone: a region stands for its zones that offer the machine.
		for _, region := range regions {
			in := offers.Zones(region)
			if len(in) == 0 {
				return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No zone offers the machine",
					Detail:  fmt.Sprintf("no zone of region %q offers %s in skyplan's catalog; name zones instead, or another region.", region, machineName(r)),
					Subject: r.Range("regions").Ptr()}}
			}
			zones = append(zones, in...)
		}
	}
	type candidate struct {
		region, zone string
		price        float64
		known        bool
	}
	var cands []candidate
	if len(zones) > 0 {
		for _, z := range zones {
			cands = append(cands, candidate{region: regionOfZone(cloud, z), zone: z})
		}
	} else {
		for _, reg := range regions {
			cands = append(cands, candidate{region: reg})
		}
	}
	if priced && r.String("placement_order") != OrderListed {
		spot := r.Bool("use_spot")
		for i, c := range cands {
			zone := c.zone
			if cloud == "aws" {
				zone = "" // the data names AZ IDs, not names: a zone costs what its region does
			}
			if p, ok := offers.Price(c.region, zone, spot); ok {
				cands[i].price, cands[i].known = p.PerHour, true
			}
		}
		slices.SortStableFunc(cands, func(a, b candidate) int {
			if a.known != b.known {
				if a.known {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.price, b.price)
		})
	}
	var orderedZones, orderedRegions []string
	for _, c := range cands {
		if c.zone != "" {
			orderedZones = append(orderedZones, c.zone)
		}
		if !slices.Contains(orderedRegions, c.region) {
			orderedRegions = append(orderedRegions, c.region)
		}
	}
	if len(orderedZones) > 0 {
		r.Attrs["zones"] = orderedZones
		r.Attrs["zone"] = orderedZones[0]
	}
	r.Attrs["regions"] = orderedRegions
	r.Attrs["region"] = orderedRegions[0]
	return nil
}

// machineOffers are the catalog's offerings of the resource's machine: a
// TPU slice, or an instance type (with attached GPUs on GCE N1).
func machineOffers(cloud string, r *Resource) (catalog.Offerings, bool) {
	acc := r.String("accelerators")
	if catalog.IsTPU(acc) {
		t, err := catalog.ParseTPU(acc)
		return t.Offers, err == nil
	}
	t, ok := catalog.LookupMachine(cloud, r.String("instance_type"), acc)
	return t.Offers, ok && len(t.Offers) > 0
}

func machineName(r *Resource) string {
	if acc := r.String("accelerators"); catalog.IsTPU(acc) {
		return acc
	}
	return r.String("instance_type")
}

// regionOfZone is the region of a zone: GCP us-central1-a → us-central1,
// AWS us-east-1a → us-east-1.
func regionOfZone(cloud, zone string) string {
	if cloud == "gcp" {
		if i := strings.LastIndex(zone, "-"); i > 0 {
			return zone[:i]
		}
		return zone
	}
	if n := len(zone); n > 1 && zone[n-1] >= 'a' && zone[n-1] <= 'z' {
		return zone[:n-1]
	}
	return zone
}

// awsZoneName accepts AZ names (us-east-1a, also Local Zones such as
// us-east-1-bos-1a): a region-like prefix and a final letter after a digit.
func awsZoneName(z string) bool {
	n := len(z)
	return n >= 3 && z[n-1] >= 'a' && z[n-1] <= 'z' && z[n-2] >= '0' && z[n-2] <= '9' && strings.Contains(z, "-")
}
