package aws

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// tagNodeIndex numbers a cluster's nodes 0..nodes-1, so a retried create
// launches only the missing ones and scale-in removes the highest.
const tagNodeIndex = "skyplan-node-index"

// liveStates are the instance states of a node that exists. Only
// runningStates count towards nodes: a node stopped outside skyplan still
// belongs to the cluster (apply starts it, destroy terminates it) but does
// not serve it.
var (
	liveStates    = []string{"pending", "running", "stopping", "stopped"}
	runningStates = []string{"pending", "running"}
)

func isLive(inst ec2types.Instance) bool { return inState(inst, liveStates) }

func isRunning(inst ec2types.Instance) bool { return inState(inst, runningStates) }

func inState(inst ec2types.Instance, states []string) bool {
	return inst.State != nil && slices.Contains(states, string(inst.State.Name))
}

// clusterSpec is a cluster's desired attributes, validated.
type clusterSpec struct {
	name         string
	region       string
	zone         string
	instanceType string
	image        string
	subnet       string
	vpc          string
	nodes        int64
	diskSize     int64
	disk         catalog.Disk
	useSpot      bool
	internalIPs  bool
	labels       map[string]string
	// Controllers only: configuration tags and launch user-data.
	configTags map[string]string
	userData   string
}

func (p *Provider) parseClusterSpec(ctx context.Context, addr string, d state.Attrs) (clusterSpec, error) {
	s := clusterSpec{
		name:         spec.AddressName(addr),
		region:       d.String("region"),
		zone:         d.String("zone"),
		instanceType: d.String("instance_type"),
		image:        d.String("image"),
		subnet:       d.String("subnet"),
		vpc:          d.String("vpc"),
		useSpot:      d.Bool("use_spot"),
		internalIPs:  d.Bool("use_internal_ips"),
		labels:       d.StringMap("labels"),
		nodes:        1,
	}
	if s.instanceType == "" {
		return s, fmt.Errorf("%s: instance_type is not set (set it, or accelerators for the spec loader to resolve)", addr)
	}
	if n, ok := d.Int("nodes"); ok {
		s.nodes = n
	}
	if s.nodes < 0 {
		return s, fmt.Errorf("%s: nodes = %d; must be 0 or more", addr, s.nodes)
	}
	if s.zone != "" {
		zr := regionOfZone(s.zone)
		if s.region == "" {
			s.region = zr
		} else if zr != s.region {
			return s, fmt.Errorf("%s: zone %q is not in region %q", addr, s.zone, s.region)
		}
	}
	if s.region == "" {
		s.region = p.defaultRegion(ctx)
	}
	if size, ok := d.Int("disk_size"); ok {
		if size < 1 || size > 64*1024 {
			return s, fmt.Errorf("%s: disk_size = %d GB; EBS volumes are 1 to 65536 GB", addr, size)
		}
		s.diskSize = size
	}
	if tier := d.String("disk_tier"); tier != "" {
		disk, err := catalog.ResolveDisk(CloudName, s.instanceType, tier, s.diskSize)
		if err != nil {
			return s, fmt.Errorf("%s: %w", addr, err)
		}
		s.disk = disk
	}
	if err := providers.Refuse(addr, Validate(spec.TypeCluster, d)); err != nil {
		return s, err
	}
	return s, nil
}

// regionOfZone maps an availability zone (us-east-1a) to its region.
func regionOfZone(zone string) string {
	if n := len(zone); n > 0 && zone[n-1] >= 'a' && zone[n-1] <= 'z' {
		return zone[:n-1]
	}
	return zone
}

