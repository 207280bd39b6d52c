package aws

import (
	"context"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

type bucketSpec struct {
	name       string
	region     string
	versioning bool
	labels     map[string]string
}

func (p *Provider) parseBucketSpec(ctx context.Context, addr string, d state.Attrs) (bucketSpec, error) {
	s := bucketSpec{
		name:       d.String("name"),
		region:     d.String("region"),
		versioning: d.Bool("versioning"),
		labels:     d.StringMap("labels"),
	}
	if s.name == "" {
		return s, fmt.Errorf("%s: name is not set", addr)
	}
	if err := providers.Refuse(addr, Validate(spec.TypeBucket, d)); err != nil {
		return s, err
	}
	if s.region == "" {
		s.region = p.defaultRegion(ctx)
	}
	return s, nil
}

// bucketTags reads a bucket's tags. exists is false when there is no such
// bucket; a bucket without tags exists with an empty map.
func bucketTags(ctx context.Context, client *s3.Client, name string) (tags map[string]string, exists bool, err error) {
	out, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: awssdk.String(name)})
	switch {
	case err == nil:
		tags = map[string]string{}
		for _, t := range out.TagSet {
			tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
		}
		return tags, true, nil
	case hasCode(err, "NoSuchTagSet"):
		return map[string]string{}, true, nil
	case hasCode(err, "NoSuchBucket"):
		return nil, false, nil
	}
	return nil, false, err
}

// ownsBucket reports whether a bucket's tags make it the request's: this
// state's (providers.ApplyRequest.Owns), or — for a create completing an
// interrupted one — a bucket with no skyplan tags at all, which that create
// made just before the run died and never tagged.
func ownsBucket(req providers.ApplyRequest, name string, tags map[string]string) bool {
	if o, ok := providers.OwnerOfTags(tags); ok {
		return req.Owns(o)
	}
	return req.CompletesIntent("name", name) || req.ImportID == name
}

// notOwnedError explains why skyplan refuses to touch an existing bucket.
func notOwnedError(req providers.ApplyRequest, name string, tags map[string]string) error {
	who := "it has no skyplan ownership tags"
	if o, ok := providers.OwnerOfTags(tags); ok {
		who = describeOwner(o, req.Owner())
	}
	return providers.Refused(fmt.Errorf("%s: bucket %q already exists and is not owned by %s of this state in workspace %q (%s); skyplan will not change or delete it: choose another name, or import it (skyplan import %s %s)",
		req.Address, name, req.Address, req.Workspace, who, req.Address, name))
}

// describeOwner says whose an object is, next to who asks.
func describeOwner(o, asking providers.Owner) string {
	switch {
	case o.StateID != "" && o.StateID != asking.StateID:
		return fmt.Sprintf("it belongs to %s of another state (lineage %s) in workspace %q", o.Address, o.StateID, o.Workspace)
	case o.StateID == "":
		return fmt.Sprintf("it belongs to %s in workspace %q, made before skyplan tagged objects with their state", o.Address, o.Workspace)
	}
	return fmt.Sprintf("it belongs to %s in workspace %q", o.Address, o.Workspace)
}

// accessError turns a refused tag read on someone's bucket into a clear error.
func accessError(addr, name, region string, err error) error {
	if hasCode(err, "AccessDenied", "Forbidden", "AllAccessDisabled") {
		return fmt.Errorf("%s: bucket %q exists but its tags cannot be read (%s): it likely belongs to another AWS account; choose another name",
			addr, name, errorCode(err))
	}
	return wrapErr(addr, "GetBucketTagging "+name, region, err)
}

