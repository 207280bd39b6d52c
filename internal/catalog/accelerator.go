package catalog

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Accelerator is a parsed `accelerators` value.
type Accelerator struct {
	Name  string // catalog name, e.g. A100-80GB
	Count int
}

func (a Accelerator) String() string { return fmt.Sprintf("%s:%d", a.Name, a.Count) }

// ParseAccelerators parses "A100:8" (count defaults to 1). TPU values
// ("tpu-v4-8") are not accelerators in this sense: see ParseTPU.
func (c *Catalog) ParseAccelerators(s string) (Accelerator, error) {
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
	canon := c.CanonicalAccelerator(name)
	if canon == "" {
		known := c.KnownAccelerators()
		e := &UnknownError{Kind: "accelerator", Name: name, Suggestions: nearest(name, known)}
		if len(e.Suggestions) == 0 {
			e.Known = known
		}
		return Accelerator{}, e
	}
	return Accelerator{Name: canon, Count: count}, nil
}

// CanonicalAccelerator maps user spellings (case-insensitive) to the catalog
// name, or "" when unknown.
func (c *Catalog) CanonicalAccelerator(name string) string {
	return c.accelerators[strings.ToUpper(strings.TrimSpace(name))]
}

// KnownAccelerators lists the catalog's accelerator names (not TPUs).
func (c *Catalog) KnownAccelerators() []string {
	var out []string
	for spelling, name := range c.accelerators {
		if strings.EqualFold(spelling, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// resolveKey memoises resolutions and attachments: specs repeat the same
// few requests.
type resolveKey struct{ cloud, acc, location string }

type resolution struct {
	t   InstanceType
	err error
}

// ResolveInstanceType picks the type on a cloud with exactly the requested
// accelerators: the cheapest on-demand (then smallest), anywhere.
func (c *Catalog) ResolveInstanceType(cloud string, acc Accelerator) (InstanceType, error) {
	return c.ResolveInstanceTypeIn(cloud, acc, "")
}

// ResolveInstanceTypeIn is ResolveInstanceType for a region or zone: types
// offered there come first, cheapest there first. When none is offered
// there, it still resolves (the lint rule SP-ACC-001 reports it).
// On GCP, GPUs that attach to N1 VMs (T4, V100, P100, P4) resolve to the
// default N1 host with the GPUs attached (see Attach).
func (c *Catalog) ResolveInstanceTypeIn(cloud string, acc Accelerator, location string) (InstanceType, error) {
	key := resolveKey{cloud, acc.String(), location}
	if r, ok := c.resolved.Load(key); ok {
		return r.(resolution).t, r.(resolution).err
	}
	t, err := c.resolve(cloud, acc, location)
	c.resolved.Store(key, resolution{t, err})
	return t, err
}

func (c *Catalog) resolve(cloud string, acc Accelerator, location string) (InstanceType, error) {
	var candidates []*InstanceType
	offered := map[int][]string{} // count → types, for the error
	for _, t := range c.byAccelerator[cloud+"/"+acc.Name] {
		offered[t.Count] = append(offered[t.Count], t.Name)
		if t.Count == acc.Count {
			candidates = append(candidates, t)
		}
	}
	if cloud == "gcp" && GuestAcceleratorType(acc.Name) != "" && c.attachHost != nil {
		for key := range c.gcpGPUs {
			name, n, _ := strings.Cut(key, ":")
			if count, err := strconv.Atoi(n); err == nil && name == acc.Name {
				offered[count] = append(offered[count], c.attachHost.Name+" + attached")
			}
		}
		if _, ok := c.gcpGPUs[acc.String()]; ok {
			t, err := c.Attach(cloud, c.attachHost.Name, acc)
			if err != nil {
				return InstanceType{}, err
			}
			candidates = append(candidates, &t)
		}
	}
	if len(candidates) == 0 {
		if len(offered) == 0 {
			return InstanceType{}, fmt.Errorf("no %s instance type in skyplan's catalog carries %s", cloud, acc.Name)
		}
		var list []string
		for _, n := range slices.Sorted(maps.Keys(offered)) {
			list = append(list, fmt.Sprintf("%s (%s)", Accelerator{acc.Name, n}, strings.Join(offered[n], ", ")))
		}
		return InstanceType{}, fmt.Errorf("no %s instance type has %d× %s; offered: %s", cloud, acc.Count, acc.Name, strings.Join(list, ", "))
	}
	slices.SortStableFunc(candidates, func(a, b *InstanceType) int {
		if location != "" {
			if ha, hb := a.Offers.offered(location), b.Offers.offered(location); ha != hb {
				if ha {
					return -1
				}
				return 1
			}
		}
		loc := location
		if loc != "" && !a.Offers.offered(loc) {
			loc = "" // offered nowhere here: compare the prices anywhere
		}
		switch {
		case lessByPrice(a, b, loc):
			return -1
		case lessByPrice(b, a, loc):
			return 1
		}
		return 0
	})
	return *candidates[0], nil
}

// Attach returns a GCE N1 host with GPUs attached: offered where both the
// host and the GPUs are, priced as their sum. The host may be an N1 type
// the catalog does not list (then it has no offerings).
func (c *Catalog) Attach(cloud, host string, acc Accelerator) (InstanceType, error) {
	key := resolveKey{cloud, acc.String(), "attach:" + host}
	if r, ok := c.resolved.Load(key); ok {
		return r.(resolution).t, r.(resolution).err
	}
	t, err := c.attach(cloud, host, acc)
	c.resolved.Store(key, resolution{t, err})
	return t, err
}

func (c *Catalog) attach(cloud, host string, acc Accelerator) (InstanceType, error) {
	guest := GuestAcceleratorType(acc.Name)
	switch {
	case !AttachesGuestGPUs(cloud, host):
		return InstanceType{}, fmt.Errorf("%s GPUs cannot be attached to %s; only gcp N1 machine types take attached GPUs", acc.Name, host)
	case guest == "":
		return InstanceType{}, fmt.Errorf("%s GPUs are not attached to N1 VMs on gcp; they come built into their machine series (remove instance_type to resolve one)", acc.Name)
	}
	gpus, ok := c.gcpGPUs[acc.String()]
	if !ok {
		return InstanceType{}, fmt.Errorf("gcp does not attach %d× %s to one VM (see skyplan catalog gpus)", acc.Count, acc.Name)
	}
	t := InstanceType{Cloud: cloud, Name: host, Family: Family(cloud, host)}
	if h, ok := c.types[cloud+"/"+host]; ok {
		t = *h
		t.Offers = combine(h.Offers, gpus)
		t.Locations = t.Offers.locations(cloud)
	}
	t.Accelerator, t.Count, t.GuestAccelerator = acc.Name, acc.Count, guest
	return t, nil
}

// LookupMachine finds what a spec's instance_type and accelerators describe
// together: the type itself, or an N1 host with attached GPUs. ok is false
// when the type is unknown or the accelerators do not parse.
func (c *Catalog) LookupMachine(cloud, instanceType, accelerators string) (InstanceType, bool) {
	if AttachesGuestGPUs(cloud, instanceType) && accelerators != "" {
		acc, err := c.ParseAccelerators(accelerators)
		if err != nil {
			return InstanceType{}, false
		}
		t, err := c.Attach(cloud, instanceType, acc)
		return t, err == nil && len(t.Offers) > 0
	}
	return c.LookupInstanceType(cloud, instanceType)
}

// Accelerators lists the accelerators and counts a cloud offers as VMs
// (built in, or attached to the default N1 host on gcp), by name and count.
// Each resolves with ResolveInstanceType. TPUs are listed by TPUs.
func (c *Catalog) Accelerators(cloud string) []Accelerator {
	seen := map[Accelerator]bool{}
	for key, types := range c.byAccelerator {
		if strings.HasPrefix(key, cloud+"/") {
			for _, t := range types {
				seen[Accelerator{t.Accelerator, t.Count}] = true
			}
		}
	}
	if cloud == "gcp" && c.attachHost != nil {
		for key := range c.gcpGPUs {
			name, n, _ := strings.Cut(key, ":")
			if count, err := strconv.Atoi(n); err == nil && GuestAcceleratorType(name) != "" {
				seen[Accelerator{name, count}] = true
			}
		}
	}
	out := make([]Accelerator, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Accelerator) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return a.Count - b.Count
	})
	return out
}