func (p *Provider) applyCluster(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Op == providers.OpDelete {
		return p.deleteCluster(ctx, req)
	}
	s, err := p.parseClusterSpec(ctx, req.Address, req.Desired)
	if err != nil {
		return nil, providers.Refused(err)
	}
	if req.Type == spec.TypeJobsController {
		cc := controllerConfig(req.Workspace, req.Desired)
		s.nodes, s.configTags, s.userData = 1, cc.tags(), cc.userData()
	}
	places := clusterPlaces(s, req.Desired)
	client, err := p.ec2Client(ctx, s.region)
	if err != nil {
		return nil, err
	}
	// Observe before acting: moto ignores ClientToken, and a create retried
	// after a crash must adopt what the first attempt launched.
	if err := p.indexImported(ctx, client, req, s.region); err != nil {
		return nil, err
	}
	all, err := p.locateCluster(ctx, req, &s, &client, places)
	if err != nil {
		return nil, err
	}
	keep, extra, previous := planNodes(all, s.nodes)
	current := func() *state.Resource {
		return clusterResource(req.Address, s.region, keep, req.Desired)
	}

	if len(extra) > 0 {
		req.Report("%s: terminating %d node(s) beyond nodes = %d", req.Address, len(extra), s.nodes)
		if err := p.terminate(ctx, client, req.Address, s.region, instanceIDs(extra)); err != nil {
			return current(), err
		}
	}
	if err := p.syncOwner(ctx, client, req, s.region, keep); err != nil {
		return current(), err
	}
	if err := p.syncLabels(ctx, client, req.Address, s.region, keep, s.labels); err != nil {
		return current(), err
	}
	if err := p.syncConfigTags(ctx, client, req.Address, s.region, keep, s.configTags); err != nil {
		return current(), err
	}

	started, launchErr := p.startStopped(ctx, client, req, s.region, keep)
	launched, err := p.launchPlaced(ctx, req, &s, &client, places, keep, previous)
	launchErr = errors.Join(launchErr, err)
	var ran map[string]ec2types.Instance
	if waiting := append(started, launched...); len(waiting) > 0 {
		if ran, err = p.waitRunning(ctx, client, req.Address, s.region, waiting); err != nil {
			launchErr = errors.Join(launchErr, err)
		}
	}
	live, err := readBack(ctx, client, s.region, keep, ran)
	if err != nil {
		return current(), errors.Join(launchErr, wrapErr(req.Address, "DescribeInstances", s.region, err))
	}
	res := clusterResource(req.Address, s.region, indexNodes(live), req.Desired)
	if launchErr != nil && len(res.IDs) == 0 {
		if providers.IsCapacity(launchErr) {
			return nil, providers.Refused(launchErr) // every candidate refused; what they launched is terminated
		}
		return nil, launchErr // nothing exists for state to remember
	}
	return res, launchErr
}

// readBack is what really runs of the kept nodes now. When the wait saw
// every one of them running (a create), its answer is that; otherwise they
// are read by ID (tag filters can lag just after launch, and tags may have
// changed since they were listed).
func readBack(ctx context.Context, client *ec2.Client, region string, keep map[int]ec2types.Instance, ran map[string]ec2types.Instance) ([]ec2types.Instance, error) {
	live := make([]ec2types.Instance, 0, len(keep))
	for _, inst := range mapValues(keep) {
		seen, ok := ran[awssdk.ToString(inst.InstanceId)]
		if !ok {
			return describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				filter("instance-id", instanceIDs(mapValues(keep))...), filter("instance-state-name", liveStates...)}})
		}
		live = append(live, seen)
	}
	return live, nil
}

// startStopped starts the kept nodes that were stopped outside skyplan,
// after waiting for those still stopping (EC2 refuses to start them), and
// returns the IDs it started.
func (p *Provider) startStopped(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, region string, keep map[int]ec2types.Instance) ([]string, error) {
	var ids, stopping []string
	for _, idx := range sortedInts(keep) {
		if inst := keep[idx]; !isRunning(inst) {
			id := awssdk.ToString(inst.InstanceId)
			ids = append(ids, id)
			if inst.State.Name == ec2types.InstanceStateNameStopping {
				req.Report("%s: waiting for node %d (%s) to finish stopping", req.Address, idx, id)
				stopping = append(stopping, id)
			}
		}
	}
	if len(stopping) > 0 {
		w := ec2.NewInstanceStoppedWaiter(client, func(o *ec2.InstanceStoppedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 2*time.Second, 30*time.Second
		})
		if err := p.waitFor(ctx, req.Address, region, "waiting for "+strings.Join(stopping, ", ")+" to stop", func(ctx context.Context, maxWait time.Duration) error {
			return w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: stopping}, maxWait)
		}); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	for _, idx := range sortedInts(keep) {
		if inst := keep[idx]; !isRunning(inst) {
			req.Report("%s: starting node %d (%s) stopped outside skyplan", req.Address, idx, awssdk.ToString(inst.InstanceId))
		}
	}
	if _, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids}); err != nil {
		return nil, wrapErr(req.Address, "StartInstances "+strings.Join(ids, ", "), region, err)
	}
	return ids, nil
}

