// Package kubernetes is skyplan's Kubernetes provider. It manages one kind of
// resource, gpu_label_policy: accelerator labels on GPU nodes, so that the
// SkyPilot scheduler can place jobs by GPU type on clusters (EKS above all)
// whose nodes expose nvidia.com/gpu but no model label. The model comes from
// labels that already name it (GPU Feature Discovery, GKE, EKS), else from
// the instance type through skyplan's catalog, else from the policy's
// overrides; nodes whose model cannot be told are reported, never guessed.
//
// Labels skyplan sets are recorded in a node annotation (OwnershipAnnotation)
// so destroy removes exactly those; labels set by people or other
// controllers are never changed unless the policy says overwrite = true.
package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

func init() { providers.Register("kubernetes", New) }

// Compile-time checks of what the provider offers.
var (
	_ providers.Provider         = (*Provider)(nil)
	_ providers.Expander         = (*Provider)(nil)
	_ providers.GPUNodeInspector = (*Provider)(nil)
)

// Provider talks to one cluster (one kubeconfig context).
type Provider struct {
	opts      ClientOptions
	workspace string
	// describe names the cluster in messages: the context, else "current context".
	describe string

	once      sync.Once
	client    kubernetes.Interface
	host      string
	clientErr error

	// Parallelism bounds concurrent node patches.
	Parallelism int

	// snapshot is the node list Observe took; Expand reuses it so a plan
	// lists the nodes once.
	snapMu   sync.Mutex
	snapshot []*corev1.Node
	snapAt   time.Time
}

// snapshotTTL bounds how stale a plan's node list may be for Expand.
const snapshotTTL = time.Minute

// New builds the provider from the cloud block's kubeconfig and context; it
// makes no network call.
func New(_ context.Context, cfg providers.Config) (providers.Provider, error) {
	opts := ClientOptions{Kubeconfig: cfg.Cloud.String("kubeconfig"), Context: cfg.Cloud.String("context"), CallTimeout: cfg.Limits.WithDefaults().CallTimeout}
	return &Provider{opts: opts, workspace: cfg.Workspace, describe: describeContext(opts.Context)}, nil
}

// NewWithClient builds a provider around an existing client (e.g. a fake clientset).
func NewWithClient(cs kubernetes.Interface, workspace, contextName string) *Provider {
	p := &Provider{workspace: workspace, describe: describeContext(contextName), client: cs}
	p.once.Do(func() {})
	return p
}

func describeContext(name string) string {
	if name == "" {
		return "the current kubeconfig context"
	}
	return fmt.Sprintf("kubeconfig context %q", name)
}

// Name is the cloud name.
func (p *Provider) Name() string { return "kubernetes" }

// Client returns the clientset, building it on first use.
func (p *Provider) Client() (kubernetes.Interface, error) {
	p.once.Do(func() {
		p.client, p.host, p.clientErr = p.opts.Clientset()
	})
	return p.client, p.clientErr
}

// Check reports the compute capability: it holds when the credentials may
// list and patch nodes, asked through SelfSubjectAccessReviews. Kubernetes
// offers skyplan no storage.
func (p *Provider) Check(ctx context.Context) []providers.CapabilityStatus {
	compute := providers.CapabilityStatus{Capability: spec.CapCompute}
	cs, err := p.Client()
	if err != nil {
		compute.Reason = err.Error()
		return []providers.CapabilityStatus{compute}
	}
	var denied, allowed []string
	for _, verb := range []string{"list", "patch"} {
		review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Resource: "nodes"}},
		}, metav1.CreateOptions{})
		switch {
		case apierrors.IsUnauthorized(err):
			compute.Reason = fmt.Sprintf("the Kubernetes API server of %s%s rejected the credentials: %v", p.describe, p.hostSuffix(), err)
			return []providers.CapabilityStatus{compute}
		case apierrors.IsForbidden(err):
			compute.Reason = fmt.Sprintf("the credentials of %s may not ask what they are allowed (SelfSubjectAccessReview): %v", p.describe, err)
			return []providers.CapabilityStatus{compute}
		case err != nil:
			compute.Reason = fmt.Sprintf("cannot reach the Kubernetes API server of %s%s: %v", p.describe, p.hostSuffix(), err)
			return []providers.CapabilityStatus{compute}
		}
		if review.Status.Allowed {
			allowed = append(allowed, verb)
		} else {
			denied = append(denied, verb)
		}
	}
	if len(denied) > 0 {
		compute.Reason = fmt.Sprintf("the credentials of %s may not %s nodes (needed to detect and label GPU nodes)", p.describe, strings.Join(denied, " or "))
		if len(allowed) > 0 {
			compute.Reason += fmt.Sprintf("; they may %s nodes", strings.Join(allowed, " and "))
		}
		return []providers.CapabilityStatus{compute}
	}
	compute.OK = true
	compute.Reason = fmt.Sprintf("%s may list and patch nodes", p.describe)
	return []providers.CapabilityStatus{compute}
}

