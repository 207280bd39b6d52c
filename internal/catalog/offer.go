package catalog

import (
	"cmp"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Offering is what one zone charges for one node of a machine (an instance
// type, with its accelerators, or a TPU slice), in USD per hour. On AWS the
// zone is an AZ ID (use1-az2), as the data has it, not an AZ name
// (us-east-1a): names map to IDs differently in every account.
type Offering struct {
	Region, Zone string
	// onDemand and spot are noPrice where the data has no supported price.
	onDemand, spot float64
}

// Hourly returns the on-demand or spot price; ok is false where the data
// has none (an empty cell, or a placeholder).
func (o Offering) Hourly(spot bool) (usd float64, ok bool) {
	v := o.onDemand
	if spot {
		v = o.spot
	}
	return v, v >= 0
}

// Offerings are a machine's offerings, one per zone, ordered by region then
// zone as the catalog returns them (In and Regions rely on that order).
type Offerings []Offering

// Price is an hourly price for one node.
type Price struct {
	PerHour float64 // USD
	Spot    bool
	// Estimate is true for spot prices (they move with the market) and for a
	// region-level figure whose zones differ or lack a price: that figure is
	// the highest supported price among the region's zones, so a plan never
	// understates.
	Estimate bool
	// Region and Zone say where the figure applies; Zone is "" for a
	// region-level figure.
	Region, Zone string
}

// Regions lists the regions with at least one offering, in order.
func (offs Offerings) Regions() []string {
	var out []string
	for _, o := range offs {
		if len(out) == 0 || out[len(out)-1] != o.Region {
			out = append(out, o.Region)
		}
	}
	return out
}

// In returns the offerings in a region ("" for all).
func (offs Offerings) In(region string) Offerings {
	if region == "" {
		return offs
	}
	i, _ := slices.BinarySearchFunc(offs, region, func(o Offering, r string) int { return strings.Compare(o.Region, r) })
	j := i
	for j < len(offs) && offs[j].Region == region {
		j++
	}
	return offs[i:j:j]
}

// Zone returns the offering of one zone.
func (offs Offerings) Zone(zone string) (Offering, bool) {
	for _, o := range offs {
		if o.Zone == zone {
			return o, true
		}
	}
	return Offering{}, false
}

// CheapestFirst returns a copy ordered by price (on-demand, or spot), then
// region and zone; offerings without that price come last.
func (offs Offerings) CheapestFirst(spot bool) Offerings {
	out := slices.Clone(offs)
	slices.SortStableFunc(out, func(a, b Offering) int {
		pa, oka := a.Hourly(spot)
		pb, okb := b.Hourly(spot)
		if oka != okb {
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Compare(pa, pb)
	})
	return out
}

// Zones lists the zones of a region ("" for all) where the machine is
// offered, cheapest on-demand first. On AWS they are AZ IDs.
func (offs Offerings) Zones(region string) []string {
	var out []string
	for _, o := range offs.In(region).CheapestFirst(false) {
		out = append(out, o.Zone)
	}
	return out
}

// Price returns the hourly price in a zone, or for a region when zone is
// "": the highest supported price among the region's zones (conservative).
// ok is false where the data supports no price there.
func (offs Offerings) Price(region, zone string, spot bool) (Price, bool) {
	if zone != "" {
		o, found := offs.Zone(zone)
		v, ok := o.Hourly(spot)
		if !found || !ok || region != "" && o.Region != region {
			return Price{}, false
		}
		return Price{PerHour: v, Spot: spot, Estimate: spot, Region: o.Region, Zone: zone}, true
	}
	if region == "" {
		return Price{}, false
	}
	p := Price{PerHour: math.Inf(-1), Spot: spot, Estimate: spot, Region: region}
	for _, o := range offs.In(region) {
		v, ok := o.Hourly(spot)
		switch {
		case !ok:
			p.Estimate = true
		case p.PerHour >= 0 && v != p.PerHour:
			p.Estimate = true
			p.PerHour = max(p.PerHour, v)
		default:
			p.PerHour = v
		}
	}
	return p, p.PerHour >= 0
}

// cheapest returns the lowest on-demand price at a location (a region, a
// zone, or "" for anywhere); ok is false where none is supported.
func (offs Offerings) cheapest(location string) (float64, bool) {
	best, ok := math.Inf(1), false
	for _, o := range offs {
		if location != "" && o.Region != location && o.Zone != location {
			continue
		}
		if v, has := o.Hourly(false); has && v < best {
			best, ok = v, true
		}
	}
	return best, ok
}

// offered reports whether any offering is in a region or zone.
func (offs Offerings) offered(location string) bool {
	for _, o := range offs {
		if o.Region == location || o.Zone == location {
			return true
		}
	}
	return false
}

// combine prices a GCE VM whose catalog rows price the host and the GPUs
// apart: it is offered where both are, at the sum of both prices where both
// have one.
func combine(host, gpus Offerings) Offerings {
	var out Offerings
	for _, h := range host {
		g, ok := gpus.Zone(h.Zone)
		if !ok {
			continue
		}
		sum := func(a, b float64) float64 {
			if a < 0 || b < 0 {
				return noPrice
			}
			return a + b
		}
		out = append(out, Offering{Region: h.Region, Zone: h.Zone, onDemand: sum(h.onDemand, g.onDemand), spot: sum(h.spot, g.spot)})
	}
	return out
}

// locations are where a machine is offered, cheapest on-demand first: AWS
// regions, GCP zones.
func (offs Offerings) locations(cloud string) []string {
	if cloud != "aws" {
		return offs.Zones("")
	}
	best := map[string]float64{}
	var regions []string
	for _, o := range offs {
		v, ok := o.Hourly(false)
		if !ok {
			v = math.Inf(1)
		}
		if cur, seen := best[o.Region]; !seen {
			regions = append(regions, o.Region)
			best[o.Region] = v
		} else {
			best[o.Region] = min(cur, v)
		}
	}
	slices.SortStableFunc(regions, func(a, b string) int { return cmp.Compare(best[a], best[b]) })
	return regions
}

// awsAZID matches AWS AZ IDs (use1-az2), the zones of the AWS data.
var awsAZID = regexp.MustCompile(`^[a-z]+[0-9]+-az[0-9]+$`)