// planNodes splits a cluster's instances: keep holds one live instance per
// index below nodes (a running one before a stopped one, then the oldest);
// extra holds live ones to terminate (index out of range, duplicates, no
// index); previous lists, per index, instances already gone, which feed the
// client token of a relaunch.
func planNodes(all []ec2types.Instance, nodes int64) (keep map[int]ec2types.Instance, extra []ec2types.Instance, previous map[int][]string) {
	keep, previous = map[int]ec2types.Instance{}, map[int][]string{}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if ra, rb := isRunning(a), isRunning(b); ra != rb {
			return ra
		}
		if ta, tb := awssdk.ToTime(a.LaunchTime), awssdk.ToTime(b.LaunchTime); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return awssdk.ToString(a.InstanceId) < awssdk.ToString(b.InstanceId)
	})
	for _, inst := range all {
		idx := nodeIndex(inst)
		if !isLive(inst) {
			if idx >= 0 {
				previous[idx] = append(previous[idx], awssdk.ToString(inst.InstanceId))
			}
			continue
		}
		if _, dup := keep[idx]; idx < 0 || int64(idx) >= nodes || dup {
			extra = append(extra, inst)
			continue
		}
		keep[idx] = inst
	}
	return keep, extra, previous
}

// indexNodes keys live instances by node index (the oldest wins a tie).
func indexNodes(live []ec2types.Instance) map[int]ec2types.Instance {
	keep, extra, _ := planNodes(live, math.MaxInt64)
	for i, inst := range extra {
		keep[-1-i] = inst // unindexed or duplicate: still reported
	}
	return keep
}

func nodeIndex(inst ec2types.Instance) int {
	v, ok := tagMap(inst.Tags)[tagNodeIndex]
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func tagMap(tags []ec2types.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return out
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}

func instanceIDs(list []ec2types.Instance) []string {
	out := make([]string, 0, len(list))
	for _, inst := range list {
		out = append(out, awssdk.ToString(inst.InstanceId))
	}
	return out
}

// ownedInstances lists the instances a request owns (providers.ApplyRequest.Owns:
// this state's, under the address or the one it moves from), in the given
// states, or all states when nil. Another state's instances at the same
// address are not listed.
func (p *Provider) ownedInstances(ctx context.Context, client *ec2.Client, region string, req providers.ApplyRequest, states []string) ([]ec2types.Instance, error) {
	addrs := []string{req.Address}
	if req.MovedFrom != "" {
		addrs = append(addrs, req.MovedFrom)
	}
	filters := []ec2types.Filter{
		filter("tag:"+providers.TagManaged, "true"),
		filter("tag:"+providers.TagWorkspace, req.Workspace),
		filter("tag:"+providers.TagAddress, addrs...),
	}
	if states != nil {
		filters = append(filters, filter("instance-state-name", states...))
	}
	all, err := describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: filters})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(inst ec2types.Instance) bool { return !ownsInstance(req, inst) }), nil
}

func ownsInstance(req providers.ApplyRequest, inst ec2types.Instance) bool {
	o, ok := providers.OwnerOfTags(tagMap(inst.Tags))
	return ok && req.Owns(o)
}

// syncOwner tags every kept node (and its volumes) with the request's full
// ownership: a legacy node gets its state tag, a moved one its new address.
func (p *Provider) syncOwner(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, region string, nodes map[int]ec2types.Instance) error {
	want := req.Owner().Tags()
	var resources []string
	for _, idx := range sortedInts(nodes) {
		have := tagMap(nodes[idx].Tags)
		for k, v := range want {
			if have[k] != v {
				resources = append(resources, instanceAndVolumes(nodes[idx])...)
				break
			}
		}
	}
	if len(resources) == 0 {
		return nil
	}
	req.Report("%s: tagging %d resource(s) with this state's ownership", req.Address, len(resources))
	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: resources, Tags: ec2Tags(want)}); err != nil {
		return wrapErr(req.Address, "CreateTags", region, err)
	}
	return nil
}

