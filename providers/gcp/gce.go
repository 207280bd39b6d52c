package gcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/googleapis/gax-go/v2"
	"golang.org/x/sync/errgroup"
	compute "google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Default boot images: Deep Learning VM (CUDA drivers) for GPU machines,
// Debian for the rest.
const (
	defaultGPUImage = "projects/deeplearning-platform-release/global/images/family/common-cu124-debian-11-py310"
	defaultCPUImage = "projects/debian-cloud/global/images/family/debian-12"
)

// gceSpec is a cluster's desired shape on Compute Engine.
type gceSpec struct {
	req                providers.ApplyRequest
	address, workspace string
	zone, machineType  string
	image, vpc, subnet string
	nodes              int
	diskSize           int64
	disk               catalog.Disk
	spot, internalIPs  bool
	gpu                bool
	guest              *compute.AcceleratorConfig
	user, labels       map[string]string
	// controllerConfig is set for a jobs_controller: its metadata item value.
	controllerConfig string
}

// parseGCESpec validates desired attributes before any API call.
func parseGCESpec(req providers.ApplyRequest) (*gceSpec, error) {
	d := req.Desired
	s := &gceSpec{
		req: req, address: req.Address, workspace: req.Workspace,
		zone: d.String("zone"), machineType: d.String("instance_type"),
		image: d.String("image"), vpc: d.String("vpc"), subnet: d.String("subnet"),
		spot: d.Bool("use_spot"), internalIPs: d.Bool("use_internal_ips"),
		user: d.StringMap("labels"),
	}
	if s.zone == "" {
		return nil, fmt.Errorf(`%s: zone is required on gcp, e.g. zone = "us-central1-a"`, req.Address)
	}
	if s.machineType == "" {
		return nil, fmt.Errorf(`%s: instance_type is required on gcp (or accelerators, which the spec resolves to one), e.g. instance_type = "a2-highgpu-8g"`, req.Address)
	}
	nodes, ok := d.Int("nodes")
	if !ok {
		nodes = 1
	}
	if nodes < 0 {
		return nil, fmt.Errorf("%s: nodes = %d; it must be 0 or more", req.Address, nodes)
	}
	s.nodes = int(nodes)
	if req.Type == spec.TypeJobsController {
		s.nodes = 1
		s.controllerConfig = controllerMetadata(req.Workspace, d)
	}
	s.diskSize, ok = d.Int("disk_size")
	if !ok {
		s.diskSize = 256
	}
	tier := d.String("disk_tier")
	if tier == "" {
		tier = "medium"
	}
	disk, err := catalog.ResolveDisk(CloudName, s.machineType, tier, s.diskSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Address, err)
	}
	s.disk = disk
	if err := providers.Refuse(req.Address, Validate(req.Type, req.Desired)); err != nil {
		return nil, err
	}
	s.labels = ownedLabels(req.Owner(), s.user)
	acc, accErr := catalog.ParseAccelerators(d.String("accelerators"))
	if guest := catalog.GuestAcceleratorType(acc.Name); accErr == nil && guest != "" && catalog.AttachesGuestGPUs(CloudName, s.machineType) {
		s.gpu = true
		s.guest = &compute.AcceleratorConfig{
			AcceleratorType:  fmt.Sprintf("zones/%s/acceleratorTypes/%s", s.zone, guest),
			AcceleratorCount: int64(acc.Count),
		}
	} else if t, known := catalog.LookupInstanceType(CloudName, s.machineType); known {
		s.gpu = t.Accelerator != ""
	} else {
		for _, prefix := range []string{"a2-", "a3-", "a4-", "g2-"} {
			s.gpu = s.gpu || strings.HasPrefix(s.machineType, prefix)
		}
	}
	if s.image == "" {
		s.image = defaultCPUImage
		if s.gpu {
			s.image = defaultGPUImage
		}
	}
	return s, nil
}

