package catalog

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// InstanceType is one machine type with its accelerators and offerings.
// Values share their slices with the catalog: do not modify them.
type InstanceType struct {
	Cloud  string
	Name   string
	Family string
	// Accelerator is the catalog's accelerator name (A100, A100-80GB, H100,
	// Trainium, ...); empty for CPU-only types.
	Accelerator string
	Count       int
	VCPUs       int
	MemoryGiB   float64
	// Locations are the AWS regions or GCP zones where the type is offered,
	// cheapest on-demand first.
	Locations []string
	// GuestAccelerator is the GCE accelerator type attached to an N1 VM
	// (nvidia-tesla-t4); empty where GPUs are built in.
	GuestAccelerator string
	// Offers are the per-zone prices of one node, accelerators included.
	Offers Offerings
}

// Offered reports whether the type is offered in a region or zone. For a GCP
// region (e.g. us-central1) any zone in it counts. AWS zones are AZ IDs.
func (t InstanceType) Offered(location string) bool { return t.Offers.offered(location) }

// Price returns the hourly price of one node in a zone, or in a region when
// zone is "" (see Offerings.Price). An AWS zone given by name (us-east-1a)
// cannot be told from the data's AZ IDs and counts as the region.
func (t InstanceType) Price(region, zone string, spot bool) (Price, bool) {
	if t.Cloud == "aws" && !awsAZID.MatchString(zone) {
		zone = ""
	}
	return t.Offers.Price(region, zone, spot)
}

// Catalog is one loaded copy of the price and offering data.
type Catalog struct {
	source Source
	types  map[string]*InstanceType // cloud + "/" + name
	names  map[string][]string      // cloud → type names, sorted
	// byAccelerator lists, per cloud + "/" + accelerator, the types that
	// `accelerators = "NAME:N"` may resolve to.
	byAccelerator map[string][]*InstanceType
	gcpGPUs       map[string]Offerings // "T4:1" → GCP accelerator rows
	attachHost    *InstanceType        // default N1 host for attached GPUs
	tpus          map[string]*TPU
	tpuNames      []string
	accelerators  map[string]string // upper-case spelling → catalog name
	zones         map[string]bool   // GCP zones
	covered       map[string]bool   // cloud + "/" + family kept whole
	rows          map[string]int
	resolved      sync.Map // resolveKey → resolution
}

// Source says where a catalog's data came from.
func (c *Catalog) Source() Source { return c.source }

// entry gathers one machine's rows while building.
type entry struct {
	first  record
	offers Offerings
}

// add records a row's prices.
func (e *entry) add(cloud string, rec *record) {
	price, spot := rec.price, rec.spot
	if cloud == "gcp" && price >= 0 && price == spot {
		// GCP spot VMs are always discounted: equal prices are placeholders
		// (tpu-v6e lists 700.0 for both in zones it has no price for).
		price, spot = noPrice, noPrice
	}
	e.offers = append(e.offers, Offering{Region: rec.region, Zone: rec.zone, onDemand: price, spot: spot})
}

// sorted orders the offerings by region and zone and merges duplicate
// zones (AWS p4de lists some AZs twice, once without a spot price), keeping
// the highest supported price.
func (e *entry) sorted() Offerings {
	slices.SortStableFunc(e.offers, func(a, b Offering) int {
		return cmp.Or(strings.Compare(a.Region, b.Region), strings.Compare(a.Zone, b.Zone))
	})
	out := e.offers[:0]
	for _, o := range e.offers {
		if n := len(out); n > 0 && out[n-1].Zone == o.Zone && out[n-1].Region == o.Region {
			out[n-1].onDemand, out[n-1].spot = max(out[n-1].onDemand, o.onDemand), max(out[n-1].spot, o.spot)
			continue
		}
		out = append(out, o)
	}
	e.offers = slices.Clip(out)
	return e.offers
}

