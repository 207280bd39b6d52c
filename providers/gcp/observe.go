package gcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	compute "google.golang.org/api/compute/v1"
	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Observe lists what the workspace owns: one label-filtered, paginated
// instances.aggregatedList (plus disks.aggregatedList for boot disk types
// when there are instances), one TPU nodes.list across all zones
// (locations/-, so a TPU VM is found without a spec or state naming its
// zone), and one bucket list.
func (p *Provider) Observe(ctx context.Context, req providers.ObserveRequest) ([]*state.Resource, error) {
	ws := req.Workspace
	if ws == "" {
		ws = p.workspace
	}
	plan := p.scanPlan(req.Resources)
	// Denied capabilities are not observed: storage-only credentials still plan buckets.
	if req.Skip[spec.CapCompute] {
		plan.gce, plan.tpu = false, false
	}
	if req.Skip[spec.CapStorage] {
		plan.storage = false
	}
	var (
		mu  sync.Mutex
		out []*state.Resource
	)
	add := func(rs ...*state.Resource) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, rs...)
	}
	// A service no hint needs is scanned only because the cloud declares
	// the capability; missing permission for it must not block the others.
	tolerate := func(needed bool, err error) error {
		if err != nil && !needed && deniedOrNoCredentials(err) {
			return nil
		}
		return err
	}
	var g errgroup.Group
	if plan.gce {
		g.Go(providers.Safely(func() error {
			rs, err := p.observeGCE(ctx, ws, plan)
			add(rs...)
			return tolerate(plan.gceNeeded, err)
		}))
	}
	if plan.tpu {
		g.Go(providers.Safely(func() error {
			rs, err := p.observeTPU(ctx, ws, plan)
			add(rs...)
			if !plan.tpuNeeded {
				// Only a search for TPU VMs nothing names: failing it
				// must not block a plan with no TPU in it.
				return nil
			}
			return err
		}))
	}
	if plan.storage {
		g.Go(providers.Safely(func() error {
			rs, err := p.observeBuckets(ctx, ws, plan)
			add(rs...)
			return tolerate(plan.storageNeeded, err)
		}))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

type scanPlan struct {
	gce, gceNeeded         bool
	tpu, tpuNeeded         bool
	storage, storageNeeded bool
	// tpuZones are the zones TPU hints name: listed one by one when the
	// all-zones list is unsupported or cannot reach them.
	tpuZones []string
	hints    map[string]map[string]any
	resolve  addressResolver
}

// scanPlan picks the services to list: those the cloud block declares, and
// those a hint needs; TPU zones come from TPU cluster hints.
func (p *Provider) scanPlan(hints []providers.ResourceHint) scanPlan {
	s := scanPlan{hints: map[string]map[string]any{}}
	s.gce = p.cloud.HasCapability(spec.CapCompute)
	s.tpu = s.gce
	s.storage = p.cloud.HasCapability(spec.CapStorage)
	zones := map[string]bool{}
	var addrs []string
	for _, h := range hints {
		if c := h.Attrs.String("cloud"); c != "" && c != CloudName {
			continue
		}
		s.hints[h.Address] = h.Attrs
		addrs = append(addrs, h.Address)
		switch h.Type {
		case spec.TypeCluster, spec.TypeJobsController:
			if catalog.IsTPU(h.Attrs.String("accelerators")) {
				if z := h.Attrs.String("zone"); z != "" {
					zones[z] = true
				}
				for _, z := range h.Attrs.StringList("zones") { // where a failover may have put it
					zones[z] = true
				}
				continue
			}
			s.gce, s.gceNeeded = true, true
		case spec.TypeBucket:
			s.storage, s.storageNeeded = true, true
		}
	}
	s.tpuZones = slices.Sorted(maps.Keys(zones))
	if len(zones) > 0 {
		s.tpu, s.tpuNeeded = true, true
	}
	s.resolve = newAddressResolver(addrs)
	return s
}

func deniedOrNoCredentials(err error) bool {
	code := httpCode(err)
	return errors.Is(err, errNoCredentials) || code == http.StatusForbidden || code == http.StatusUnauthorized
}

func (p *Provider) observeGCE(ctx context.Context, ws string, plan scanPlan) ([]*state.Resource, error) {
	svc, err := p.computeClient(ctx)
	if err != nil {
		return nil, p.apiError("gcp", "observing Compute Engine instances", "compute", err)
	}
	filter := ownershipFilter(ws, "")
	insts, err := p.listAggregatedInstances(ctx, svc, filter)
	if err != nil {
		return nil, p.apiError("gcp", "instances.aggregatedList", "compute", err)
	}
	// One resource per address and owning state (another state's cluster
	// at the same address stays apart).
	byOwner := map[providers.Owner][]*compute.Instance{}
	for _, inst := range insts {
		if o, ok := plan.owner(inst.Labels, ws); ok {
			byOwner[o] = append(byOwner[o], inst)
		}
	}
	if len(byOwner) == 0 {
		return nil, nil
	}
	disks, err := p.listDisks(ctx, svc, "", filter)
	if err != nil {
		return nil, p.apiError("gcp", "disks.aggregatedList", "compute", err)
	}
	var out []*state.Resource
	for _, o := range sortedOwners(byOwner) {
		r := gceResource(o.Address, ws, byOwner[o], disks, plan.hints[o.Address])
		r.StateID, r.Generation = o.StateID, o.Generation
		out = append(out, r)
	}
	return out, nil
}

// observeTPU lists TPU VMs in every zone with one paginated nodes.list on
// locations/- (AIP-159). Hinted zones the API reports unreachable are listed
// one by one, and all of them are when the wildcard is refused (an older
// endpoint or an emulator without it), as before it existed.
func (p *Provider) observeTPU(ctx context.Context, ws string, plan scanPlan) ([]*state.Resource, error) {
	svc, err := p.tpuClient(ctx)
	if err != nil {
		return nil, p.apiError("gcp", "observing TPU VMs", "tpu", err)
	}
	nodes, unreachable, err := p.listNodes(ctx, svc, "-")
	retry := plan.tpuZones
	switch code := httpCode(err); {
	case err == nil:
		retry = slices.DeleteFunc(slices.Clone(plan.tpuZones), func(z string) bool { return !slices.Contains(unreachable, z) })
	case code == http.StatusBadRequest || code == http.StatusNotFound || code == http.StatusNotImplemented:
		nodes = nil
	default:
		return nil, p.apiError("gcp", "TPU nodes.list across all zones", "tpu", err)
	}
	for _, zone := range retry {
		more, _, err := p.listNodes(ctx, svc, zone)
		if err != nil {
			return nil, p.apiError("gcp", fmt.Sprintf("TPU nodes.list in %s", zone), "tpu", err)
		}
		nodes = append(nodes, more...)
	}
	type key struct {
		zone  string
		owner providers.Owner
	}
	byKey := map[key][]*tpu.Node{}
	for _, n := range nodes {
		if o, ok := plan.owner(n.Labels, ws); ok {
			k := key{zone: nodeZone(n.Name), owner: o}
			byKey[k] = append(byKey[k], n)
		}
	}
	keys := slices.SortedFunc(maps.Keys(byKey), func(a, b key) int {
		return cmp.Or(strings.Compare(a.owner.Address, b.owner.Address), strings.Compare(a.owner.StateID, b.owner.StateID),
			cmp.Compare(a.owner.Generation, b.owner.Generation), strings.Compare(a.zone, b.zone))
	})
	var out []*state.Resource
	for _, k := range keys {
		r := tpuResource(k.owner.Address, ws, k.zone, byKey[k], plan.hints[k.owner.Address])
		r.StateID, r.Generation = k.owner.StateID, k.owner.Generation
		out = append(out, r)
	}
	return out, nil
}

// nodeZone is the zone in a TPU node's name, projects/P/locations/ZONE/nodes/N.
func nodeZone(name string) string {
	if parts := strings.Split(name, "/"); len(parts) == 6 {
		return parts[3]
	}
	return ""
}

func (p *Provider) observeBuckets(ctx context.Context, ws string, plan scanPlan) ([]*state.Resource, error) {
	client, err := p.storageClient(ctx)
	if err != nil {
		return nil, p.apiError("gcp", "observing buckets", "storage", err)
	}
	buckets, err := p.listBuckets(ctx, client, ws)
	if err != nil {
		return nil, p.apiError("gcp", "listing buckets", "storage", err)
	}
	var out []*state.Resource
	for _, b := range buckets {
		if o, ok := plan.owner(b.Labels, ws); ok {
			r := bucketResource(o.Address, b, plan.hints[o.Address])
			r.StateID = o.StateID
			out = append(out, r)
		}
	}
	return out, nil
}

// owner reads an observed object's owner from its labels; ok only for
// objects of the workspace that name an address.
func (s scanPlan) owner(labels map[string]string, ws string) (providers.Owner, bool) {
	o, ok := providers.OwnerOfLabels(labels, s.resolve.resolve)
	return o, ok && o.Workspace == ws && o.Address != ""
}

// sortedOwners orders owners by address, state, then generation.
func sortedOwners[V any](m map[providers.Owner]V) []providers.Owner {
	return slices.SortedFunc(maps.Keys(m), func(a, b providers.Owner) int {
		return cmp.Or(strings.Compare(a.Address, b.Address), strings.Compare(a.StateID, b.StateID), cmp.Compare(a.Generation, b.Generation))
	})
}
