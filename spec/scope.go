package spec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// scope is what one block's expressions see, and whether any of what they
// read is broken (an error about it is already reported).
type scope struct {
	ctx *hcl.EvalContext
	// tainted: a value that comes out unknown was computed from something
	// broken, so it is skipped without another error.
	tainted bool
}

// scopeFor builds the evaluation context of one node from what it
// references: variables, and only the locals and resources named in refs
// (references to whole collections were expanded to every member when the
// graph was built). Building it from refs rather than from everything
// decoded so far keeps loading linear in the size of the spec.
func (l *loader) scopeFor(refs []hcl.Traversal) *scope {
	s := &scope{}
	vars := map[string]cty.Value{"var": l.varsObj}
	var locals map[string]cty.Value
	var resources map[string]map[string]cty.Value
	var missingVars map[string]cty.Value
	for _, t := range refs {
		if l.broken[refName(t)] {
			s.tainted = true
		}
		root := t.RootName()
		name, named := stepName(t, 1)
		switch {
		case root == "var":
			if !named && !l.varsObj.IsWhollyKnown() {
				s.tainted = true // the whole `var` object, with a broken variable in it
			}
			if named {
				if _, ok := l.vars[name]; !ok {
					if missingVars == nil {
						missingVars = map[string]cty.Value{}
					}
					missingVars[name] = cty.DynamicVal
					s.tainted = true
				}
			}
		case !named:
			// A whole collection: its members are among refs.
			if SchemaFor(root) == nil && root != "local" {
				vars[root] = cty.DynamicVal // an unknown root, reported when the graph was built
				s.tainted = true
			}
		case root == "local":
			if locals == nil {
				locals = map[string]cty.Value{}
			}
			locals[name] = l.localRef(name)
		case SchemaFor(root) != nil:
			if resources == nil {
				resources = map[string]map[string]cty.Value{}
			}
			if resources[root] == nil {
				resources[root] = map[string]cty.Value{}
			}
			resources[root][name] = l.resourceRef(root, name)
		default:
			vars[root] = cty.DynamicVal
			s.tainted = true
		}
	}
	if missingVars != nil {
		all := map[string]cty.Value{}
		for k, v := range l.vars {
			all[k] = v
		}
		for k, v := range missingVars {
			all[k] = v
		}
		vars["var"] = cty.ObjectVal(all)
	}
	vars["local"] = objectOrEmpty(locals)
	for _, rs := range Schemas {
		vars[rs.Type] = objectOrEmpty(resources[rs.Type])
	}
	s.ctx = &hcl.EvalContext{Variables: vars, Functions: l.funcs}
	return s
}

// objectOrEmpty is cty.ObjectVal, without allocating for the common empty case.
func objectOrEmpty(attrs map[string]cty.Value) cty.Value {
	if len(attrs) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(attrs)
}

// localRef is an evaluated local, or unknown when it could not be.
func (l *loader) localRef(name string) cty.Value {
	if v, ok := l.locals[name]; ok {
		return v
	}
	return cty.DynamicVal
}

// resourceRef is a decoded resource as references see it, or unknown when
// it could not be decoded.
func (l *loader) resourceRef(typ, name string) cty.Value {
	if v, ok := l.resVals[typ][name]; ok {
		return v
	}
	r := l.decoded[typ][name]
	if r == nil {
		return cty.DynamicVal
	}
	v := resourceValue(r)
	l.resVals[typ][name] = v
	return v
}
