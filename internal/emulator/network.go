package emulator

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ConnectDefaultVPC gives a region's default VPC what a real account's has
// and moto's lacks: an internet gateway with the 0.0.0.0/0 route to it, and
// public IPs on launch in every default subnet, so skyplan's network lint
// passes there as it would on AWS. It is idempotent.
func (m *Moto) ConnectDefaultVPC(ctx context.Context, region string) error {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithBaseEndpoint(m.Endpoint),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		return err
	}
	client := ec2.NewFromConfig(cfg)
	vpcs, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		return err
	}
	if len(vpcs.Vpcs) == 0 {
		return fmt.Errorf("no default VPC in %s", region)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	igws, err := client.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return err
	}
	var igw string
	if len(igws.InternetGateways) > 0 {
		igw = aws.ToString(igws.InternetGateways[0].InternetGatewayId)
	} else {
		out, err := client.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
		if err != nil {
			return err
		}
		igw = aws.ToString(out.InternetGateway.InternetGatewayId)
		if _, err := client.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(igw), VpcId: aws.String(vpc)}); err != nil {
			return err
		}
	}
	tables, err := client.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}}})
	if err != nil {
		return err
	}
	for _, t := range tables.RouteTables {
		routed := false
		for _, r := range t.Routes {
			routed = routed || aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0"
		}
		if !routed {
			if _, err := client.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: t.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igw)}); err != nil {
				return err
			}
		}
	}
	subnets, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil {
		return err
	}
	for _, sn := range subnets.Subnets {
		if !aws.ToBool(sn.MapPublicIpOnLaunch) {
			if _, err := client.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: sn.SubnetId,
				MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
				return err
			}
		}
	}
	return nil
}
