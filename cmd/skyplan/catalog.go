package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skyplan/skyplan/internal/catalog"
)

// CatalogCmd groups the GPU/TPU catalog commands.
type CatalogCmd struct {
	GPUs   CatalogGPUsCmd   `cmd:"" name:"gpus" help:"List the GPUs and TPUs on offer with their cheapest on-demand and spot prices, and where."`
	Update CatalogUpdateCmd `cmd:"" help:"Download the upstream catalog into the user cache (the catalog built into skyplan stays the offline default)."`
}

// CatalogGPUsCmd is `skyplan catalog gpus`.
type CatalogGPUsCmd struct {
	Name   string `arg:"" optional:"" help:"Only accelerators whose name starts with this (A100, tpu-v5p)."`
	Cloud  string `name:"cloud" placeholder:"aws|gcp" help:"Only this cloud."`
	Region string `name:"region" placeholder:"REGION" help:"Only offers in this region."`
	All    bool   `name:"all" help:"One row per instance type instead of the cheapest type per accelerator and count."`
	Format string `name:"format" enum:"text,json" default:"text" help:"Output: text or json."`
}

// gpuOffer is one row of `catalog gpus`.
type gpuOffer struct {
	Cloud       string `json:"cloud"`
	Accelerator string `json:"accelerator"`
	Count       int    `json:"count"`
	// InstanceType is "" for TPUs (a TPU VM's hosts come with the slice).
	InstanceType string      `json:"instance_type,omitempty"`
	OnDemand     *cheapestAt `json:"on_demand"`
	Spot         *cheapestAt `json:"spot"`
}

// cheapestAt is the lowest price of a row and where it applies.
type cheapestAt struct {
	USDPerHour float64 `json:"usd_per_hour"`
	Region     string  `json:"region"`
	Zone       string  `json:"zone,omitempty"` // AWS: AZ ID
	// Elsewhere counts the other places with the same price.
	Elsewhere int `json:"elsewhere,omitempty"`
}

// Run lists the catalog's accelerators.
func (c *CatalogGPUsCmd) Run(g *Globals) error {
	clouds := []string{"aws", "gcp"}
	switch c.Cloud {
	case "":
	case "aws", "gcp":
		clouds = []string{c.Cloud}
	default:
		return fmt.Errorf("--cloud %q: the catalog covers aws and gcp", c.Cloud)
	}
	cat := catalog.Default()
	rows := []gpuOffer{}
	for _, cloud := range clouds {
		rows = append(rows, c.rows(cat, cloud)...)
	}
	if c.Format == "json" {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Catalog string     `json:"catalog"`
			Offers  []gpuOffer `json:"offers"`
		}{cat.Source().String(), rows})
	}
	if len(rows) == 0 {
		fmt.Fprintln(g.Stdout, "No accelerators match.")
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLOUD\tACCELERATOR\tCOUNT\tINSTANCE TYPE\tON-DEMAND $/H\tWHERE\tSPOT $/H\tWHERE")
	for _, r := range rows {
		it := r.InstanceType
		if it == "" {
			it = "(TPU VM)"
		}
		odPrice, odWhere := r.OnDemand.columns()
		spotPrice, spotWhere := r.Spot.columns()
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Cloud, r.Accelerator, r.Count, it, odPrice, odWhere, spotPrice, spotWhere)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "\nUSD per hour per node; spot prices are estimates; \"-\": the catalog has no price.\nCatalog: %s\n", cat.Source())
	return nil
}

func (c *CatalogGPUsCmd) rows(cat *catalog.Catalog, cloud string) []gpuOffer {
	var types []catalog.InstanceType
	if c.All {
		for _, t := range cat.InstanceTypes(cloud) {
			if t.Accelerator != "" && t.GuestAccelerator == "" {
				types = append(types, t)
			}
		}
	}
	for _, acc := range cat.Accelerators(cloud) {
		// Attached GPUs have no type of their own: they are listed on the default host.
		if t, err := cat.ResolveInstanceTypeIn(cloud, acc, c.Region); err == nil && (!c.All || t.GuestAccelerator != "") {
			types = append(types, t)
		}
	}
	var out []gpuOffer
	for _, t := range types {
		if row, ok := c.row(cloud, t.Accelerator, t.Count, t.Name, t.Offers); ok {
			out = append(out, row)
		}
	}
	if cloud == "gcp" {
		for _, t := range cat.TPUs() {
			if row, ok := c.row(cloud, t.Name, 1, "", t.Offers); ok {
				out = append(out, row)
			}
		}
	}
	return out
}

