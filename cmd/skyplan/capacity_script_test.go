package main

import (
	"net/http"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/skyplan/skyplan/internal/gcpfake"
)

// Zones the shared GCE/TPU fake treats as sold out. Scripts share the fake,
// so this is a hook on the zones a script names rather than faults that
// ClearFaults would take from every script.
var (
	exhaustOnce sync.Once
	exhaustMu   sync.Mutex
	exhausted   = map[string]bool{}
)

// cmdGCPExhaust sells zones out in the shared fake (instance inserts end
// in ZONE_RESOURCE_POOL_EXHAUSTED, TPU creates in RESOURCE_EXHAUSTED):
// gcpexhaust ZONE…; with !, they have capacity again.
func cmdGCPExhaust(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: [!] gcpexhaust ZONE…")
	}
	exhaustOnce.Do(func() {
		for _, p := range []struct {
			pattern string
			fault   gcpfake.Fault
		}{
			{"/compute/v1/projects/*/zones/*/instances", gcpfake.ZoneExhausted()},
			{"/v2/projects/*/locations/*/nodes", gcpfake.TPUQuotaExceeded()},
		} {
			extraGCE.OnRequest(http.MethodPost, p.pattern, func(r *http.Request) *gcpfake.Fault {
				parts := strings.Split(r.URL.Path, "/")
				exhaustMu.Lock()
				defer exhaustMu.Unlock()
				for _, part := range parts {
					if exhausted[part] {
						f := p.fault
						return &f
					}
				}
				return nil
			})
		}
	})
	exhaustMu.Lock()
	defer exhaustMu.Unlock()
	for _, z := range args {
		exhausted[z] = !neg
	}
}
