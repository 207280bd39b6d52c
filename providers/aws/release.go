package aws

import (
	"context"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// ownershipKeys are the tags that make an object skyplan's.
var ownershipKeys = []string{providers.TagManaged, providers.TagWorkspace, providers.TagAddress, providers.TagState, providers.TagGeneration, tagNodeIndex}

// release removes skyplan's ownership tags from a resource's objects, which
// keep running unmanaged (`skyplan state rm`).
func (p *Provider) release(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Prior == nil {
		return nil, nil
	}
	if req.Type == spec.TypeBucket {
		return nil, p.releaseBucket(ctx, req)
	}
	region := p.priorRegion(ctx, req.Prior.Attrs)
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	insts, err := p.ownedInstances(ctx, client, region, req, liveStates)
	if err != nil {
		return nil, wrapErr(req.Address, "DescribeInstances", region, err)
	}
	var resources []string
	for _, inst := range insts {
		resources = append(resources, instanceAndVolumes(inst)...)
	}
	if len(resources) == 0 {
		return nil, nil
	}
	req.Report("%s: removing skyplan's tags from %d resource(s)", req.Address, len(resources))
	var keys []ec2types.Tag
	for _, k := range append(slices.Clone(ownershipKeys), tagControllerBucket, tagControllerJobClouds) {
		keys = append(keys, ec2types.Tag{Key: awssdk.String(k)})
	}
	if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: resources, Tags: keys}); err != nil {
		return nil, wrapErr(req.Address, "DeleteTags", region, err)
	}
	return nil, nil
}

func (p *Provider) releaseBucket(ctx context.Context, req providers.ApplyRequest) error {
	name := req.Prior.Attrs.String("name")
	region := req.Prior.Attrs.String("region")
	if region == "" {
		region = p.defaultRegion(ctx)
	}
	client, err := p.s3Client(ctx, region)
	if err != nil {
		return err
	}
	tags, exists, err := bucketTags(ctx, client, name)
	if err != nil {
		return accessError(req.Address, name, region, err)
	}
	if !exists {
		return nil
	}
	if !ownsBucket(req, name, tags) {
		return notOwnedError(req, name, tags)
	}
	kept := maps.Clone(tags)
	for _, k := range ownershipKeys {
		delete(kept, k)
	}
	if len(kept) == 0 {
		_, err = client.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: awssdk.String(name)})
	} else {
		_, err = client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: awssdk.String(name), Tagging: &s3types.Tagging{TagSet: s3Tags(kept)}})
	}
	return wrapErr(req.Address, "releasing bucket "+name, region, err)
}
