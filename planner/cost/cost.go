// Package cost prices a plan from skyplan's catalog: per change, what the
// resource costs per hour (and per 730-hour month) before and after, and the
// plan's totals. It is pure: the catalog is data handed in, nothing is
// fetched.
//
// What the data supports is priced, and nothing else: a cluster is one
// node's price (a GCE GPU VM's host plus its GPUs, an N1 host plus its
// attached GPUs, a TPU VM slice) times its nodes; a jobs_controller is its
// instance. Buckets and boot disks have no price in the catalog: buckets
// are excluded (and named in the totals), disks are noted as not counted.
// Spot prices, and region-level prices whose zones differ, are estimates.
package cost

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
)

// Notes every priced plan carries: what the totals leave out.
const (
	NoteDisks  = "boot disks (disk_size) are not counted: the catalog has no disk prices"
	NoteSpot   = "spot prices are estimates: they move with the market"
	NoteHidden = "resources the plan could not observe (see its gaps) are not counted"

	excludedBucket = "the catalog has no storage prices"
)

// Annotate prices every change of the plan and sets its totals.
func Annotate(p *planner.Plan, cat *catalog.Catalog) {
	disks, spot := false, false
	for _, c := range p.Changes {
		c.Cost = Change(cat, c)
		switch c.Type {
		case spec.TypeCluster, spec.TypeJobsController:
			disks = true
		}
		for _, s := range []*planner.CostSide{c.Cost.Before, c.Cost.After} {
			spot = spot || s != nil && s.Spot
		}
	}
	var notes []string
	if disks {
		notes = append(notes, NoteDisks)
	}
	if spot {
		notes = append(notes, NoteSpot)
	}
	if !p.Complete() {
		notes = append(notes, NoteHidden)
	}
	p.Cost = planner.TotalCost(p.Changes, notes)
}

// Change prices one change: Before from what exists (the prior), After from
// the desired attributes.
func Change(cat *catalog.Catalog, c *planner.Change) *planner.Cost {
	var before, after *planner.CostSide
	var why string
	if c.Prior != nil && c.Action != planner.Create {
		cloud := c.Prior.Cloud
		if cloud == "" {
			cloud = c.Cloud
		}
		if before, why = Side(cat, c.Type, cloud, c.Prior.Attrs); why != "" {
			return planner.ExcludedFromCost(why)
		}
	}
	if c.Action != planner.Delete {
		if after, why = Side(cat, c.Type, c.Cloud, c.After); why != "" {
			return planner.ExcludedFromCost(why)
		}
	}
	var notes []string
	if c.Type == spec.TypeCluster || c.Type == spec.TypeJobsController {
		notes = append(notes, NoteDisks)
	}
	return planner.NewCost(before, after, notes)
}

// Side prices a resource of a type on a cloud from its attributes; why is
// set (and side nil) when the data has no price for it.
func Side(cat *catalog.Catalog, typ, cloud string, attrs map[string]any) (side *planner.CostSide, why string) {
	switch typ {
	case spec.TypeBucket:
		return nil, excludedBucket
	case spec.TypeGPULabelPolicy:
		return &planner.CostSide{Basis: "labels on existing nodes: no charge of its own"}, ""
	case spec.TypeCluster, spec.TypeJobsController:
	default:
		return nil, fmt.Sprintf("%s resources are not priced", typ)
	}
	str := func(k string) string { s, _ := attrs[k].(string); return s }
	machine, acc := str("instance_type"), str("accelerators")
	region, zone := str("region"), str("zone")
	if region == "" && cloud == "gcp" {
		if i := strings.LastIndex(zone, "-"); i > 0 {
			region = zone[:i]
		}
	}
	spot, _ := attrs["use_spot"].(bool)
	nodes := int64(1)
	if typ == spec.TypeCluster {
		if n, ok := number(attrs["nodes"]); ok {
			nodes = n
		}
	}
	where := region
	if zone != "" {
		where = zone
	}
	var price catalog.Price
	var ok bool
	switch {
	case typ == spec.TypeCluster && catalog.IsTPU(acc):
		machine = strings.ToLower(strings.TrimSpace(acc))
		price, ok = cat.PriceOf(cloud, machine, region, zone, spot)
	case machine == "":
		return nil, "no instance_type to price"
	default:
		t, known := cat.LookupMachine(cloud, machine, acc)
		if !known {
			return nil, fmt.Sprintf("%s is not in skyplan's %s catalog", describe(cloud, machine, acc), cloud)
		}
		machine = describe(cloud, machine, acc)
		price, ok = t.Price(region, zone, spot)
	}
	if !ok {
		return nil, fmt.Sprintf("the catalog has no %s price for %s in %s", market(spot), machine, orUnknown(where))
	}
	side = &planner.CostSide{Rate: planner.PerHour(price.PerHour * float64(nodes)), Spot: spot, Estimate: price.Estimate}
	at := price.Region
	if price.Zone != "" {
		at = price.Zone
	}
	side.Basis = fmt.Sprintf("%d × %s (%s, %s) at %s/h", nodes, machine, market(spot), at, planner.Dollars(price.PerHour, true))
	if price.Estimate && !spot {
		side.Basis += ", the highest of the region's zones"
	}
	return side, ""
}

// describe names a machine, with the GPUs attached to it where GCE attaches them.
func describe(cloud, machine, acc string) string {
	if catalog.AttachesGuestGPUs(cloud, machine) && acc != "" {
		return machine + " + " + acc
	}
	return machine
}

func market(spot bool) string {
	if spot {
		return "spot"
	}
	return "on-demand"
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown region"
	}
	return s
}

// number reads a count as state, spec or a decoded plan file holds it.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
