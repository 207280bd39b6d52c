package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// session is one locked run against a spec: state loaded, providers built.
type session struct {
	g         *Globals
	cfg       *spec.Config
	backend   state.Backend
	st        *state.State
	unlock    func() error
	providers map[string]providers.Provider
	// blocked maps addresses to why their cloud capability is unusable.
	blocked map[string]string
}

// openSession loads the spec and state and takes the state lock (when lock is set).
func (g *Globals) openSession(ctx context.Context, op string, lock bool) (*session, error) {
	cfg, err := g.loadSpec()
	if err != nil {
		return nil, err
	}
	b, err := g.backend(cfg)
	if err != nil {
		return nil, err
	}
	s := &session{g: g, cfg: cfg, backend: b, unlock: func() error { return nil }}
	if lock {
		unlock, err := lockState(ctx, b, op)
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
	}
	s.st, err = loadState(ctx, b, cfg.Workspace)
	if err != nil {
		s.close()
		return nil, err
	}
	s.providers, err = buildProviders(ctx, cfg, cloudsInUse(cfg, s.st))
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	if err := s.unlock(); err != nil {
		fmt.Fprintf(s.g.Stderr, "Warning: releasing the state lock: %v\n", err)
	}
}

// checkCapabilities runs each provider's Check and blocks the resources whose
// needed capability is denied, so the rest of the spec can still be planned.
func (s *session) checkCapabilities(ctx context.Context) map[string][]providers.CapabilityStatus {
	results := map[string][]providers.CapabilityStatus{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, p := range s.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := p.Check(ctx)
			mu.Lock()
			results[name] = st
			mu.Unlock()
		}()
	}
	wg.Wait()
	s.blocked = map[string]string{}
	for _, r := range s.cfg.Resources {
		need := r.Schema().Needs
		for _, cs := range results[r.Cloud()] {
			if cs.Capability == need && !cs.OK {
				s.blocked[r.Address()] = fmt.Sprintf("cloud %q capability %q is not usable: %s", r.Cloud(), need, cs.Reason)
			}
		}
	}
	return results
}

// usableCapabilities says, per cloud, which capabilities can be observed.
func (s *session) deniedCapabilities(results map[string][]providers.CapabilityStatus) map[string]map[spec.Capability]bool {
	out := map[string]map[spec.Capability]bool{}
	for cloud, sts := range results {
		for _, cs := range sts {
			if !cs.OK {
				if out[cloud] == nil {
					out[cloud] = map[spec.Capability]bool{}
				}
				out[cloud][cs.Capability] = true
			}
		}
	}
	return out
}

// observe asks every provider, concurrently, for what this workspace owns.
func (s *session) observe(ctx context.Context, denied map[string]map[spec.Capability]bool) ([]*state.Resource, map[string]bool, error) {
	hints := map[string][]providers.ResourceHint{}
	for _, r := range s.cfg.Resources {
		if _, blocked := s.blocked[r.Address()]; !blocked {
			hints[r.Cloud()] = append(hints[r.Cloud()], providers.ResourceHint{Address: r.Address(), Type: r.Type, Attrs: r.Attrs})
		}
	}
	for _, r := range s.st.Resources {
		if _, blocked := s.blocked[r.Address]; !blocked {
			hints[r.Cloud] = append(hints[r.Cloud], providers.ResourceHint{Address: r.Address, Type: r.Type, Attrs: r.Attrs})
		}
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		observed []*state.Resource
		clouds   = map[string]bool{}
		errs     []string
	)
	for name, p := range s.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := p.Observe(ctx, providers.ObserveRequest{Workspace: s.cfg.Workspace, Resources: hints[name], Skip: denied[name]})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("observing %s: %v", name, err))
				return
			}
			observed = append(observed, got...)
			// A cloud with a skipped capability is not fully observed: do not
			// take missing objects there as deleted.
			clouds[name] = len(denied[name]) == 0
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	sort.Slice(observed, func(i, j int) bool { return observed[i].Address < observed[j].Address })
	return observed, clouds, nil
}

// plan checks capabilities, observes, expands and diffs.
func (s *session) plan(ctx context.Context, destroy bool, allowReplace []string) (*planner.Plan, error) {
	results := s.checkCapabilities(ctx)
	denied := s.deniedCapabilities(results)
	observed, clouds, err := s.observe(ctx, denied)
	if err != nil {
		return nil, err
	}
	var desired []*spec.Resource
	for _, r := range s.cfg.Resources {
		if _, blocked := s.blocked[r.Address()]; !blocked || destroy {
			desired = append(desired, r)
		}
	}
	prior := s.st
	if len(s.blocked) > 0 && !destroy {
		// Blocked resources are left exactly as they are: neither created nor deleted.
		prior = s.st.Clone()
		for addr := range s.blocked {
			prior.Remove(addr)
		}
		kept := observed[:0]
		for _, o := range observed {
			if _, blocked := s.blocked[o.Address]; !blocked {
				kept = append(kept, o)
			}
		}
		observed = kept
	}
	expanded := map[string]planner.Expansion{}
	obsByAddr := map[string]*state.Resource{}
	for _, o := range observed {
		obsByAddr[o.Address] = o
	}
	if !destroy {
		for _, r := range desired {
			ex, ok := s.providers[r.Cloud()].(providers.Expander)
			if !ok {
				continue
			}
			attrs, notes, err := ex.Expand(ctx, r, obsByAddr[r.Address()])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Address(), err)
			}
			expanded[r.Address()] = planner.Expansion{Attrs: attrs, Notes: notes}
		}
	}
	allow := map[string]bool{}
	for _, a := range allowReplace {
		allow[a] = true
	}
	return planner.Make(planner.Input{
		Workspace: s.cfg.Workspace, SpecHash: s.cfg.Hash, Desired: desired, Expanded: expanded,
		Observed: observed, ObservedClouds: clouds, Prior: prior, Destroy: destroy, AllowReplace: allow,
	})
}

// reportBlocked prints one error per blocked resource; true if any.
func (s *session) reportBlocked() bool {
	for _, addr := range slices.Sorted(maps.Keys(s.blocked)) {
		r := s.cfg.Resource(addr)
		rng := r.Range("cloud")
		fmt.Fprintf(s.g.Stderr, "Error: %s (%s:%d): %s\n", addr, rng.Filename, rng.Start.Line, s.blocked[addr])
	}
	return len(s.blocked) > 0
}
