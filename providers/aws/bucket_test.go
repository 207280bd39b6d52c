package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func bucketAttrs(name string) map[string]any {
	return map[string]any{"cloud": "aws", "name": name, "region": "us-east-1", "versioning": false, "force_destroy": false}
}

func applyBucket(t *testing.T, p *Provider, ws, addr string, op providers.Operation, desired state.Attrs, prior *state.Resource) (*state.Resource, error) {
	t.Helper()
	return p.Apply(testCtx(t), providers.ApplyRequest{Op: op, Workspace: ws, Address: addr, Type: spec.TypeBucket, Desired: desired, Prior: prior})
}

func putObject(t *testing.T, client *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func bucketExists(t *testing.T, client *s3.Client, name string) bool {
	t.Helper()
	_, err := client.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: awssdk.String(name)})
	return err == nil
}

func TestBucketObservedAttributes(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, map[string]any{"regions": []string{"us-east-1"}})
	name := unique("skyplan-obs")
	d := bucketAttrs(name)
	d["region"], d["versioning"], d["labels"] = "eu-west-1", true, map[string]string{"team": "ml"}
	created, err := applyBucket(t, p, ws, "bucket.data", providers.OpCreate, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{name}, created.IDs); diff != "" {
		t.Errorf("IDs:\n%s", diff)
	}
	got := observeAddr(t, p, ws, "bucket.data")
	if got == nil {
		t.Fatal("bucket not observed")
	}
	want := state.Attrs{"cloud": "aws", "name": name, "region": "eu-west-1", "versioning": true, "labels": map[string]string{"team": "ml"}}
	if diff := cmp.Diff(want, got.Attrs); diff != "" {
		t.Errorf("observed bucket attributes (-want +got):\n%s", diff)
	}
	if got.Type != spec.TypeBucket {
		t.Errorf("type = %q", got.Type)
	}
	// Suspending versioning is an in-place update.
	d["versioning"] = false
	if _, err := applyBucket(t, p, ws, "bucket.data", providers.OpUpdate, d, created); err != nil {
		t.Fatal(err)
	}
	if v := observeAddr(t, p, ws, "bucket.data").Attrs["versioning"]; v != false {
		t.Errorf("versioning after suspending = %v", v)
	}
	// A retried create adopts the bucket it already made.
	if _, err := applyBucket(t, p, ws, "bucket.data", providers.OpCreate, d, nil); err != nil {
		t.Errorf("retried create of our own bucket: %v", err)
	}
}

func TestBucketNonEmptyDeleteRefusedUnlessForceDestroy(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawS3(t, "us-east-1")
	name := unique("skyplan-full")
	d := bucketAttrs(name)
	d["versioning"] = true
	res, err := applyBucket(t, p, ws, "bucket.full", providers.OpCreate, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, raw, name, "a.txt", "one")
	putObject(t, raw, name, "a.txt", "two") // a second version
	putObject(t, raw, name, "b.txt", "x")
	if _, err := raw.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: awssdk.String(name), Key: awssdk.String("b.txt")}); err != nil {
		t.Fatal(err) // leaves a delete marker
	}

	_, err = applyBucket(t, p, ws, "bucket.full", providers.OpDelete, nil, res)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "force_destroy") || !strings.Contains(err.Error(), "bucket.full") {
		t.Fatalf("deleting a non-empty bucket: err = %v; want a refusal naming force_destroy", err)
	}
	if !bucketExists(t, raw, name) {
		t.Fatal("refused delete still removed the bucket")
	}

	res.Attrs["force_destroy"] = true
	if _, err := applyBucket(t, p, ws, "bucket.full", providers.OpDelete, nil, res); err != nil {
		t.Fatalf("force_destroy delete: %v", err)
	}
	if bucketExists(t, raw, name) {
		t.Fatal("bucket still exists after force_destroy delete")
	}
	// Deleting again (state lagging behind) is not an error.
	if _, err := applyBucket(t, p, ws, "bucket.full", providers.OpDelete, nil, res); err != nil {
		t.Errorf("deleting a bucket that is already gone: %v", err)
	}
}

