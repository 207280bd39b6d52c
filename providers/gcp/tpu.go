package gcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	tpu "google.golang.org/api/tpu/v2"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// isTPURequest tells TPU VM clusters from GCE ones, for deletes by what the
// prior state recorded.
func isTPURequest(req providers.ApplyRequest) bool {
	if req.Desired != nil {
		return catalog.IsTPU(req.Desired.String("accelerators"))
	}
	if req.Prior != nil {
		return req.Prior.Private["kind"] == "tpu" || catalog.IsTPU(req.Prior.Attrs.String("accelerators"))
	}
	return false
}

// tpuSpec is a TPU VM cluster's desired shape.
type tpuSpec struct {
	req                providers.ApplyRequest
	address, workspace string
	zone               string
	tpu                catalog.TPU
	runtimeVersion     string
	nodes              int
	spot, internalIPs  bool
	vpc, subnet        string
	labels             map[string]string
}

func parseTPUSpec(req providers.ApplyRequest) (*tpuSpec, error) {
	d := req.Desired
	if v, set := d["tpu_vm"].(bool); set && !v {
		return nil, fmt.Errorf("%s: legacy TPU Nodes (tpu_vm = false) are no longer offered by GCP; use a TPU VM (remove tpu_vm = false)", req.Address)
	}
	t, err := catalog.ParseTPU(d.String("accelerators"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.Address, err)
	}
	s := &tpuSpec{req: req, address: req.Address, workspace: req.Workspace, tpu: t,
		zone: d.String("zone"), runtimeVersion: d.String("runtime_version"),
		spot: d.Bool("use_spot"), internalIPs: d.Bool("use_internal_ips"),
		vpc: d.String("vpc"), subnet: d.String("subnet")}
	if s.zone == "" {
		return nil, fmt.Errorf(`%s: zone is required for a TPU VM, e.g. zone = %q`, req.Address, t.Zones[0])
	}
	if s.runtimeVersion == "" {
		return nil, fmt.Errorf(`%s: runtime_version is required for a TPU VM, e.g. runtime_version = "tpu-ubuntu2204-base"`, req.Address)
	}
	nodes, ok := d.Int("nodes")
	if !ok {
		nodes = 1
	}
	if nodes < 0 {
		return nil, fmt.Errorf("%s: nodes = %d; it must be 0 or more", req.Address, nodes)
	}
	s.nodes = int(nodes)
	user := d.StringMap("labels")
	if err := providers.Refuse(req.Address, Validate(spec.TypeCluster, req.Desired)); err != nil {
		return nil, err
	}
	s.labels = ownedLabels(req.Owner(), user)
	return s, nil
}

func (s *tpuSpec) node() *tpu.Node {
	n := &tpu.Node{
		AcceleratorType:  s.tpu.AcceleratorType,
		RuntimeVersion:   s.runtimeVersion,
		Labels:           maps.Clone(s.labels),
		NetworkConfig:    &tpu.NetworkConfig{EnableExternalIps: !s.internalIPs, Network: s.vpc, Subnetwork: s.subnet},
		SchedulingConfig: &tpu.SchedulingConfig{Spot: s.spot},
	}
	return n
}

func tpuParent(project, zone string) string {
	return fmt.Sprintf("projects/%s/locations/%s", project, zone)
}

func (p *Provider) applyTPU(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Op == providers.OpDelete {
		return nil, p.deleteTPU(ctx, req)
	}
	s, err := parseTPUSpec(req)
	if err != nil {
		return nil, providers.Refused(err)
	}
	svc, err := p.tpuClient(ctx)
	if err != nil {
		return nil, p.apiError(req.Address, "Cloud TPU client", "tpu", err)
	}
	if err := p.adoptImportedTPU(ctx, svc, s); err != nil {
		return nil, err
	}
	places := providers.Placements(req.Desired, regionOfZone)
	byZone := map[string][]*tpu.Node{}
	for _, pl := range places {
		if byZone[pl.Zone], err = p.ownedNodes(ctx, svc, req, pl.Zone); err != nil {
			return nil, err
		}
	}
	return settle(ctx, p, req, places, byZone, zonal[*tpu.Node]{
		list: func(ctx context.Context, zone string) ([]*tpu.Node, error) { return p.ownedNodes(ctx, svc, req, zone) },
		remove: func(ctx context.Context, nodes []*tpu.Node) error {
			return p.deleteNodes(ctx, svc, req.Address, nodes)
		},
		reconcile: func(ctx context.Context, zone string, existing []*tpu.Node) error {
			zs, err := specIn(req, zone, parseTPUSpec)
			if err != nil {
				return err
			}
			return p.reconcileTPU(ctx, svc, zs, existing)
		},
		observe: func(ctx context.Context, zone string) (*state.Resource, error) {
			return p.observeTPUAddress(ctx, svc, zone, req)
		},
	}, s.zone)
}

