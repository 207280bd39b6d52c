package main

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/skyplan/skyplan/internal/redact"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// protectSpec registers the spec's sensitive values for redaction: the
// values of sensitive variables and of every attribute computed from one.
// A value too short to redact is named in a warning (never shown).
func (g *Globals) protectSpec(cfg *spec.Config) {
	if cfg == nil || g.secrets == nil {
		return
	}
	var short []string
	for _, name := range slices.Sorted(maps.Keys(cfg.SensitiveVariables)) {
		v, ok := cfg.Variables[name]
		if !ok {
			continue
		}
		if s := g.secrets.Add(ctyStrings(v)...); len(s) > 0 {
			short = append(short, "var."+name)
		}
	}
	for _, r := range cfg.Resources {
		for attr := range r.Sensitive {
			g.secrets.Add(anyStrings(r.Attrs[attr])...)
		}
	}
	for _, name := range short {
		fmt.Fprintf(g.Stderr, "Warning: %s is sensitive, but values shorter than %d characters cannot be kept out of the output\n", name, redact.MinLength)
	}
}

// protectState registers the values of attributes state marks sensitive
// (a resource whose spec changed still has them in state).
func (g *Globals) protectState(st *state.State) {
	if st == nil || g.secrets == nil {
		return
	}
	for _, r := range st.Resources {
		for _, attr := range r.Sensitive {
			g.secrets.Add(anyStrings(r.Attrs[attr])...)
		}
	}
}

// ctyStrings lists the strings in a value, collections included.
func ctyStrings(v cty.Value) []string {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return []string{v.AsString()}
	case t.IsListType() || t.IsSetType() || t.IsTupleType() || t.IsMapType() || t.IsObjectType():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyStrings(e)...)
		}
		return out
	}
	return nil
}

// anyStrings lists the strings in a spec or state attribute value.
func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []string:
		return x
	case map[string]string:
		return slices.Collect(maps.Values(x))
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, anyStrings(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, anyStrings(e)...)
		}
		sort.Strings(out)
		return out
	}
	return nil
}
