package gcp

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// privateStopped is the state.Resource.Private key under which Observe lists
// a GCE cluster's nodes that do not run, for Expand.
const privateStopped = "stopped_nodes"

var _ providers.Expander = (*Provider)(nil)

// Expand explains nodes stopped or suspended outside skyplan. Observe counts
// only running nodes and lists the others in stopped_nodes; Expand wants that
// list empty, so the plan is an update whenever apply has such a node to
// start, resume or delete (even when nodes itself does not change), and
// writes one note per node saying which. It reads only what Observe recorded;
// no network calls.
func (p *Provider) Expand(_ context.Context, r *spec.Resource, observed *state.Resource) (map[string]any, []string, error) {
	if (r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController) || observed == nil || observed.Private[privateStopped] == "" {
		return r.Attrs, nil, nil
	}
	want := int64(1)
	if n, ok := attrInt(r.Attrs, "nodes"); ok && r.Type == spec.TypeCluster {
		want = n
	}
	var notes []string
	for _, e := range strings.Split(observed.Private[privateStopped], ",") {
		parts := strings.SplitN(e, ":", 3)
		if len(parts) != 3 {
			continue
		}
		rank, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		notes = append(notes, stoppedNote(nodeLabel(parts[1], r.Address(), p.workspace), parts[2], int64(rank) < want, want))
	}
	return providers.WantNoStoppedNodes(r.Attrs), notes, nil
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