// ownedNodes lists one zone's TPU VMs the request owns (not being deleted).
// A candidate zone the API does not know (404) holds none.
func (p *Provider) ownedNodes(ctx context.Context, svc *tpu.Service, req providers.ApplyRequest, zone string) ([]*tpu.Node, error) {
	nodes, err := p.listOwnedNodes(ctx, svc, req, zone)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(nodes, func(n *tpu.Node) bool { return n.State == "DELETING" }), nil
}

// listOwnedNodes lists one zone's TPU VMs the request owns, those being
// deleted too; an unknown zone is an error.
func (p *Provider) listOwnedNodes(ctx context.Context, svc *tpu.Service, req providers.ApplyRequest, zone string) ([]*tpu.Node, error) {
	nodes, _, err := p.listNodes(ctx, svc, zone)
	if err != nil {
		return nil, p.apiError(req.Address, "listing TPU nodes in zone "+zone, "tpu", err)
	}
	return slices.DeleteFunc(nodes, func(n *tpu.Node) bool { return !ownsLabels(req, n.Labels) }), nil
}

// reconcileTPU makes one zone's TPU VMs match the spec: extra ones go,
// missing ones are created (named for the request's generation), labels
// are synced.
func (p *Provider) reconcileTPU(ctx context.Context, svc *tpu.Service, s *tpuSpec, mine []*tpu.Node) error {
	req := s.req
	index := func(n *tpu.Node) int { return nodeIndex(lastSegment(n.Name), s.address, s.workspace) }
	sort.SliceStable(mine, func(a, b int) bool {
		ia, ib := index(mine[a]), index(mine[b])
		if (ia < 0) != (ib < 0) {
			return ib < 0
		}
		return ia < ib
	})
	keep, drop := mine, []*tpu.Node(nil)
	if len(mine) > s.nodes {
		keep, drop = mine[:s.nodes], mine[s.nodes:]
	}
	var errs []error
	if len(drop) > 0 {
		req.Report("%s: deleting %d TPU VM(s) in %s", req.Address, len(drop), s.zone)
		errs = append(errs, p.deleteNodes(ctx, svc, req.Address, drop))
	}
	used := map[int]bool{}
	for _, n := range keep {
		used[index(n)] = true
	}
	var ids []string
	for i := 0; len(keep)+len(ids) < s.nodes; i++ {
		if !used[i] {
			ids = append(ids, generationNodeName(s.address, s.workspace, req.Generation, i))
		}
	}
	if len(ids) > 0 {
		req.Report("%s: creating %d %s TPU VM(s) in %s", req.Address, len(ids), s.tpu.AcceleratorType, s.zone)
		errs = append(errs, p.forEach(ctx, ids, func(ctx context.Context, id string) error {
			return p.createNode(ctx, svc, s, id)
		}))
	}
	for _, n := range keep {
		if !maps.Equal(n.Labels, s.labels) {
			errs = append(errs, p.patchNodeLabels(ctx, svc, s, n))
		}
	}
	return errors.Join(errs...)
}

func (p *Provider) createNode(ctx context.Context, svc *tpu.Service, s *tpuSpec, id string) error {
	what := fmt.Sprintf("creating TPU VM %s (%s) in zone %s", id, s.tpu.AcceleratorType, s.zone)
	parent := tpuParent(p.project, s.zone)
	var op *tpu.Operation
	err := p.retry(ctx, func(ctx context.Context) error {
		var err error
		op, err = svc.Projects.Locations.Nodes.Create(parent, s.node()).NodeId(id).Context(ctx).Do()
		return err
	})
	if isConflict(err) {
		got, getErr := svc.Projects.Locations.Nodes.Get(parent + "/nodes/" + id).Context(ctx).Do()
		if getErr == nil && ownsLabels(s.req, got.Labels) {
			if !maps.Equal(got.Labels, s.labels) {
				return p.patchNodeLabels(ctx, svc, s, got)
			}
			return nil
		}
		return fmt.Errorf("%s: %s (project %s): a TPU node of that name exists and is not owned by skyplan workspace %q; delete or rename it, or rename the cluster",
			s.address, what, p.project, s.workspace)
	}
	if err != nil {
		return p.apiError(s.address, what, "tpu", err)
	}
	if err := p.waitTPUOp(ctx, svc, op); err != nil {
		return fmt.Errorf("%s: %s (project %s): %w", s.address, what, p.project, err)
	}
	return nil
}

func (p *Provider) patchNodeLabels(ctx context.Context, svc *tpu.Service, s *tpuSpec, n *tpu.Node) error {
	what := fmt.Sprintf("setting labels of TPU VM %s in zone %s", lastSegment(n.Name), s.zone)
	var op *tpu.Operation
	err := p.retry(ctx, func(ctx context.Context) error {
		var err error
		op, err = svc.Projects.Locations.Nodes.Patch(n.Name, &tpu.Node{Labels: s.labels}).UpdateMask("labels").Context(ctx).Do()
		return err
	})
	if err != nil {
		return p.apiError(s.address, what, "tpu", err)
	}
	if err := p.waitTPUOp(ctx, svc, op); err != nil {
		return fmt.Errorf("%s: %s (project %s): %w", s.address, what, p.project, err)
	}
	return nil
}

