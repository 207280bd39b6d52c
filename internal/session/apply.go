package session

import (
	"context"
	"fmt"
	"io"

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

// Rebuild makes a new state from the ownership tags in the clouds; resources
// the spec still declares keep their dependency edges.
func (s *Session) Rebuild(ctx context.Context) (*state.State, *Refresh, error) {
	ref := s.Refresh(ctx)
	if len(ref.Gaps) > 0 {
		return nil, ref, fmt.Errorf("state rebuild needs every cloud observed, and %s", ref.Gaps[0].Describe())
	}
	st := s.State.Clone()
	st.Resources = nil
	for _, o := range ref.Observation.Resources {
		if prev := s.State.Resource(o.Address); prev != nil {
			o.DependsOn = prev.DependsOn
		} else if r := s.Config.Resource(o.Address); r != nil {
			o.DependsOn = r.DependsOn
		}
		st.Set(o)
	}
	st.Serial = s.State.Serial + 1
	return st, ref, nil
}
