package gcp

import (
	"context"
	"fmt"
	"slices"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var _ providers.Expander = (*Provider)(nil)

// Expand explains nodes stopped or suspended outside skyplan (see
// providers.ExpandStoppedNodes): the plan is an update whenever apply has
// such a node to start, resume or delete, with a note per node saying which.
func (p *Provider) Expand(_ context.Context, r *spec.Resource, observed *state.Resource) (map[string]any, []string, error) {
	attrs, notes := providers.ExpandStoppedNodes(r, observed, func(n providers.StoppedNode, nodes int64) string {
		return stoppedNote(nodeLabel(n.Name, r.Address(), p.workspace), n.State, int64(n.Rank) < nodes, nodes)
	})
	return attrs, notes, nil
}

// stoppedNote says what apply does with a node in status: the same decision
// applyGCE makes (planNodes keeps the first nodes in rank order).
func stoppedNote(label, status string, kept bool, nodes int64) string {
	switch {
	case !kept:
		return fmt.Sprintf("%s is %s outside skyplan; apply deletes it (nodes = %d)", label, statusWord(status), nodes)
	case slices.Contains(stoppingStatuses, status):
		return fmt.Sprintf("%s is stopping outside skyplan; apply waits for it to stop, then starts it again", label)
	case slices.Contains(suspendingStatuses, status):
		return fmt.Sprintf("%s is suspending outside skyplan; apply waits for it to suspend, then resumes it", label)
	case slices.Contains(suspendedStatuses, status):
		return fmt.Sprintf("%s is suspended outside skyplan; apply resumes it", label)
	}
	return fmt.Sprintf("%s is stopped outside skyplan; apply starts it again", label)
}

// statusWord puts a GCE status in plain words (TERMINATED means stopped).
func statusWord(status string) string {
	switch {
	case slices.Contains(stoppingStatuses, status):
		return "stopping"
	case slices.Contains(suspendingStatuses, status):
		return "suspending"
	case slices.Contains(suspendedStatuses, status):
		return "suspended"
	}
	return "stopped"
}