// instanceAndVolumes are an instance's ID and its EBS volumes' IDs.
func instanceAndVolumes(inst ec2types.Instance) []string {
	out := []string{awssdk.ToString(inst.InstanceId)}
	for _, bd := range inst.BlockDeviceMappings {
		if bd.Ebs != nil && bd.Ebs.VolumeId != nil {
			out = append(out, *bd.Ebs.VolumeId)
		}
	}
	return out
}

// describeAll lists every page, asking for EC2's largest, 1,000 instances
// (left to itself an endpoint may page at 100, as moto does: 10 calls one
// after another for 1,000 instances). EC2 refuses MaxResults beside
// InstanceIds; callers filter by instance-id instead.
func describeAll(ctx context.Context, client *ec2.Client, in *ec2.DescribeInstancesInput) ([]ec2types.Instance, error) {
	if in.MaxResults == nil && len(in.InstanceIds) == 0 {
		withMax := *in
		withMax.MaxResults = awssdk.Int32(maxResults)
		in = &withMax
	}
	var out []ec2types.Instance
	pages := ec2.NewDescribeInstancesPaginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, reservationInstances(page.Reservations)...)
	}
	return out, nil
}

// clientToken makes a retried RunInstances idempotent on real EC2. It covers
// the node's identity, the desired attributes and the instances that already
// held this index, so a replacement after a delete gets a fresh token.
func clientToken(workspace, addr string, index int, desired state.Attrs, previous []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00", workspace, addr, index)
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		v := desired[k]
		if m, ok := v.(map[string]string); ok {
			var parts []string
			for _, mk := range slices.Sorted(maps.Keys(m)) {
				parts = append(parts, mk+"="+m[mk])
			}
			v = parts
		}
		fmt.Fprintf(h, "%s=%v\x00", k, v)
	}
	prev := append([]string{}, previous...)
	sort.Strings(prev)
	fmt.Fprintf(h, "%s", strings.Join(prev, ","))
	return "skyplan-" + hex.EncodeToString(h.Sum(nil))[:48]
}

func (p *Provider) launchNode(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, s clusterSpec, index int, previous []string) (ec2types.Instance, error) {
	img, err := p.resolveImage(ctx, req.Address, s.region, s.image, s.instanceType)
	if err != nil {
		return ec2types.Instance{}, err
	}
	tags := req.Owner().Tags()
	for k, v := range s.labels {
		tags[k] = v
	}
	for k, v := range s.configTags {
		tags[k] = v
	}
	tags[tagNodeIndex] = strconv.Itoa(index)
	tags["Name"] = fmt.Sprintf("%s-%d", s.name, index)

	subnet, err := p.chooseSubnet(ctx, client, req.Address, s)
	if err != nil {
		return ec2types.Instance{}, err
	}
	token := clientToken(req.Workspace, req.Address, index, req.Desired, previous)
	return p.runInstance(ctx, client, req, s.region, index, runInstancesInput(s, img, subnet, token, tags))
}