// instance is the insert request for node name.
func (s *gceSpec) instance(name string) *compute.Instance {
	network := "global/networks/default"
	if s.vpc != "" {
		network = s.vpc
		if !strings.Contains(network, "/") {
			network = "global/networks/" + network
		}
	}
	nic := &compute.NetworkInterface{Network: network}
	if s.subnet != "" {
		nic.Subnetwork = s.subnet
		if !strings.Contains(nic.Subnetwork, "/") {
			nic.Subnetwork = fmt.Sprintf("regions/%s/subnetworks/%s", regionOfZone(s.zone), s.subnet)
		}
	}
	if !s.internalIPs {
		nic.AccessConfigs = []*compute.AccessConfig{{Name: "External NAT", Type: "ONE_TO_ONE_NAT"}}
	}
	restart := !s.spot
	sched := &compute.Scheduling{AutomaticRestart: &restart, OnHostMaintenance: "MIGRATE", ProvisioningModel: "STANDARD"}
	if s.gpu || s.guest != nil || s.spot {
		// GPUs cannot live-migrate; Spot VMs must stop on maintenance.
		sched.OnHostMaintenance = "TERMINATE"
	}
	if s.spot {
		// A preempted node is deleted, so observation sees it gone and the plan re-creates it.
		sched.ProvisioningModel, sched.InstanceTerminationAction = "SPOT", "DELETE"
	}
	inst := &compute.Instance{
		Name:        name,
		MachineType: fmt.Sprintf("zones/%s/machineTypes/%s", s.zone, s.machineType),
		Labels:      maps.Clone(s.labels),
		Disks: []*compute.AttachedDisk{{
			Boot: true, AutoDelete: true,
			InitializeParams: &compute.AttachedDiskInitializeParams{
				SourceImage:           s.image,
				DiskSizeGb:            s.diskSize,
				DiskType:              fmt.Sprintf("zones/%s/diskTypes/%s", s.zone, s.disk.Type),
				ProvisionedIops:       s.disk.IOPS,
				ProvisionedThroughput: s.disk.Throughput,
				Labels:                maps.Clone(s.labels),
			},
		}},
		NetworkInterfaces: []*compute.NetworkInterface{nic},
		Scheduling:        sched,
	}
	if s.guest != nil {
		inst.GuestAccelerators = []*compute.AcceleratorConfig{s.guest}
	}
	if s.controllerConfig != "" {
		inst.Metadata = &compute.Metadata{Items: withMetadataItem(nil, controllerMetadataKey, s.controllerConfig)}
	}
	return inst
}

func (p *Provider) applyGCE(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Op == providers.OpDelete {
		return nil, p.deleteGCE(ctx, req)
	}
	s, err := parseGCESpec(req)
	if err != nil {
		return nil, providers.Refused(err)
	}
	svc, err := p.computeClient(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "Compute Engine client", "compute", err)
	}
	if err := p.adoptImported(ctx, svc, s); err != nil {
		return nil, err
	}
	places := providers.Placements(req.Desired, regionOfZone)
	byZone, err := p.ownedByZone(ctx, svc, req, places)
	if err != nil {
		return nil, err
	}
	return settle(ctx, p, req, places, byZone, zonal[*compute.Instance]{
		list: func(ctx context.Context, zone string) ([]*compute.Instance, error) {
			return p.ownedZoneInstances(ctx, svc, zone, req)
		},
		remove: func(ctx context.Context, insts []*compute.Instance) error {
			return p.deleteInstances(ctx, svc, req.Address, insts)
		},
		reconcile: func(ctx context.Context, zone string, existing []*compute.Instance) error {
			zs, err := specIn(req, zone, parseGCESpec)
			if err != nil {
				return err
			}
			return p.reconcileGCE(ctx, svc, zs, existing)
		},
		observe: func(ctx context.Context, zone string) (*state.Resource, error) {
			return p.observeGCEAddress(ctx, svc, zone, req)
		},
	}, s.zone)
}