func (p *Provider) applyBucket(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Op == providers.OpDelete {
		return p.deleteBucket(ctx, req)
	}
	s, err := p.parseBucketSpec(ctx, req.Address, req.Desired)
	if err != nil {
		return nil, providers.Refused(err)
	}
	client, err := p.s3Client(ctx, s.region)
	if err != nil {
		return nil, err
	}
	tags, exists, err := bucketTags(ctx, client, s.name)
	if err != nil {
		return nil, accessError(req.Address, s.name, s.region, err)
	}
	if exists && !ownsBucket(req, s.name, tags) {
		return nil, notOwnedError(req, s.name, tags)
	}
	if !exists && req.Op == providers.OpUpdate {
		return nil, fmt.Errorf("%s: bucket %q does not exist in %s any more; run plan again to recreate it", req.Address, s.name, s.region)
	}
	want := req.Owner().Tags()
	for k, v := range s.labels {
		want[k] = v
	}
	if !exists {
		req.Report("%s: creating bucket %s in %s", req.Address, s.name, s.region)
		if err := p.createBucket(ctx, client, req, s, want); err != nil {
			return nil, err
		}
	}
	res := bucketResource(req.Address, s.name, s.region, s.versioning, s.labels, req.Desired)
	// Tags again even after a tagged create: emulators ignore create-time tags.
	if _, err := client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
		Bucket: awssdk.String(s.name), Tagging: &s3types.Tagging{TagSet: s3Tags(want)},
	}); err != nil {
		return res, wrapErr(req.Address, "PutBucketTagging "+s.name, s.region, err)
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: awssdk.String(s.name)})
	if err != nil {
		return res, wrapErr(req.Address, "GetBucketVersioning "+s.name, s.region, err)
	}
	enabled := ver.Status == s3types.BucketVersioningStatusEnabled
	if enabled != s.versioning {
		status := s3types.BucketVersioningStatusSuspended
		if s.versioning {
			status = s3types.BucketVersioningStatusEnabled
		}
		if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket: awssdk.String(s.name), VersioningConfiguration: &s3types.VersioningConfiguration{Status: status},
		}); err != nil {
			res.Attrs["versioning"] = enabled
			return res, wrapErr(req.Address, "PutBucketVersioning "+s.name, s.region, err)
		}
	}
	return res, nil
}