// runInstancesInput is the launch request of one node.
func runInstancesInput(s clusterSpec, img imageChoice, subnet, token string, tags map[string]string) *ec2.RunInstancesInput {
	in := &ec2.RunInstancesInput{
		ImageId:      awssdk.String(img.ID),
		InstanceType: ec2types.InstanceType(s.instanceType),
		MinCount:     awssdk.Int32(1),
		MaxCount:     awssdk.Int32(1),
		ClientToken:  awssdk.String(token),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags(tags)},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: ec2Tags(tags)},
		},
	}
	if s.diskSize > 0 || s.disk.Type != "" {
		ebs := &ec2types.EbsBlockDevice{DeleteOnTermination: awssdk.Bool(true)}
		if s.diskSize > 0 {
			ebs.VolumeSize = awssdk.Int32(int32(s.diskSize))
		}
		if s.disk.Type != "" {
			ebs.VolumeType = ec2types.VolumeType(s.disk.Type)
		}
		if s.disk.IOPS > 0 {
			ebs.Iops = awssdk.Int32(int32(s.disk.IOPS))
		}
		if s.disk.Throughput > 0 && s.disk.Type == "gp3" {
			ebs.Throughput = awssdk.Int32(int32(s.disk.Throughput))
		}
		in.BlockDeviceMappings = []ec2types.BlockDeviceMapping{{DeviceName: awssdk.String(img.RootDeviceName), Ebs: ebs}}
	}
	if s.userData != "" {
		in.UserData = awssdk.String(s.userData)
	}
	if s.useSpot {
		in.InstanceMarketOptions = &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot}
	}
	if s.zone != "" {
		in.Placement = &ec2types.Placement{AvailabilityZone: awssdk.String(s.zone)}
	}
	if subnet != "" || s.internalIPs {
		in.NetworkInterfaces = []ec2types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex:         awssdk.Int32(0),
			DeleteOnTermination: awssdk.Bool(true),
		}}
		// Only use_internal_ips overrides the subnet's MapPublicIpOnLaunch,
		// the setting lint's SP-AWS-001 checks.
		if s.internalIPs {
			in.NetworkInterfaces[0].AssociatePublicIpAddress = awssdk.Bool(false)
		}
		if subnet != "" {
			in.NetworkInterfaces[0].SubnetId = awssdk.String(subnet)
			in.Placement = nil // the subnet fixes the zone
		}
	}
	return in
}

// chooseSubnet returns the subnet to launch in: the spec's (checked against
// its vpc and zone), else one of the vpc's, else "" to let EC2 pick the
// default VPC's.
func (p *Provider) chooseSubnet(ctx context.Context, client *ec2.Client, addr string, s clusterSpec) (string, error) {
	switch {
	case s.subnet != "":
		return p.checkSubnet(ctx, client, addr, s)
	case s.vpc != "":
		return p.vpcSubnet(ctx, addr, s)
	}
	return "", nil
}

// checkSubnet confirms the spec's subnet exists in its vpc and zone (read
// once per run).
func (p *Provider) checkSubnet(ctx context.Context, client *ec2.Client, addr string, s clusterSpec) (string, error) {
	sn, err := p.subnets.get(s.region+"|"+s.subnet, func() (ec2types.Subnet, error) {
		subnets, err := describeSubnets(ctx, client, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("subnet-id", s.subnet)}})
		if err != nil {
			return ec2types.Subnet{}, wrapErr("", "DescribeSubnets", s.region, err)
		}
		if len(subnets) == 0 {
			return ec2types.Subnet{}, fmt.Errorf("subnet %s not found in %s", s.subnet, s.region)
		}
		return subnets[0], nil
	})
	if err != nil {
		return "", withAddress(addr, err)
	}
	if s.vpc != "" && awssdk.ToString(sn.VpcId) != s.vpc {
		return "", fmt.Errorf("%s: subnet %s belongs to %s, not vpc %s", addr, s.subnet, awssdk.ToString(sn.VpcId), s.vpc)
	}
	if s.zone != "" && awssdk.ToString(sn.AvailabilityZone) != s.zone {
		return "", fmt.Errorf("%s: subnet %s is in zone %s, not %s", addr, s.subnet, awssdk.ToString(sn.AvailabilityZone), s.zone)
	}
	return s.subnet, nil
}