// deleteTPU deletes the address's TPU VMs in the zone the prior state names.
func (p *Provider) deleteTPU(ctx context.Context, req providers.ApplyRequest) error {
	zone := ""
	if req.Prior != nil {
		zone = req.Prior.Attrs.String("zone")
	}
	if zone == "" {
		return fmt.Errorf("%s: cannot delete TPU VMs: the prior state names no zone", req.Address)
	}
	svc, err := p.tpuClient(ctx)
	if err != nil {
		return p.apiError(req.Address, "Cloud TPU client", "tpu", err)
	}
	mine, err := p.listOwnedNodes(ctx, svc, req, zone)
	if err != nil {
		return err
	}
	if len(mine) > 0 {
		req.Report("%s: deleting %d TPU VM(s)", req.Address, len(mine))
	}
	return p.deleteNodes(ctx, svc, req.Address, mine)
}

func (p *Provider) deleteNodes(ctx context.Context, svc *tpu.Service, address string, nodes []*tpu.Node) error {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	return p.forEach(ctx, names, func(ctx context.Context, name string) error {
		what := fmt.Sprintf("deleting TPU VM %s", name)
		var op *tpu.Operation
		err := p.retry(ctx, func(ctx context.Context) error {
			var err error
			op, err = svc.Projects.Locations.Nodes.Delete(name).Context(ctx).Do()
			return err
		})
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return p.apiError(address, what, "tpu", err)
		}
		if err := p.waitTPUOp(ctx, svc, op); err != nil {
			return fmt.Errorf("%s: %s: %w", address, what, err)
		}
		return nil
	})
}

// listNodes lists one zone's TPU nodes, or every zone's with zone "-", all
// pages (the API has no label filter), and the zones it could not reach.
func (p *Provider) listNodes(ctx context.Context, svc *tpu.Service, zone string) (nodes []*tpu.Node, unreachable []string, err error) {
	err = p.retry(ctx, func(ctx context.Context) error {
		nodes, unreachable = nil, nil
		call := svc.Projects.Locations.Nodes.List(tpuParent(p.project, zone))
		if p.pageSize > 0 {
			call.PageSize(p.pageSize)
		}
		return call.Pages(ctx, func(l *tpu.ListNodesResponse) error {
			nodes = append(nodes, l.Nodes...)
			unreachable = append(unreachable, l.Unreachable...)
			return nil
		})
	})
	return nodes, unreachable, err
}

func (p *Provider) observeTPUAddress(ctx context.Context, svc *tpu.Service, zone string, req providers.ApplyRequest) (*state.Resource, error) {
	address, workspace, desired := req.Address, req.Workspace, req.Desired
	mine, err := p.listOwnedNodes(ctx, svc, req, zone)
	if err != nil {
		return nil, err
	}
	r := tpuResource(address, workspace, zone, mine, desired)
	r.Attrs = providers.Overlay(desired, r.Attrs)
	return r, nil
}

// tpuResource describes one TPU VM cluster in spec terms.
func tpuResource(address, workspace, zone string, nodes []*tpu.Node, hint state.Attrs) *state.Resource {
	// A node being deleted is gone for the plan, as it is for apply: else a
	// delete in flight (one an interrupted apply started) shows as a
	// change no apply makes.
	nodes = slices.DeleteFunc(slices.Clone(nodes), func(n *tpu.Node) bool { return n.State == "DELETING" })
	sort.SliceStable(nodes, func(a, b int) bool {
		return nodeIndex(lastSegment(nodes[a].Name), address, workspace) < nodeIndex(lastSegment(nodes[b].Name), address, workspace)
	})
	r := &state.Resource{Address: address, Type: spec.AddressType(address), Cloud: CloudName,
		Attrs:   map[string]any{"cloud": CloudName, "nodes": int64(len(nodes)), "tpu_vm": true, "zone": zone, "region": regionOfZone(zone)},
		Private: map[string]string{"kind": "tpu", "zone": zone}}
	if len(nodes) == 0 {
		return r
	}
	var names []string
	for _, n := range nodes {
		id := strconv.FormatInt(n.Id, 10)
		if n.Id == 0 {
			id = n.Name
		}
		r.IDs = append(r.IDs, id)
		names = append(names, lastSegment(n.Name))
	}
	r.Private["nodes"] = strings.Join(names, ",")
	first := nodes[0]
	a := r.Attrs
	a["accelerators"] = sameSpelling("tpu-"+first.AcceleratorType, hint.String("accelerators"))
	a["runtime_version"] = first.RuntimeVersion
	a["use_spot"] = first.SchedulingConfig != nil && (first.SchedulingConfig.Spot || first.SchedulingConfig.Preemptible)
	a["use_internal_ips"] = first.NetworkConfig != nil && !first.NetworkConfig.EnableExternalIps
	labels := userLabels(first.Labels)
	if want := hint.StringMap("labels"); hint["labels"] != nil {
		for _, n := range nodes {
			if ul := userLabels(n.Labels); !maps.Equal(ul, want) {
				labels = ul
				break
			}
		}
	}
	a["labels"] = labels
	return r
}
