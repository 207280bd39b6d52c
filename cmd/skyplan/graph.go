package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/spec"
)

// GraphCmd is `skyplan graph`.
type GraphCmd struct {
	Destroy bool     `name:"destroy" help:"Draw the order destroy deletes in (dependents first)."`
	Target  []string `name:"target" placeholder:"ADDR" predictor:"address" help:"Only this resource and what it needs, or with --destroy what depends on it (repeatable; also -target)."`
}

// Run prints the spec's dependency graph in Graphviz DOT. It reads only the
// spec: no state, no lock, no cloud. An edge A -> B says A waits for B: a
// resource for what it references, or, with --destroy, a resource's
// deletion for the deletion of what references it.
func (c *GraphCmd) Run(g *Globals) error {
	cfg, err := g.loadSpec()
	if err != nil {
		return err
	}
	waitsFor := map[string][]string{}
	for _, r := range cfg.Resources {
		for _, d := range r.DependsOn {
			if c.Destroy {
				waitsFor[d] = append(waitsFor[d], r.Address())
			} else {
				waitsFor[r.Address()] = append(waitsFor[r.Address()], d)
			}
		}
	}
	shown := map[string]bool{}
	for _, r := range cfg.Resources {
		shown[r.Address()] = true
	}
	if len(c.Target) > 0 {
		for _, t := range c.Target {
			if cfg.Resource(t) == nil {
				return fmt.Errorf("--target %s: no such resource in the spec", t)
			}
		}
		shown = planner.Reach(c.Target, func(a string) []string { return waitsFor[a] })
	}
	fmt.Fprint(g.Stdout, dot(cfg, shown, waitsFor, c.Destroy))
	return nil
}

// dot writes the graph; nodes are sorted, so output is stable.
func dot(cfg *spec.Config, shown map[string]bool, waitsFor map[string][]string, destroy bool) string {
	var b strings.Builder
	name := "skyplan"
	if destroy {
		name = "skyplan_destroy"
	}
	fmt.Fprintf(&b, "digraph %s {\n  rankdir = \"RL\";\n  node [shape = box, fontname = \"sans-serif\"];\n", name)
	for _, r := range cfg.Resources {
		a := r.Address()
		if !shown[a] {
			continue
		}
		fmt.Fprintf(&b, "  %s [label = %s];\n", strconv.Quote(a), strconv.Quote(a+"\n"+r.Cloud()))
	}
	for _, r := range cfg.Resources {
		a := r.Address()
		if !shown[a] {
			continue
		}
		deps := slices.Sorted(slices.Values(waitsFor[a]))
		for _, d := range slices.Compact(deps) {
			if shown[d] {
				fmt.Fprintf(&b, "  %s -> %s;\n", strconv.Quote(a), strconv.Quote(d))
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}
