package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/singleflight"

	"github.com/skyplan/skyplan/providers"
)

// A provider lives for one skyplan run, so lookups every create of a run
// shares (images, subnets, network facts) are made once (memo), and the
// run's observation of each region answers the creates' look before
// launching (listings).

// memo makes each lookup once per key and keeps what succeeded. Callers
// of a key in flight share its call (singleflight): 50 creates starting
// together make one DescribeImages, not 50. An error is not kept, so a
// later caller tries again.
type memo[V any] struct {
	mu    sync.Mutex
	done  map[string]V
	group singleflight.Group
}

func (m *memo[V]) get(key string, lookup func() (V, error)) (V, error) {
	m.mu.Lock()
	v, ok := m.done[key]
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	got, err, _ := m.group.Do(key, func() (any, error) {
		v, err := lookup()
		if err == nil {
			m.mu.Lock()
			if m.done == nil {
				m.done = map[string]V{}
			}
			m.done[key] = v
			m.mu.Unlock()
		}
		return v, err
	})
	if err != nil {
		var zero V
		return zero, err
	}
	return got.(V), nil
}

// withAddress names the resource in a shared lookup's error: the lookup
// ran for whichever create came first.
func withAddress(addr string, err error) error {
	if oe, ok := err.(*opError); ok {
		named := *oe
		named.Address = addr
		return &named
	}
	return fmt.Errorf("%s: %w", addr, err)
}

// listingFresh is how long a region's observation answers the look before
// a create. Correctness does not rest on it: the state lock keeps other
// runs of this state out, and an earlier run's launch left an intent (then
// the create looks again). It bounds what a long approval prompt could
// miss of changes made by hand.
const listingFresh = 5 * time.Minute

// maxResults is DescribeInstances' largest page.
const maxResults = 1000

// listing is one region's DescribeInstances of a workspace: its instances
// in every state (terminated ones feed a relaunch's client token), by
// address, with the addresses a create has already been answered for.
type listing struct {
	at     time.Time
	byAddr map[string][]ec2types.Instance
	served map[string]bool
}

// firstPage is the page of a listing that Check's compute proof fetched,
// kept for Observe to go on from.
type firstPage struct {
	at  time.Time
	out *ec2.DescribeInstancesOutput
}

func listingKey(region, workspace string) string { return region + "\x00" + workspace }

// workspaceListingInput lists every instance of a workspace, in any
// state, a page of listPageSize (tests make it small) at a time.
func (p *Provider) workspaceListingInput(workspace string) *ec2.DescribeInstancesInput {
	size := p.listPageSize
	if size == 0 {
		size = maxResults
	}
	return &ec2.DescribeInstancesInput{MaxResults: awssdk.Int32(size), Filters: []ec2types.Filter{
		filter("tag:"+providers.TagManaged, "true"),
		filter("tag:"+providers.TagWorkspace, workspace),
	}}
}

// proveCompute is Check's compute call: the first page of the default
// region's observation, which needs the same permission as every plan
// and is kept for Observe, so a plan pays one call for both. Without a
// workspace there is nothing to observe and DescribeAvailabilityZones
// proves it.
func (p *Provider) proveCompute(ctx context.Context, client *ec2.Client, region string) (op string, err error) {
	if p.workspace == "" {
		_, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
		return "DescribeAvailabilityZones", err
	}
	out, err := client.DescribeInstances(ctx, p.workspaceListingInput(p.workspace))
	if err == nil {
		p.listMu.Lock()
		p.firstPages[listingKey(region, p.workspace)] = firstPage{at: time.Now(), out: out}
		p.listMu.Unlock()
	}
	return "DescribeInstances", err
}

// listWorkspace lists a region's workspace instances, going on from
// Check's first page when it is fresh, and keeps the listing for creates.
func (p *Provider) listWorkspace(ctx context.Context, client *ec2.Client, region, workspace string) ([]ec2types.Instance, error) {
	key := listingKey(region, workspace)
	p.listMu.Lock()
	first, ok := p.firstPages[key]
	delete(p.firstPages, key)
	p.listMu.Unlock()
	in := p.workspaceListingInput(workspace)
	var insts []ec2types.Instance
	if ok && time.Since(first.at) < listingFresh {
		insts = reservationInstances(first.out.Reservations)
		if in.NextToken = first.out.NextToken; awssdk.ToString(in.NextToken) == "" {
			in = nil
		}
	}
	if in != nil {
		rest, err := describeAll(ctx, client, in)
		if err != nil {
			return nil, err
		}
		insts = append(insts, rest...)
	}
	l := &listing{at: time.Now(), byAddr: map[string][]ec2types.Instance{}, served: map[string]bool{}}
	for _, inst := range insts {
		addr := tagMap(inst.Tags)[providers.TagAddress]
		l.byAddr[addr] = append(l.byAddr[addr], inst)
	}
	p.listMu.Lock()
	p.listings[key] = l
	p.listMu.Unlock()
	return insts, nil
}

// instancesBeforeLaunch is ownedInstances (every state) for a cluster
// apply, answered from this run's observation of the region when that can
// stand in for a fresh look: a plain create (no intent of an earlier run,
// no move, import or claim), the first time this run asks for the
// address, within listingFresh. Anything else asks EC2.
func (p *Provider) instancesBeforeLaunch(ctx context.Context, client *ec2.Client, region string, req providers.ApplyRequest) ([]ec2types.Instance, error) {
	if req.Op == providers.OpCreate && req.Prior == nil && req.MovedFrom == "" && req.ImportID == "" && !req.ClaimLegacy {
		p.listMu.Lock()
		l := p.listings[listingKey(region, req.Workspace)]
		served := l != nil && time.Since(l.at) < listingFresh && !l.served[req.Address]
		var insts []ec2types.Instance
		if served {
			l.served[req.Address] = true
			insts = slices.Clone(l.byAddr[req.Address])
		}
		p.listMu.Unlock()
		if served {
			return slices.DeleteFunc(insts, func(inst ec2types.Instance) bool { return !ownsInstance(req, inst) }), nil
		}
	}
	return p.ownedInstances(ctx, client, region, req, nil)
}

// forgetListed stops the run's listings from answering for a request's
// addresses: an update, delete, move or release changes what was listed.
func (p *Provider) forgetListed(req providers.ApplyRequest) {
	p.listMu.Lock()
	defer p.listMu.Unlock()
	for key, l := range p.listings {
		if strings.HasSuffix(key, "\x00"+req.Workspace) {
			l.served[req.Address] = true
			if req.MovedFrom != "" {
				l.served[req.MovedFrom] = true
			}
		}
	}
}

func reservationInstances(rs []ec2types.Reservation) []ec2types.Instance {
	var out []ec2types.Instance
	for _, r := range rs {
		out = append(out, r.Instances...)
	}
	return out
}

// cloneFacts copies network facts deep enough that a caller may edit them.
func cloneFacts(f *providers.NetworkFacts) *providers.NetworkFacts {
	c := *f
	c.Subnets = slices.Clone(f.Subnets)
	c.InternetGateways = maps.Clone(f.InternetGateways)
	return &c
}