// ownedByZone lists the request's instances in its candidate zones, by
// zone: one list for a single zone, one aggregated list for several.
func (p *Provider) ownedByZone(ctx context.Context, svc *compute.Service, req providers.ApplyRequest, places []providers.Placement) (map[string][]*compute.Instance, error) {
	var insts []*compute.Instance
	var err error
	if len(places) == 1 {
		insts, err = p.ownedZoneInstances(ctx, svc, places[0].Zone, req)
	} else {
		insts, err = p.ownedInstances(ctx, svc, req)
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]*compute.Instance{}
	for _, inst := range insts {
		zone := cmp.Or(lastSegment(inst.Zone), places[0].Zone)
		out[zone] = append(out[zone], inst)
	}
	return out, nil
}

// reconcileGCE makes one zone's nodes match the spec: it deletes extra
// nodes, creates missing ones (named for the request's generation), syncs
// labels and controller metadata, and starts nodes stopped outside skyplan.
func (p *Provider) reconcileGCE(ctx context.Context, svc *compute.Service, s *gceSpec, existing []*compute.Instance) error {
	req := s.req
	keep, drop := planNodes(existing, s.nodes, func(name string) int { return nodeIndex(name, s.address, s.workspace) })

	var errs []error
	if len(drop) > 0 {
		req.Report("%s: deleting %d node(s) in %s", req.Address, len(drop), s.zone)
		errs = append(errs, p.deleteInstances(ctx, svc, req.Address, drop))
	}
	used := map[int]bool{}
	for _, inst := range keep {
		used[nodeIndex(inst.Name, s.address, s.workspace)] = true
	}
	var names []string
	for i := 0; len(keep)+len(names) < s.nodes; i++ {
		if !used[i] {
			names = append(names, generationNodeName(s.address, s.workspace, req.Generation, i))
		}
	}
	if len(names) > 0 {
		req.Report("%s: creating %d %s node(s) in %s", req.Address, len(names), s.machineType, s.zone)
		errs = append(errs, p.forEach(ctx, names, func(ctx context.Context, name string) error {
			return p.insertInstance(ctx, svc, s, name)
		}))
	}
	down := map[string]*compute.Instance{}
	for _, inst := range keep {
		if !maps.Equal(inst.Labels, s.labels) {
			errs = append(errs, p.setInstanceLabels(ctx, svc, s, inst))
		}
		if v, _ := metadataValue(inst.Metadata, controllerMetadataKey); s.controllerConfig != "" && v != s.controllerConfig {
			errs = append(errs, p.setControllerMetadata(ctx, svc, s, inst))
		}
		if !isRunningStatus(inst.Status) {
			down[inst.Name] = inst
		}
	}
	if len(down) > 0 {
		errs = append(errs, p.forEach(ctx, slices.Sorted(maps.Keys(down)), func(ctx context.Context, name string) error {
			return p.restartInstance(ctx, svc, req, s, down[name])
		}))
	}
	return errors.Join(errs...)
}

// planNodes keeps the n lowest-indexed nodes (names skyplan did not make
// go last) and returns the rest for deletion.
func planNodes(existing []*compute.Instance, n int, index func(string) int) (keep, drop []*compute.Instance) {
	sorted := append([]*compute.Instance{}, existing...)
	sort.SliceStable(sorted, func(a, b int) bool {
		ia, ib := index(sorted[a].Name), index(sorted[b].Name)
		if (ia < 0) != (ib < 0) {
			return ib < 0
		}
		if ia != ib {
			return ia < ib
		}
		return sorted[a].Name < sorted[b].Name
	})
	if len(sorted) <= n {
		return sorted, nil
	}
	return sorted[:n], sorted[n:]
}

