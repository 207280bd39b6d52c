package aws

import (
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

func TestObserveBatchesOneDescribePerRegion(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, map[string]any{"regions": []string{"us-east-1"}}, log.option())

	east := clusterAttrs(3)
	west := clusterAttrs(2)
	west["region"] = "eu-west-1"
	ctrl := map[string]any{"cloud": "aws", "region": "eu-west-1", "instance_type": "t3.micro", "nodes": int64(1)}
	applyCluster(t, p, ws, "cluster.east", providers.OpCreate, east, nil)
	applyCluster(t, p, ws, "cluster.west", providers.OpCreate, west, nil)
	applyCluster(t, p, ws, "jobs_controller.main", providers.OpCreate, ctrl, nil)
	for _, b := range []string{"one", "two"} {
		if _, err := applyBucket(t, p, ws, "bucket."+b, providers.OpCreate, bucketAttrs(unique("skyplan-"+b)), nil); err != nil {
			t.Fatal(err)
		}
	}

	log.reset()
	got, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: ws, Resources: []providers.ResourceHint{
		{Address: "cluster.east", Type: spec.TypeCluster, Attrs: east},
		{Address: "cluster.west", Type: spec.TypeCluster, Attrs: west},
		{Address: "cluster.elsewhere", Type: spec.TypeCluster, Attrs: map[string]any{"cloud": "gcp", "zone": "us-central1-a"}},
		{Address: "jobs_controller.main", Type: spec.TypeJobsController, Attrs: ctrl},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"us-east-1": 1, "eu-west-1": 1}, log.count("DescribeInstances")); diff != "" {
		t.Errorf("DescribeInstances calls per region (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"us-east-1": 1}, log.count("ListBuckets")); diff != "" {
		t.Errorf("ListBuckets calls (-want +got):\n%s", diff)
	}
	for _, in := range log.inputs("DescribeInstances") {
		if n := awssdk.ToInt32(in.(*ec2.DescribeInstancesInput).MaxResults); n != 1000 {
			t.Errorf("DescribeInstances MaxResults = %d, want 1000", n)
		}
	}
	for _, in := range log.inputs("ListBuckets") {
		if n := awssdk.ToInt32(in.(*s3.ListBucketsInput).MaxBuckets); n != 10000 {
			t.Errorf("ListBuckets MaxBuckets = %d, want 10000", n)
		}
	}
	if n := log.count("RunInstances"); len(n) != 0 {
		t.Errorf("observe launched instances: %v", n)
	}

	summary := map[string]string{}
	for _, r := range got {
		n, _ := r.Attrs.Int("nodes")
		summary[r.Address] = r.Type + "/" + r.Attrs.String("region") + "/" + string(rune('0'+n))
	}
	want := map[string]string{
		"cluster.east":         "cluster/us-east-1/3",
		"cluster.west":         "cluster/eu-west-1/2",
		"jobs_controller.main": "jobs_controller/eu-west-1/1",
		"bucket.one":           "bucket/us-east-1/0",
		"bucket.two":           "bucket/us-east-1/0",
	}
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("observed resources (-want +got):\n%s", diff)
	}
}

func TestObserveWithoutHintsScansCloudRegions(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, map[string]any{"regions": []string{"us-east-1", "ap-south-1"}}, log.option())
	d := clusterAttrs(1)
	d["region"] = "ap-south-1"
	applyCluster(t, p, ws, "cluster.far", providers.OpCreate, d, nil)
	log.reset()
	// State rebuild observes with no hints: the cloud block's regions suffice.
	got := observeAddr(t, p, ws, "cluster.far")
	if got == nil || got.Attrs["region"] != "ap-south-1" {
		t.Fatalf("cluster in ap-south-1 not observed: %+v", got)
	}
	if diff := cmp.Diff(map[string]int{"us-east-1": 1, "ap-south-1": 1}, log.count("DescribeInstances")); diff != "" {
		t.Errorf("DescribeInstances calls per region (-want +got):\n%s", diff)
	}
}

func TestObserveNeedsWorkspace(t *testing.T) {
	p := newProvider(t, "", nil)
	if _, err := p.Observe(testCtx(t), providers.ObserveRequest{}); err == nil {
		t.Fatal("observe without a workspace succeeded")
	}
}
