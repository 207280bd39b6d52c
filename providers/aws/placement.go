package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

// clusterPlaces are the places a cluster may launch in, in the order apply
// tries them: the spec's candidates, else its one region (and zone).
func clusterPlaces(s clusterSpec, desired state.Attrs) []providers.Placement {
	places := providers.Placements(desired, regionOfZone)
	if len(places) == 1 {
		return []providers.Placement{{Region: s.region, Zone: s.zone}}
	}
	return places
}

// locateCluster lists the request's instances (every state) in the
// candidate regions and settles where the cluster is: the region holding
// the most live nodes (the first candidate on a tie). Live nodes in other
// candidate regions, left by an interrupted failover, are terminated. s
// and client are pointed at that region; with no live nodes anywhere they
// stay at the first candidate.
func (p *Provider) locateCluster(ctx context.Context, req providers.ApplyRequest, s *clusterSpec, client **ec2.Client, places []providers.Placement) ([]ec2types.Instance, error) {
	var regions []string
	for _, pl := range places {
		if !slices.Contains(regions, pl.Region) {
			regions = append(regions, pl.Region)
		}
	}
	if len(regions) <= 1 {
		all, err := p.instancesBeforeLaunch(ctx, *client, s.region, req)
		if err != nil {
			return nil, wrapErr(req.Address, "DescribeInstances", s.region, err)
		}
		return all, nil
	}
	byRegion := map[string][]ec2types.Instance{}
	live := func(region string) int {
		return len(slices.DeleteFunc(slices.Clone(byRegion[region]), func(i ec2types.Instance) bool { return !isLive(i) }))
	}
	home := regions[0]
	for _, region := range regions {
		c, err := p.ec2Client(ctx, region)
		if err != nil {
			return nil, err
		}
		if byRegion[region], err = p.ownedInstances(ctx, c, region, req, nil); err != nil {
			return nil, wrapErr(req.Address, "DescribeInstances", region, err)
		}
		if live(region) > live(home) {
			home = region
		}
	}
	for _, region := range regions {
		if region == home || live(region) == 0 {
			continue
		}
		strays := slices.DeleteFunc(slices.Clone(byRegion[region]), func(i ec2types.Instance) bool { return !isLive(i) })
		req.Report("%s: terminating %d node(s) in %s: the cluster runs in %s", req.Address, len(strays), region, home)
		c, _ := p.ec2Client(ctx, region)
		if err := p.terminate(ctx, c, req.Address, region, instanceIDs(strays)); err != nil {
			return nil, err
		}
	}
	if home != s.region {
		s.region, s.zone = home, ""
		c, err := p.ec2Client(ctx, home)
		if err != nil {
			return nil, err
		}
		*client = c
	}
	return byRegion[home], nil
}

// launchPlaced launches the nodes keep lacks and returns their IDs. A
// cluster with nodes launches more only where they run (its nodes share one
// zone), so a refusal there fails the launch and leaves them be. A new
// cluster goes to the first candidate that takes all its nodes: what a
// refused candidate launched is terminated before the next is tried. s and
// client end up at the place that took the cluster.
func (p *Provider) launchPlaced(ctx context.Context, req providers.ApplyRequest, s *clusterSpec, client **ec2.Client, places []providers.Placement,
	keep map[int]ec2types.Instance, previous map[int][]string) ([]string, error) {
	missing := 0
	for i := 0; i < int(s.nodes); i++ {
		if _, ok := keep[i]; !ok {
			missing++
		}
	}
	if missing == 0 {
		return nil, nil
	}
	f := providers.Failover{Address: req.Address, Places: places, Refusal: capacityRefusal, Wait: p.capacityWait, Report: req.Report}
	pinned := len(keep) > 0
	if pinned {
		if first := keep[sortedInts(keep)[0]]; s.subnet == "" && first.Placement != nil && first.Placement.AvailabilityZone != nil {
			s.zone = *first.Placement.AvailabilityZone
		}
		at := providers.Placement{Region: s.region, Zone: s.zone}
		f.Places, f.Pinned = []providers.Placement{at}, providers.PinnedNote(at.String(), len(keep))
	}
	var launched []string
	_, err := f.Run(ctx, func(ctx context.Context, at providers.Placement) error {
		try, c, nodes := *s, *client, keep
		if !pinned {
			try.region, try.zone = at.Region, at.Zone
			var err error
			if c, err = p.ec2Client(ctx, at.Region); err != nil {
				return err
			}
			nodes = map[int]ec2types.Instance{}
		}
		ids, err := p.launchNodes(ctx, c, req, &try, len(places) > 1, nodes, previous)
		if err != nil && !pinned && capacityRefusal(err) != nil && len(ids) > 0 {
			// Leave the refused place empty: the cluster must land whole.
			req.Report("%s: terminating the %d node(s) launched in %s", req.Address, len(ids), at)
			if terr := p.terminate(ctx, c, req.Address, try.region, ids); terr != nil {
				launched = append(launched, ids...)
				*s, *client = try, c
				maps.Copy(keep, nodes)
				return fmt.Errorf("%s refused node %d (%v), and terminating the nodes launched there failed: %w", at, len(ids), err, terr)
			}
			return err
		}
		if err == nil || capacityRefusal(err) == nil || pinned {
			// What was launched stays: the cluster is here now.
			launched = append(launched, ids...)
			*s, *client = try, c
			maps.Copy(keep, nodes)
		}
		return err
	})
	return launched, err
}

// launchNodes launches, one by one, the nodes keep lacks at the spec's
// place (adding them to keep). At a region, EC2 picks the zone of the
// first; the others join it there. perPlace gives each place its own
// client tokens: a place refused must never make EC2 answer another with
// its result.
func (p *Provider) launchNodes(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, s *clusterSpec, perPlace bool,
	keep map[int]ec2types.Instance, previous map[int][]string) ([]string, error) {
	if perPlace {
		d := req.Desired.Clone()
		d["region"], d["zone"] = s.region, s.zone
		req.Desired = d
	}
	where := s.region
	if s.zone != "" {
		where = s.zone
	}
	var ids []string
	for i := 0; i < int(s.nodes); i++ {
		if _, ok := keep[i]; ok {
			continue
		}
		req.Report("%s: launching node %d (%s) in %s", req.Address, i, s.instanceType, where)
		inst, err := p.launchNode(ctx, client, req, *s, i, previous[i])
		if err != nil {
			return ids, err
		}
		keep[i] = inst
		ids = append(ids, awssdk.ToString(inst.InstanceId))
		if s.zone == "" && s.subnet == "" && inst.Placement != nil && inst.Placement.AvailabilityZone != nil {
			s.zone = *inst.Placement.AvailabilityZone
			where = s.zone
		}
	}
	return ids, nil
}
