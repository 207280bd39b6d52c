package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/skyplan/skyplan/providers"
)

// LabelPolicy decides which GPU label each node gets: a gpu_label_policy's
// attributes, or the flags of `skyplan k8s label-gpus`.
type LabelPolicy struct {
	Owner     Owner
	LabelKey  string
	Overrides map[string]string
	Overwrite bool
	// Selector limits the policy to matching nodes (nil: every node).
	Selector labels.Selector
	// KeepUnwanted keeps the owner's labels on nodes that are not desired
	// (label-gpus adds; only --remove takes away). A policy removes them.
	KeepUnwanted bool
	// OnlyLabelKey leaves the owner's labels under other keys alone.
	OnlyLabelKey bool
}

// dropped lists the owner's labels on a node that go away.
func (p LabelPolicy) dropped(own Ownership, wanted bool) []string {
	var out []string
	for _, k := range own.KeysOwnedBy(p.Owner) {
		switch {
		case k != p.LabelKey && p.OnlyLabelKey:
		case k == p.LabelKey && (wanted || p.KeepUnwanted):
		default:
			out = append(out, k)
		}
	}
	return out
}

// Validate checks the label key and override values, naming what is wrong.
func (p LabelPolicy) Validate() error {
	if errs := validation.IsQualifiedName(p.LabelKey); len(errs) > 0 {
		return fmt.Errorf("label_key %q is not a valid Kubernetes label key: %s", p.LabelKey, strings.Join(errs, "; "))
	}
	for _, k := range slices.Sorted(maps.Keys(p.Overrides)) {
		v := overrideDetection(k, p.Overrides[k]).Value
		if v == "" {
			return fmt.Errorf("overrides[%q] is empty; give the GPU model, e.g. \"a100\"", k)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("overrides[%q] = %q is not a valid label value: %s", k, p.Overrides[k], strings.Join(errs, "; "))
		}
	}
	return nil
}

func (p LabelPolicy) selects(n *corev1.Node) bool {
	return p.Selector == nil || p.Selector.Matches(labels.Set(n.Labels))
}

// NodeState is what happens to one GPU node's label.
type NodeState string

const (
	StateAdd          NodeState = "add"          // absent: skyplan sets it
	StateChange       NodeState = "change"       // skyplan's label has another value: updated
	StateUnchanged    NodeState = "unchanged"    // skyplan's label is already right
	StateAdopt        NodeState = "adopt"        // set by label-gpus: the policy takes it over
	StateOverwrite    NodeState = "overwrite"    // set by someone else; overwrite = true replaces it
	StateForeignSame  NodeState = "labelled"     // someone else set the right value: left alone, not owned
	StateConflict     NodeState = "conflict"     // someone else set another value: left alone
	StateOtherOwner   NodeState = "other-owner"  // another skyplan policy owns it: left alone
	StateUndetermined NodeState = "undetermined" // GPU model unknown: no label
)

// Desired reports whether skyplan owns the label after this state is applied.
func (s NodeState) Desired() bool {
	switch s {
	case StateAdd, StateChange, StateUnchanged, StateAdopt, StateOverwrite:
		return true
	}
	return false
}

// NodeLabel is the decision for one GPU node.
type NodeLabel struct {
	Node         string
	InstanceType string
	GPUs         int64
	Detection    Detection
	// Current is the node's value of the label key (HasCurrent: present).
	Current    string
	HasCurrent bool
	// Holder is the skyplan owner recorded for the label, if any.
	Holder *Owner
	State  NodeState
}

// LabelPlan is the labelling decision for a whole cluster.
type LabelPlan struct {
	LabelKey string
	// Nodes are the selected GPU nodes, by name.
	Nodes []NodeLabel
	// Desired maps node → label value skyplan will own there.
	Desired map[string]string
	// Remove lists nodes where the owner's labels go away (no GPU, model no
	// longer known, outside the selector, or another label key).
	Remove []string
	// Owned are the labels the owner holds under LabelKey, on any node.
	Owned []OwnedLabel
	// Ignored are overrides that detection contradicted, one per override.
	Ignored []string
	// Total and GPUNodes count listed and GPU nodes.
	Total, GPUNodes int
}

// OwnedLabel is a label the owner holds on a node.
type OwnedLabel struct {
	Node, Value string
	// Replaced is the value it replaced, restored on removal.
	Replaced *string
}

// Count returns how many nodes are in a state.
func (lp *LabelPlan) Count(s NodeState) int {
	n := 0
	for _, nl := range lp.Nodes {
		if nl.State == s {
			n++
		}
	}
	return n
}