// Instance statuses of a node that exists but does not run. Apply starts
// stopped nodes and resumes suspended ones, waiting first for those still
// on their way there. Any other status counts as running: PROVISIONING,
// STAGING, RUNNING, and REPAIRING or PENDING, which GCE finishes itself.
var (
	stoppingStatuses   = []string{"STOPPING", "PENDING_STOP", "DEPROVISIONING"}
	stoppedStatuses    = []string{"TERMINATED", "STOPPED"}
	suspendingStatuses = []string{"SUSPENDING"}
	suspendedStatuses  = []string{"SUSPENDED"}
)

func isRunningStatus(status string) bool {
	for _, set := range [][]string{stoppingStatuses, stoppedStatuses, suspendingStatuses, suspendedStatuses} {
		if slices.Contains(set, status) {
			return false
		}
	}
	return true
}

// nodeLabel names a node in messages: "node 1 (train-prod-1)", or "instance
// NAME" for one skyplan did not name.
func nodeLabel(name, address, workspace string) string {
	if i := nodeIndex(name, address, workspace); i >= 0 {
		return fmt.Sprintf("node %d (%s)", i, name)
	}
	return "instance " + name
}

// restartInstance starts a node stopped outside skyplan, or resumes a
// suspended one; a node still stopping or suspending is waited for first,
// since the API refuses both calls until it settles.
func (p *Provider) restartInstance(ctx context.Context, svc *compute.Service, req providers.ApplyRequest, s *gceSpec, inst *compute.Instance) error {
	label := nodeLabel(inst.Name, s.address, s.workspace)
	status := inst.Status
	if slices.Contains(stoppingStatuses, status) || slices.Contains(suspendingStatuses, status) {
		req.Report("%s: waiting for %s to finish %s", req.Address, label, statusWord(status))
		var err error
		if status, err = p.waitSettled(ctx, svc, s, inst.Name); err != nil {
			return err
		}
	}
	var call func(context.Context) (*compute.Operation, error)
	var what string
	switch {
	case slices.Contains(stoppedStatuses, status):
		req.Report("%s: starting %s stopped outside skyplan", req.Address, label)
		what = fmt.Sprintf("starting instance %s in zone %s", inst.Name, s.zone)
		call = func(ctx context.Context) (*compute.Operation, error) {
			return svc.Instances.Start(p.project, s.zone, inst.Name).Context(ctx).Do()
		}
	case slices.Contains(suspendedStatuses, status):
		req.Report("%s: resuming %s suspended outside skyplan", req.Address, label)
		what = fmt.Sprintf("resuming instance %s in zone %s", inst.Name, s.zone)
		call = func(ctx context.Context) (*compute.Operation, error) {
			return svc.Instances.Resume(p.project, s.zone, inst.Name).Context(ctx).Do()
		}
	case isRunningStatus(status):
		return nil // started again meanwhile
	default:
		return fmt.Errorf("%s: %s is %s; skyplan cannot start it", s.address, label, status)
	}
	var op *compute.Operation
	err := p.retry(ctx, func(ctx context.Context) error {
		var err error
		op, err = call(ctx)
		return err
	})
	if err != nil {
		return p.apiError(s.address, what, "compute", err)
	}
	if err := p.waitZoneOp(ctx, svc, s.zone, op); err != nil {
		return fmt.Errorf("%s: %s (project %s): %w", s.address, what, p.project, err)
	}
	return nil
}

// waitSettled polls an instance until it is no longer stopping or
// suspending, within the operation timeout, and returns its status.
func (p *Provider) waitSettled(ctx context.Context, svc *compute.Service, s *gceSpec, name string) (string, error) {
	what := fmt.Sprintf("waiting for instance %s in zone %s to finish stopping or suspending", name, s.zone)
	w, ctx := providers.BeginWait(ctx, p.opTimeout)
	defer w.End()
	bo := p.backoff
	status := "unknown"
	for {
		var inst *compute.Instance
		err := p.retry(ctx, func(ctx context.Context) error {
			var err error
			inst, err = svc.Instances.Get(p.project, s.zone, name).Context(ctx).Do()
			return err
		})
		if err == nil {
			status = inst.Status
			if !slices.Contains(stoppingStatuses, status) && !slices.Contains(suspendingStatuses, status) {
				return status, nil
			}
			err = gax.Sleep(ctx, bo.Pause())
		}
		if err != nil {
			reason := &describedError{msg: describe(err, p.endpointFor("compute")), err: err}
			return "", fmt.Errorf("%s: %s (project %s): last seen %s: %w", s.address, what, p.project, status, w.Err("", reason))
		}
	}
}