// row prices one machine within the region filter; ok is false when the
// name filter excludes it or it is not offered in the region.
func (c *CatalogGPUsCmd) row(cloud, acc string, count int, instanceType string, offers catalog.Offerings) (gpuOffer, bool) {
	offers = offers.In(c.Region)
	if len(offers) == 0 || !strings.HasPrefix(strings.ToLower(acc), strings.ToLower(c.Name)) {
		return gpuOffer{}, false
	}
	return gpuOffer{Cloud: cloud, Accelerator: acc, Count: count, InstanceType: instanceType,
		OnDemand: cheapest(cloud, offers, false), Spot: cheapest(cloud, offers, true)}, true
}

// cheapest finds the lowest supported price and where it applies: an AWS
// region for on-demand prices (they are the same in all its zones), else a
// zone. nil when no offering has a price.
func cheapest(cloud string, offers catalog.Offerings, spot bool) *cheapestAt {
	var best *cheapestAt
	places := map[string]bool{}
	for _, o := range offers.CheapestFirst(spot) {
		v, ok := o.Hourly(spot)
		if !ok || best != nil && v != best.USDPerHour {
			break
		}
		place := o.Zone
		if cloud == "aws" && !spot {
			place = o.Region
		}
		if places[place] {
			continue
		}
		places[place] = true
		if best == nil {
			best = &cheapestAt{USDPerHour: v, Region: o.Region, Zone: o.Zone}
			if cloud == "aws" && !spot {
				best.Zone = ""
			}
			continue
		}
		best.Elsewhere++
	}
	if best != nil {
		best.USDPerHour = math.Round(best.USDPerHour*1e6) / 1e6 // GCE sums carry float noise
	}
	return best
}

func (p *cheapestAt) columns() (price, where string) {
	if p == nil {
		return "-", "-"
	}
	switch {
	case p.Zone == "":
		where = p.Region
	case strings.HasPrefix(p.Zone, p.Region): // a GCP zone names its region
		where = p.Zone
	default: // an AWS AZ ID
		where = p.Region + " " + p.Zone
	}
	if p.Elsewhere > 0 {
		where += fmt.Sprintf(" (+%d)", p.Elsewhere)
	}
	return formatUSD(p.USDPerHour), where
}

// formatUSD prints a price to at most 4 decimals, as precise as the data.
func formatUSD(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}

// CatalogUpdateCmd is `skyplan catalog update`.
type CatalogUpdateCmd struct {
	URL string `name:"url" placeholder:"BASE" help:"Base URL holding aws/vms.csv and gcp/vms.csv (default: $SKYPLAN_CATALOG_URL, else SkyPilot's published catalog v7)."`
}

// Run downloads, checks and caches the upstream catalog.
func (c *CatalogUpdateCmd) Run(g *Globals) error {
	base := c.URL
	if base == "" {
		base = g.Getenv("SKYPLAN_CATALOG_URL")
	}
	if base == "" {
		base = catalog.UpstreamURL
	}
	dir, err := catalog.CacheDir(g.Getenv)
	if err != nil {
		return fmt.Errorf("no cache directory (set SKYPLAN_CATALOG_DIR): %w", err)
	}
	inUse, _ := catalog.Open(dir)
	ctx, cancel := context.WithTimeout(g.Context(), 5*time.Minute)
	defer cancel()
	fmt.Fprintf(g.Stdout, "Downloading aws/vms.csv and gcp/vms.csv from %s\n", base)
	cat, err := catalog.Update(ctx, &http.Client{}, base, dir)
	if err != nil {
		return fmt.Errorf("catalog update failed: %v\nThe catalog in use is unchanged: %s", err, inUse.Source())
	}
	fmt.Fprintf(g.Stdout, "Catalog updated: %s.\nSaved to %s; skyplan uses it from now on.\n", cat, cat.Source().Path)
	return nil
}
