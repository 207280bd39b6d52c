package crashtest

import (
	"context"
	"fmt"
	"maps"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	compute "google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/providers"
)

// foreign is an object made outside this state, and the tags it must keep.
type foreign struct {
	kind, id string
	tags     map[string]string
}

// seedForeign makes, beside a spec in workspace ws, 20 objects nobody's
// state owns (untagged, or with the workspace's tags from before skyplan
// tagged state identity, at addresses the spec uses) and 10 of another
// state in the same workspace, on AWS and GCP.
func seedForeign(t *testing.T, h *Harness, ws string) []foreign {
	t.Helper()
	ctx := context.Background()
	a := h.aws
	images, err := a.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("finding an image in moto: %v", err)
	}
	image := images.Images[0].ImageId
	other := providers.Owner{Workspace: ws, StateID: "0ther-state-lineage"}
	legacy := providers.Owner{Workspace: ws}
	var out []foreign
	instance := func(tags map[string]string) {
		in := &ec2.RunInstancesInput{ImageId: image, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)}
		if len(tags) > 0 {
			var ts []ec2types.Tag
			for k, v := range tags {
				ts = append(ts, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
			}
			in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: ts}}
		}
		got, err := a.ec2.RunInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, foreign{"ec2", awssdk.ToString(got.Instances[0].InstanceId), tags})
	}
	s3c := s3.NewFromConfig(a.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := func(name string, tags map[string]string) {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(name)}); err != nil {
			t.Fatal(err)
		}
		if len(tags) > 0 {
			var ts []s3types.Tag
			for k, v := range tags {
				ts = append(ts, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
			}
			if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: awssdk.String(name), Tagging: &s3types.Tagging{TagSet: ts}}); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, foreign{"s3", name, tags})
	}
	gce := func(name string, labels map[string]string) {
		if _, err := h.GCE.AddInstance(gcpProject, "us-central1-a", &compute.Instance{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
		out = append(out, foreign{"gce", name, labels})
	}
	gcs := func(name string, labels map[string]string) {
		h.GCS.CreateBucket(name, "US", labels)
		out = append(out, foreign{"gcs", name, labels})
	}
	with := func(o providers.Owner, addr string, extra ...string) map[string]string {
		o.Address = addr
		tags := o.Tags()
		for i := 0; i+1 < len(extra); i += 2 {
			tags[extra[i]] = extra[i+1]
		}
		return tags
	}
	labels := func(o providers.Owner, addr string) map[string]string {
		o.Address = addr
		return o.Labels()
	}
	// 20 owned by no state.
	for i := range 6 {
		instance(map[string]string{"Name": fmt.Sprintf("hand-made-%d", i)})
	}
	for i := range 4 {
		instance(with(legacy, "cluster.train", "skyplan-node-index", fmt.Sprint(i)))
	}
	for i := range 4 {
		bucket(fmt.Sprintf("%s-untagged-%d", ws, i), nil)
	}
	for i := range 3 {
		gce(fmt.Sprintf("hand-made-%s-%d", ws, i), map[string]string{"team": "other"})
	}
	for i := range 3 {
		gcs(fmt.Sprintf("%s-unlabelled-%d", ws, i), nil)
	}
	// 10 of another state in the same workspace, at the spec's addresses
	// where names allow (GCE names are per address and workspace).
	for i := range 2 {
		instance(with(other, "cluster.train", "skyplan-node-index", fmt.Sprint(i)))
	}
	instance(with(other, "cluster.eval", "skyplan-node-index", "0"))
	instance(with(other, "cluster.serve", "skyplan-node-index", "0"))
	bucket(ws+"-other-data", with(other, "bucket.data"))
	bucket(ws+"-other-ckpt", with(other, "bucket.ckpt"))
	gce(fmt.Sprintf("other-%s-0", ws), labels(other, "cluster.other"))
	gce(fmt.Sprintf("other-%s-1", ws), labels(other, "cluster.other"))
	gcs(ws+"-other-gcs", labels(other, "bucket.gcs"))
	gcs(ws+"-other-more", labels(other, "bucket.more"))
	if len(out) != 30 {
		t.Fatalf("seeded %d objects, want 30", len(out))
	}
	return out
}

// survivors counts the foreign objects that still exist with the tags they
// were made with, and lists the others.
func survivors(t *testing.T, h *Harness, objs []foreign) (int, []string) {
	t.Helper()
	ctx := context.Background()
	n := 0
	var lost []string
	for _, o := range objs {
		var have map[string]string
		exists := false
		switch o.kind {
		case "ec2":
			out, err := h.aws.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{o.id}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Reservations {
				for _, inst := range r.Instances {
					exists = inst.State != nil && inst.State.Name == ec2types.InstanceStateNameRunning
					have = map[string]string{}
					for _, tag := range inst.Tags {
						have[awssdk.ToString(tag.Key)] = awssdk.ToString(tag.Value)
					}
				}
			}
		case "s3":
			var err error
			if have, exists, err = h.aws.bucketTags(ctx, o.id); err != nil {
				t.Fatal(err)
			}
		case "gce":
			if inst := h.GCE.Instance(gcpProject, "us-central1-a", o.id); inst != nil {
				exists, have = true, inst.Labels
			}
		case "gcs":
			exists, have = h.GCS.BucketExists(o.id), h.GCS.BucketLabels(o.id)
		}
		if len(have) == 0 {
			have = nil
		}
		want := o.tags
		if len(want) == 0 {
			want = nil
		}
		if exists && maps.Equal(have, want) {
			n++
		} else {
			lost = append(lost, fmt.Sprintf("%s %s (exists %v, tags %v, want %v)", o.kind, o.id, exists, have, want))
		}
	}
	return n, lost
}

// 20 objects no state owns and 10 of another state in the same workspace
// survive this state's apply, plan and destroy untouched, and this
// state's own objects are all destroyed.
func TestForeignObjectsSurviveDestroy(t *testing.T) {
	h := start(t)
	s := newSpec(t, h, OnAWS|OnGCP, "foreign")
	objs := seedForeign(t, h, s.Workspace)
	mustRun(t, h, s, Kill{}, []int{0}, "apply", "--auto-approve")
	converged(t, h, s)
	destroyed(t, h, s)
	n, lost := survivors(t, h, objs)
	if n != len(objs) {
		t.Errorf("%d of %d foreign objects survive untouched; changed or gone:\n%v", n, len(objs), lost)
	}
	t.Logf("%d of %d foreign objects (20 of no state, 10 of another) survive apply and destroy untouched", n, len(objs))
}
