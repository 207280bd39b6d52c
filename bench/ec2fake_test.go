package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func TestEC2FakeWithTheSDK(t *testing.T) {
	f, err := startEC2Fake()
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	c := ec2.NewFromConfig(awssdk.Config{Region: "eu-south-1", BaseEndpoint: awssdk.String(f.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	ctx := context.Background()
	for i := range 12 {
		f.add("m5.large", "eu-south-1b", map[string]string{"team": fmt.Sprint(i % 2)})
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: awssdk.String(fakeImage.ID), InstanceType: "p4d.24xlarge",
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance,
			Tags: []ec2types.Tag{{Key: awssdk.String("team"), Value: awssdk.String("new")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	launched := run.Instances[0]
	if launched.State.Name != ec2types.InstanceStateNamePending || launched.InstanceType != "p4d.24xlarge" {
		t.Errorf("launched: %s %s", launched.State.Name, launched.InstanceType)
	}
	byID, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{*launched.InstanceId}})
	if err != nil {
		t.Fatal(err)
	}
	got := byID.Reservations[0].Instances[0]
	if got.State.Name != ec2types.InstanceStateNameRunning || *got.Placement.AvailabilityZone != "eu-south-1a" || *got.Tags[0].Value != "new" {
		t.Errorf("described: %s in %s, tags %v", got.State.Name, *got.Placement.AvailabilityZone, got.Tags)
	}
	var pages []int
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: awssdk.Int32(5), Filters: []ec2types.Filter{
		{Name: awssdk.String("tag:team"), Values: []string{"0", "new"}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"running"}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Reservations))
	}
	if diff := cmp.Diff([]int{5, 2}, pages); diff != "" {
		t.Errorf("pages of team 0 or new (-want +got):\n%s", diff)
	}
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"099720109477"}, Filters: []ec2types.Filter{
		{Name: awssdk.String("name"), Values: []string{"ubuntu/images/*"}}}})
	if err != nil || len(imgs.Images) != 1 || *imgs.Images[0].RootDeviceName != "/dev/sda1" {
		t.Errorf("ubuntu images: %v %v", imgs, err)
	}
	imgs, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("name"), Values: []string{"*jammy-22.04*"}}}})
	if err != nil || len(imgs.Images) != 0 {
		t.Errorf("jammy images: %v %v", imgs, err)
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 1 || !*vpcs.Vpcs[0].IsDefault {
		t.Fatalf("vpcs: %v %v", vpcs, err)
	}
	vpc := []string{*vpcs.Vpcs[0].VpcId}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: vpc}}})
	if err != nil || len(subnets.Subnets) != 3 || !*subnets.Subnets[1].MapPublicIpOnLaunch || *subnets.Subnets[1].AvailabilityZone != "eu-south-1b" {
		t.Errorf("subnets: %v %v", subnets, err)
	}
	one, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: awssdk.String("subnet-id"), Values: []string{*subnets.Subnets[2].SubnetId}}}})
	if err != nil || len(one.Subnets) != 1 {
		t.Errorf("subnet by id: %v %v", one, err)
	}
	tables, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: vpc}}})
	if err != nil || len(tables.RouteTables) != 1 || !*tables.RouteTables[0].Associations[0].Main ||
		*tables.RouteTables[0].Routes[1].DestinationCidrBlock != "0.0.0.0/0" || *tables.RouteTables[0].Routes[1].GatewayId != fakeIGW {
		t.Errorf("route tables: %v %v", tables, err)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: awssdk.String("attachment.vpc-id"), Values: vpc}}})
	if err != nil || len(igws.InternetGateways) != 1 || *igws.InternetGateways[0].Attachments[0].VpcId != vpc[0] {
		t.Errorf("internet gateways: %v %v", igws, err)
	}
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: awssdk.String("cidr-block"), Values: []string{"10.0.0.0/8"}}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnsupportedOperation" {
		t.Errorf("subnets by cidr-block: %v, want UnsupportedOperation", err)
	}
	_, err = c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.0.0.0/16")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnsupportedOperation" {
		t.Errorf("CreateVpc: %v, want UnsupportedOperation", err)
	}
}
