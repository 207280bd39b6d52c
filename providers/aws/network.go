package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/providers"
)

// InspectNetwork reports, for the subnets instances could land in, the route
// table that applies (explicit association, else the VPC's main table), the
// target of its 0.0.0.0/0 route and whether public IPs are mapped on launch.
// Each place is inspected once per run: the lint gate's inspection serves
// the launches after it.
func (p *Provider) InspectNetwork(ctx context.Context, req providers.NetworkRequest) (*providers.NetworkFacts, error) {
	region := req.Region
	if region == "" {
		region = p.defaultRegion(ctx)
	}
	facts, err := p.networks.get(region+"|"+req.VPCID+"|"+req.SubnetID, func() (*providers.NetworkFacts, error) {
		return p.inspectNetwork(ctx, region, req)
	})
	if err != nil {
		return nil, err
	}
	return cloneFacts(facts), nil
}

func (p *Provider) inspectNetwork(ctx context.Context, region string, req providers.NetworkRequest) (*providers.NetworkFacts, error) {
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	facts := &providers.NetworkFacts{Region: region}

	var defaultVPC string
	vpcs := ec2.NewDescribeVpcsPaginator(client, &ec2.DescribeVpcsInput{})
	for vpcs.HasMorePages() {
		page, err := vpcs.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("", "DescribeVpcs", region, err)
		}
		for _, v := range page.Vpcs {
			if awssdk.ToBool(v.IsDefault) {
				defaultVPC = awssdk.ToString(v.VpcId)
			}
		}
	}
	facts.HasDefaultVPC = defaultVPC != ""

	in := &ec2.DescribeSubnetsInput{}
	switch {
	case req.SubnetID != "":
		in.Filters = []ec2types.Filter{filter("subnet-id", req.SubnetID)}
	case req.VPCID != "":
		in.Filters = []ec2types.Filter{filter("vpc-id", req.VPCID)}
	case defaultVPC != "":
		in.Filters = []ec2types.Filter{filter("vpc-id", defaultVPC)}
	}
	subnets, err := describeSubnets(ctx, client, in)
	if err != nil {
		return nil, wrapErr("", "DescribeSubnets", region, err)
	}
	if req.SubnetID != "" && len(subnets) == 0 {
		return nil, fmt.Errorf("subnet %s not found in %s", req.SubnetID, region)
	}
	if len(subnets) == 0 {
		return facts, nil
	}

	vpcSet := map[string]bool{}
	for _, s := range subnets {
		vpcSet[awssdk.ToString(s.VpcId)] = true
	}
	explicit := map[string]ec2types.RouteTable{} // subnet → table
	mainOf := map[string]ec2types.RouteTable{}   // vpc → main table
	tables := ec2.NewDescribeRouteTablesPaginator(client, &ec2.DescribeRouteTablesInput{
		Filters: []ec2types.Filter{filter("vpc-id", slices.Sorted(maps.Keys(vpcSet))...)},
	})
	for tables.HasMorePages() {
		page, err := tables.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("", "DescribeRouteTables", region, err)
		}
		for _, rt := range page.RouteTables {
			for _, a := range rt.Associations {
				switch {
				case awssdk.ToBool(a.Main):
					mainOf[awssdk.ToString(rt.VpcId)] = rt
				case a.SubnetId != nil:
					explicit[*a.SubnetId] = rt
				}
			}
		}
	}

	facts.InternetGateways = map[string]string{}
	igws := ec2.NewDescribeInternetGatewaysPaginator(client, &ec2.DescribeInternetGatewaysInput{
		Filters: []ec2types.Filter{filter("attachment.vpc-id", slices.Sorted(maps.Keys(vpcSet))...)},
	})
	for igws.HasMorePages() {
		page, err := igws.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("", "DescribeInternetGateways", region, err)
		}
		for _, g := range page.InternetGateways {
			for _, a := range g.Attachments {
				if vpc := awssdk.ToString(a.VpcId); vpc != "" && facts.InternetGateways[vpc] == "" {
					facts.InternetGateways[vpc] = awssdk.ToString(g.InternetGatewayId)
				}
			}
		}
	}

	for _, s := range subnets {
		f := providers.SubnetFacts{
			ID:                  awssdk.ToString(s.SubnetId),
			VPCID:               awssdk.ToString(s.VpcId),
			AvailabilityZone:    awssdk.ToString(s.AvailabilityZone),
			MapPublicIPOnLaunch: awssdk.ToBool(s.MapPublicIpOnLaunch),
		}
		rt, ok := explicit[f.ID]
		if !ok {
			rt, ok = mainOf[f.VPCID]
			f.RouteTableIsMain = ok
		}
		if ok {
			f.RouteTableID = awssdk.ToString(rt.RouteTableId)
			f.DefaultRouteTarget = defaultRouteTarget(rt)
		}
		facts.Subnets = append(facts.Subnets, f)
	}
	sort.Slice(facts.Subnets, func(i, j int) bool { return facts.Subnets[i].ID < facts.Subnets[j].ID })
	return facts, nil
}

// defaultRouteTarget is the target of an active 0.0.0.0/0 route, or "".
// A blackhole route (its target deleted) carries no traffic, so it is "".
func defaultRouteTarget(rt ec2types.RouteTable) string {
	for _, r := range rt.Routes {
		if awssdk.ToString(r.DestinationCidrBlock) != "0.0.0.0/0" || r.State == ec2types.RouteStateBlackhole {
			continue
		}
		for _, target := range []*string{r.GatewayId, r.NatGatewayId, r.VpcPeeringConnectionId,
			r.TransitGatewayId, r.InstanceId, r.NetworkInterfaceId, r.CarrierGatewayId, r.LocalGatewayId} {
			if t := awssdk.ToString(target); t != "" {
				return t
			}
		}
	}
	return ""
}

func describeSubnets(ctx context.Context, client *ec2.Client, in *ec2.DescribeSubnetsInput) ([]ec2types.Subnet, error) {
	var out []ec2types.Subnet
	pages := ec2.NewDescribeSubnetsPaginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Subnets...)
	}
	return out, nil
}
