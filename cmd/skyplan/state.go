package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// StateCmd groups state subcommands.
type StateCmd struct {
	List    StateListCmd    `cmd:"" help:"List the resources in state (its lineage on stderr)."`
	Show    StateShowCmd    `cmd:"" help:"Show one resource from state as JSON."`
	Rebuild StateRebuildCmd `cmd:"" help:"Rebuild a lost state file from the ownership tags in the clouds (--lineage names whose objects)."`
	Mv      StateMvCmd      `cmd:"" name:"mv" help:"Rename a resource in state; the next apply re-tags its objects (like a moved block)."`
	Rm      StateRmCmd      `cmd:"" name:"rm" help:"Stop managing a resource: remove skyplan's ownership tags from its objects (they keep running) and forget it."`
}

// StateListCmd is `skyplan state list`.
type StateListCmd struct{}

// Run lists addresses on stdout and the state's identity on stderr.
func (StateListCmd) Run(g *Globals) error {
	st, b, err := readState(g)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.Stderr, "# %s: lineage %s, serial %d, workspace %q\n", b.Describe(), st.Lineage, st.Serial, st.Workspace)
	for _, r := range st.Resources {
		line := r.Address
		switch {
		case r.Pending != "":
			line += "  (interrupted " + r.Pending + ": the next apply settles it)"
		case r.MovedFrom != "":
			line += "  (moved from " + r.MovedFrom + ": the next apply re-tags it)"
		}
		fmt.Fprintln(g.Stdout, line)
	}
	return nil
}

// StateShowCmd is `skyplan state show ADDR`.
type StateShowCmd struct {
	Address string `arg:"" help:"Resource address, e.g. cluster.train."`
}

// Run prints one resource, with the state's lineage.
func (c *StateShowCmd) Run(g *Globals) error {
	if _, _, err := spec.ParseAddress(c.Address); err != nil {
		return err
	}
	st, b, err := readState(g)
	if err != nil {
		return err
	}
	r := st.Resource(c.Address)
	if r == nil {
		return fmt.Errorf("%s is not in the state (%s); see skyplan state list", c.Address, b.Describe())
	}
	shown := *r
	shown.Attrs = r.Attrs.Clone()
	for _, k := range r.Sensitive {
		if _, ok := shown.Attrs[k]; ok {
			shown.Attrs[k] = "(sensitive value)"
		}
	}
	out := struct {
		Lineage string `json:"lineage"`
		*state.Resource
	}{st.Lineage, &shown}
	enc := json.NewEncoder(g.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// StateRebuildCmd is `skyplan state rebuild`.
type StateRebuildCmd struct {
	Lineage  string `name:"lineage" placeholder:"ID" help:"The lineage of the state to rebuild (skyplan state list prints it; objects carry it as the skyplan-state tag). Required when the state file is gone."`
	Untagged bool   `name:"untagged" help:"Also take objects with this workspace's tags but no state tag (made before skyplan tagged state identity)."`
}

// Run rebuilds state from tags.
func (c *StateRebuildCmd) Run(g *Globals) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, session.Options{Operation: "state rebuild", Lock: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	st, _, err := s.Rebuild(ctx, session.RebuildOptions{Lineage: c.Lineage, Untagged: c.Untagged})
	if err != nil {
		return err
	}
	if err := s.Backend.Save(ctx, st); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "State rebuilt from the clouds: %d resource(s) of lineage %s found by their ownership tags.\n", len(st.Resources), st.Lineage)
	return nil
}

// StateMvCmd is `skyplan state mv FROM TO`.
type StateMvCmd struct {
	From string `arg:"" help:"The address the resource has in state now."`
	To   string `arg:"" help:"Its new address (declared in the spec)."`
}

// Run renames the entry and leaves the re-tagging to the next apply, which
// shows it as a move.
func (c *StateMvCmd) Run(g *Globals) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, session.Options{Operation: "state mv", Lock: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	if err := s.Move(ctx, c.From, c.To); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "Moved %s to %s in %s; the next apply re-tags its objects (plan shows it as a move).\n", c.From, c.To, s.Backend.Describe())
	return nil
}

// StateRmCmd is `skyplan state rm ADDR`.
type StateRmCmd struct {
	Address []string `arg:"" help:"Resource addresses to stop managing."`
}

// Run releases the resources' objects and forgets them.
func (c *StateRmCmd) Run(g *Globals) error {
	ctx := g.Context()
	s, err := g.openSession(ctx, session.Options{Operation: "state rm", Lock: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	var errs []error
	for _, addr := range c.Address {
		if err := s.Release(ctx, addr); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(g.Stdout, "Removed %s: its objects keep running without skyplan's ownership tags, and skyplan no longer manages them.\n", addr)
	}
	return errors.Join(errs...)
}

// readState reads the state without locking it (read-only commands).
func readState(g *Globals) (*state.State, state.Backend, error) {
	cfg, err := g.loadSpec()
	if err != nil {
		return nil, nil, err
	}
	b, err := session.Backend(g.Context(), cfg, g.limits)
	if err != nil {
		return nil, nil, err
	}
	st, err := session.LoadState(g.Context(), b, cfg.Workspace)
	g.protectState(st)
	return st, b, err
}
