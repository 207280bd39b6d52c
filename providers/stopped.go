package providers

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// AttrStoppedNodes is the attribute under which a provider's Observe lists
// the nodes of a cluster or jobs_controller that exist but do not run
// (stopped outside skyplan); ExpandStoppedNodes then wants the list empty,
// which plans the update that starts (or, past nodes, removes) them. The
// same key in state.Resource.Private holds EncodeStoppedNodes' form.
const AttrStoppedNodes = "stopped_nodes"

// StoppedNode is a node that exists but does not run, as Observe records it
// for Expand.
type StoppedNode struct {
	// Rank decides whether apply keeps the node: kept when Rank < nodes. It
	// is the node index on AWS (-1: the instance has none) and the place in
	// apply's keep order on GCE.
	Rank  int
	Name  string // instance ID or name
	State string // as the cloud reports it
}

// EncodeStoppedNodes writes "RANK:NAME:STATE" entries joined by commas.
func EncodeStoppedNodes(nodes []StoppedNode) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%d:%s:%s", n.Rank, n.Name, n.State)
	}
	return strings.Join(parts, ",")
}

// DecodeStoppedNodes reads EncodeStoppedNodes' form, skipping malformed
// entries (a state written by another version must not fail a plan).
func DecodeStoppedNodes(v string) []StoppedNode {
	var out []StoppedNode
	for _, e := range strings.Split(v, ",") {
		parts := strings.SplitN(e, ":", 3)
		if len(parts) != 3 {
			continue
		}
		rank, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		out = append(out, StoppedNode{Rank: max(rank, -1), Name: parts[1], State: parts[2]})
	}
	return out
}

// RecordStoppedNodes puts an observation's stopped nodes on r: the
// stopped_nodes attribute (IDs or names, which a plan diffs) and, with rank
// and state, Private (which Expand reads). None: nothing is recorded.
func RecordStoppedNodes(r *state.Resource, nodes []StoppedNode) {
	if len(nodes) == 0 {
		return
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	if r.Attrs == nil {
		r.Attrs = map[string]any{}
	}
	if r.Private == nil {
		r.Private = map[string]string{}
	}
	r.Attrs[AttrStoppedNodes] = names
	r.Private[AttrStoppedNodes] = EncodeStoppedNodes(nodes)
}

// Overlay is a resource's attributes as apply or observe reports them: base
// (desired or prior attributes) for what the cloud does not say, overlaid by
// the observed ones. stopped_nodes comes from the observation only: the
// desired [] that ExpandStoppedNodes adds is a request, not a fact.
func Overlay(base, observed map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(observed))
	for k, v := range base {
		if k != AttrStoppedNodes {
			out[k] = v
		}
	}
	for k, v := range observed {
		out[k] = v
	}
	return out
}

// ExpandStoppedNodes is the Expand of a cluster or jobs_controller with
// nodes stopped outside skyplan: desired attributes that want stopped_nodes
// empty (on a copy: the spec's map is shared), and one note per stopped
// node, written by note given the node and the nodes the spec wants (kept:
// Rank < nodes). Anything else passes through unchanged. No network calls.
func ExpandStoppedNodes(r *spec.Resource, observed *state.Resource, note func(n StoppedNode, nodes int64) string) (map[string]any, []string) {
	if (r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController) || observed == nil {
		return r.Attrs, nil
	}
	stopped := DecodeStoppedNodes(observed.Private[AttrStoppedNodes])
	if len(stopped) == 0 {
		return r.Attrs, nil
	}
	want := int64(1)
	if n, ok := state.NormalizeValue(r.Attrs["nodes"]).(int64); ok && r.Type == spec.TypeCluster {
		want = n
	}
	notes := make([]string, 0, len(stopped))
	for _, n := range stopped {
		notes = append(notes, note(n, want))
	}
	attrs := maps.Clone(r.Attrs)
	if attrs == nil {
		attrs = map[string]any{}
	}
	attrs[AttrStoppedNodes] = []string{}
	return attrs, notes
}