// vpcSubnet picks, of the vpc's subnets (in the spec's zone, if any; by zone
// then ID), the first that reaches the internet the way the launch needs
// (what lint's SP-AWS-001 checks), else the first: the vpc may reach what it
// needs another way (VPC endpoints, a proxy), so this is lint's to flag, not
// apply's to refuse.
func (p *Provider) vpcSubnet(ctx context.Context, addr string, s clusterSpec) (string, error) {
	facts, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: s.region, VPCID: s.vpc})
	if err != nil {
		return "", fmt.Errorf("%s: inspecting vpc %s: %w", addr, s.vpc, err)
	}
	subnets := slices.DeleteFunc(facts.Subnets, func(f providers.SubnetFacts) bool { return s.zone != "" && f.AvailabilityZone != s.zone })
	if len(subnets) == 0 {
		where := "vpc " + s.vpc
		if s.zone != "" {
			where += " in zone " + s.zone
		}
		return "", fmt.Errorf("%s: no subnet found in %s (region %s); check that the vpc exists and has subnets", addr, where, s.region)
	}
	slices.SortFunc(subnets, func(a, b providers.SubnetFacts) int {
		return cmp.Or(strings.Compare(a.AvailabilityZone, b.AvailabilityZone), strings.Compare(a.ID, b.ID))
	})
	for _, f := range subnets {
		if f.Lacks(s.internalIPs) == "" {
			return f.ID, nil
		}
	}
	return subnets[0].ID, nil
}

// syncLabels makes every kept node (and its volumes) carry exactly the
// desired labels, with one CreateTags and one DeleteTags at most.
func (p *Provider) syncLabels(ctx context.Context, client *ec2.Client, addr, region string, nodes map[int]ec2types.Instance, want map[string]string) error {
	var resources []string
	stale := map[string]bool{}
	for _, idx := range sortedInts(nodes) {
		inst := nodes[idx]
		have := userLabels(tagMap(inst.Tags))
		differs := len(have) != len(want)
		for k, v := range want {
			if hv, ok := have[k]; !ok || hv != v {
				differs = true
			}
		}
		for k := range have {
			if _, ok := want[k]; !ok {
				stale[k] = true
			}
		}
		if differs {
			resources = append(resources, instanceAndVolumes(inst)...)
		}
	}
	if len(resources) == 0 {
		return nil
	}
	if len(want) > 0 {
		if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: resources, Tags: ec2Tags(want)}); err != nil {
			return wrapErr(addr, "CreateTags", region, err)
		}
	}
	if len(stale) > 0 {
		var keys []ec2types.Tag
		for _, k := range slices.Sorted(maps.Keys(stale)) {
			keys = append(keys, ec2types.Tag{Key: awssdk.String(k)})
		}
		if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: resources, Tags: keys}); err != nil {
			return wrapErr(addr, "DeleteTags", region, err)
		}
	}
	return nil
}

func mapValues[V any](m map[int]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range sortedInts(m) {
		out = append(out, m[k])
	}
	return out
}

func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// terminate terminates instances and waits until they are gone.
func (p *Provider) terminate(ctx context.Context, client *ec2.Client, addr, region string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		return wrapErr(addr, "TerminateInstances "+strings.Join(ids, ", "), region, err)
	}
	w := ec2.NewInstanceTerminatedWaiter(client, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 2*time.Second, 30*time.Second
		// Terminated instances eventually vanish from DescribeInstances.
		base := o.Retryable
		o.Retryable = func(ctx context.Context, in *ec2.DescribeInstancesInput, out *ec2.DescribeInstancesOutput, err error) (bool, error) {
			if hasCode(err, "InvalidInstanceID.NotFound") {
				return false, nil
			}
			return base(ctx, in, out, err)
		}
	})
	return p.waitFor(ctx, addr, region, "waiting for "+strings.Join(ids, ", ")+" to terminate", func(ctx context.Context, maxWait time.Duration) error {
		return w.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, maxWait)
	})
}

// priorRegion is where prior attributes say a cluster lives.
func (p *Provider) priorRegion(ctx context.Context, prior state.Attrs) string {
	switch {
	case prior.String("region") != "":
		return prior.String("region")
	case prior.String("zone") != "":
		return regionOfZone(prior.String("zone"))
	}
	return p.defaultRegion(ctx)
}