// forEach runs fn over items with bounded parallelism and joins every error.
func (p *Provider) forEach(ctx context.Context, items []string, fn func(context.Context, string) error) error {
	var (
		g    errgroup.Group
		mu   sync.Mutex
		errs []error
	)
	g.SetLimit(max(p.parallel, 1))
	for _, it := range items {
		g.Go(providers.Safely(func() error {
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		}))
	}
	g.Wait()
	return errors.Join(errs...)
}

func (p *Provider) insertInstance(ctx context.Context, svc *compute.Service, s *gceSpec, name string) error {
	what := fmt.Sprintf("creating instance %s in zone %s", name, s.zone)
	var op *compute.Operation
	err := p.retry(ctx, func(ctx context.Context) error {
		var err error
		op, err = svc.Instances.Insert(p.project, s.zone, s.instance(name)).Context(ctx).Do()
		return err
	})
	if isConflict(err) {
		// A retried create finds its own node: adopt it. Anything else is not ours.
		got, getErr := svc.Instances.Get(p.project, s.zone, name).Context(ctx).Do()
		if getErr == nil && ownsLabels(s.req, got.Labels) {
			if !maps.Equal(got.Labels, s.labels) {
				return p.setInstanceLabels(ctx, svc, s, got)
			}
			return nil
		}
		return fmt.Errorf("%s: %s (project %s): an instance of that name exists and is not owned by skyplan workspace %q; delete or rename it, or rename the cluster",
			s.address, what, p.project, s.workspace)
	}
	if err != nil {
		return p.apiError(s.address, what, "compute", err)
	}
	if err := p.waitZoneOp(ctx, svc, s.zone, op); err != nil {
		return fmt.Errorf("%s: %s (project %s): %w", s.address, what, p.project, err)
	}
	return nil
}

func (p *Provider) setInstanceLabels(ctx context.Context, svc *compute.Service, s *gceSpec, inst *compute.Instance) error {
	what := fmt.Sprintf("setting labels of instance %s in zone %s", inst.Name, s.zone)
	return p.withFingerprint(ctx, svc, s, inst, what, func(ctx context.Context, inst *compute.Instance) (*compute.Operation, error) {
		return svc.Instances.SetLabels(p.project, s.zone, inst.Name, &compute.InstancesSetLabelsRequest{
			Labels: s.labels, LabelFingerprint: inst.LabelFingerprint}).Context(ctx).Do()
	})
}

// withFingerprint runs a fingerprint-guarded instance update and waits for
// it; when the instance changed since it was read (412), it reads it again
// and retries, twice at most.
func (p *Provider) withFingerprint(ctx context.Context, svc *compute.Service, s *gceSpec, inst *compute.Instance, what string,
	call func(context.Context, *compute.Instance) (*compute.Operation, error)) error {
	for attempt := 0; ; attempt++ {
		var op *compute.Operation
		err := p.retry(ctx, func(ctx context.Context) error {
			var err error
			op, err = call(ctx, inst)
			return err
		})
		if httpCode(err) == http.StatusPreconditionFailed && attempt < 2 {
			fresh, getErr := svc.Instances.Get(p.project, s.zone, inst.Name).Context(ctx).Do()
			if getErr != nil {
				return p.apiError(s.address, what, "compute", getErr)
			}
			inst = fresh
			continue
		}
		if err != nil {
			return p.apiError(s.address, what, "compute", err)
		}
		if err := p.waitZoneOp(ctx, svc, s.zone, op); err != nil {
			return fmt.Errorf("%s: %s (project %s): %w", s.address, what, p.project, err)
		}
		return nil
	}
}