func (p *Provider) hostSuffix() string {
	if p.host == "" {
		return ""
	}
	return " (" + p.host + ")"
}

// nodes lists every node once (paginated) and keeps the list for Expand.
func (p *Provider) nodes(ctx context.Context, reuse bool) ([]*corev1.Node, error) {
	if reuse {
		p.snapMu.Lock()
		snap, at := p.snapshot, p.snapAt
		p.snapMu.Unlock()
		if snap != nil && time.Since(at) < snapshotTTL {
			return snap, nil
		}
	}
	cs, err := p.Client()
	if err != nil {
		return nil, err
	}
	nodes, err := ListNodes(ctx, cs, "")
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", p.describe, p.hostSuffix(), err)
	}
	p.snapMu.Lock()
	p.snapshot, p.snapAt = nodes, time.Now()
	p.snapMu.Unlock()
	return nodes, nil
}

// forgetNodes drops the node list after patching: its resourceVersions are stale.
func (p *Provider) forgetNodes() {
	p.snapMu.Lock()
	p.snapshot = nil
	p.snapMu.Unlock()
}

// Observe returns the gpu_label_policy resources of the workspace, found by
// the ownership annotations of one paginated node list. node_labels are the
// labels each policy holds (node → current value). A policy that holds no
// label is still reported when state knows it (its hint carries
// node_labels), so an empty policy does not show as a create on every plan.
func (p *Provider) Observe(ctx context.Context, req providers.ObserveRequest) ([]*state.Resource, error) {
	if req.Skip[spec.CapCompute] {
		return nil, nil // nodes cannot be listed with these credentials
	}
	nodes, err := p.nodes(ctx, false)
	if err != nil {
		return nil, err
	}
	type found struct {
		keys   map[string]bool
		labels map[string]string
		ids    map[string]bool
		state  string
	}
	byAddr := map[string]*found{}
	get := func(addr string) *found {
		f := byAddr[addr]
		if f == nil {
			f = &found{keys: map[string]bool{}, labels: map[string]string{}, ids: map[string]bool{}}
			byAddr[addr] = f
		}
		return f
	}
	for _, n := range nodes {
		own, err := NodeOwnership(n)
		if err != nil {
			return nil, err
		}
		for key, o := range own {
			if o.Address == CLIOwnerAddress || o.Workspace != req.Workspace {
				continue
			}
			f := get(o.Address)
			if o.State != "" {
				f.state = o.State
			}
			f.keys[key] = true
			f.ids[n.Name] = true
			if v, ok := n.Labels[key]; ok {
				f.labels[n.Name] = v
			}
		}
	}
	hintKey := map[string]string{}
	for _, h := range req.Resources {
		if h.Type != spec.TypeGPULabelPolicy {
			continue
		}
		if k, _ := h.Attrs["label_key"].(string); k != "" {
			hintKey[h.Address] = k
		}
		if _, inState := h.Attrs["node_labels"]; inState {
			// A policy that holds no label yet is still this state's.
			if f := get(h.Address); len(f.keys) == 0 {
				f.state = req.StateID
			}
		}
	}
	var out []*state.Resource
	for _, addr := range slices.Sorted(maps.Keys(byAddr)) {
		f := byAddr[addr]
		key := hintKey[addr]
		if key == "" {
			key = DefaultLabelKey
		}
		if len(f.keys) > 0 && !(len(f.keys) == 1 && f.keys[key]) {
			// Labels held under another key (label_key changed): report it,
			// so the plan shows an update that moves them.
			key = strings.Join(slices.Sorted(maps.Keys(f.keys)), ",")
		}
		ids := slices.Sorted(maps.Keys(f.ids))
		out = append(out, &state.Resource{
			Address: addr, Type: spec.TypeGPULabelPolicy, Cloud: "kubernetes", IDs: ids, StateID: f.state,
			Attrs: map[string]any{"cloud": "kubernetes", "label_key": key, "node_labels": f.labels},
		})
	}
	return out, nil
}

