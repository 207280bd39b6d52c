package aws

import (
	"context"
	"sort"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
)

// netBuilder creates network shapes in moto with the raw EC2 client.
type netBuilder struct {
	t   *testing.T
	ec2 *ec2.Client
	ctx context.Context
}

func (b netBuilder) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b netBuilder) vpc(cidr string) string {
	b.t.Helper()
	out, err := b.ec2.CreateVpc(b.ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String(cidr)})
	b.must(err)
	return awssdk.ToString(out.Vpc.VpcId)
}

func (b netBuilder) subnet(vpc, cidr string, mapPublic bool) ec2types.Subnet {
	b.t.Helper()
	out, err := b.ec2.CreateSubnet(b.ctx, &ec2.CreateSubnetInput{VpcId: awssdk.String(vpc), CidrBlock: awssdk.String(cidr)})
	b.must(err)
	// Set both ways: moto's default differs with and without a default VPC.
	_, err = b.ec2.ModifySubnetAttribute(b.ctx, &ec2.ModifySubnetAttributeInput{
		SubnetId: out.Subnet.SubnetId, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: awssdk.Bool(mapPublic)}})
	b.must(err)
	return *out.Subnet
}

func (b netBuilder) igw(vpc string) string {
	b.t.Helper()
	out, err := b.ec2.CreateInternetGateway(b.ctx, &ec2.CreateInternetGatewayInput{})
	b.must(err)
	id := awssdk.ToString(out.InternetGateway.InternetGatewayId)
	_, err = b.ec2.AttachInternetGateway(b.ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &id, VpcId: &vpc})
	b.must(err)
	return id
}

// table creates a route table with 0.0.0.0/0 via route (nil: no default
// route) and associates it with the subnet.
func (b netBuilder) table(vpc, subnet string, route func(*ec2.CreateRouteInput)) string {
	b.t.Helper()
	out, err := b.ec2.CreateRouteTable(b.ctx, &ec2.CreateRouteTableInput{VpcId: &vpc})
	b.must(err)
	id := awssdk.ToString(out.RouteTable.RouteTableId)
	if route != nil {
		in := &ec2.CreateRouteInput{RouteTableId: &id, DestinationCidrBlock: awssdk.String("0.0.0.0/0")}
		route(in)
		_, err = b.ec2.CreateRoute(b.ctx, in)
		b.must(err)
	}
	_, err = b.ec2.AssociateRouteTable(b.ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: &subnet})
	b.must(err)
	return id
}

func (b netBuilder) mainTable(vpc string) string {
	b.t.Helper()
	out, err := b.ec2.DescribeRouteTables(b.ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		filter("vpc-id", vpc), filter("association.main", "true")}})
	b.must(err)
	if len(out.RouteTables) != 1 {
		b.t.Fatalf("vpc %s has %d main route tables", vpc, len(out.RouteTables))
	}
	return awssdk.ToString(out.RouteTables[0].RouteTableId)
}

func facts(s ec2types.Subnet, table string, isMain bool, target string, mapPublic bool) providers.SubnetFacts {
	return providers.SubnetFacts{
		ID: awssdk.ToString(s.SubnetId), VPCID: awssdk.ToString(s.VpcId), AvailabilityZone: awssdk.ToString(s.AvailabilityZone),
		RouteTableID: table, RouteTableIsMain: isMain, DefaultRouteTarget: target, MapPublicIPOnLaunch: mapPublic,
	}
}

