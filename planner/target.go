package planner

import (
	"fmt"
	"maps"
	"slices"
)

// Target narrows the plan to the target addresses and what they need, as
// Terraform's -target: a resource being created, updated, replaced or left
// alone brings the resources it references (transitively); one being
// deleted brings the resources that referenced it, since they change or go
// first. Everything else is left out, and the plan says it is targeted.
func (p *Plan) Target(targets []string) error {
	byAddr := map[string]*Change{}
	referencedBy := map[string][]string{}
	for _, c := range p.Changes {
		byAddr[c.Address] = c
		if c.Prior != nil && c.Action != NoOp && c.Action != Create {
			for _, d := range c.Prior.DependsOn {
				referencedBy[d] = append(referencedBy[d], c.Address)
			}
		}
	}
	hidden := map[string]bool{}
	for _, g := range p.Gaps {
		for _, a := range g.Addresses {
			hidden[a] = true
		}
	}
	for _, t := range targets {
		if byAddr[t] == nil && !hidden[t] {
			return fmt.Errorf("--target %s: no such resource in the spec or the state", t)
		}
	}
	keep := Reach(targets, func(addr string) []string {
		c := byAddr[addr]
		switch {
		case c == nil:
			return nil
		case c.Action == Delete:
			return referencedBy[addr]
		}
		return c.ResourceDependsOn
	})
	changes := p.Changes[:0:0]
	for _, c := range p.Changes {
		if keep[c.Address] {
			c.DependsOn = slices.DeleteFunc(slices.Clone(c.DependsOn), func(d string) bool { return !keep[d] })
			changes = append(changes, c)
		}
	}
	p.Changes = changes
	p.Summary = summarize(changes)
	gaps := p.Gaps[:0:0]
	for _, g := range p.Gaps {
		if len(g.Addresses) == 0 {
			gaps = append(gaps, g)
			continue
		}
		g.Addresses = slices.DeleteFunc(slices.Clone(g.Addresses), func(a string) bool { return !keep[a] })
		if len(g.Addresses) > 0 {
			gaps = append(gaps, g)
		}
	}
	p.Gaps = gaps
	p.Targets = slices.Sorted(maps.Keys(setOf(targets)))
	return nil
}

// Reach returns the addresses reachable from start by next, start included.
func Reach(start []string, next func(addr string) []string) map[string]bool {
	seen := map[string]bool{}
	stack := slices.Clone(start)
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[a] {
			continue
		}
		seen[a] = true
		stack = append(stack, next(a)...)
	}
	return seen
}

func setOf(items []string) map[string]bool {
	out := make(map[string]bool, len(items))
	for _, s := range items {
		out[s] = true
	}
	return out
}
