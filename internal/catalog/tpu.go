package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// TPU is a parsed TPU accelerator value such as "tpu-v4-8".
type TPU struct {
	// Generation is v2, v3, v4, v5litepod, v5p or v6e.
	Generation string
	Cores      int
	// AcceleratorType is what the TPU API expects: "v4-8".
	AcceleratorType string
	// Zones where TPU VMs of this generation are offered.
	Zones []string
}

var tpuZones = map[string][]string{
	"v2":        {"us-central1-b", "us-central1-c", "us-central1-f", "europe-west4-a", "asia-east1-c"},
	"v3":        {"us-central1-a", "us-central1-b", "us-central1-f", "europe-west4-a"},
	"v4":        {"us-central2-b"},
	"v5litepod": {"us-central1-a", "us-south1-a", "us-west1-c", "us-west4-a", "europe-west4-b"},
	"v5p":       {"us-central1-a", "us-east5-a", "europe-west4-b"},
	"v6e":       {"us-central2-b", "us-east1-d", "us-east5-b", "europe-west4-a", "asia-northeast1-b"},
}

// IsTPU reports whether an accelerators value names a TPU.
func IsTPU(accelerators string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(accelerators)), "tpu-")
}

// ParseTPU parses "tpu-v4-8", "tpu-v5litepod-4", "tpu-v5p-8".
func ParseTPU(s string) (TPU, error) {
	rest := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "tpu-")
	i := strings.LastIndex(rest, "-")
	if i <= 0 {
		return TPU{}, fmt.Errorf("invalid TPU %q; use tpu-GENERATION-CORES, e.g. tpu-v4-8", s)
	}
	gen, coresStr := rest[:i], rest[i+1:]
	cores, err := strconv.Atoi(coresStr)
	if err != nil || cores < 1 {
		return TPU{}, fmt.Errorf("invalid TPU size %q in %q; e.g. tpu-v4-8", coresStr, s)
	}
	zones, ok := tpuZones[gen]
	if !ok {
		return TPU{}, fmt.Errorf("unknown TPU generation %q in %q; known: v2, v3, v4, v5litepod, v5p, v6e", gen, s)
	}
	return TPU{Generation: gen, Cores: cores, AcceleratorType: gen + "-" + coresStr, Zones: zones}, nil
}

// Offered reports whether TPU VMs of this generation exist in the zone.
func (t TPU) Offered(zone string) bool {
	for _, z := range t.Zones {
		if z == zone {
			return true
		}
	}
	return false
}