// Expand fills in node_labels, the labels the policy should hold (node →
// value), from the current nodes; notes name undetermined nodes and
// conflicts that will not be overwritten.
func (p *Provider) Expand(ctx context.Context, r *spec.Resource, _ *state.Resource) (map[string]any, []string, error) {
	if r.Type != spec.TypeGPULabelPolicy {
		return r.Attrs, nil, nil
	}
	pol, err := policyFromAttrs(r.Attrs, Owner{Workspace: p.workspace, Address: r.Address()})
	if err != nil {
		return nil, nil, err
	}
	nodes, err := p.nodes(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	lp, err := PlanLabels(nodes, pol)
	if err != nil {
		return nil, nil, err
	}
	attrs := make(map[string]any, len(r.Attrs)+1)
	for k, v := range r.Attrs {
		attrs[k] = v
	}
	attrs["node_labels"] = lp.Desired
	return attrs, lp.Notes(), nil
}

// Apply labels nodes (create, update) or removes the policy's labels
// (delete). Desired node_labels come from Expand. Each patch is conditional
// on the node's resourceVersion, and a node changed since it was listed is
// read and decided again, so a label a person set since the plan is never
// overwritten by accident.
func (p *Provider) Apply(ctx context.Context, req providers.ApplyRequest) (*state.Resource, error) {
	if req.Type != spec.TypeGPULabelPolicy {
		return nil, fmt.Errorf("%s: the kubernetes provider manages only gpu_label_policy, not %s", req.Address, req.Type)
	}
	if req.Op == providers.OpRelease {
		return nil, p.release(ctx, req)
	}
	owner := Owner{Workspace: req.Workspace, Address: req.Address, State: req.StateID}
	cs, err := p.Client()
	if err != nil {
		return req.Prior, fmt.Errorf("%s: %w", req.Address, err)
	}
	// The plan's node list is safe to reuse: every patch is conditional on
	// the node's resourceVersion, and a node changed since is read again.
	nodes, err := p.nodes(ctx, true)
	if err != nil {
		return req.Prior, fmt.Errorf("%s: %w", req.Address, err)
	}
	defer p.forgetNodes()
	labeler := &Labeler{Client: cs, Parallelism: p.Parallelism, Progress: req.Progress}

	if req.Op == providers.OpDelete {
		// Every label the owner holds goes, whatever key it is under.
		res, err := labeler.Apply(ctx, nodes, LabelPolicy{Owner: owner, LabelKey: DefaultLabelKey}, nil)
		if err != nil {
			return req.Prior, fmt.Errorf("%s: removing its labels: %w", req.Address, err)
		}
		req.Report("labels removed from %d nodes", res.Patched)
		return nil, nil
	}

	pol, err := policyFromAttrs(req.Desired, owner)
	if err != nil {
		return req.Prior, fmt.Errorf("%s: %w", req.Address, err)
	}
	desired, ok := state.NormalizeValue(req.Desired["node_labels"]).(map[string]string)
	if !ok {
		// Not expanded (e.g. an apply without a plan): decide now.
		lp, err := PlanLabels(nodes, pol)
		if err != nil {
			return req.Prior, fmt.Errorf("%s: %w", req.Address, err)
		}
		desired = lp.Desired
	}
	res, err := labeler.Apply(ctx, nodes, pol, desired)
	out := p.resource(req, req.Desired, res.Owned)
	for _, name := range res.Skipped {
		req.Report("node %s left the cluster; not labelled", name)
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", req.Address, err)
	}
	req.Report("%d nodes patched, %d labelled", res.Patched, len(res.Owned))
	return out, nil
}

// resource is the state entry after an apply: the spec attributes plus the
// labels the policy now holds.
func (p *Provider) resource(req providers.ApplyRequest, attrs map[string]any, owned map[string]string) *state.Resource {
	out := &state.Resource{Address: req.Address, Type: spec.TypeGPULabelPolicy, Cloud: "kubernetes", Attrs: map[string]any{}}
	for k, v := range attrs {
		out.Attrs[k] = v
	}
	if owned == nil {
		owned = map[string]string{}
	}
	out.Attrs["node_labels"] = owned
	out.IDs = slices.Sorted(maps.Keys(owned))
	return out
}

// policyFromAttrs reads a gpu_label_policy's attributes.
func policyFromAttrs(attrs state.Attrs, owner Owner) (LabelPolicy, error) {
	pol := LabelPolicy{Owner: owner, LabelKey: DefaultLabelKey}
	if k := attrs.String("label_key"); k != "" {
		pol.LabelKey = k
	}
	pol.Overrides = attrs.StringMap("overrides")
	pol.Overwrite = attrs.Bool("overwrite")
	if sel := attrs.StringMap("node_selector"); len(sel) > 0 {
		s, err := labels.ValidatedSelectorFromSet(sel)
		if err != nil {
			return pol, fmt.Errorf("node_selector is not a valid label selector: %w", err)
		}
		pol.Selector = s
	}
	if err := pol.Validate(); err != nil {
		return pol, err
	}
	return pol, nil
}

// GPUNodes reports nodes with GPU capacity or a GPU label, for lint.
func (p *Provider) GPUNodes(ctx context.Context, labelKeys ...string) ([]providers.GPUNode, error) {
	nodes, err := p.nodes(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []providers.GPUNode
	for _, n := range nodes {
		gpus := GPUCount(n)
		if gpus <= 0 && !hasGPULabel(n, labelKeys) {
			continue
		}
		lbls := make(map[string]string, len(n.Labels))
		for k, v := range n.Labels {
			lbls[k] = v
		}
		out = append(out, providers.GPUNode{Name: n.Name, GPUCapacity: gpus, InstanceType: InstanceType(n), Labels: lbls, Detected: DetectFromNode(n).Model})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func hasGPULabel(n *corev1.Node, extra []string) bool {
	for _, k := range append(append([]string{DefaultLabelKey}, modelLabels...), extra...) {
		if _, ok := n.Labels[k]; ok {
			return true
		}
	}
	return false
}
