package aws

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/providers"
)

// proxied is a provider whose calls go through a fault-injecting proxy in
// front of moto.
func proxied(t *testing.T, ws string) (*Provider, *cloudproxy.Proxy) {
	t.Helper()
	needMoto(t)
	px := cloudproxy.ForTest(t, moto.Endpoint)
	return newProvider(t, ws, nil, config.WithBaseEndpoint(px.URL)), px
}

// liveInWorkspace lists the live instances with the workspace's tag.
func liveInWorkspace(t *testing.T, ws string) []ec2types.Instance {
	t.Helper()
	all, err := describeAll(context.Background(), rawEC2(t, "us-east-1"), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		filter("tag:"+providers.TagWorkspace, ws), filter("instance-state-name", liveStates...)}})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// A launch whose answer is lost after EC2 acted is not launched again
// (moto ignores ClientToken, as EC2 does once a token expires): the node
// is found by its tags and adopted.
func TestLostLaunchAnswerIsAdopted(t *testing.T) {
	ws := unique("lostlaunch")
	p, px := proxied(t, ws)
	px.AddFault(cloudproxy.Fault{Ops: []string{"ec2:RunInstances"}, Drop: true, Times: 1, Fraction: 1})
	var notes []string
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, StateID: "lineage-1",
		Address: "cluster.train", Type: "cluster", Desired: clusterAttrs(2), Progress: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	live := liveInWorkspace(t, ws)
	if len(live) != 2 || len(res.IDs) != 2 {
		t.Fatalf("%d live instance(s), %d in the result (%v); want 2 and 2", len(live), len(res.IDs), res.IDs)
	}
	if n := px.Counts()["ec2:RunInstances"]; n != 2 {
		t.Errorf("%d RunInstances calls; want 2 (one per node, the lost one not repeated)", n)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "the answer to launching node 0 was lost, but it was launched") {
		t.Errorf("progress does not say the lost launch was adopted:\n%s", strings.Join(notes, "\n"))
	}
}

// A launch refused with a 5xx or throttling before EC2 acted is looked up,
// not found, and tried again: one node, one more call.
func TestFailedLaunchIsLookedUpAndRetried(t *testing.T) {
	for _, fault := range []cloudproxy.APIError{cloudproxy.EC2InternalError, cloudproxy.EC2RequestLimitExceeded} {
		t.Run(fault.Code, func(t *testing.T) {
			ws := unique("retrylaunch")
			p, px := proxied(t, ws)
			px.AddFault(cloudproxy.Fault{Ops: []string{"ec2:RunInstances"}, Error: &fault, Times: 2, Fraction: 1})
			applyCluster(t, p, ws, "cluster.train", providers.OpCreate, clusterAttrs(1), nil)
			if live := liveInWorkspace(t, ws); len(live) != 1 {
				t.Fatalf("%d live instance(s), want 1", len(live))
			}
			if n := px.Counts()["ec2:RunInstances"]; n != 3 {
				t.Errorf("%d RunInstances calls; want 3 (two refused, one launch)", n)
			}
		})
	}
}

// A launch refused for good (a 4xx) is not retried.
func TestRefusedLaunchIsNotRetried(t *testing.T) {
	ws := unique("refusedlaunch")
	p, px := proxied(t, ws)
	capacity := cloudproxy.APIError{Status: 400, Code: "InsufficientInstanceCapacity", Message: "We currently do not have sufficient capacity."}
	px.AddFault(cloudproxy.Fault{Ops: []string{"ec2:RunInstances"}, Error: &capacity, Fraction: 1})
	_, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.train", Type: "cluster", Desired: clusterAttrs(1)})
	if err == nil || !strings.Contains(err.Error(), "InsufficientInstanceCapacity") {
		t.Fatalf("err = %v, want InsufficientInstanceCapacity", err)
	}
	if n := px.Counts()["ec2:RunInstances"]; n != 1 {
		t.Errorf("%d RunInstances calls; want 1", n)
	}
}

// A bucket create whose answer is lost is adopted, in us-east-1 (where S3
// answers a repeated create with success) and elsewhere (where it answers
// BucketAlreadyOwnedByYou), and tagged with this state's ownership.
func TestLostBucketCreateAnswerIsAdopted(t *testing.T) {
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		t.Run(region, func(t *testing.T) {
			ws := unique("lostbucket")
			p, px := proxied(t, ws)
			px.AddFault(cloudproxy.Fault{Ops: []string{"s3:CreateBucket"}, Drop: true, Times: 1, Fraction: 1})
			name := unique("skyplan-lost")
			d := bucketAttrs(name)
			d["region"] = region
			res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, StateID: "lineage-1",
				Address: "bucket.data", Type: "bucket", Desired: d})
			if err != nil {
				t.Fatal(err)
			}
			if res == nil || len(res.IDs) != 1 || res.IDs[0] != name {
				t.Fatalf("result %+v, want bucket %s", res, name)
			}
			tags, exists, err := bucketTags(context.Background(), rawS3(t, region), name)
			if err != nil || !exists {
				t.Fatalf("bucket %s: exists %v, %v", name, exists, err)
			}
			if o, ok := providers.OwnerOfTags(tags); !ok || o.StateID != "lineage-1" || o.Address != "bucket.data" {
				t.Errorf("bucket tags %v, want this state's ownership", tags)
			}
			if n := px.Counts()["s3:CreateBucket"]; n != 1 {
				t.Errorf("%d CreateBucket calls; want 1 (the lost one found, not repeated)", n)
			}
		})
	}
}

// A bucket that another state's create made while this create's answer was
// lost is not taken.
func TestLostBucketCreateAnswerRefusesAnotherStatesBucket(t *testing.T) {
	ws := unique("lostforeign")
	p, px := proxied(t, ws)
	name := unique("skyplan-raced")
	raw := rawS3(t, "us-east-1")
	// The proxy answers 503 without forwarding; meanwhile another state makes the bucket.
	px.AddFault(cloudproxy.Fault{Ops: []string{"s3:CreateBucket"}, Error: &cloudproxy.S3SlowDown, Times: 1, Fraction: 1})
	px.OnCall(func(c cloudproxy.Call) {
		if c.Op.String() == "s3:CreateBucket" && c.Injected != "" {
			other, err := newProvider(t, ws, nil).Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws,
				StateID: "lineage-other", Address: "bucket.data", Type: "bucket", Desired: bucketAttrs(name)})
			if err != nil || other == nil {
				t.Errorf("the other state's create: %v", err)
			}
		}
	})
	_, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, StateID: "lineage-mine",
		Address: "bucket.data", Type: "bucket", Desired: bucketAttrs(name)})
	if err == nil || !providers.IsRefused(err) || !strings.Contains(err.Error(), "is not owned by") {
		t.Fatalf("err = %v, want a refusal naming the owner", err)
	}
	tags, _, _ := bucketTags(context.Background(), raw, name)
	if tags[providers.TagState] != "lineage-other" {
		t.Errorf("the other state's bucket was tagged as this state's: %v", tags)
	}
}
