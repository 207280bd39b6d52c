package session

import (
	"context"
	"fmt"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// Move renames a state entry (`skyplan state mv`). The objects keep their
// old address tag until the next apply, which shows a move and re-tags them
// — the same path a moved block takes.
func (s *Session) Move(ctx context.Context, from, to string) error {
	for _, a := range []string{from, to} {
		if _, _, err := spec.ParseAddress(a); err != nil {
			return err
		}
	}
	r := s.State.Resource(from)
	switch {
	case r == nil:
		return fmt.Errorf("%s is not in the state (%s); see skyplan state list", from, s.Backend.Describe())
	case s.State.Resource(to) != nil:
		return fmt.Errorf("%s is already in the state; remove it first (skyplan state rm) or choose another address", to)
	case spec.AddressType(from) != spec.AddressType(to):
		return fmt.Errorf("%s cannot become %s: a move keeps the resource type", from, to)
	case r.Pending != "":
		return fmt.Errorf("%s is an interrupted create; run apply to settle it before moving it", from)
	}
	moved := *r
	moved.Address = to
	if moved.MovedFrom == "" {
		moved.MovedFrom = from
	}
	if moved.MovedFrom == to {
		moved.MovedFrom = "" // moved back before any apply
	}
	s.State.Remove(from)
	s.State.Set(&moved)
	s.State.Serial++
	return s.Backend.Save(ctx, s.State)
}

// Release stops managing a resource (`skyplan state rm`): its provider
// removes skyplan's ownership tags from its objects, which keep running,
// and the entry leaves the state. Only removing tags lets the state forget
// an object for good: with them, the next plan would find it as its own.
func (s *Session) Release(ctx context.Context, addr string) error {
	r := s.State.Resource(addr)
	if r == nil {
		return fmt.Errorf("%s is not in the state (%s); see skyplan state list", addr, s.Backend.Describe())
	}
	if r.Pending == "" {
		p, ok := s.Providers.Get(r.Cloud)
		if !ok {
			return fmt.Errorf("%s: no provider for cloud %q", addr, r.Cloud)
		}
		req := providers.ApplyRequest{Op: providers.OpRelease, Workspace: s.State.Workspace, StateID: s.State.Lineage,
			Address: addr, Type: r.Type, Generation: r.Generation, Prior: r, ClaimLegacy: true, MovedFrom: r.MovedFrom}
		if _, err := p.Apply(ctx, req); err != nil {
			return fmt.Errorf("%s: its objects keep skyplan's tags, so it stays in state: %w", addr, err)
		}
	}
	s.State.Remove(addr)
	s.State.Serial++
	return s.Backend.Save(ctx, s.State)
}
