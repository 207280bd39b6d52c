package gcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/api/googleapi"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// place runs launch in the resource's zone: home, where its nodes already
// run (new nodes join them: a cluster's nodes share one zone), else the
// first candidate that takes it. A candidate that refuses is cleared of
// what the attempt made before the next is tried. It returns the zone that
// took the resource ("" when every candidate refused).
func (p *Provider) place(ctx context.Context, req providers.ApplyRequest, places []providers.Placement, home string, nodes int,
	launch, clear func(ctx context.Context, zone string) error) (string, error) {
	f := providers.Failover{Address: req.Address, Places: places, Refusal: capacityRefusal, Wait: p.capacityWait, Report: req.Report}
	if home != "" {
		f.Places = []providers.Placement{{Region: regionOfZone(home), Zone: home}}
		f.Pinned = providers.PinnedNote(home, nodes)
	}
	at, err := f.Run(ctx, func(ctx context.Context, at providers.Placement) error {
		err := launch(ctx, at.Zone)
		if home == "" && capacityRefusal(err) != nil {
			if cerr := clear(ctx, at.Zone); cerr != nil {
				return fmt.Errorf("%s refused the create (%v), and removing what it made there failed: %w", at.Zone, err, cerr)
			}
		}
		return err
	})
	return at.Zone, err
}

// zonal is what settle needs of one kind of cluster (GCE instances, TPU
// VMs): listing, removing and reconciling its nodes in one zone, and reading
// the cluster back.
type zonal[N any] struct {
	list      func(ctx context.Context, zone string) ([]N, error)
	remove    func(ctx context.Context, nodes []N) error
	reconcile func(ctx context.Context, zone string, existing []N) error
	observe   func(ctx context.Context, zone string) (*state.Resource, error)
}

// settle makes a cluster match its spec in one zone and reads it back there
// (in fallback, the spec's zone, when it runs nowhere). When every candidate
// refused and nothing was kept, the error is providers.Refused.
func settle[N any](ctx context.Context, p *Provider, req providers.ApplyRequest, places []providers.Placement, byZone map[string][]N, z zonal[N], fallback string) (*state.Resource, error) {
	zone, home, placeErr := settleZone(ctx, p, req, places, byZone, z)
	if zone == "" && home == "" && providers.IsCapacity(placeErr) {
		return nil, providers.Refused(placeErr) // every candidate refused and kept nothing
	}
	res, obsErr := z.observe(ctx, cmp.Or(zone, home, fallback))
	return res, errors.Join(placeErr, obsErr)
}

// settleZone makes a cluster match its spec in one zone: home, where its nodes
// run (byZone lists them per candidate zone), else the first candidate that
// takes it. Nodes outside home (an interrupted failover) are removed first,
// since a cluster's nodes share one zone. It returns the zone the cluster is
// in ("" when every candidate refused a new one) and home.
func settleZone[N any](ctx context.Context, p *Provider, req providers.ApplyRequest, places []providers.Placement, byZone map[string][]N, z zonal[N]) (zone, home string, err error) {
	home = homeZone(places, byZone)
	var strays []N
	for _, zone := range slices.Sorted(maps.Keys(byZone)) {
		if zone != home {
			strays = append(strays, byZone[zone]...)
		}
	}
	if len(strays) > 0 {
		req.Report("%s: deleting %d node(s) outside %s, the zone the cluster runs in", req.Address, len(strays), home)
		if err := z.remove(ctx, strays); err != nil {
			return "", home, err
		}
	}
	// Zones other than home hold nothing now, and a refused try is
	// cleared: only a retry at home lists its nodes again.
	tried := false
	zone, err = p.place(ctx, req, places, home, len(byZone[home]), func(ctx context.Context, zone string) error {
		existing := byZone[home]
		if zone != home {
			existing = nil
		} else if tried {
			var err error
			if existing, err = z.list(ctx, zone); err != nil {
				return err
			}
		}
		tried = zone == home
		return z.reconcile(ctx, zone, existing)
	}, func(ctx context.Context, zone string) error {
		left, err := z.list(ctx, zone)
		if err != nil {
			return err
		}
		return z.remove(ctx, left)
	})
	return zone, home, err
}

// homeZone is the zone a cluster's nodes run in: of the zones holding
// nodes, the candidate with the most (the first on a tie), else any zone
// with nodes; "" when there are none.
func homeZone[N any](places []providers.Placement, byZone map[string][]N) string {
	best := ""
	for _, pl := range places {
		if n := len(byZone[pl.Zone]); n > 0 && n > len(byZone[best]) {
			best = pl.Zone
		}
	}
	if best != "" {
		return best
	}
	for _, zone := range slices.Sorted(maps.Keys(byZone)) {
		if len(byZone[zone]) > len(byZone[best]) {
			best = zone
		}
	}
	return best
}

// specIn parses the request's spec for one zone of its candidates.
func specIn[S any](req providers.ApplyRequest, zone string, parse func(providers.ApplyRequest) (S, error)) (S, error) {
	d := req.Desired.Clone()
	d["zone"], d["region"] = zone, regionOfZone(zone)
	req.Desired = d
	return parse(req)
}

// capacityRefusal tells a create the zone refused from other failures: a
// zone out of capacity (ZONE_RESOURCE_POOL_EXHAUSTED, a TPU stockout) or a
// quota (QUOTA_EXCEEDED, regional), whether the operation ended in it or the
// call was answered with it.
func capacityRefusal(err error) *providers.Refusal {
	if err == nil {
		return nil
	}
	// The refusal's message is the error's own text (what was being
	// created, where, the cloud's words and a hint).
	var oe *OperationError
	if errors.As(err, &oe) {
		switch oe.Code {
		case "ZONE_RESOURCE_POOL_EXHAUSTED", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS", "RESOURCE_EXHAUSTED", "STOCKOUT":
			return &providers.Refusal{Code: oe.Code}
		case "QUOTA_EXCEEDED":
			return &providers.Refusal{Code: oe.Code, Regional: true}
		}
		return nil
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		for _, e := range gerr.Errors {
			switch e.Reason {
			case "ZONE_RESOURCE_POOL_EXHAUSTED", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS", "resourceExhausted":
				return &providers.Refusal{Code: e.Reason}
			case "quotaExceeded", "QUOTA_EXCEEDED":
				return &providers.Refusal{Code: "QUOTA_EXCEEDED", Regional: true}
			}
		}
	}
	return nil
}
