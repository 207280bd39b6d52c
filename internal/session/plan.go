package session

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/planner/cost"
	"github.com/skyplan/skyplan/planner/lint"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Refresh is what the clouds said at the start of a run.
type Refresh struct {
	Checks      providers.Checks
	Observation *providers.Observation
	// Gaps are what could not be observed: a capability the credentials
	// lack (for the resources that need it) or a cloud whose observation
	// failed (for every resource on it).
	Gaps []planner.Gap
	// Blocked maps each resource a gap hides to why.
	Blocked map[string]string
	// Foreign are observed objects that are not this state's.
	Foreign []planner.Foreign
	// ClaimLegacy lists addresses whose untagged objects this state records.
	ClaimLegacy map[string]bool
	// untagged are the foreign objects without a state tag, for rebuild.
	untagged []*state.Resource
}

// Refresh checks every cloud's credentials, then observes every cloud,
// concurrently. Resources whose capability is denied are not looked for
// (the rest of the cloud still is); a cloud whose observation fails hides
// all its resources. Neither is ever taken as "deleted outside skyplan".
func (s *Session) Refresh(ctx context.Context) *Refresh {
	ref := &Refresh{Checks: s.Providers.Check(ctx), Blocked: map[string]string{}}
	type known struct {
		addr, typ, cloud string
		attrs            state.Attrs
	}
	var all []known
	for _, r := range s.Config.Resources {
		all = append(all, known{r.Address(), r.Type, r.Cloud(), r.Attrs})
	}
	for _, r := range s.State.Resources {
		if s.Config.Resource(r.Address) == nil {
			all = append(all, known{r.Address, r.Type, r.Cloud, r.Attrs})
		}
	}
	gapAt := map[[2]string]int{}
	addGap := func(cloud string, cp spec.Capability, addr, reason string) {
		k := [2]string{cloud, string(cp)}
		i, ok := gapAt[k]
		if !ok {
			i = len(ref.Gaps)
			gapAt[k] = i
			ref.Gaps = append(ref.Gaps, planner.Gap{Cloud: cloud, Capability: string(cp), Reason: reason})
		}
		if addr != "" {
			ref.Gaps[i].Addresses = append(ref.Gaps[i].Addresses, addr)
			ref.Blocked[addr] = fmt.Sprintf("cloud %q %s", cloud, reason)
		}
	}
	reqs := map[string]providers.ObserveRequest{}
	for _, cloud := range s.Providers.Clouds() {
		reqs[cloud] = providers.ObserveRequest{Workspace: s.Config.Workspace, StateID: s.State.Lineage, Skip: ref.Checks.Denied(cloud)}
	}
	for _, k := range all {
		need := spec.SchemaFor(k.typ).Needs
		if st, ok := ref.Checks.Status(k.cloud, need); ok && !st.OK {
			if st.Unverified {
				// No verdict is not a denial: the gap is the cloud's, as when
				// observing fails, so apply refuses and --skip-lint cannot
				// plan around what nobody could look at.
				addGap(k.cloud, "", k.addr, fmt.Sprintf("checking capability %q failed: %s", need, st.Reason))
			} else {
				addGap(k.cloud, need, k.addr, fmt.Sprintf("capability %q is not usable: %s", need, st.Reason))
			}
			continue
		}
		req := reqs[k.cloud]
		req.Resources = append(req.Resources, providers.ResourceHint{Address: k.addr, Type: k.typ, Attrs: k.attrs})
		reqs[k.cloud] = req
	}
	ref.Observation = s.Providers.Observe(ctx, reqs)
	for _, cloud := range slices.Sorted(maps.Keys(ref.Observation.Failed)) {
		reason := fmt.Sprintf("observing %s failed: %v", cloud, ref.Observation.Failed[cloud])
		addGap(cloud, "", "", reason)
		for _, k := range all {
			if k.cloud == cloud && ref.Blocked[k.addr] == "" {
				addGap(cloud, "", k.addr, reason)
			}
		}
	}
	for i := range ref.Gaps {
		slices.Sort(ref.Gaps[i].Addresses)
	}
	ref.sortOwners(s.State)
	return ref
}

// sortOwners splits what was observed by owner: this state's objects stay
// in the observation; objects without a state tag (made before skyplan
// tagged state identity) whose IDs this state records are claimed as its
// own; everything else — another state's objects, or untagged ones this
// state does not record, even at one of its addresses — is foreign: shown,
// never changed.
func (ref *Refresh) sortOwners(st *state.State) {
	ref.ClaimLegacy = map[string]bool{}
	recorded := map[string]bool{} // address + "\x00" + object ID
	for _, r := range st.Resources {
		for _, id := range r.IDs {
			recorded[r.Address+"\x00"+id] = true
			if r.MovedFrom != "" {
				recorded[r.MovedFrom+"\x00"+id] = true
			}
		}
	}
	var ours []*state.Resource
	for _, o := range ref.Observation.Resources {
		known := slices.ContainsFunc(o.IDs, func(id string) bool { return recorded[o.Address+"\x00"+id] })
		switch {
		case o.StateID == st.Lineage:
			ours = append(ours, o)
		case o.StateID == "" && known:
			ours = append(ours, o)
			ref.ClaimLegacy[o.Address] = true
		default:
			ref.Foreign = append(ref.Foreign, planner.Foreign{Address: o.Address, Cloud: o.Cloud, StateID: o.StateID, IDs: o.IDs})
			if o.StateID == "" {
				ref.untagged = append(ref.untagged, o)
			}
		}
	}
	ref.Observation.Resources = ours
}