// deleteGCE deletes every instance labelled with the address, in any zone.
func (p *Provider) deleteGCE(ctx context.Context, req providers.ApplyRequest) error {
	svc, err := p.computeClient(ctx)
	if err != nil {
		return p.apiError(req.Address, "Compute Engine client", "compute", err)
	}
	owned, err := p.ownedInstances(ctx, svc, req)
	if err != nil {
		return err
	}
	if len(owned) > 0 {
		req.Report("%s: deleting %d node(s)", req.Address, len(owned))
	}
	return p.deleteInstances(ctx, svc, req.Address, owned)
}

func (p *Provider) deleteInstances(ctx context.Context, svc *compute.Service, address string, insts []*compute.Instance) error {
	byName := map[string]*compute.Instance{}
	for _, inst := range insts {
		byName[lastSegment(inst.Zone)+"/"+inst.Name] = inst
	}
	return p.forEach(ctx, slices.Sorted(maps.Keys(byName)), func(ctx context.Context, key string) error {
		inst := byName[key]
		zone := lastSegment(inst.Zone)
		what := fmt.Sprintf("deleting instance %s in zone %s", inst.Name, zone)
		var op *compute.Operation
		err := p.retry(ctx, func(ctx context.Context) error {
			var err error
			op, err = svc.Instances.Delete(p.project, zone, inst.Name).Context(ctx).Do()
			return err
		})
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return p.apiError(address, what, "compute", err)
		}
		if err := p.waitZoneOp(ctx, svc, zone, op); err != nil {
			return fmt.Errorf("%s: %s (project %s): %w", address, what, p.project, err)
		}
		return nil
	})
}

// listZoneInstances lists one zone's instances matching a filter, all pages.
func (p *Provider) listZoneInstances(ctx context.Context, svc *compute.Service, zone, filter string) ([]*compute.Instance, error) {
	var out []*compute.Instance
	err := p.retry(ctx, func(ctx context.Context) error {
		out = nil
		call := svc.Instances.List(p.project, zone).Filter(filter)
		if p.pageSize > 0 {
			call.MaxResults(p.pageSize)
		}
		return call.Pages(ctx, func(l *compute.InstanceList) error {
			out = append(out, l.Items...)
			return nil
		})
	})
	return out, err
}

// listAggregatedInstances lists every zone's instances matching a filter:
// one instances.aggregatedList, all pages.
func (p *Provider) listAggregatedInstances(ctx context.Context, svc *compute.Service, filter string) ([]*compute.Instance, error) {
	var out []*compute.Instance
	err := p.retry(ctx, func(ctx context.Context) error {
		out = nil
		call := svc.Instances.AggregatedList(p.project).Filter(filter)
		if p.pageSize > 0 {
			call.MaxResults(p.pageSize)
		}
		return call.Pages(ctx, func(l *compute.InstanceAggregatedList) error {
			for _, scope := range slices.Sorted(maps.Keys(l.Items)) {
				out = append(out, l.Items[scope].Instances...)
			}
			return nil
		})
	})
	return out, err
}

// listDisks lists disks matching a filter, in one zone or (zone "") all.
func (p *Provider) listDisks(ctx context.Context, svc *compute.Service, zone, filter string) (map[string]*compute.Disk, error) {
	out := map[string]*compute.Disk{}
	err := p.retry(ctx, func(ctx context.Context) error {
		clear(out)
		if zone != "" {
			call := svc.Disks.List(p.project, zone).Filter(filter)
			if p.pageSize > 0 {
				call.MaxResults(p.pageSize)
			}
			return call.Pages(ctx, func(l *compute.DiskList) error {
				for _, d := range l.Items {
					out[d.SelfLink] = d
				}
				return nil
			})
		}
		call := svc.Disks.AggregatedList(p.project).Filter(filter)
		if p.pageSize > 0 {
			call.MaxResults(p.pageSize)
		}
		return call.Pages(ctx, func(l *compute.DiskAggregatedList) error {
			for _, scope := range l.Items {
				for _, d := range scope.Disks {
					out[d.SelfLink] = d
				}
			}
			return nil
		})
	})
	return out, err
}