func (p *Provider) createBucket(ctx context.Context, client *s3.Client, req providers.ApplyRequest, s bucketSpec, tags map[string]string) error {
	create := func(withTags bool) func(context.Context) (struct{}, error) {
		in := &s3.CreateBucketInput{Bucket: awssdk.String(s.name)}
		cfg := &s3types.CreateBucketConfiguration{}
		if s.region != "us-east-1" {
			cfg.LocationConstraint = s3types.BucketLocationConstraint(s.region)
		}
		if withTags {
			// Tagged at birth, a crash before PutBucketTagging cannot leave
			// an unowned-looking bucket behind.
			cfg.Tags = s3Tags(tags)
		}
		if cfg.LocationConstraint != "" || cfg.Tags != nil {
			in.CreateBucketConfiguration = cfg
		}
		return func(ctx context.Context) (struct{}, error) {
			_, err := client.CreateBucket(ctx, in, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
			return struct{}{}, err
		}
	}
	// After an answer that may hide a success, a bucket of this name that
	// exists now is the one this run made: it did not exist when apply
	// looked, just before, and a bucket another run made would carry tags.
	// (A repeated CreateBucket would not say: us-east-1 answers it with
	// success, other regions with BucketAlreadyOwnedByYou.)
	lost := false
	found := func(ctx context.Context) (struct{}, bool, error) {
		lost = true
		have, exists, err := bucketTags(ctx, client, s.name)
		switch {
		case err != nil:
			return struct{}{}, false, accessError(req.Address, s.name, s.region, err)
		case !exists:
			return struct{}{}, false, nil
		case !madeByThisRun(req, s.name, have):
			return struct{}{}, false, notOwnedError(req, s.name, have)
		}
		req.Report("%s: the answer to creating bucket %s was lost, but it was created", req.Address, s.name)
		return struct{}{}, true, nil
	}
	retryer := client.Options().Retryer
	_, err := createOnce(ctx, retryer, create(true), found)
	if hasCode(err, "AccessDenied") {
		// Tagging at creation needs s3:TagResource, which older policies lack.
		_, err = createOnce(ctx, retryer, create(false), found)
	}
	switch {
	case err == nil:
		return nil
	case hasCode(err, "BucketAlreadyOwnedByYou"):
		// Created concurrently, or by this run's try whose answer was lost.
		have, _, terr := bucketTags(ctx, client, s.name)
		if terr != nil {
			return accessError(req.Address, s.name, s.region, terr)
		}
		if !ownsBucket(req, s.name, have) && !(lost && madeByThisRun(req, s.name, have)) {
			return notOwnedError(req, s.name, have)
		}
		return nil
	case hasCode(err, "BucketAlreadyExists"):
		return providers.Refused(fmt.Errorf("%s: bucket name %q is taken by another AWS account (S3 names are global); choose another name", req.Address, s.name))
	}
	if providers.IsRefused(err) {
		return err
	}
	return wrapErr(req.Address, "CreateBucket "+s.name, s.region, err)
}

// madeByThisRun reports whether a bucket found after a create whose answer
// was lost may be the one that create made: ours by its tags, or without
// any skyplan tags (moto, and S3 without s3:TagResource, ignore tags given
// at creation).
func madeByThisRun(req providers.ApplyRequest, name string, tags map[string]string) bool {
	if _, tagged := providers.OwnerOfTags(tags); !tagged {
		return true
	}
	return ownsBucket(req, name, tags)
}

func s3Tags(m map[string]string) []s3types.Tag {
	out := make([]s3types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}

// bucketResource builds the resource; base (desired or prior attributes)
// keeps what S3 does not report, such as force_destroy.
func bucketResource(addr, name, region string, versioning bool, labels map[string]string, base state.Attrs) *state.Resource {
	if labels == nil {
		labels = map[string]string{}
	}
	attrs := providers.Overlay(base, map[string]any{"cloud": CloudName, "name": name, "region": region, "versioning": versioning, "labels": labels})
	return &state.Resource{Address: addr, Type: spec.AddressType(addr), Cloud: CloudName, IDs: []string{name}, Attrs: attrs}
}

func (p *Provider) deleteBucket(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Prior == nil {
		return nil, fmt.Errorf("%s: delete needs the prior state of the bucket", req.Address)
	}
	name := req.Prior.Attrs.String("name")
	if name == "" && len(req.Prior.IDs) > 0 {
		name = req.Prior.IDs[0]
	}
	if name == "" {
		return req.Prior, fmt.Errorf("%s: prior state names no bucket", req.Address)
	}
	region := req.Prior.Attrs.String("region")
	if region == "" {
		region = p.defaultRegion(ctx)
	}
	force := req.Prior.Attrs.Bool("force_destroy") || req.Desired.Bool("force_destroy")
	client, err := p.s3Client(ctx, region)
	if err != nil {
		return req.Prior, err
	}
	tags, exists, err := bucketTags(ctx, client, name)
	if err != nil {
		return req.Prior, accessError(req.Address, name, region, err)
	}
	if !exists {
		return nil, nil
	}
	if !ownsBucket(req, name, tags) {
		return req.Prior, notOwnedError(req, name, tags)
	}
	probe, err := client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: awssdk.String(name), MaxKeys: awssdk.Int32(1)})
	if err != nil {
		return req.Prior, wrapErr(req.Address, "ListObjectVersions "+name, region, err)
	}
	if len(probe.Versions)+len(probe.DeleteMarkers) > 0 {
		if !force {
			return req.Prior, fmt.Errorf("%s: bucket %q is not empty; delete its objects first, or set force_destroy = true (and apply) to let skyplan delete them", req.Address, name)
		}
		req.Report("%s: force_destroy: deleting every object version in %s", req.Address, name)
		if err := emptyBucket(ctx, client, name); err != nil {
			return req.Prior, wrapErr(req.Address, "emptying bucket "+name, region, err)
		}
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: awssdk.String(name)}); err != nil && !hasCode(err, "NoSuchBucket") {
		return req.Prior, wrapErr(req.Address, "DeleteBucket "+name, region, err)
	}
	return nil, nil
}

// emptyBucket deletes every object version and delete marker, a page (at
// most 1000 keys, DeleteObjects' limit) at a time. It lists again until a
// pass finds nothing: some servers (moto) lose the page marker once the
// keys before it are deleted.
func emptyBucket(ctx context.Context, client *s3.Client, name string) error {
	for {
		deleted, err := deleteListedVersions(ctx, client, name)
		if err != nil || deleted == 0 {
			return err
		}
	}
}