// PlanOptions steer Plan.
type PlanOptions struct {
	Destroy bool
	// AllowReplace lists addresses whose replacement apply may carry out.
	AllowReplace []string
	// SkipLint turns the lint gate off (the plan says so). Otherwise static
	// rules run before any cloud call (an error returns a *LintError), and
	// the live rules after the refresh, their findings kept in the plan.
	SkipLint bool
	// Targets narrow the plan to these addresses and what they need (see
	// planner.Plan.Target).
	Targets []string
	// Imports adds imports to the spec's import blocks (`skyplan import`):
	// address → object ID.
	Imports map[string]string
}

// Plan refreshes, expands and diffs. Resources hidden by a gap are left
// exactly as they are (neither created nor deleted, state untouched) and
// the plan says it is incomplete.
func (s *Session) Plan(ctx context.Context, opts PlanOptions) (*planner.Plan, *Refresh, error) {
	gate := !opts.SkipLint && !opts.Destroy
	var static *lint.Report
	if gate {
		if static = s.StaticLint(); static.Errors() > 0 {
			return nil, nil, &LintError{Report: static}
		}
	}
	ref := s.Refresh(ctx)
	var desired []*spec.Resource
	for _, r := range s.Config.Resources {
		if _, blocked := ref.Blocked[r.Address()]; !blocked {
			desired = append(desired, r)
		}
	}
	prior := s.State
	observed := ref.Observation.Resources
	if len(ref.Blocked) > 0 {
		prior = s.State.Clone()
		for addr := range ref.Blocked {
			prior.Remove(addr)
		}
		observed = slices.DeleteFunc(slices.Clone(observed), func(o *state.Resource) bool { return ref.Blocked[o.Address] != "" })
	}
	expanded := map[string]planner.Expansion{}
	if !opts.Destroy {
		byAddr := map[string]*state.Resource{}
		for _, o := range observed {
			byAddr[o.Address] = o
		}
		ex, err := s.Providers.Expand(ctx, desired, byAddr)
		if err != nil {
			return nil, ref, err
		}
		for addr, e := range ex {
			expanded[addr] = planner.Expansion{Attrs: e.Attrs, Notes: e.Notes}
		}
	}
	allow := map[string]bool{}
	for _, a := range opts.AllowReplace {
		allow[a] = true
	}
	var imports map[string]*state.Resource
	if !opts.Destroy {
		var err error
		if imports, err = s.readImports(ctx, opts.Imports, prior, observed); err != nil {
			return nil, ref, err
		}
	}
	p, err := planner.Make(planner.Input{
		Workspace: s.Config.Workspace, SpecHash: s.Config.Hash, Desired: desired, Expanded: expanded,
		Observed: observed, ObservedClouds: ref.Observation.Complete, Prior: prior, Destroy: opts.Destroy,
		AllowReplace: allow, Gaps: ref.Gaps, Foreign: ref.Foreign, ClaimLegacy: ref.ClaimLegacy, Moves: s.moves(),
		Imports: imports,
	})
	if err != nil {
		return nil, ref, err
	}
	if len(opts.Targets) > 0 {
		if err := p.Target(opts.Targets); err != nil {
			return nil, ref, err
		}
	}
	cost.Annotate(p, catalog.Default())
	switch {
	case gate:
		p.Findings = findings(s.lint(ctx, ref, false, launching(p), static))
	case opts.SkipLint:
		p.LintSkipped = true
	}
	return p, ref, nil
}

// moves are the spec's moved blocks and the moves `state mv` left pending.
func (s *Session) moves() []planner.MoveSpec {
	var out []planner.MoveSpec
	for _, m := range s.Config.Moved {
		out = append(out, planner.MoveSpec{From: m.From, To: m.To})
	}
	for _, r := range s.State.Resources {
		if r.MovedFrom != "" {
			out = append(out, planner.MoveSpec{From: r.MovedFrom, To: r.Address})
		}
	}
	return out
}

// readImports reads, through the providers, the objects import blocks (and
// extra, from the CLI) name for resources this state does not manage yet;
// an import whose resource already exists is done and skipped.
func (s *Session) readImports(ctx context.Context, extra map[string]string, prior *state.State, observed []*state.Resource) (map[string]*state.Resource, error) {
	want := map[string]string{}
	for _, im := range s.Config.Imports {
		want[im.To] = im.ID
	}
	maps.Copy(want, extra)
	managed := map[string]bool{}
	for _, o := range observed {
		managed[o.Address] = true
	}
	out := map[string]*state.Resource{}
	for _, addr := range slices.Sorted(maps.Keys(want)) {
		if pr := prior.Resource(addr); managed[addr] || (pr != nil && pr.Pending == "") {
			continue
		}
		r := s.Config.Resource(addr)
		if r == nil {
			return nil, fmt.Errorf("import %s: there is no %s in the spec; declare it (skyplan import --generate-config FILE writes the block)", addr, addr)
		}
		p, ok := s.Providers.Get(r.Cloud())
		im, can := p.(providers.Importer)
		if !ok || !can {
			return nil, fmt.Errorf("import %s: the %s provider cannot import %s resources", addr, r.Cloud(), r.Type)
		}
		got, err := im.Import(ctx, providers.ImportRequest{Address: addr, Type: r.Type, Workspace: s.Config.Workspace,
			StateID: s.State.Lineage, ID: want[addr], Hint: r.Attrs})
		if err != nil {
			return nil, err
		}
		if got.Private == nil {
			got.Private = map[string]string{}
		}
		got.Private[planner.PrivateImportID] = want[addr]
		out[addr] = got
	}
	return out, nil
}