// ownedZoneInstances lists one zone's instances the request owns.
func (p *Provider) ownedZoneInstances(ctx context.Context, svc *compute.Service, zone string, req providers.ApplyRequest) ([]*compute.Instance, error) {
	insts, err := p.listZoneInstances(ctx, svc, zone, requestFilter(req))
	if err != nil {
		return nil, p.apiError(req.Address, "listing instances in zone "+zone, "compute", err)
	}
	return slices.DeleteFunc(insts, func(inst *compute.Instance) bool { return !ownsLabels(req, inst.Labels) }), nil
}

// ownedInstances lists the instances the request owns, in any zone.
func (p *Provider) ownedInstances(ctx context.Context, svc *compute.Service, req providers.ApplyRequest) ([]*compute.Instance, error) {
	insts, err := p.listAggregatedInstances(ctx, svc, requestFilter(req))
	if err != nil {
		return nil, p.apiError(req.Address, "listing instances", "compute", err)
	}
	return slices.DeleteFunc(insts, func(inst *compute.Instance) bool { return !ownsLabels(req, inst.Labels) }), nil
}

// observeGCEAddress reads back one cluster after a change.
func (p *Provider) observeGCEAddress(ctx context.Context, svc *compute.Service, zone string, req providers.ApplyRequest) (*state.Resource, error) {
	address := req.Address
	owned, err := p.ownedZoneInstances(ctx, svc, zone, req)
	if err != nil {
		return nil, err
	}
	disks := map[string]*compute.Disk{}
	if len(owned) > 0 {
		if disks, err = p.listDisks(ctx, svc, zone, requestFilter(req)); err != nil {
			return nil, p.apiError(address, "listing disks in zone "+zone, "compute", err)
		}
	}
	r := gceResource(address, req.Workspace, owned, disks, req.Desired)
	r.Attrs = providers.Overlay(req.Desired, r.Attrs)
	return r, nil
}

