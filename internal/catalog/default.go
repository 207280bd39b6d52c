package catalog

// The package-level functions query Default().

// InstanceTypes returns the catalog's types of one cloud, by name.
func InstanceTypes(cloud string) []InstanceType { return Default().InstanceTypes(cloud) }

// LookupInstanceType finds a type by name; see Catalog.LookupInstanceType.
func LookupInstanceType(cloud, name string) (InstanceType, bool) {
	return Default().LookupInstanceType(cloud, name)
}

// CheckInstanceType reports an unknown type; see Catalog.CheckInstanceType.
func CheckInstanceType(cloud, name string) error { return Default().CheckInstanceType(cloud, name) }

// LookupMachine finds a type, or an N1 host with attached GPUs; see Catalog.LookupMachine.
func LookupMachine(cloud, instanceType, accelerators string) (InstanceType, bool) {
	return Default().LookupMachine(cloud, instanceType, accelerators)
}

// ParseAccelerators parses "A100:8"; see Catalog.ParseAccelerators.
func ParseAccelerators(s string) (Accelerator, error) { return Default().ParseAccelerators(s) }

// ResolveInstanceTypeIn resolves for a region or zone; see Catalog.ResolveInstanceTypeIn.
func ResolveInstanceTypeIn(cloud string, acc Accelerator, location string) (InstanceType, error) {
	return Default().ResolveInstanceTypeIn(cloud, acc, location)
}

// Attach returns an N1 host with attached GPUs; see Catalog.Attach.
func Attach(cloud, host string, acc Accelerator) (InstanceType, error) {
	return Default().Attach(cloud, host, acc)
}

// ParseTPU parses a catalog TPU type; see Catalog.ParseTPU.
func ParseTPU(s string) (TPU, error) { return Default().ParseTPU(s) }

// CheckZone reports an unknown GCP zone; see Catalog.CheckZone.
func CheckZone(cloud, zone string) error { return Default().CheckZone(cloud, zone) }

// Offers returns a machine's offerings: an instance type's or a TPU's.
func (c *Catalog) Offers(cloud, machine string) (Offerings, bool) {
	if cloud == "gcp" && IsTPU(machine) {
		t, err := c.ParseTPU(machine)
		return t.Offers, err == nil
	}
	t, ok := c.LookupInstanceType(cloud, machine)
	return t.Offers, ok
}

// PriceOf returns the hourly price of one node of a machine (an instance type
// or a TPU type) in a zone, or in a region when zone is "" (the highest of
// its zones; see Offerings.Price). ok is false for unknown machines and
// where the data supports no price. GCE GPU types include their GPUs; for
// an N1 host with attached GPUs use LookupMachine(...).Price.
func (c *Catalog) PriceOf(cloud, machine, region, zone string, spot bool) (Price, bool) {
	if cloud == "gcp" && IsTPU(machine) {
		offs, _ := c.Offers(cloud, machine)
		return offs.Price(region, zone, spot)
	}
	t, ok := c.LookupInstanceType(cloud, machine)
	if !ok {
		return Price{}, false
	}
	return t.Price(region, zone, spot)
}

// Zones lists the zones of a region where a machine is offered, cheapest
// on-demand first (AWS: AZ IDs, which the provider maps to names).
func (c *Catalog) Zones(cloud, machine, region string) []string {
	offs, _ := c.Offers(cloud, machine)
	return offs.Zones(region)
}
