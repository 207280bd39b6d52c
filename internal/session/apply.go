package session

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/skyplan/skyplan/executor"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/state"
)

// ApplyOptions steer Apply.
type ApplyOptions struct {
	Parallelism int
	// Progress receives apply's progress lines.
	Progress io.Writer
	// Stop, when closed, starts no new actions, and running ones stop
	// waiting for the cloud (state keeps what exists so far).
	Stop <-chan struct{}
}

// Apply carries out a plan, saving state after every step.
func (s *Session) Apply(ctx context.Context, p *planner.Plan, opts ApplyOptions) (*executor.Result, error) {
	ex := &executor.Executor{Providers: s.Providers.Map(), Backend: s.Backend, State: s.State,
		Parallelism: opts.Parallelism, Progress: opts.Progress, Stop: opts.Stop}
	return ex.Apply(ctx, p)
}

// RebuildOptions say whose objects a rebuild takes.
type RebuildOptions struct {
	// Lineage is the state identity to rebuild, as tagged on its objects
	// (skyplan-state). Required when the state file is gone; when it exists
	// its own lineage is used and Lineage must match or be empty.
	Lineage string
	// Untagged also takes objects with the workspace's tags but no state tag
	// (made before skyplan tagged state identity); the next apply tags them.
	Untagged bool
}

// ErrChooseLineage lists, when a rebuild does not know whose objects to
// take, the states that have objects in the workspace.
type ErrChooseLineage struct {
	Workspace  string
	Candidates map[string][]string // lineage ("" = untagged) → addresses
}

func (e *ErrChooseLineage) Error() string {
	if len(e.Candidates) == 0 {
		return fmt.Sprintf("no objects with workspace %q's tags were found; there is nothing to rebuild", e.Workspace)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "objects of %d state(s) were found in workspace %q; say which state to rebuild:", len(e.Candidates), e.Workspace)
	for _, id := range slices.Sorted(maps.Keys(e.Candidates)) {
		if id == "" {
			fmt.Fprintf(&b, "\n  untagged (made before skyplan tagged state identity): %s  → skyplan state rebuild --untagged", planner.ShortList(e.Candidates[id], 6))
			continue
		}
		fmt.Fprintf(&b, "\n  lineage %s: %s  → skyplan state rebuild --lineage %s", id, planner.ShortList(e.Candidates[id], 6), id)
	}
	b.WriteString("\nThe lineage of a state is printed by `skyplan state list` and tagged on each of its objects as skyplan-state; two spec directories in one workspace have different ones.")
	return b.String()
}

// Rebuild makes a state from the ownership tags in the clouds: every object
// of one state (its lineage), which keeps its dependency edges and the
// spec's skyplan-only settings (force_destroy) where the spec still declares it.
func (s *Session) Rebuild(ctx context.Context, opts RebuildOptions) (*state.State, *Refresh, error) {
	fresh := s.State.Serial == 0 && len(s.State.Resources) == 0
	switch {
	case !fresh && opts.Lineage != "" && opts.Lineage != s.State.Lineage:
		return nil, nil, fmt.Errorf("the state file has lineage %s, not %s; rebuild only restores a lost state (move or delete the state file first)", s.State.Lineage, opts.Lineage)
	case fresh && opts.Lineage != "":
		s.State.Lineage = opts.Lineage
	}
	ref := s.Refresh(ctx)
	if len(ref.Gaps) > 0 {
		return nil, ref, fmt.Errorf("state rebuild needs every cloud observed, and %s", ref.Gaps[0].Describe())
	}
	taken := slices.Clone(ref.Observation.Resources)
	candidates := map[string][]string{}
	for _, f := range ref.Foreign {
		candidates[f.StateID] = append(candidates[f.StateID], f.Address)
	}
	if opts.Untagged {
		taken = append(taken, ref.untagged...)
	}
	if fresh && opts.Lineage == "" && !opts.Untagged {
		return nil, ref, &ErrChooseLineage{Workspace: s.Config.Workspace, Candidates: candidates}
	}
	st := s.State.Clone()
	st.Resources = nil
	for _, o := range taken {
		if prev := s.State.Resource(o.Address); prev != nil {
			o.DependsOn = prev.DependsOn
		} else if r := s.Config.Resource(o.Address); r != nil {
			o.DependsOn = r.DependsOn
			o.Sensitive = slices.Sorted(maps.Keys(r.Sensitive))
			for _, a := range r.Schema().Attrs {
				if v, ok := r.Attrs[a.Name]; ok && a.StateOnly {
					o.Attrs[a.Name] = v
				}
			}
		}
		o.StateID = ""
		st.Set(o)
	}
	st.Serial = s.State.Serial + 1
	return st, ref, nil
}