// gceResource describes one cluster's instances in spec terms. hint holds
// the desired attributes, used only to pick equivalent spellings (a tier that
// resolves to the observed disk) and to surface drift on any node.
func gceResource(address, workspace string, insts []*compute.Instance, disks map[string]*compute.Disk, hint state.Attrs) *state.Resource {
	sort.SliceStable(insts, func(a, b int) bool {
		ia, ib := nodeIndex(insts[a].Name, address, workspace), nodeIndex(insts[b].Name, address, workspace)
		if ia != ib {
			return ia < ib
		}
		return insts[a].Name < insts[b].Name
	})
	running := 0
	for _, inst := range insts {
		if isRunningStatus(inst.Status) {
			running++
		}
	}
	r := &state.Resource{Address: address, Type: spec.AddressType(address), Cloud: CloudName, Attrs: map[string]any{"cloud": CloudName, "nodes": int64(running)},
		Private: map[string]string{"kind": "gce"}}
	if len(insts) == 0 {
		return r
	}
	// Nodes that do not run stay in IDs (destroy deletes them); Expand
	// explains them from RANK:NAME:STATUS entries, RANK being the node's place
	// in apply's keep order (kept when RANK < nodes).
	order, _ := planNodes(insts, len(insts), func(name string) int { return nodeIndex(name, address, workspace) })
	var stopped []providers.StoppedNode
	for rank, inst := range order {
		if !isRunningStatus(inst.Status) {
			stopped = append(stopped, providers.StoppedNode{Rank: rank, Name: inst.Name, State: inst.Status})
		}
	}
	providers.RecordStoppedNodes(r, stopped)
	var names []string
	for _, inst := range insts {
		r.IDs = append(r.IDs, strconv.FormatUint(inst.Id, 10))
		names = append(names, inst.Name)
	}
	first := insts[0]
	zone := lastSegment(first.Zone)
	machineType := lastSegment(first.MachineType)
	r.Private["zone"] = zone
	r.Private["instances"] = strings.Join(names, ",")
	a := r.Attrs
	a["zone"], a["region"], a["instance_type"] = zone, regionOfZone(zone), machineType
	sched := first.Scheduling
	a["use_spot"] = sched != nil && (sched.ProvisioningModel == "SPOT" || sched.Preemptible)
	if len(first.NetworkInterfaces) > 0 {
		nic := first.NetworkInterfaces[0]
		a["use_internal_ips"] = len(nic.AccessConfigs) == 0
		a["vpc"] = sameResource(nic.Network, hint.String("vpc"))
		if nic.Subnetwork != "" {
			a["subnet"] = sameResource(nic.Subnetwork, hint.String("subnet"))
		}
	}
	// Labels: a node whose labels drifted from the spec shows, not just node 0.
	labels := userLabels(first.Labels)
	if want := hint.StringMap("labels"); want != nil || hint["labels"] != nil {
		for _, inst := range insts {
			if ul := userLabels(inst.Labels); !maps.Equal(ul, want) {
				labels = ul
				break
			}
		}
	}
	a["labels"] = labels
	if acc := observedAccelerators(first); acc != "" {
		a["accelerators"] = acc
	}
	for k, v := range controllerAttrs(first.Metadata) {
		a[k] = v
	}
	for _, d := range first.Disks {
		if !d.Boot {
			continue
		}
		size := d.DiskSizeGb
		disk, ok := disks[d.Source]
		if ok {
			size = disk.SizeGb
		}
		if size > 0 {
			a["disk_size"] = size
		}
		if ok {
			observed := catalog.Disk{Type: lastSegment(disk.Type), IOPS: disk.ProvisionedIops}
			if tier := tierOf(machineType, observed, size, hint.String("disk_tier")); tier != "" {
				a["disk_tier"] = tier
			}
		}
	}
	return r
}

// sameResource reports a network URL by its name, or in the desired
// spelling when that names the same resource (a partial or full path).
func sameResource(observedURL, desired string) string {
	if desired != "" && lastSegment(desired) == lastSegment(observedURL) {
		return desired
	}
	return lastSegment(observedURL)
}

// tierOf names the tier of an observed boot disk: the desired tier when it
// resolves to that disk (so "best" stays "best"), else the only tier that
// does, else "" (ambiguous or unknown: not reported).
func tierOf(machineType string, d catalog.Disk, size int64, desired string) string {
	if desired != "" {
		if want, err := catalog.ResolveDisk(CloudName, machineType, desired, size); err == nil &&
			want.Type == d.Type && (want.IOPS == 0 || want.IOPS == d.IOPS) {
			return desired
		}
	}
	tier, _ := catalog.DiskTierOf(CloudName, machineType, d, size)
	return tier
}

// observedAccelerators renders an instance's GPUs as the spec writes them
// (A100:8): attached ones for N1, else the machine type's built-in ones.
func observedAccelerators(inst *compute.Instance) string {
	machineType := lastSegment(inst.MachineType)
	for _, ga := range inst.GuestAccelerators {
		if acc := catalog.AcceleratorForGuestType(lastSegment(ga.AcceleratorType)); acc != "" {
			return catalog.Accelerator{Name: acc, Count: int(ga.AcceleratorCount)}.String()
		}
	}
	if t, ok := catalog.LookupInstanceType(CloudName, machineType); ok && t.Accelerator != "" {
		return spec.Accelerator(t)
	}
	return ""
}