func TestBucketForceDestroyManyObjects(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawS3(t, "us-east-1")
	name := unique("skyplan-many")
	d := bucketAttrs(name)
	d["force_destroy"] = true
	res, err := applyBucket(t, p, ws, "bucket.many", providers.OpCreate, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	// More than one ListObjectVersions page (1000 keys) on an unversioned bucket.
	for i := 0; i < 1005; i++ {
		putObject(t, raw, name, fmt.Sprintf("k%04d", i), "v")
	}
	if _, err := applyBucket(t, p, ws, "bucket.many", providers.OpDelete, nil, res); err != nil {
		t.Fatalf("force_destroy delete: %v", err)
	}
	if bucketExists(t, raw, name) {
		t.Fatal("bucket still exists")
	}
}

func TestBucketNameClashIsRefused(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawS3(t, "us-east-1")

	// Someone else's bucket (no tags) with the same name.
	name := unique("skyplan-theirs")
	if _, err := raw.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: awssdk.String(name)}); err != nil {
		t.Fatal(err)
	}
	putObject(t, raw, name, "keep.txt", "precious")
	_, err := applyBucket(t, p, ws, "bucket.mine", providers.OpCreate, bucketAttrs(name), nil)
	if err == nil || !strings.Contains(err.Error(), "not owned by bucket.mine") || !strings.Contains(err.Error(), "no skyplan ownership tags") {
		t.Fatalf("create over an unowned bucket: err = %v; want a refusal", err)
	}
	// Nor will delete or update touch it.
	prior := &state.Resource{Address: "bucket.mine", Type: "bucket", Cloud: "aws", IDs: []string{name},
		Attrs: map[string]any{"name": name, "region": "us-east-1", "force_destroy": true}}
	if _, err := applyBucket(t, p, ws, "bucket.mine", providers.OpDelete, nil, prior); err == nil || !strings.Contains(err.Error(), "not owned") {
		t.Fatalf("delete of an unowned bucket: err = %v; want a refusal", err)
	}
	d := bucketAttrs(name)
	d["versioning"] = true
	if _, err := applyBucket(t, p, ws, "bucket.mine", providers.OpUpdate, d, prior); err == nil || !strings.Contains(err.Error(), "not owned") {
		t.Fatalf("update of an unowned bucket: err = %v; want a refusal", err)
	}
	if _, err := raw.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: awssdk.String(name)}); !hasCode(err, "NoSuchTagSet") {
		t.Errorf("the unowned bucket was tagged: %v", err)
	}
	if v, _ := raw.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: awssdk.String(name)}); v != nil && v.Status == s3types.BucketVersioningStatusEnabled {
		t.Error("the unowned bucket's versioning was changed")
	}
	if !bucketExists(t, raw, name) {
		t.Fatal("the unowned bucket was deleted")
	}

	// A bucket another address (or workspace) owns is refused too, naming the owner.
	other := unique("skyplan-other")
	if _, err := applyBucket(t, p, ws, "bucket.first", providers.OpCreate, bucketAttrs(other), nil); err != nil {
		t.Fatal(err)
	}
	_, err = applyBucket(t, p, ws, "bucket.second", providers.OpCreate, bucketAttrs(other), nil)
	if err == nil || !strings.Contains(err.Error(), "bucket.first") {
		t.Fatalf("create over another address's bucket: err = %v; want it to name bucket.first", err)
	}
	p2 := newProvider(t, "ws-other", nil)
	if _, err := applyBucket(t, p2, "ws-other", "bucket.first", providers.OpCreate, bucketAttrs(other), nil); err == nil || !strings.Contains(err.Error(), ws) {
		t.Fatalf("create over another workspace's bucket: err = %v; want it to name workspace %s", err, ws)
	}
}

func TestBucketUpdateOfMissingBucket(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	name := unique("skyplan-gone")
	_, err := applyBucket(t, p, ws, "bucket.gone", providers.OpUpdate, bucketAttrs(name), &state.Resource{Address: "bucket.gone", IDs: []string{name}})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("update of a missing bucket: err = %v", err)
	}
}
