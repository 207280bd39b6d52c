package crashtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/skyplan/skyplan/providers"
)

// object is one cloud object of a workspace, counted from outside skyplan.
type object struct {
	Address string
	// Node is the node index of a cluster's node, -1 for a bucket.
	Node int
	// ID is the object's ID as skyplan records it in state.
	ID string
	// Owner is read from the object's tags; Owned is false without them.
	Owner providers.Owner
	Owned bool
}

func (o object) String() string { return o.Address + " " + o.ID }

// Count is what exists of one spec, counted from outside skyplan.
type Count struct {
	// Nodes counts live cluster nodes, Buckets the spec's buckets that exist.
	Nodes, Buckets int
	// Duplicates counts nodes beyond one per (address, node index), and
	// nodes of an index the spec does not declare; Extra lists them.
	Duplicates int
	Extra      []string
	// Orphans lists objects the state file does not record under their
	// address: nothing would ever delete them.
	Orphans []string
	// Pending lists state entries still marked as intents.
	Pending []string
	// Unowned lists objects without this state's ownership tags.
	Unowned []string
}

// Clean reports whether nothing is duplicated, orphaned, pending or unowned.
func (c Count) Clean() bool {
	return c.Duplicates == 0 && len(c.Orphans) == 0 && len(c.Pending) == 0 && len(c.Unowned) == 0
}

// Empty reports whether nothing of the spec exists.
func (c Count) Empty() bool { return c.Nodes == 0 && c.Buckets == 0 }

func (c Count) String() string {
	s := fmt.Sprintf("%d node(s), %d bucket(s), %d duplicate(s)", c.Nodes, c.Buckets, c.Duplicates)
	for _, l := range []struct {
		name string
		list []string
	}{{"extra", c.Extra}, {"orphans", c.Orphans}, {"pending", c.Pending}, {"unowned", c.Unowned}} {
		if len(l.list) > 0 {
			s += fmt.Sprintf(", %s %v", l.name, l.list)
		}
	}
	return s
}

// Count counts the spec's objects in every cloud and compares them with its
// state file: the nodes with the workspace's tags and this state's lineage
// (all of the workspace's while there is no state file), and the buckets of
// the spec's names, whoever's they are.
func (h *Harness) Count(ctx context.Context, s *Spec) (Count, error) {
	var c Count
	st, err := s.LoadState(ctx)
	if err != nil {
		return c, err
	}
	lineage := ""
	recorded := map[string]map[string]bool{} // address → IDs
	if st != nil {
		lineage = st.Lineage
		for _, r := range st.Resources {
			if r.Pending != "" {
				c.Pending = append(c.Pending, r.Address)
			}
			recorded[r.Address] = map[string]bool{}
			for _, id := range r.IDs {
				recorded[r.Address][id] = true
			}
		}
	}
	objs, err := h.aws.objects(ctx, s)
	if err != nil {
		return c, err
	}
	objs = append(objs, h.gcpObjects(s)...)
	perNode := map[string]int{}
	for _, o := range objs {
		if o.Node >= 0 && lineage != "" && o.Owner.StateID != lineage {
			continue // another state's node in the same workspace
		}
		if o.Node < 0 {
			c.Buckets++
		} else {
			c.Nodes++
			key := o.Address + "#" + strconv.Itoa(o.Node)
			if perNode[key]++; perNode[key] > 1 || o.Node >= s.Clusters[o.Address] {
				c.Duplicates++
				c.Extra = append(c.Extra, fmt.Sprintf("%s#%d %s", o.Address, o.Node, o.ID))
			}
		}
		if !recorded[o.Address][o.ID] {
			c.Orphans = append(c.Orphans, o.String())
		}
		if !o.Owned || o.Owner.StateID != lineage || o.Owner.Address != o.Address || o.Owner.Workspace != s.Workspace {
			c.Unowned = append(c.Unowned, o.String())
		}
	}
	sort.Strings(c.Orphans)
	sort.Strings(c.Unowned)
	return c, nil
}