// build indexes the two clouds' CSVs.
func build(src Source, awsCSV, gcpCSV []byte) (*Catalog, error) {
	c := &Catalog{
		source: src, types: map[string]*InstanceType{}, names: map[string][]string{},
		byAccelerator: map[string][]*InstanceType{}, gcpGPUs: map[string]Offerings{},
		tpus: map[string]*TPU{}, accelerators: map[string]string{}, zones: map[string]bool{},
		covered: map[string]bool{}, rows: map[string]int{},
	}
	for _, in := range []struct {
		cloud string
		data  []byte
	}{{"aws", awsCSV}, {"gcp", gcpCSV}} {
		machines := map[string]*entry{}
		var order []string
		_, err := readVMs(in.cloud, in.data, func(rec *record, _ []byte) error {
			c.rows[in.cloud]++
			key := rec.instanceType
			if key == "" { // GCP accelerator or TPU row
				key = rec.accelerator + ":" + strconv.Itoa(int(rec.count))
			}
			e := machines[key]
			if e == nil {
				e = &entry{first: *rec}
				machines[key] = e
				order = append(order, key)
			}
			e.add(in.cloud, rec)
			if in.cloud == "gcp" {
				c.zones[rec.zone] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Accelerator rows first: GCE GPU types are priced with them.
		for _, key := range order {
			if e := machines[key]; e.first.instanceType == "" {
				c.addGCPAccelerator(e)
			}
		}
		for _, key := range order {
			if e := machines[key]; e.first.instanceType != "" {
				c.addInstanceType(in.cloud, e)
			}
		}
	}
	c.finish()
	return c, nil
}

func (c *Catalog) addGCPAccelerator(e *entry) {
	name := e.first.accelerator
	if !IsTPU(name) {
		c.gcpGPUs[name+":"+strconv.Itoa(int(e.first.count))] = e.sorted()
		c.accelerators[strings.ToUpper(name)] = name
		return
	}
	t, err := parseTPUName(name)
	if err != nil {
		return // a TPU name skyplan cannot use; the row stays unused
	}
	t.Offers = e.sorted()
	t.Zones = t.Offers.Zones("")
	c.tpus[t.Name] = &t
	c.tpuNames = append(c.tpuNames, t.Name)
}

func (c *Catalog) addInstanceType(cloud string, e *entry) {
	r := e.first
	t := &InstanceType{Cloud: cloud, Name: r.instanceType, Family: Family(cloud, r.instanceType),
		Accelerator: r.accelerator, Count: int(math.Round(r.count)), VCPUs: int(math.Round(r.vcpus)), MemoryGiB: r.memGiB,
		Offers: e.sorted()}
	resolve := t.Accelerator != ""
	if cloud == "gcp" {
		var acc string
		acc, t.Count, resolve = gceBuiltInGPU(t.Name)
		if acc != "" {
			t.Accelerator = acc
			if gpus, ok := c.gcpGPUs[acc+":"+strconv.Itoa(t.Count)]; ok {
				t.Offers = combine(t.Offers, gpus)
			} else {
				t.Offers = unpriced(t.Offers) // the host row alone understates
			}
		}
	}
	t.Locations = t.Offers.locations(cloud)
	if t.Accelerator != "" {
		c.accelerators[strings.ToUpper(t.Accelerator)] = t.Accelerator
	}
	if resolve {
		key := cloud + "/" + t.Accelerator
		c.byAccelerator[key] = append(c.byAccelerator[key], t)
	}
	c.types[cloud+"/"+t.Name] = t
	c.names[cloud] = append(c.names[cloud], t.Name)
	if t.Accelerator != "" || slices.Contains(awsWholeFamilies, t.Family) && cloud == "aws" || slices.Contains(gcpWholeFamilies, t.Family) && cloud == "gcp" {
		c.covered[cloud+"/"+t.Family] = true
	}
	if AttachesGuestGPUs(cloud, t.Name) && t.VCPUs >= gceAttachHostMinVCPUs {
		if c.attachHost == nil || lessByPrice(t, c.attachHost, "") {
			c.attachHost = t
		}
	}
}

func unpriced(offs Offerings) Offerings {
	out := slices.Clone(offs)
	for i := range out {
		out[i].onDemand, out[i].spot = noPrice, noPrice
	}
	return out
}

// acceleratorAliases are spellings people use for catalog names.
var acceleratorAliases = map[string]string{"A100-40GB": "A100", "H100-80GB": "H100", "H200-141GB": "H200"}

func (c *Catalog) finish() {
	for alias, name := range acceleratorAliases {
		if canon, ok := c.accelerators[name]; ok {
			c.accelerators[alias] = canon
		}
	}
	for _, names := range c.names {
		sort.Strings(names)
	}
	slices.SortFunc(c.tpuNames, func(a, b string) int {
		ta, tb := c.tpus[a], c.tpus[b]
		return cmp.Or(strings.Compare(ta.Generation, tb.Generation), cmp.Compare(ta.Cores, tb.Cores))
	})
}

// lessByPrice orders types by on-demand price at a location (unpriced
// last), then size, then name.
func lessByPrice(a, b *InstanceType, location string) bool {
	pa, oka := a.Offers.cheapest(location)
	pb, okb := b.Offers.cheapest(location)
	if !oka {
		pa = math.Inf(1)
	}
	if !okb {
		pb = math.Inf(1)
	}
	return cmp.Or(cmp.Compare(pa, pb), cmp.Compare(a.VCPUs, b.VCPUs), strings.Compare(a.Name, b.Name)) < 0
}

// InstanceTypes returns the catalog's types of one cloud, by name.
func (c *Catalog) InstanceTypes(cloud string) []InstanceType {
	var out []InstanceType
	for _, n := range c.names[cloud] {
		out = append(out, *c.types[cloud+"/"+n])
	}
	return out
}

// LookupInstanceType finds a type by name; ok is false for types the catalog
// does not know (see CheckInstanceType for whether that is an error).
func (c *Catalog) LookupInstanceType(cloud, name string) (InstanceType, bool) {
	if t, ok := c.types[cloud+"/"+name]; ok {
		return *t, true
	}
	return InstanceType{}, false
}

// CheckInstanceType returns nil for a known type and for names outside what
// the catalog covers: it lists every size of the accelerator families it
// keeps, but only a few CPU types, so an unknown m6i or n2 size may exist.
// It returns an *UnknownError, with the nearest names, for an unknown size
// of a covered family and for AWS names that are not family.size.
func (c *Catalog) CheckInstanceType(cloud, name string) error {
	if _, ok := c.types[cloud+"/"+name]; ok {
		return nil
	}
	malformed := cloud == "aws" && !awsTypeName.MatchString(name)
	if !malformed && !c.covered[cloud+"/"+Family(cloud, name)] {
		return nil
	}
	return &UnknownError{Kind: cloud + " instance type", Name: name, Suggestions: nearest(name, c.names[cloud])}
}

// Family returns the machine family of an instance type name:
// p4d.24xlarge → p4d, a2-highgpu-8g → a2.
func Family(cloud, name string) string {
	sep := "-"
	if cloud == "aws" {
		sep = "."
	}
	f, _, _ := strings.Cut(name, sep)
	return f
}

// KnownZone reports whether a GCP zone is in the catalog. AWS zones are not
// checked against it: the data names AZ IDs, not the AZ names specs use.
func (c *Catalog) KnownZone(cloud, zone string) bool { return cloud != "gcp" || c.zones[zone] }

// CheckZone returns an *UnknownError with the nearest zones for a GCP zone
// the catalog does not list.
func (c *Catalog) CheckZone(cloud, zone string) error {
	if c.KnownZone(cloud, zone) {
		return nil
	}
	all := make([]string, 0, len(c.zones))
	for z := range c.zones {
		all = append(all, z)
	}
	sort.Strings(all)
	return &UnknownError{Kind: cloud + " zone", Name: zone, Suggestions: nearest(zone, all)}
}

// String summarises the catalog's size, e.g. for `skyplan catalog update`.
func (c *Catalog) String() string {
	return fmt.Sprintf("%d aws rows (%d instance types), %d gcp rows (%d machine types, %d TPU types)",
		c.rows["aws"], len(c.names["aws"]), c.rows["gcp"], len(c.names["gcp"]), len(c.tpus))
}
