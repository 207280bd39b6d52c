package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	compute "google.golang.org/api/compute/v1"
	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var _ providers.Importer = (*Provider)(nil)

// Import reads a bucket (ID: its name), GCE instances (ID: ZONE/NAME or
// ZONE/NAME,NAME…) or a TPU VM (ID: ZONE/NAME), made outside skyplan. An
// object that already carries skyplan's labels is not importable.
func (p *Provider) Import(ctx context.Context, req providers.ImportRequest) (*state.Resource, error) {
	if req.Type == spec.TypeBucket {
		client, err := p.storageClient(ctx)
		if err != nil {
			return nil, p.apiError(req.Address, "Cloud Storage client", "storage", err)
		}
		b, err := client.Bucket(req.ID).Attrs(ctx)
		if errors.Is(err, storage.ErrBucketNotExist) {
			return nil, fmt.Errorf("%s: import %s: no such bucket in project %s", req.Address, req.ID, p.project)
		}
		if err != nil {
			return nil, p.apiError(req.Address, "reading bucket "+req.ID, "storage", err)
		}
		if err := notManaged(req, b.Labels); err != nil {
			return nil, err
		}
		return bucketResource(req.Address, b, req.Hint), nil
	}
	zone, names, err := splitImportID(req)
	if err != nil {
		return nil, err
	}
	if catalog.IsTPU(req.Hint.String("accelerators")) {
		svc, err := p.tpuClient(ctx)
		if err != nil {
			return nil, p.apiError(req.Address, "Cloud TPU client", "tpu", err)
		}
		n, err := svc.Projects.Locations.Nodes.Get(tpuParent(p.project, zone) + "/nodes/" + names[0]).Context(ctx).Do()
		if err != nil {
			return nil, p.apiError(req.Address, "reading TPU VM "+req.ID, "tpu", err)
		}
		if err := notManaged(req, n.Labels); err != nil {
			return nil, err
		}
		return tpuResource(req.Address, req.Workspace, zone, []*tpu.Node{n}, req.Hint), nil
	}
	insts, err := p.importedInstances(ctx, req.Address, zone, names)
	if err != nil {
		return nil, err
	}
	for _, inst := range insts {
		if err := notManaged(req, inst.Labels); err != nil {
			return nil, err
		}
	}
	svc, err := p.computeClient(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "Compute Engine client", "compute", err)
	}
	disks, err := p.listDisks(ctx, svc, zone, "")
	if err != nil {
		return nil, p.apiError(req.Address, "listing disks in zone "+zone, "compute", err)
	}
	return gceResource(req.Address, req.Workspace, insts, disks, req.Hint), nil
}

// splitImportID reads ZONE/NAME[,NAME…].
func splitImportID(req providers.ImportRequest) (zone string, names []string, err error) {
	zone, list, ok := strings.Cut(req.ID, "/")
	if !ok || zone == "" || list == "" {
		return "", nil, fmt.Errorf("%s: import id %q: want ZONE/NAME (e.g. us-central1-a/train-0), or ZONE/NAME,NAME for several instances", req.Address, req.ID)
	}
	return zone, strings.Split(list, ","), nil
}

// notManaged refuses to import an object that skyplan already manages.
func notManaged(req providers.ImportRequest, labels map[string]string) error {
	if o, ok := providers.OwnerOfLabels(labels, providers.DecodeLabelValue); ok {
		whose := "another state"
		if o.StateID == req.StateID {
			whose = "this state"
		}
		return fmt.Errorf("%s: import %s: it is already managed by skyplan (%s of %s in workspace %q)", req.Address, req.ID, o.Address, whose, o.Workspace)
	}
	return nil
}

// importedInstances reads the named instances of one zone.
func (p *Provider) importedInstances(ctx context.Context, address, zone string, names []string) ([]*compute.Instance, error) {
	svc, err := p.computeClient(ctx)
	if err != nil {
		return nil, p.apiError(address, "Compute Engine client", "compute", err)
	}
	var out []*compute.Instance
	for _, name := range names {
		inst, err := svc.Instances.Get(p.project, zone, name).Context(ctx).Do()
		if err != nil {
			return nil, p.apiError(address, fmt.Sprintf("reading instance %s in zone %s", name, zone), "compute", err)
		}
		out = append(out, inst)
	}
	return out, nil
}

// adoptImported labels the instances an import names with the request's
// ownership, so the rest of apply finds them as the cluster's own.
func (p *Provider) adoptImported(ctx context.Context, svc *compute.Service, s *gceSpec) error {
	if s.req.ImportID == "" {
		return nil
	}
	zone, names, err := splitImportID(providers.ImportRequest{Address: s.address, ID: s.req.ImportID})
	if err != nil {
		return err
	}
	insts, err := p.importedInstances(ctx, s.address, zone, names)
	if err != nil {
		return err
	}
	var errs []error
	for _, inst := range insts {
		if !ownsLabels(s.req, inst.Labels) {
			adopt := *s
			adopt.zone = zone
			adopt.labels = ownedLabels(s.req.Owner(), userLabels(inst.Labels))
			errs = append(errs, p.setInstanceLabels(ctx, svc, &adopt, inst))
		}
	}
	return errors.Join(errs...)
}

// adoptImportedTPU labels the TPU VM an import names with the request's
// ownership.
func (p *Provider) adoptImportedTPU(ctx context.Context, svc *tpu.Service, s *tpuSpec) error {
	if s.req.ImportID == "" {
		return nil
	}
	zone, names, err := splitImportID(providers.ImportRequest{Address: s.address, ID: s.req.ImportID})
	if err != nil {
		return err
	}
	n, err := svc.Projects.Locations.Nodes.Get(tpuParent(p.project, zone) + "/nodes/" + names[0]).Context(ctx).Do()
	if err != nil {
		return p.apiError(s.address, "reading TPU VM "+s.req.ImportID, "tpu", err)
	}
	if ownsLabels(s.req, n.Labels) {
		return nil
	}
	adopt := *s
	adopt.labels = ownedLabels(s.req.Owner(), userLabels(n.Labels))
	return p.patchNodeLabels(ctx, svc, &adopt, n)
}
