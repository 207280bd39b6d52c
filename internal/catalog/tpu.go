package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// TPU is a catalog TPU slice type such as "tpu-v4-8".
type TPU struct {
	// Name is the accelerators value: tpu-v4-8.
	Name string
	// Generation is v2, v3, v4, v5litepod, v5p or v6e.
	Generation string
	Cores      int
	// AcceleratorType is what the TPU API expects: "v4-8".
	AcceleratorType string
	// Zones where TPU VMs of this type are offered, cheapest first.
	Zones []string
	// Offers are the per-zone prices of one slice (the TPU VM hosts included).
	Offers Offerings
}

// Offered reports whether TPU VMs of this type exist in the zone.
func (t TPU) Offered(zone string) bool { return t.Offers.offered(zone) }

// IsTPU reports whether an accelerators value names a TPU.
func IsTPU(accelerators string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(accelerators)), "tpu-")
}

// parseTPUName splits "tpu-v4-8" into generation and size.
func parseTPUName(s string) (TPU, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	rest := strings.TrimPrefix(name, "tpu-")
	i := strings.LastIndex(rest, "-")
	if i <= 0 {
		return TPU{}, fmt.Errorf("invalid TPU %q; use tpu-GENERATION-SIZE, e.g. tpu-v4-8", s)
	}
	gen, coresStr := rest[:i], rest[i+1:]
	cores, err := strconv.Atoi(coresStr)
	if err != nil || cores < 1 {
		return TPU{}, fmt.Errorf("invalid TPU size %q in %q; e.g. tpu-v4-8", coresStr, s)
	}
	return TPU{Name: name, Generation: gen, Cores: cores, AcceleratorType: gen + "-" + coresStr}, nil
}

// ParseTPU parses a TPU type the catalog offers ("tpu-v4-8",
// "tpu-v5litepod-4", "tpu-v5p-8"). Unknown generations and sizes are
// errors naming the nearest types.
func (c *Catalog) ParseTPU(s string) (TPU, error) {
	t, err := parseTPUName(s)
	if err != nil {
		return TPU{}, err
	}
	if known, ok := c.tpus[t.Name]; ok {
		return *known, nil
	}
	var gens, sizes []string
	for _, n := range c.tpuNames {
		k := c.tpus[n]
		if len(gens) == 0 || gens[len(gens)-1] != k.Generation {
			gens = append(gens, k.Generation)
		}
		if k.Generation == t.Generation {
			sizes = append(sizes, strconv.Itoa(k.Cores))
		}
	}
	if len(sizes) == 0 {
		return TPU{}, fmt.Errorf("unknown TPU generation %q in %q; known: %s", t.Generation, s, strings.Join(gens, ", "))
	}
	e := &UnknownError{Kind: "TPU type", Name: t.Name, Suggestions: nearest(t.Name, c.tpuNames)}
	if len(e.Suggestions) == 0 {
		e.Known = sizes
		e.KnownLabel = "tpu-" + t.Generation + " sizes"
	}
	return TPU{}, e
}

// TPUs lists the catalog's TPU types, by generation and size.
func (c *Catalog) TPUs() []TPU {
	out := make([]TPU, 0, len(c.tpuNames))
	for _, n := range c.tpuNames {
		out = append(out, *c.tpus[n])
	}
	return out
}
