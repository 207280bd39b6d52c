package aws

import (
	"context"
	"fmt"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var _ providers.Expander = (*Provider)(nil)

// Expand explains nodes stopped outside skyplan (see
// providers.ExpandStoppedNodes): the plan is an update whenever apply has a
// stopped node to start or terminate, with a note per node saying which.
func (p *Provider) Expand(_ context.Context, r *spec.Resource, observed *state.Resource) (map[string]any, []string, error) {
	attrs, notes := providers.ExpandStoppedNodes(r, observed, stoppedNote)
	return attrs, notes, nil
}

// stoppedNote says what apply does with the node when the spec wants nodes
// nodes: the same decision applyCluster makes (indexes below nodes are kept).
func stoppedNote(n providers.StoppedNode, nodes int64) string {
	if n.Rank < 0 {
		return fmt.Sprintf("instance %s is %s outside skyplan and is not one of the cluster's numbered nodes; apply terminates it", n.Name, n.State)
	}
	if int64(n.Rank) >= nodes {
		return fmt.Sprintf("node %d (%s) is %s outside skyplan; apply terminates it (nodes = %d)", n.Rank, n.Name, n.State, nodes)
	}
	if n.State == "stopping" {
		return fmt.Sprintf("node %d (%s) is stopping outside skyplan; apply waits for it to stop, then starts it again", n.Rank, n.Name)
	}
	return fmt.Sprintf("node %d (%s) is %s outside skyplan; apply starts it again", n.Rank, n.Name, n.State)
}