// deleteCluster terminates every node the ownership tags name, plus prior
// IDs that still carry this workspace's and address's tags.
func (p *Provider) deleteCluster(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	var priorAttrs state.Attrs
	var priorIDs []string
	if req.Prior != nil {
		priorAttrs, priorIDs = req.Prior.Attrs, req.Prior.IDs
	}
	region := p.priorRegion(ctx, priorAttrs)
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	live, err := p.ownedInstances(ctx, client, region, req, liveStates)
	if err != nil {
		return req.Prior, wrapErr(req.Address, "DescribeInstances", region, err)
	}
	seen := map[string]bool{}
	for _, inst := range live {
		seen[awssdk.ToString(inst.InstanceId)] = true
	}
	var unseen []string
	for _, id := range priorIDs {
		if !seen[id] {
			unseen = append(unseen, id)
		}
	}
	if len(unseen) > 0 {
		// Tag filters can lag just after launch; check prior IDs directly, and
		// only take those that still carry our ownership tags.
		found, err := describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			filter("instance-id", unseen...), filter("instance-state-name", liveStates...)}})
		if err != nil {
			return req.Prior, wrapErr(req.Address, "DescribeInstances", region, err)
		}
		for _, inst := range found {
			if ownsInstance(req, inst) {
				live = append(live, inst)
			}
		}
	}
	req.Report("%s: terminating %d node(s) in %s", req.Address, len(live), region)
	if err := p.terminate(ctx, client, req.Address, region, instanceIDs(live)); err != nil {
		return clusterResource(req.Address, region, indexNodes(live), priorAttrs), err
	}
	return nil, nil
}

// clusterResource builds the resource from live nodes keyed by index. base
// (desired or prior attributes) supplies what EC2 does not report, such as
// disk_tier; observed values override it.
func clusterResource(addr, region string, nodes map[int]ec2types.Instance, base state.Attrs) *state.Resource {
	attrs := providers.Overlay(base, observedClusterAttrs(region, nodes))
	res := &state.Resource{Address: addr, Type: spec.AddressType(addr), Cloud: CloudName, Attrs: attrs, IDs: []string{}}
	var stopped []providers.StoppedNode
	for _, idx := range sortedInts(nodes) {
		inst := nodes[idx]
		res.IDs = append(res.IDs, awssdk.ToString(inst.InstanceId))
		if !isRunning(inst) {
			stopped = append(stopped, providers.StoppedNode{Rank: max(idx, -1), Name: awssdk.ToString(inst.InstanceId), State: string(inst.State.Name)})
		}
	}
	providers.RecordStoppedNodes(res, stopped)
	return res
}

// observedClusterAttrs are the attributes EC2 reports reliably, under the
// spec's names: cloud, region, nodes (running ones only), instance_type,
// image, use_spot, labels, and zone/subnet/vpc when every node agrees.
// clusterResource adds stopped_nodes.
func observedClusterAttrs(region string, nodes map[int]ec2types.Instance) map[string]any {
	running := 0
	for _, inst := range nodes {
		if isRunning(inst) {
			running++
		}
	}
	attrs := map[string]any{"cloud": CloudName, "region": region, "nodes": int64(running)}
	order := sortedInts(nodes)
	if len(order) == 0 {
		return attrs
	}
	// The lowest index speaks for the cluster; skyplan launches all alike.
	first := nodes[order[0]]
	attrs["instance_type"] = string(first.InstanceType)
	attrs["image"] = awssdk.ToString(first.ImageId)
	attrs["use_spot"] = first.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot
	attrs["labels"] = userLabels(tagMap(first.Tags))
	for k, v := range controllerAttrs(tagMap(first.Tags)) {
		attrs[k] = v
	}
	same := func(get func(ec2types.Instance) string) (string, bool) {
		v := get(first)
		for _, idx := range order {
			if get(nodes[idx]) != v {
				return "", false
			}
		}
		return v, v != ""
	}
	if z, ok := same(func(i ec2types.Instance) string {
		if i.Placement == nil {
			return ""
		}
		return awssdk.ToString(i.Placement.AvailabilityZone)
	}); ok {
		attrs["zone"] = z
	}
	if s, ok := same(func(i ec2types.Instance) string { return awssdk.ToString(i.SubnetId) }); ok {
		attrs["subnet"] = s
	}
	if v, ok := same(func(i ec2types.Instance) string { return awssdk.ToString(i.VpcId) }); ok {
		attrs["vpc"] = v
	}
	return attrs
}
