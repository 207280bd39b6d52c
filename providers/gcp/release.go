package gcp

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/storage"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// release removes skyplan's labels from a resource's objects, which keep
// running unmanaged (`skyplan state rm`); the user's labels stay.
func (p *Provider) release(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Prior == nil {
		return nil, nil
	}
	switch {
	case req.Type == spec.TypeBucket:
		return nil, p.releaseBucket(ctx, req)
	case isTPURequest(req):
		return nil, p.releaseTPU(ctx, req)
	}
	svc, err := p.computeClient(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "Compute Engine client", "compute", err)
	}
	insts, err := p.ownedInstances(ctx, svc, req)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, inst := range insts {
		s := &gceSpec{req: req, address: req.Address, workspace: req.Workspace, zone: lastSegment(inst.Zone), labels: userLabels(inst.Labels)}
		errs = append(errs, p.setInstanceLabels(ctx, svc, s, inst))
	}
	return nil, errors.Join(errs...)
}

func (p *Provider) releaseTPU(ctx context.Context, req providers.ApplyRequest) error {
	zone := req.Prior.Attrs.String("zone")
	svc, err := p.tpuClient(ctx)
	if err != nil {
		return p.apiError(req.Address, "Cloud TPU client", "tpu", err)
	}
	nodes, err := p.listOwnedNodes(ctx, svc, req, zone)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range nodes {
		s := &tpuSpec{req: req, address: req.Address, workspace: req.Workspace, zone: zone, labels: userLabels(n.Labels)}
		errs = append(errs, p.patchNodeLabels(ctx, svc, s, n))
	}
	return errors.Join(errs...)
}

func (p *Provider) releaseBucket(ctx context.Context, req providers.ApplyRequest) error {
	name := req.Prior.Attrs.String("name")
	client, err := p.storageClient(ctx)
	if err != nil {
		return p.apiError(req.Address, "Cloud Storage client", "storage", err)
	}
	b := client.Bucket(name)
	cur, err := b.Attrs(ctx)
	if errors.Is(err, storage.ErrBucketNotExist) {
		return nil
	}
	if err != nil {
		return p.apiError(req.Address, "reading bucket "+name, "storage", err)
	}
	if !ownsBucket(req, name, cur.Labels) {
		return fmt.Errorf("%s: refusing to release bucket %s: it is not labelled as owned by %s of this state", req.Address, name, req.Address)
	}
	var upd storage.BucketAttrsToUpdate
	for _, k := range []string{providers.TagManaged, providers.TagWorkspace, providers.TagAddress, providers.TagState, providers.TagGeneration} {
		if _, ok := cur.Labels[k]; ok {
			upd.DeleteLabel(k)
		}
	}
	if _, err := b.If(storage.BucketConditions{MetagenerationMatch: cur.MetaGeneration}).Update(ctx, upd); err != nil {
		return p.apiError(req.Address, "releasing bucket "+name, "storage", err)
	}
	return nil
}
