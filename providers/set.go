package providers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Set is the providers of one run, one per cloud. Every fan-out across
// clouds (credential checks, observation, expansion) runs here,
// concurrently, so every command that talks to clouds does it the same way.
type Set struct {
	byCloud map[string]Provider
}

// NewSet builds a provider for each named cloud. A cloud known only from
// state (its block removed from the spec) is built from an empty block, so
// its resources can still be destroyed. Building makes no network call.
// limits bound every provider's calls and waits (zero: the defaults).
func NewSet(ctx context.Context, cfg *spec.Config, clouds []string, limits Limits) (*Set, error) {
	s := &Set{byCloud: map[string]Provider{}}
	for _, name := range clouds {
		cb := cfg.Clouds[name]
		if cb == nil {
			cb = &spec.Cloud{Name: name, Attrs: map[string]any{}}
		}
		p, err := New(ctx, Config{Cloud: cb, Workspace: cfg.Workspace, Limits: limits.WithDefaults()})
		if err != nil {
			return nil, fmt.Errorf("cloud %q: %w", name, err)
		}
		s.byCloud[name] = p
	}
	return s, nil
}

// SetOf wraps providers that are already built (tests, embedders).
func SetOf(byCloud map[string]Provider) *Set {
	return &Set{byCloud: maps.Clone(byCloud)}
}

// Clouds lists the clouds in the set, sorted.
func (s *Set) Clouds() []string { return slices.Sorted(maps.Keys(s.byCloud)) }

// Get returns one cloud's provider.
func (s *Set) Get(cloud string) (Provider, bool) {
	p, ok := s.byCloud[cloud]
	return p, ok
}

// Map returns the providers by cloud (a copy).
func (s *Set) Map() map[string]Provider { return maps.Clone(s.byCloud) }

// Checks are the results of every provider's Check, by cloud.
type Checks map[string][]CapabilityStatus

// Status returns one capability's result.
func (c Checks) Status(cloud string, cp spec.Capability) (CapabilityStatus, bool) {
	for _, st := range c[cloud] {
		if st.Capability == cp {
			return st, true
		}
	}
	return CapabilityStatus{}, false
}

// Denied lists a cloud's capabilities whose check failed.
func (c Checks) Denied(cloud string) map[spec.Capability]bool {
	out := map[spec.Capability]bool{}
	for _, st := range c[cloud] {
		if !st.OK {
			out[st.Capability] = true
		}
	}
	return out
}

// Check runs every provider's Check concurrently.
func (s *Set) Check(ctx context.Context) Checks {
	out := Checks{}
	var mu sync.Mutex
	s.each(func(name string, p Provider) {
		st := p.Check(ctx)
		mu.Lock()
		out[name] = st
		mu.Unlock()
	})
	return out
}

// Observation is what Observe found.
type Observation struct {
	// Resources are the owned objects found, grouped by address, in address order.
	Resources []*state.Resource
	// Complete lists the clouds that were observed in full: a state entry
	// on such a cloud with no object found was deleted outside skyplan.
	Complete map[string]bool
	// Failed holds, per cloud, why its observation failed; nothing of that
	// cloud is in Resources.
	Failed map[string]error
}

// Observe asks every provider, concurrently, for what the workspace owns.
// A cloud whose request skips a capability is observed but not complete.
func (s *Set) Observe(ctx context.Context, reqs map[string]ObserveRequest) *Observation {
	obs := &Observation{Complete: map[string]bool{}, Failed: map[string]error{}}
	var mu sync.Mutex
	s.each(func(name string, p Provider) {
		got, err := p.Observe(ctx, reqs[name])
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			obs.Failed[name] = err
			return
		}
		obs.Resources = append(obs.Resources, got...)
		obs.Complete[name] = len(reqs[name].Skip) == 0
	})
	sort.Slice(obs.Resources, func(i, j int) bool { return obs.Resources[i].Address < obs.Resources[j].Address })
	return obs
}

// Expansion is a provider's Expand result for one resource.
type Expansion struct {
	Attrs map[string]any
	Notes []string
}

// Expand runs the providers' Expand for the resources whose provider has
// one: concurrently across clouds, in order within one cloud.
func (s *Set) Expand(ctx context.Context, resources []*spec.Resource, observed map[string]*state.Resource) (map[string]Expansion, error) {
	byCloud := map[string][]*spec.Resource{}
	for _, r := range resources {
		byCloud[r.Cloud()] = append(byCloud[r.Cloud()], r)
	}
	out := map[string]Expansion{}
	var (
		mu   sync.Mutex
		errs []error
	)
	s.each(func(name string, p Provider) {
		ex, ok := p.(Expander)
		if !ok {
			return
		}
		for _, r := range byCloud[name] {
			attrs, notes, err := ex.Expand(ctx, r, observed[r.Address()])
			mu.Lock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Address(), err))
			} else {
				out[r.Address()] = Expansion{Attrs: attrs, Notes: notes}
			}
			mu.Unlock()
		}
	})
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, errs[0]
	}
	return out, nil
}

// each runs fn for every provider concurrently and waits for all. A
// provider that panics is re-panicked here, on the caller's goroutine, so
// the CLI's recover reports it as an internal error (exit 1) instead of the
// runtime crashing the process (exit 2, which means "changes" to scripts).
func (s *Set) each(fn func(name string, p Provider)) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked any
	)
	for name, p := range s.byCloud {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					mu.Lock()
					panicked = fmt.Sprintf("provider %s: %v", name, r)
					mu.Unlock()
				}
			}()
			fn(name, p)
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
}
