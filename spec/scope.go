package spec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// evalContext is what an expression can see: variables, locals and the
// resources decoded so far.
func (l *loader) evalContext() *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   cty.ObjectVal(l.vars),
		"local": cty.ObjectVal(l.locals),
	}
	for _, s := range Schemas {
		vars[s.Type] = cty.ObjectVal(l.resVals[s.Type])
	}
	return &hcl.EvalContext{Variables: vars, Functions: Functions()}
}
