package aws

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var _ providers.Expander = (*Provider)(nil)

// Expand explains nodes stopped outside skyplan. Observe counts only running
// nodes and lists the others in stopped_nodes; Expand wants that list empty,
// so the plan is an update whenever apply has a stopped node to start or
// terminate (even when nodes itself does not change), and writes one note per
// node saying which. It reads only what Observe recorded; no network calls.
func (p *Provider) Expand(_ context.Context, r *spec.Resource, observed *state.Resource) (map[string]any, []string, error) {
	if (r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController) || observed == nil {
		return r.Attrs, nil, nil
	}
	stopped := decodeStopped(observed.Private[privateStopped])
	if len(stopped) == 0 {
		return r.Attrs, nil, nil
	}
	want := int64(1)
	if n, ok := attrInt(r.Attrs, "nodes"); ok && r.Type == spec.TypeCluster {
		want = n
	}
	notes := make([]string, 0, len(stopped))
	for _, n := range stopped {
		notes = append(notes, n.note(want))
	}
	return providers.WantNoStoppedNodes(r.Attrs), notes, nil
}

// stoppedNode is one entry of Private[privateStopped].
type stoppedNode struct {
	index int // -1: the instance holds no node index of its own
	id    string
	state string
}

func decodeStopped(v string) []stoppedNode {
	var out []stoppedNode
	for _, e := range strings.Split(v, ",") {
		parts := strings.SplitN(e, ":", 3)
		if len(parts) != 3 {
			continue
		}
		idx, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		out = append(out, stoppedNode{index: max(idx, -1), id: parts[1], state: parts[2]})
	}
	return out
}

// note says what apply does with the node when the spec wants nodes nodes:
// the same decision applyCluster makes (indexes below nodes are kept).
func (n stoppedNode) note(nodes int64) string {
	if n.index < 0 {
		return fmt.Sprintf("instance %s is %s outside skyplan and is not one of the cluster's numbered nodes; apply terminates it", n.id, n.state)
	}
	if int64(n.index) >= nodes {
		return fmt.Sprintf("node %d (%s) is %s outside skyplan; apply terminates it (nodes = %d)", n.index, n.id, n.state, nodes)
	}
	if n.state == "stopping" {
		return fmt.Sprintf("node %d (%s) is stopping outside skyplan; apply waits for it to stop, then starts it again", n.index, n.id)
	}
	return fmt.Sprintf("node %d (%s) is %s outside skyplan; apply starts it again", n.index, n.id, n.state)
}
