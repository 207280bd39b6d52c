package cloudproxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/skyplan/skyplan/internal/gcpfake"
)

func signed(method, target, service, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-south-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
	return r
}

func TestClassify(t *testing.T) {
	copyReq := signed("PUT", "/b/k", "s3", "")
	copyReq.Header.Set("X-Amz-Copy-Source", "/b/other")
	tests := []struct {
		r    *http.Request
		body string
		want Op
	}{
		{signed("POST", "/", "ec2", ""), "Action=RunInstances&Version=2016-11-15", Op{"ec2", "RunInstances", true}},
		{signed("POST", "/", "ec2", ""), "Action=DescribeInstances&Filter.1.Name=tag%3Ax", Op{"ec2", "DescribeInstances", false}},
		{signed("POST", "/", "sts", ""), "Action=GetCallerIdentity", Op{"sts", "GetCallerIdentity", false}},
		{signed("GET", "/?Action=DescribeRegions", "ec2", ""), "", Op{"ec2", "DescribeRegions", false}},
		{signed("GET", "/", "s3", ""), "", Op{"s3", "ListBuckets", false}},
		{signed("PUT", "/b", "s3", ""), "", Op{"s3", "CreateBucket", true}},
		{signed("HEAD", "/b", "s3", ""), "", Op{"s3", "HeadBucket", false}},
		{signed("DELETE", "/b", "s3", ""), "", Op{"s3", "DeleteBucket", true}},
		{signed("PUT", "/b?tagging", "s3", ""), "", Op{"s3", "PutBucketTagging", true}},
		{signed("GET", "/b?tagging", "s3", ""), "", Op{"s3", "GetBucketTagging", false}},
		{signed("DELETE", "/b?tagging", "s3", ""), "", Op{"s3", "DeleteBucketTagging", true}},
		{signed("PUT", "/b?publicAccessBlock", "s3", ""), "", Op{"s3", "PutBucketPublicAccessBlock", true}},
		{signed("GET", "/b?versioning", "s3", ""), "", Op{"s3", "GetBucketVersioning", false}},
		{signed("GET", "/b?list-type=2&prefix=x", "s3", ""), "", Op{"s3", "ListObjectsV2", false}},
		{signed("GET", "/b?versions", "s3", ""), "", Op{"s3", "ListObjectVersions", false}},
		{signed("POST", "/b?delete", "s3", ""), "", Op{"s3", "DeleteObjects", true}},
		{signed("GET", "/b/skyplan/state.json", "s3", ""), "", Op{"s3", "GetObject", false}},
		{signed("PUT", "/b/skyplan/state.json", "s3", ""), "", Op{"s3", "PutObject", true}},
		{signed("HEAD", "/b/k", "s3", ""), "", Op{"s3", "HeadObject", false}},
		{signed("DELETE", "/b/k", "s3", ""), "", Op{"s3", "DeleteObject", true}},
		{signed("PUT", "/b/k?tagging", "s3", ""), "", Op{"s3", "PutObjectTagging", true}},
		{copyReq, "", Op{"s3", "CopyObject", true}},
		{httptest.NewRequest("POST", "/compute/v1/projects/p/zones/us-central1-a/instances", nil), "", Op{"compute", "instances.insert", true}},
		{httptest.NewRequest("POST", "/compute/v1/projects/p/zones/us-central1-a/instances/vm/setLabels", nil), "", Op{"compute", "instances.setLabels", true}},
		{httptest.NewRequest("GET", "/compute/v1/projects/p/aggregated/instances", nil), "", Op{"compute", "instances.aggregatedList", false}},
		{httptest.NewRequest("GET", "/v2/projects/p/locations/-/nodes", nil), "", Op{"tpu", "nodes.list", false}},
		{httptest.NewRequest("PATCH", "/v2/projects/p/locations/z/nodes/n", nil), "", Op{"tpu", "nodes.patch", true}},
		{httptest.NewRequest("DELETE", "/elsewhere/x", nil), "", Op{"http", "DELETE /elsewhere/x", true}},
	}
	for _, tt := range tests {
		if got := Classify(tt.r, []byte(tt.body)); got != tt.want {
			t.Errorf("%s %s %q: got %+v, want %+v", tt.r.Method, tt.r.URL, tt.body, got, tt.want)
		}
	}
}

// TestCountsGoogleCalls puts the proxy in front of the Compute Engine fake.
func TestCountsGoogleCalls(t *testing.T) {
	fake, err := gcpfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.OperationPolls = 0
	p := ForTest(t, fake.URL)
	c, err := compute.NewService(context.Background(), option.WithEndpoint(p.URL+"/compute/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	vm := &compute.Instance{Name: "a", MachineType: "zones/us-central1-a/machineTypes/n2-standard-4",
		Disks: []*compute.AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &compute.AttachedDiskInitializeParams{
			SourceImage: "projects/debian-cloud/global/images/family/debian-12"}}},
		NetworkInterfaces: []*compute.NetworkInterface{{}}}
	if _, err := c.Instances.Insert("p", "us-central1-a", vm).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instances.AggregatedList("p").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instances.Get("p", "us-central1-a", "a").Do(); err != nil {
		t.Fatal(err)
	}
	p.AddFault(Fault{Ops: []string{"compute:instances.get"}, Fraction: 1, Error: &APIError{503, "backendError", "Backend Error"}})
	_, err = c.Instances.Get("p", "us-central1-a", "a").Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 503 || len(gerr.Errors) != 1 || gerr.Errors[0].Reason != "backendError" {
		t.Errorf("faulted get: %v, want a 503 backendError", err)
	}
	want := map[string]int{"compute:instances.insert": 1, "compute:instances.aggregatedList": 1, "compute:instances.get": 2}
	if diff := cmp.Diff(want, p.Counts()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestUpstreamTime(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
	}))
	defer slow.Close()
	p := ForTest(t, slow.URL)
	for range 2 {
		resp, err := http.Get(p.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Lower bounds only: each request sleeps 60ms at the upstream.
	snap := p.Snapshot()
	if snap.Upstream < 120*time.Millisecond || snap.UpstreamBusy < 120*time.Millisecond {
		t.Errorf("upstream %s, busy %s; want both at least 120ms", snap.Upstream, snap.UpstreamBusy)
	}
	if snap.Calls["http:GET /x"] != 2 {
		t.Errorf("counts %v", snap.Calls)
	}
}
