package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// ownsBucket reports whether a bucket is the request's: this state's by its
// labels, or — for a create completing an interrupted one — a bucket with no
// skyplan labels, which that create made just before the run died.
func ownsBucket(req providers.ApplyRequest, name string, labels map[string]string) bool {
	return ownsLabels(req, labels) || labels[providers.TagManaged] == "" && (req.CompletesIntent("name", name) || req.ImportID == name)
}

// validBucket refuses a bucket GCP's rulebook rejects, before any call.
func validBucket(req providers.ApplyRequest) error {
	if req.Desired.String("name") == "" {
		return fmt.Errorf("%s: name is required", req.Address)
	}
	return providers.Refuse(req.Address, Validate(spec.TypeBucket, req.Desired))
}

func (p *Provider) applyBucket(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Op != providers.OpDelete {
		if err := validBucket(req); err != nil {
			return nil, providers.Refused(err)
		}
	}
	client, err := p.storageClient(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "Cloud Storage client", "storage", err)
	}
	switch req.Op {
	case providers.OpCreate:
		return p.createBucket(ctx, client, req)
	case providers.OpUpdate:
		return p.updateBucket(ctx, client, req, req.Desired.String("name"))
	}
	return nil, p.deleteBucket(ctx, client, req)
}

func (p *Provider) createBucket(ctx context.Context, client *storage.Client, req providers.ApplyRequest) (*state.Resource, error) {
	d := req.Desired
	name, user := d.String("name"), d.StringMap("labels")
	location := d.String("location")
	if location == "" {
		location = "US"
	}
	attrs := &storage.BucketAttrs{
		Location:          location,
		StorageClass:      strings.ToUpper(d.String("storage_class")),
		VersioningEnabled: d.Bool("versioning"),
		Labels:            ownedLabels(req.Owner(), user),
	}
	err := client.Bucket(name).Create(ctx, p.project, attrs)
	if isConflict(err) {
		// Names are global: adopt only our own bucket (a retried create).
		cur, getErr := client.Bucket(name).Attrs(ctx)
		if getErr == nil && ownsBucket(req, name, cur.Labels) {
			return p.updateBucket(ctx, client, req, name)
		}
		return nil, providers.Refused(fmt.Errorf("%s: creating bucket %s (project %s): the name is taken by a bucket this state of skyplan workspace %q does not own (bucket names are global across all projects); choose another name, or import it (skyplan import %s %s)",
			req.Address, name, p.project, req.Workspace, req.Address, name))
	}
	if err != nil {
		return nil, p.apiError(req.Address, fmt.Sprintf("creating bucket %s in %s", name, location), "storage", err)
	}
	return p.readBucket(ctx, client, req.Address, name, d)
}

func (p *Provider) updateBucket(ctx context.Context, client *storage.Client, req providers.ApplyRequest, name string) (*state.Resource, error) {
	d := req.Desired
	user := d.StringMap("labels")
	b := client.Bucket(name)
	cur, err := b.Attrs(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "reading bucket "+name, "storage", err)
	}
	if !ownsBucket(req, name, cur.Labels) {
		return nil, fmt.Errorf("%s: refusing to change bucket %s: it is not labelled as owned by %s of this state in skyplan workspace %q", req.Address, name, req.Address, req.Workspace)
	}
	upd := storage.BucketAttrsToUpdate{VersioningEnabled: d.Bool("versioning")}
	if sc := d.String("storage_class"); sc != "" && !strings.EqualFold(sc, cur.StorageClass) {
		upd.StorageClass = strings.ToUpper(sc)
	}
	want := ownedLabels(req.Owner(), user)
	for k, v := range want {
		if have, ok := cur.Labels[k]; !ok || have != v {
			upd.SetLabel(k, v)
		}
	}
	for k := range cur.Labels {
		if _, ok := want[k]; !ok {
			upd.DeleteLabel(k)
		}
	}
	// Only apply when the bucket's metadata has not changed since it was read.
	if _, err := b.If(storage.BucketConditions{MetagenerationMatch: cur.MetaGeneration}).Update(ctx, upd); err != nil {
		return nil, p.apiError(req.Address, "updating bucket "+name, "storage", err)
	}
	return p.readBucket(ctx, client, req.Address, name, d)
}