// PlanLabels decides, from one node list, the label of every GPU node.
func PlanLabels(nodes []*corev1.Node, p LabelPolicy) (*LabelPlan, error) {
	lp := &LabelPlan{LabelKey: p.LabelKey, Desired: map[string]string{}, Total: len(nodes)}
	ignored := map[string][]*IgnoredOverride{}
	for _, n := range nodes {
		own, err := NodeOwnership(n)
		if err != nil {
			return nil, err
		}
		if o, ok := own[p.LabelKey]; ok && o.Same(p.Owner) {
			lp.Owned = append(lp.Owned, OwnedLabel{Node: n.Name, Value: n.Labels[p.LabelKey], Replaced: o.Replaced})
		}
		gpus := GPUCount(n)
		if gpus <= 0 || !p.selects(n) {
			if len(p.dropped(own, false)) > 0 {
				lp.Remove = append(lp.Remove, n.Name)
			}
			continue
		}
		lp.GPUNodes++
		det, ign := Detect(n, p.Overrides)
		if ign != nil {
			ignored[ign.Key] = append(ignored[ign.Key], ign)
		}
		nl := NodeLabel{Node: n.Name, InstanceType: InstanceType(n), GPUs: gpus, Detection: det}
		nl.Current, nl.HasCurrent = n.Labels[p.LabelKey]
		if o, ok := own[p.LabelKey]; ok {
			nl.Holder = &o
		}
		if !det.Found() {
			nl.State = StateUndetermined
		} else {
			nl.State = decide(nl.Current, nl.HasCurrent, own, p, det.Value)
		}
		if nl.State.Desired() {
			lp.Desired[n.Name] = det.Value
		}
		if len(p.dropped(own, nl.State.Desired())) > 0 {
			lp.Remove = append(lp.Remove, n.Name)
		}
		lp.Nodes = append(lp.Nodes, nl)
	}
	for _, key := range slices.Sorted(maps.Keys(ignored)) {
		list := ignored[key]
		first := list[0]
		lp.Ignored = append(lp.Ignored, fmt.Sprintf("override %q = %q ignored on %d node(s) (e.g. %s): detected %s from %s",
			key, first.Value, len(list), first.Node, first.Detected.Value, first.Detected.Source))
	}
	return lp, nil
}

// decide is the one place that says whether skyplan may set a label.
func decide(cur string, has bool, own Ownership, p LabelPolicy, want string) NodeState {
	o, held := own[p.LabelKey]
	switch {
	case !has:
		return StateAdd
	case held && o.Same(p.Owner):
		if cur == want {
			return StateUnchanged
		}
		return StateChange
	case held && o.Address == CLIOwnerAddress && p.Owner.Address != CLIOwnerAddress:
		return StateAdopt
	case held:
		// The CLI never takes a label from a policy: they would fight.
		if p.Overwrite && p.Owner.Address != CLIOwnerAddress {
			return StateOverwrite
		}
		return StateOtherOwner
	case cur == want:
		return StateForeignSame
	case p.Overwrite:
		return StateOverwrite
	}
	return StateConflict
}

// Notes summarise, for a plan, the nodes that will not be labelled and why.
// Long lists are cut: 5,000 undetermined nodes are one instance type.
func (lp *LabelPlan) Notes() []string {
	var notes []string
	const maxListed = 10
	var conflicts, others []string
	undetermined := map[string][]string{} // instance type → nodes
	for _, nl := range lp.Nodes {
		switch nl.State {
		case StateConflict:
			conflicts = append(conflicts, fmt.Sprintf("conflict: node %s has %s=%s (not set by skyplan); detected %s from %s; set overwrite = true to replace",
				nl.Node, lp.LabelKey, nl.Current, nl.Detection.Value, nl.Detection.Source))
		case StateOtherOwner:
			others = append(others, fmt.Sprintf("conflict: node %s has %s=%s set by %s; not changed", nl.Node, lp.LabelKey, nl.Current, nl.Holder))
		case StateUndetermined:
			it := nl.InstanceType
			if it == "" {
				it = "(no instance-type label)"
			}
			undetermined[it] = append(undetermined[it], nl.Node)
		}
	}
	notes = append(notes, capList(conflicts, maxListed, "conflicts")...)
	notes = append(notes, capList(others, maxListed, "conflicts")...)
	for _, it := range slices.Sorted(maps.Keys(undetermined)) {
		names := undetermined[it]
		shown := names
		if len(shown) > maxListed {
			shown = shown[:maxListed]
		}
		more := ""
		if len(names) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(names)-len(shown))
		}
		hint := fmt.Sprintf("add overrides = { %q = \"<model>\" }", it)
		if strings.HasPrefix(it, "(") {
			hint = fmt.Sprintf("add overrides = { %q = \"<model>\" } per node", shown[0])
		}
		notes = append(notes, fmt.Sprintf("undetermined: cannot tell the GPU model of %d node(s) with instance type %s (%s%s); not labelled: %s, or run `skyplan k8s detect-gpu` on the node",
			len(names), it, strings.Join(shown, ", "), more, hint))
	}
	notes = append(notes, lp.Ignored...)
	return notes
}

func capList(lines []string, max int, what string) []string {
	if len(lines) <= max {
		return lines
	}
	return append(lines[:max:max], fmt.Sprintf("... and %d more %s", len(lines)-max, what))
}

// Labeler patches node labels concurrently with a bounded worker pool.
type Labeler struct {
	Client kubernetes.Interface
	// Parallelism bounds concurrent patches (default 32).
	Parallelism int
	// Progress, when set, receives a line every 500 nodes.
	Progress func(msg string)
}