func TestInspectNetworkShapes(t *testing.T) {
	needMoto(t)
	const region = "eu-central-1"
	ctx := testCtx(t)
	b := netBuilder{t: t, ec2: rawEC2(t, region), ctx: ctx}
	p := newProvider(t, "ws", map[string]any{"regions": []string{region}})

	vpc := b.vpc("10.1.0.0/16")
	peer := b.vpc("10.2.0.0/16")
	igw := b.igw(vpc)
	public := b.subnet(vpc, "10.1.1.0/24", true)
	mainOnly := b.subnet(vpc, "10.1.2.0/24", true)
	natted := b.subnet(vpc, "10.1.3.0/24", false)
	noMap := b.subnet(vpc, "10.1.4.0/24", false)
	peered := b.subnet(vpc, "10.1.5.0/24", true)

	nat, err := b.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: public.SubnetId})
	b.must(err)
	natID := awssdk.ToString(nat.NatGateway.NatGatewayId)
	pcx, err := b.ec2.CreateVpcPeeringConnection(ctx, &ec2.CreateVpcPeeringConnectionInput{VpcId: &vpc, PeerVpcId: &peer})
	b.must(err)
	pcxID := awssdk.ToString(pcx.VpcPeeringConnection.VpcPeeringConnectionId)

	rtPublic := b.table(vpc, awssdk.ToString(public.SubnetId), func(in *ec2.CreateRouteInput) { in.GatewayId = &igw })
	rtNat := b.table(vpc, awssdk.ToString(natted.SubnetId), func(in *ec2.CreateRouteInput) { in.NatGatewayId = &natID })
	rtNoMap := b.table(vpc, awssdk.ToString(noMap.SubnetId), func(in *ec2.CreateRouteInput) { in.GatewayId = &igw })
	rtPeer := b.table(vpc, awssdk.ToString(peered.SubnetId), func(in *ec2.CreateRouteInput) { in.VpcPeeringConnectionId = &pcxID })
	rtMain := b.mainTable(vpc)

	got, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: region, VPCID: vpc})
	if err != nil {
		t.Fatal(err)
	}
	want := &providers.NetworkFacts{Region: region, HasDefaultVPC: true, Subnets: []providers.SubnetFacts{
		facts(public, rtPublic, false, igw, true),
		facts(mainOnly, rtMain, true, "", true), // the main table has only the local route
		facts(natted, rtNat, false, natID, false),
		facts(noMap, rtNoMap, false, igw, false), // igw route, but no public IPs on launch
		facts(peered, rtPeer, false, pcxID, true),
	}, InternetGateways: map[string]string{vpc: igw}}
	sortFacts(want.Subnets)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VPC %s facts (-want +got):\n%s", vpc, diff)
	}

	// A route to the igw added to the main table reaches subnets without an explicit association.
	_, err = b.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &rtMain, DestinationCidrBlock: awssdk.String("0.0.0.0/0"), GatewayId: &igw})
	b.must(err)
	one, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: region, SubnetID: awssdk.ToString(mainOnly.SubnetId)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]providers.SubnetFacts{facts(mainOnly, rtMain, true, igw, true)}, one.Subnets); diff != "" {
		t.Errorf("single subnet via main table (-want +got):\n%s", diff)
	}

	// No VPC or subnet given: the default VPC's subnets, public through its
	// main table. moto's default VPC lacks the igw real ones have; add it.
	vpcs, err := b.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("is-default", "true")}})
	b.must(err)
	defaultVPC := awssdk.ToString(vpcs.Vpcs[0].VpcId)
	defaultIGW := b.igw(defaultVPC)
	defaultMain := b.mainTable(defaultVPC)
	_, err = b.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &defaultMain, DestinationCidrBlock: awssdk.String("0.0.0.0/0"), GatewayId: &defaultIGW})
	b.must(err)
	def, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	if !def.HasDefaultVPC || len(def.Subnets) == 0 {
		t.Fatalf("default VPC facts: %+v", def)
	}
	for _, s := range def.Subnets {
		if s.VPCID != defaultVPC || s.RouteTableID != defaultMain || !s.RouteTableIsMain || s.DefaultRouteTarget != defaultIGW || !s.MapPublicIPOnLaunch {
			t.Errorf("default VPC subnet %+v; want a public subnet of the default VPC via its main table", s)
		}
	}

	if _, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: region, SubnetID: "subnet-0000000000"}); err == nil ||
		!strings.Contains(err.Error(), "subnet-0000000000") {
		t.Errorf("unknown subnet: err = %v; want it named", err)
	}
}

func TestInspectNetworkWithoutDefaultVPC(t *testing.T) {
	needMoto(t)
	const region = "eu-north-1"
	ctx := testCtx(t)
	raw := rawEC2(t, region)
	b := netBuilder{t: t, ec2: raw, ctx: ctx}
	deleteDefaultVPC(b)

	vpc := b.vpc("10.9.0.0/16")
	private := b.subnet(vpc, "10.9.1.0/24", false)
	p := newProvider(t, "ws", map[string]any{"regions": []string{region}})
	got, err := p.InspectNetwork(ctx, providers.NetworkRequest{Region: region})
	if err != nil {
		t.Fatal(err)
	}
	want := &providers.NetworkFacts{Region: region, HasDefaultVPC: false, Subnets: []providers.SubnetFacts{
		facts(private, b.mainTable(vpc), true, "", false),
	}, InternetGateways: map[string]string{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("region without default VPC (-want +got):\n%s", diff)
	}
}

func deleteDefaultVPC(b netBuilder) {
	b.t.Helper()
	vpcs, err := b.ec2.DescribeVpcs(b.ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("is-default", "true")}})
	b.must(err)
	for _, v := range vpcs.Vpcs {
		subs, err := b.ec2.DescribeSubnets(b.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("vpc-id", *v.VpcId)}})
		b.must(err)
		for _, s := range subs.Subnets {
			_, err = b.ec2.DeleteSubnet(b.ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId})
			b.must(err)
		}
		igws, err := b.ec2.DescribeInternetGateways(b.ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("attachment.vpc-id", *v.VpcId)}})
		b.must(err)
		for _, g := range igws.InternetGateways {
			_, err = b.ec2.DetachInternetGateway(b.ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: g.InternetGatewayId, VpcId: v.VpcId})
			b.must(err)
			_, err = b.ec2.DeleteInternetGateway(b.ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: g.InternetGatewayId})
			b.must(err)
		}
		_, err = b.ec2.DeleteVpc(b.ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId})
		b.must(err)
	}
}

func sortFacts(s []providers.SubnetFacts) {
	sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID })
}
