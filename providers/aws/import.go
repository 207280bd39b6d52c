package aws

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var _ providers.Importer = (*Provider)(nil)

// skyPilotTags are the tags SkyPilot puts on a cluster's instances, by
// which `import` finds a cluster SkyPilot launched (ID skypilot:NAME).
var skyPilotTags = []string{"skypilot-cluster-name", "ray-cluster-name"}

// Import reads a bucket (ID: its name) or a cluster's instances (ID:
// instance IDs, comma-separated, or skypilot:CLUSTER for a cluster SkyPilot
// launched). An object that already carries skyplan's tags is not
// importable: it belongs to a state already.
func (p *Provider) Import(ctx context.Context, req providers.ImportRequest) (*state.Resource, error) {
	if req.Type == spec.TypeBucket {
		return p.importBucket(ctx, req)
	}
	region := p.priorRegion(ctx, req.Hint)
	client, err := p.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	insts, err := p.importedInstances(ctx, client, region, req.ID)
	if err != nil {
		return nil, err
	}
	if len(insts) == 0 {
		return nil, fmt.Errorf("%s: import %s: no running or stopped instance found in %s", req.Address, req.ID, region)
	}
	for _, inst := range insts {
		if o, ok := providers.OwnerOfTags(tagMap(inst.Tags)); ok {
			return nil, fmt.Errorf("%s: import %s: instance %s is already managed by skyplan (%s)", req.Address, req.ID, awssdk.ToString(inst.InstanceId), describeOwner(o, providers.Owner{StateID: req.StateID}))
		}
	}
	nodes := map[int]ec2types.Instance{}
	for i, inst := range importOrder(insts) {
		nodes[i] = inst
	}
	r := clusterResource(req.Address, region, nodes, nil)
	r.Attrs["cloud"] = CloudName
	return r, nil
}

// importedInstances finds the instances an import ID names.
func (p *Provider) importedInstances(ctx context.Context, client *ec2.Client, region, id string) ([]ec2types.Instance, error) {
	live := filter("instance-state-name", liveStates...)
	if name, ok := strings.CutPrefix(id, "skypilot:"); ok {
		var out []ec2types.Instance
		for _, key := range skyPilotTags {
			found, err := describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("tag:"+key, name), live}})
			if err != nil {
				return nil, wrapErr("", "DescribeInstances", region, err)
			}
			if len(found) > 0 {
				return found, nil
			}
			out = found
		}
		return out, nil
	}
	ids := strings.Split(id, ",")
	found, err := describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("instance-id", ids...), live}})
	if err != nil {
		return nil, wrapErr("", "DescribeInstances", region, err)
	}
	return found, nil
}

// importOrder numbers imported nodes by launch time, then ID.
func importOrder(insts []ec2types.Instance) []ec2types.Instance {
	out := slices.Clone(insts)
	slices.SortFunc(out, func(a, b ec2types.Instance) int {
		if c := awssdk.ToTime(a.LaunchTime).Compare(awssdk.ToTime(b.LaunchTime)); c != 0 {
			return c
		}
		return strings.Compare(awssdk.ToString(a.InstanceId), awssdk.ToString(b.InstanceId))
	})
	return out
}

// indexImported gives the instances an import adopts their node-index
// tags (the rest of skyplan's tags come with syncOwner), so apply keeps
// them as nodes 0..n-1 instead of taking them for strays.
func (p *Provider) indexImported(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, region string) error {
	if req.ImportID == "" {
		return nil
	}
	insts, err := p.importedInstances(ctx, client, region, req.ImportID)
	if err != nil {
		return err
	}
	for i, inst := range importOrder(insts) {
		if _, ok := providers.OwnerOfTags(tagMap(inst.Tags)); ok {
			continue
		}
		tags := req.Owner().Tags()
		tags[tagNodeIndex] = strconv.Itoa(i)
		if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: instanceAndVolumes(inst), Tags: ec2Tags(tags)}); err != nil {
			return wrapErr(req.Address, "CreateTags", region, err)
		}
	}
	return nil
}

func (p *Provider) importBucket(ctx context.Context, req providers.ImportRequest) (*state.Resource, error) {
	name := req.ID
	client, err := p.s3Client(ctx, p.defaultRegion(ctx))
	if err != nil {
		return nil, err
	}
	tags, exists, err := bucketTags(ctx, client, name)
	if err != nil {
		return nil, accessError(req.Address, name, "", err)
	}
	if !exists {
		return nil, fmt.Errorf("%s: import %s: no such bucket", req.Address, name)
	}
	if o, ok := providers.OwnerOfTags(tags); ok {
		return nil, fmt.Errorf("%s: import %s: the bucket is already managed by skyplan (%s)", req.Address, name, describeOwner(o, providers.Owner{StateID: req.StateID}))
	}
	region, err := bucketRegion(ctx, client, name)
	if err != nil {
		return nil, wrapErr(req.Address, "GetBucketLocation "+name, "", err)
	}
	if client, err = p.s3Client(ctx, region); err != nil {
		return nil, err
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: awssdk.String(name)})
	if err != nil {
		return nil, wrapErr(req.Address, "GetBucketVersioning "+name, region, err)
	}
	versioning := ver.Status == s3types.BucketVersioningStatusEnabled
	return bucketResource(req.Address, name, region, versioning, userLabels(tags), nil), nil
}