// LabelResult is what applying a label plan did.
type LabelResult struct {
	// Owned maps node → label value the owner holds after the run.
	Owned   map[string]string
	Patched int
	Skipped []string // nodes that left the cluster
}

// errConflictSincePlan marks nodes changed by someone else since the plan.
var errConflictSincePlan = errors.New("changed since the plan")

// Apply makes the cluster match: the owner holds p.LabelKey = desired[node]
// on each desired node and no other label anywhere. nodes is a fresh list;
// each node is patched with its resourceVersion as precondition, and on a
// conflict it is read again and reconsidered.
func (l *Labeler) Apply(ctx context.Context, nodes []*corev1.Node, p LabelPolicy, desired map[string]string) (*LabelResult, error) {
	res := &LabelResult{Owned: map[string]string{}}
	var work []*corev1.Node
	seen := map[string]bool{}
	for _, n := range nodes {
		own, err := NodeOwnership(n)
		if err != nil {
			return res, err
		}
		seen[n.Name] = true
		if _, want := desired[n.Name]; want || len(p.dropped(own, false)) > 0 {
			work = append(work, n)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(desired)) {
		if !seen[name] {
			res.Skipped = append(res.Skipped, name)
		}
	}

	par := l.Parallelism
	if par <= 0 {
		par = 32
	}
	var (
		mu   sync.Mutex
		errs []error
		done int
	)
	var g errgroup.Group
	g.SetLimit(par)
	for _, n := range work {
		g.Go(providers.Safely(func() error {
			want, wanted := desired[n.Name]
			owned, patched, err := l.reconcile(ctx, n, p, want, wanted)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if owned != "" {
				res.Owned[n.Name] = owned
			}
			if patched {
				res.Patched++
			}
			done++
			if l.Progress != nil && done%500 == 0 {
				l.Progress(fmt.Sprintf("%d/%d nodes done", done, len(work)))
			}
			return nil
		}))
	}
	_ = g.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return res, errors.Join(errs...)
}

// reconcile brings one node in line, retrying on resourceVersion conflicts.
// It returns the label value the owner holds there afterwards.
func (l *Labeler) reconcile(ctx context.Context, n *corev1.Node, p LabelPolicy, want string, wanted bool) (owned string, patched bool, err error) {
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		patch, after, perr := nodePatch(n, p, want, wanted)
		if perr != nil {
			return perr
		}
		owned = after
		if patch == nil {
			return nil
		}
		_, perr = l.Client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "skyplan"})
		if apierrors.IsConflict(perr) {
			fresh, gerr := l.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			n = fresh
		}
		if perr == nil {
			patched = true
		}
		return perr
	})
	if apierrors.IsNotFound(err) {
		return "", false, nil // the node left the cluster: nothing to label or clean
	}
	if err != nil {
		owned = ""
		return "", false, fmt.Errorf("node %s: %w", n.Name, err)
	}
	return owned, patched, nil
}

// nodePatch computes the merge patch for one node: set or restore labels and
// rewrite the ownership annotation. nil when the node is already right.
func nodePatch(n *corev1.Node, p LabelPolicy, want string, wanted bool) (patch []byte, owned string, err error) {
	own, err := NodeOwnership(n)
	if err != nil {
		return nil, "", err
	}
	next := own.clone()
	labelOps := map[string]*string{}
	for _, k := range p.dropped(own, wanted) {
		labelOps[k] = own[k].Replaced // restore what skyplan replaced, else remove
		delete(next, k)
	}
	if wanted {
		cur, has := n.Labels[p.LabelKey]
		prev, held := own[p.LabelKey]
		entry := Owner{Workspace: p.Owner.Workspace, Address: p.Owner.Address, State: p.Owner.State}
		switch decide(cur, has, own, p, want) {
		case StateAdd:
		case StateChange, StateUnchanged, StateAdopt:
			entry.Replaced = prev.Replaced
		case StateOverwrite:
			if held {
				entry.Replaced = prev.Replaced
			} else {
				entry.Replaced = &cur
			}
		case StateForeignSame:
			// Someone else set the right value since the plan: theirs to keep.
			return patchBytes(n, labelOps, own, next), "", nil
		default:
			who := "not set by skyplan"
			if held {
				who = "set by " + prev.String()
			}
			return nil, "", fmt.Errorf("%w: %s=%s (%s); not overwritten", errConflictSincePlan, p.LabelKey, cur, who)
		}
		next[p.LabelKey] = entry
		if !has || cur != want {
			labelOps[p.LabelKey] = &want
		}
		owned = want
	}
	return patchBytes(n, labelOps, own, next), owned, nil
}

func patchBytes(n *corev1.Node, labelOps map[string]*string, before, after Ownership) []byte {
	meta := map[string]any{}
	if len(labelOps) > 0 {
		meta["labels"] = labelOps
	}
	if a, b := before.encode(), after.encode(); (a == nil) != (b == nil) || (a != nil && *a != *b) {
		meta["annotations"] = map[string]*string{OwnershipAnnotation: b}
	}
	if len(meta) == 0 {
		return nil
	}
	meta["resourceVersion"] = n.ResourceVersion
	b, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		panic(err) // strings only
	}
	return b
}