// gcpObjects are the GCE instances and TPU VMs (not being deleted) with
// the workspace's label, and the spec's GCS buckets that exist, read from
// the fakes themselves.
func (h *Harness) gcpObjects(s *Spec) []object {
	ws := providers.LabelValue(s.Workspace)
	labelled := func(labels map[string]string, name, id string) (object, bool) {
		if labels[providers.TagWorkspace] != ws {
			return object{}, false
		}
		o := object{Address: providers.DecodeLabelValue(labels[providers.TagAddress]), Node: -1, ID: id}
		o.Owner, o.Owned = providers.OwnerOfLabels(labels, providers.DecodeLabelValue)
		if i := strings.LastIndex(name, "-"); i >= 0 {
			if n, err := strconv.Atoi(name[i+1:]); err == nil {
				o.Node = n
			}
		}
		return o, true
	}
	var out []object
	for _, inst := range h.GCE.Instances() {
		if o, ok := labelled(inst.Labels, inst.Name, strconv.FormatUint(inst.Id, 10)); ok {
			out = append(out, o)
		}
	}
	for _, n := range h.GCE.Nodes() {
		if n.State == "DELETING" {
			// Being deleted: GCP finishes it on its own (the fake only
			// when polled, which a killed run no longer does).
			continue
		}
		if o, ok := labelled(n.Labels, n.Name, strconv.FormatInt(n.Id, 10)); ok {
			out = append(out, o)
		}
	}
	for _, addr := range sortedKeys(s.Buckets) {
		b := s.Buckets[addr]
		if b.Cloud != "gcp" || !h.GCS.BucketExists(b.Name) {
			continue
		}
		o := object{Address: addr, Node: -1, ID: b.Name}
		o.Owner, o.Owned = providers.OwnerOfLabels(h.GCS.BucketLabels(b.Name), providers.DecodeLabelValue)
		out = append(out, o)
	}
	return out
}

// awsCounter reads moto directly: counting is not skyplan's traffic.
type awsCounter struct {
	cfg awssdk.Config
	ec2 *ec2.Client
}

func newAWSCounter(endpoint string) *awsCounter {
	cfg := awssdk.Config{Region: AWSRegion, BaseEndpoint: awssdk.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")}
	return &awsCounter{cfg: cfg, ec2: ec2.NewFromConfig(cfg)}
}

// objects are the live instances with the workspace's tag, and the spec's
// S3 buckets that exist.
func (a *awsCounter) objects(ctx context.Context, s *Spec) ([]object, error) {
	var out []object
	pages := ec2.NewDescribeInstancesPaginator(a.ec2, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("tag:" + providers.TagWorkspace), Values: []string{s.Workspace}},
		{Name: awssdk.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}, MaxResults: awssdk.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("counting instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				tags := map[string]string{}
				for _, t := range inst.Tags {
					tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
				}
				o := object{Address: tags[providers.TagAddress], Node: -1, ID: awssdk.ToString(inst.InstanceId)}
				o.Owner, o.Owned = providers.OwnerOfTags(tags)
				if n, err := strconv.Atoi(tags["skyplan-node-index"]); err == nil {
					o.Node = n
				}
				out = append(out, o)
			}
		}
	}
	for _, addr := range sortedKeys(s.Buckets) {
		b := s.Buckets[addr]
		if b.Cloud != "aws" {
			continue
		}
		tags, exists, err := a.bucketTags(ctx, b.Name)
		if err != nil {
			return nil, err
		}
		if exists {
			o := object{Address: addr, Node: -1, ID: b.Name}
			o.Owner, o.Owned = providers.OwnerOfTags(tags)
			out = append(out, o)
		}
	}
	return out, nil
}

func (a *awsCounter) bucketTags(ctx context.Context, name string) (map[string]string, bool, error) {
	client := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: awssdk.String(name)})
	var api smithy.APIError
	switch {
	case err == nil:
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchTagSet":
		return map[string]string{}, true, nil
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket":
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("GetBucketTagging %s: %w", name, err)
	}
	tags := map[string]string{}
	for _, t := range out.TagSet {
		tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return tags, true, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