func (p *Provider) deleteBucket(ctx context.Context, client *storage.Client, req providers.ApplyRequest) error {
	name := ""
	var prior state.Attrs
	if req.Prior != nil {
		prior = req.Prior.Attrs
		name = prior.String("name")
		if name == "" && len(req.Prior.IDs) > 0 {
			name = req.Prior.IDs[0]
		}
	}
	if name == "" {
		return fmt.Errorf("%s: cannot delete the bucket: the prior state names no bucket", req.Address)
	}
	b := client.Bucket(name)
	cur, err := b.Attrs(ctx)
	if errors.Is(err, storage.ErrBucketNotExist) {
		return nil
	}
	if err != nil {
		return p.apiError(req.Address, "reading bucket "+name, "storage", err)
	}
	if !ownsLabels(req, cur.Labels) {
		return fmt.Errorf("%s: refusing to delete bucket %s: it is not labelled as owned by %s of this state in skyplan workspace %q", req.Address, name, req.Address, req.Workspace)
	}
	force := prior.Bool("force_destroy")
	it := b.Objects(ctx, &storage.Query{Versions: true})
	it.PageInfo().MaxSize = gcsPageSize
	deleted := 0
	for {
		obj, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return p.apiError(req.Address, "listing objects of bucket "+name, "storage", err)
		}
		if !force {
			return fmt.Errorf("%s: bucket %s is not empty (it holds %s, maybe more); set force_destroy = true (and apply) to delete it with its objects, or empty it first", req.Address, name, obj.Name)
		}
		if err := b.Object(obj.Name).Generation(obj.Generation).Delete(ctx); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
			return p.apiError(req.Address, fmt.Sprintf("deleting object %s of bucket %s", obj.Name, name), "storage", err)
		}
		deleted++
	}
	if deleted > 0 {
		req.Report("%s: deleted %d object(s) of bucket %s (force_destroy)", req.Address, deleted, name)
	}
	if err := b.Delete(ctx); err != nil && !errors.Is(err, storage.ErrBucketNotExist) {
		if isConflict(err) {
			return fmt.Errorf("%s: bucket %s is not empty (objects were written while deleting); set force_destroy = true or empty it", req.Address, name)
		}
		return p.apiError(req.Address, "deleting bucket "+name, "storage", err)
	}
	return nil
}

// readBucket reads one bucket back after a change.
func (p *Provider) readBucket(ctx context.Context, client *storage.Client, address, name string, desired state.Attrs) (*state.Resource, error) {
	attrs, err := client.Bucket(name).Attrs(ctx)
	if err != nil {
		return &state.Resource{Address: address, Type: spec.AddressType(address), Cloud: CloudName, IDs: []string{name}, Attrs: desired},
			p.apiError(address, "reading bucket "+name, "storage", err)
	}
	r := bucketResource(address, attrs, desired)
	r.Attrs = providers.Overlay(desired, r.Attrs)
	return r, nil
}

// bucketResource describes a bucket in spec terms.
func bucketResource(address string, b *storage.BucketAttrs, hint state.Attrs) *state.Resource {
	return &state.Resource{
		Address: address, Type: spec.AddressType(address), Cloud: CloudName, IDs: []string{b.Name},
		Attrs: map[string]any{
			"cloud":         CloudName,
			"name":          b.Name,
			"location":      sameSpelling(b.Location, hint.String("location")),
			"storage_class": sameSpelling(b.StorageClass, hint.String("storage_class")),
			"versioning":    b.VersioningEnabled,
			"labels":        userLabels(b.Labels),
		},
	}
}

// gcsPageSize is the largest page of buckets.list and objects.list.
const gcsPageSize = 1000

// listBuckets lists the project's buckets (the storage client's paginator)
// and keeps the workspace's.
func (p *Provider) listBuckets(ctx context.Context, client *storage.Client, workspace string) ([]*storage.BucketAttrs, error) {
	var out []*storage.BucketAttrs
	it := client.Buckets(ctx, p.project)
	it.PageInfo().MaxSize = gcsPageSize
	for {
		b, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if o, ok := providers.OwnerOfLabels(b.Labels, providers.DecodeLabelValue); ok && o.Workspace == workspace {
			out = append(out, b)
		}
	}
}
