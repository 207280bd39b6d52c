package session_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/providers"
)

// An instance with the workspace's tags but no state tag (made before
// skyplan tagged state identity) is this state's only when the state
// records its ID: at an address the state uses for other objects it is
// another's, left alone, and plan neither fails on "found twice" nor
// claims it. Recorded, it is claimed (apply tags it).
func TestLegacyObjectsAreClaimedOnlyByRecordedID(t *testing.T) {
	moto := emulator.MotoForTest(t)
	ctx := context.Background()
	if err := moto.ConnectDefaultVPC(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	cfg := writeSpec(t, `
skyplan {
  workspace = "legacy-claim"
}
cloud "aws" {
  regions = ["us-east-1"]
}
cluster "c" {
  cloud         = "aws"
  instance_type = "t3.micro"
}
`)
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(awsCfg)
	images, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	var tags []ec2types.Tag
	for k, v := range (providers.Owner{Workspace: "legacy-claim", Address: "cluster.c"}).Tags() {
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	tags = append(tags, ec2types.Tag{Key: aws.String("skyplan-node-index"), Value: aws.String("0")})
	launched, err := client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}}})
	if err != nil {
		t.Fatal(err)
	}
	legacy := aws.ToString(launched.Instances[0].InstanceId)

	_, s := run(t, cfg) // creates this state's own node beside the legacy one
	if ids := s.State.Resource("cluster.c").IDs; len(ids) != 1 || ids[0] == legacy {
		t.Fatalf("state records %v; want one new node, not the legacy %s", ids, legacy)
	}
	p, s2, ref := planOnly(t, cfg)
	s2.Close()
	if p.HasChanges() || ref.ClaimLegacy["cluster.c"] {
		t.Errorf("plan with an unrecorded legacy node at a recorded address: changes %+v, claimed %v", p.Summary, ref.ClaimLegacy)
	}
	if len(ref.Foreign) != 1 || ref.Foreign[0].IDs[0] != legacy {
		t.Errorf("foreign objects %+v; want the legacy node %s", ref.Foreign, legacy)
	}

	// A state that records the legacy node's ID (and no other) claims it.
	st, err := s.Backend.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: st.Resource("cluster.c").IDs}); err != nil {
		t.Fatal(err)
	}
	st.Resource("cluster.c").IDs = []string{legacy}
	if err := s.Backend.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	_, s3, ref := planOnly(t, cfg)
	s3.Close()
	if !ref.ClaimLegacy["cluster.c"] {
		t.Errorf("a legacy node whose ID the state records is not claimed: foreign %+v", ref.Foreign)
	}
}
