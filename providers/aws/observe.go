package aws

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Observe lists what the workspace owns: one paginated, tag-filtered
// DescribeInstances per region (1,000 instances a page), and one
// ListBuckets plus per-bucket tag reads.
func (p *Provider) Observe(ctx context.Context, req providers.ObserveRequest) ([]*state.Resource, error) {
	ws := req.Workspace
	if ws == "" {
		ws = p.workspace
	}
	if ws == "" {
		return nil, fmt.Errorf("aws: observe needs a workspace")
	}
	regions, scanCompute, scanStorage := p.scanPlan(ctx, req.Resources)
	// Denied capabilities are not observed: storage-only credentials still plan buckets.
	scanCompute = scanCompute && !req.Skip[spec.CapCompute]
	scanStorage = scanStorage && !req.Skip[spec.CapStorage]

	var (
		mu  sync.Mutex
		out []*state.Resource
	)
	add := func(rs []*state.Resource) {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, rs...)
	}
	g, gctx := errgroup.WithContext(ctx)
	if scanCompute {
		for _, region := range regions {
			g.Go(providers.Safely(func() error {
				rs, err := p.observeInstances(gctx, region, ws)
				add(rs)
				return err
			}))
		}
	}
	if scanStorage {
		g.Go(providers.Safely(func() error {
			rs, err := p.observeBuckets(gctx, ws)
			add(rs)
			return err
		}))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return mergeByAddress(out), nil
}

// scanPlan picks the EC2 regions to list: the cloud block's regions, the
// default region and every region (or zone's region) of a compute hint.
// A service is scanned when the cloud declares its capability or a hint needs it.
func (p *Provider) scanPlan(ctx context.Context, hints []providers.ResourceHint) (regions []string, compute, storage bool) {
	compute = p.cloud.HasCapability(spec.CapCompute)
	storage = p.cloud.HasCapability(spec.CapStorage)
	set := map[string]bool{p.defaultRegion(ctx): true}
	for _, r := range p.cloud.StringList("regions") {
		set[r] = true
	}
	for _, h := range hints {
		if c := h.Attrs.String("cloud"); c != "" && c != CloudName {
			continue
		}
		switch h.Type {
		case spec.TypeCluster, spec.TypeJobsController:
			compute = true
			if r := h.Attrs.String("region"); r != "" {
				set[r] = true
			} else if z := h.Attrs.String("zone"); z != "" {
				set[regionOfZone(z)] = true
			}
			// Where a failover may have put it.
			for _, r := range h.Attrs.StringList("regions") {
				set[r] = true
			}
			for _, z := range h.Attrs.StringList("zones") {
				set[regionOfZone(z)] = true
			}
		case spec.TypeBucket:
			storage = true
		}
	}
	return slices.Sorted(maps.Keys(set)), compute, storage
}

// observeInstances groups a region's owned, live instances by address.
// The listing (every state, pages of 1,000, going on from Check's first
// page) is kept for this run's creates (listWorkspace).
func (p *Provider) observeInstances(ctx context.Context, region, workspace string) ([]*state.Resource, error) {
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	insts, err := p.listWorkspace(ctx, client, region, workspace)
	if err != nil {
		return nil, wrapErr("", "DescribeInstances", region, err)
	}
	// One resource per address and owning state: another state's cluster
	// at the same address is another resource, never merged with this one's.
	byOwner := map[providers.Owner][]ec2types.Instance{}
	for _, inst := range insts {
		if !isLive(inst) {
			continue
		}
		if o, ok := providers.OwnerOfTags(tagMap(inst.Tags)); ok && o.Address != "" {
			byOwner[o] = append(byOwner[o], inst)
		}
	}
	var out []*state.Resource
	for _, o := range sortedOwners(byOwner) {
		r := clusterResource(o.Address, region, indexNodes(byOwner[o]), nil)
		r.StateID, r.Generation = o.StateID, o.Generation
		out = append(out, r)
	}
	return out, nil
}

// sortedOwners orders owners by address, state, then generation.
func sortedOwners[V any](m map[providers.Owner]V) []providers.Owner {
	return slices.SortedFunc(maps.Keys(m), func(a, b providers.Owner) int {
		return cmp.Or(strings.Compare(a.Address, b.Address), strings.Compare(a.StateID, b.StateID), cmp.Compare(a.Generation, b.Generation))
	})
}

// mergeByAddress keeps one resource per address, owning state and
// generation. An address in two regions (a move caught half way) keeps the
// larger group's attributes and all IDs.
func mergeByAddress(rs []*state.Resource) []*state.Resource {
	byAddr := map[providers.Owner]*state.Resource{}
	for _, r := range rs {
		key := providers.Owner{Address: r.Address, StateID: r.StateID, Generation: r.Generation}
		have, ok := byAddr[key]
		if !ok {
			byAddr[key] = r
			continue
		}
		a, b := have, r
		if len(b.IDs) > len(a.IDs) {
			a, b = b, a
		}
		a.IDs = append(a.IDs, b.IDs...)
		if st := providers.DecodeStoppedNodes(b.Private[providers.AttrStoppedNodes]); len(st) > 0 {
			providers.RecordStoppedNodes(a, append(providers.DecodeStoppedNodes(a.Private[providers.AttrStoppedNodes]), st...))
		}
		if n, ok := a.Attrs.Int("nodes"); ok {
			m, _ := b.Attrs.Int("nodes")
			a.Attrs["nodes"] = n + m
		}
		byAddr[key] = a
	}
	out := make([]*state.Resource, 0, len(byAddr))
	for _, k := range sortedOwners(byAddr) {
		out = append(out, byAddr[k])
	}
	return out
}