func deleteListedVersions(ctx context.Context, client *s3.Client, name string) (int, error) {
	deleted := 0
	pages := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: awssdk.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return deleted, err
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		out, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: awssdk.String(name), Delete: &s3types.Delete{Objects: ids, Quiet: awssdk.Bool(true)},
		})
		if err != nil {
			return deleted, err
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return deleted, fmt.Errorf("DeleteObjects: %d object(s) not deleted, first %q: %s: %s",
				len(out.Errors), awssdk.ToString(e.Key), awssdk.ToString(e.Code), awssdk.ToString(e.Message))
		}
		deleted += len(ids)
	}
	return deleted, nil
}

// observeBuckets lists every bucket once and keeps the ones whose tags say
// this workspace owns them. Per-bucket reads run a few at a time.
func (p *Provider) observeBuckets(ctx context.Context, workspace string) ([]*state.Resource, error) {
	region := p.defaultRegion(ctx)
	client, err := p.s3Client(ctx, region)
	if err != nil {
		return nil, err
	}
	var buckets []s3types.Bucket
	// At the largest page S3 gives: 10,000 buckets.
	pages := s3.NewListBucketsPaginator(client, &s3.ListBucketsInput{MaxBuckets: awssdk.Int32(10000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapErr("", "ListBuckets", region, err)
		}
		buckets = append(buckets, page.Buckets...)
	}
	found := make([]*state.Resource, len(buckets))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, b := range buckets {
		g.Go(providers.Safely(func() error {
			r, err := p.observeBucket(gctx, b, region, workspace)
			found[i] = r
			return err
		}))
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []*state.Resource
	for _, r := range found {
		if r != nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func (p *Provider) observeBucket(ctx context.Context, b s3types.Bucket, defaultRegion, workspace string) (*state.Resource, error) {
	name := awssdk.ToString(b.Name)
	region := awssdk.ToString(b.BucketRegion) // real S3 says; emulators may not
	if region == "" {
		region = defaultRegion
	}
	client, err := p.s3Client(ctx, region)
	if err != nil {
		return nil, err
	}
	tags, exists, err := bucketTags(ctx, client, name)
	if hasCode(err, "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException") {
		// Asked the wrong region: find the bucket's and ask again.
		if region, err = bucketRegion(ctx, client, name); err == nil {
			if client, err = p.s3Client(ctx, region); err == nil {
				tags, exists, err = bucketTags(ctx, client, name)
			}
		}
	}
	if err != nil {
		if hasCode(err, "AccessDenied", "Forbidden", "AllAccessDisabled", "NoSuchBucket") {
			return nil, nil // not ours to read, or deleted meanwhile
		}
		return nil, wrapErr("", "GetBucketTagging "+name, region, err)
	}
	owner, ok := providers.OwnerOfTags(tags)
	if !exists || !ok || owner.Workspace != workspace || owner.Address == "" {
		return nil, nil
	}
	if b.BucketRegion == nil {
		if region, err = bucketRegion(ctx, client, name); err != nil {
			return nil, wrapErr(owner.Address, "GetBucketLocation "+name, region, err)
		}
		if client, err = p.s3Client(ctx, region); err != nil {
			return nil, err
		}
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: awssdk.String(name)})
	if err != nil {
		return nil, wrapErr(owner.Address, "GetBucketVersioning "+name, region, err)
	}
	r := bucketResource(owner.Address, name, region, ver.Status == s3types.BucketVersioningStatusEnabled, userLabels(tags), nil)
	r.StateID = owner.StateID
	return r, nil
}

// bucketRegion asks S3 where a bucket lives ("" means us-east-1, "EU" eu-west-1).
func bucketRegion(ctx context.Context, client *s3.Client, name string) (string, error) {
	out, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: awssdk.String(name)})
	if err != nil {
		return "", err
	}
	switch loc := string(out.LocationConstraint); loc {
	case "":
		return "us-east-1", nil
	case "EU":
		return "eu-west-1", nil
	default:
		return loc, nil
	}
}
