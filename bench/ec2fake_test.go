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
	_, err = c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.0.0.0/16")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnsupportedOperation" {
		t.Errorf("CreateVpc: %v, want UnsupportedOperation", err)
	}
}
