package spec

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
}}

// EnvVarPrefix is the prefix of environment variables that set spec variables.
const EnvVarPrefix = "SKYPLAN_VAR_"

func (l *loader) declareVariables(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.varDecls = map[string]*varDecl{}
	for _, b := range blocks {
		name := b.Labels[0]
		if !hclsyntax.ValidIdentifier(name) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable name", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		if prev, ok := l.varDecls[name]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate variable",
				Detail: fmt.Sprintf("variable %q is already declared at %s.", name, prev.rng), Subject: b.DefRange.Ptr()})
			continue
		}
		// A variable whose block has errors is still declared, as broken:
		// what reads it is then not reported again.
		vd := &varDecl{name: name, typ: cty.DynamicPseudoType, rng: b.DefRange}
		l.varDecls[name] = vd
		content, d := b.Body.Content(variableSchema)
		diags = append(diags, d...)
		if d.HasErrors() {
			l.broken["var."+name] = true
		}
		if a, ok := content.Attributes["type"]; ok {
			t, d := typeexpr.TypeConstraint(a.Expr)
			diags = append(diags, d...)
			vd.typ = t
			if d.HasErrors() {
				vd.typ = cty.DynamicPseudoType
				l.broken["var."+name] = true
			}
		}
		if a, ok := content.Attributes["sensitive"]; ok {
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if !d.HasErrors() && v.Type() == cty.Bool && !v.IsNull() {
				vd.sensitive = v.True()
			}
		}
		if a, ok := content.Attributes["default"]; ok {
			v, d := a.Expr.Value(&hcl.EvalContext{Functions: l.funcs})
			diags = append(diags, d...)
			if d.HasErrors() {
				l.broken["var."+name] = true
			} else {
				cv, err := convert.Convert(v, vd.typ)
				if err != nil {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid default value for variable",
						Detail: fmt.Sprintf("The default does not match the variable's type: %s.", err), Subject: a.Expr.Range().Ptr()})
					l.broken["var."+name] = true
				} else {
					vd.def, vd.hasDef = cv, true
				}
			}
		}
		if vd.sensitive {
			l.anySensitiveVar = true
		}
	}
	return diags
}

// assignVariables applies, lowest precedence first: defaults, -var-file,
// SKYPLAN_VAR_name, -var.
func (l *loader) assignVariables() hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.vars = map[string]cty.Value{}
	for name, vd := range l.varDecls {
		if vd.hasDef {
			l.vars[name] = vd.def
		}
		if v, ok := l.opts.Saved[name]; ok {
			if cv, err := convert.Convert(v, vd.typ); err == nil {
				l.vars[name] = cv
			}
		}
	}
	// failed names the variables whose last value given was invalid.
	failed := map[string]bool{}
	set := func(name, raw string, rng *hcl.Range, source string) {
		vd, ok := l.varDecls[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
				Detail: fmt.Sprintf("%s sets %q, but the spec declares no such variable.", source, name), Subject: rng})
			return
		}
		v, err := parseVarValue(raw, vd.typ)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail: fmt.Sprintf("%s: variable %q: %s.", source, name, err), Subject: rng})
			failed[name] = true
			return
		}
		l.vars[name] = v
		delete(failed, name)
	}
	for _, vf := range l.opts.VarFiles {
		f := l.varFiles[vf]
		if f == nil {
			continue
		}
		attrs, d := f.Body.JustAttributes()
		diags = append(diags, d...)
		for _, a := range sortedAttributes(attrs) {
			name, rng := a.Name, a.NameRange
			vd, ok := l.varDecls[name]
			if !ok {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Value for undeclared variable",
					Detail: fmt.Sprintf("%s sets %q, but the spec declares no such variable.", filepath.Base(vf), name), Subject: &rng})
				continue
			}
			v, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				failed[name] = true
				continue
			}
			cv, err := convert.Convert(v, vd.typ)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid value for variable",
					Detail: fmt.Sprintf("variable %q: %s.", name, err), Subject: &rng})
				failed[name] = true
				continue
			}
			l.vars[name] = cv
			delete(failed, name)
		}
	}
	for _, kv := range l.opts.Env {
		if !strings.HasPrefix(kv, EnvVarPrefix) {
			continue
		}
		name, raw, _ := strings.Cut(strings.TrimPrefix(kv, EnvVarPrefix), "=")
		if _, ok := l.varDecls[name]; !ok {
			continue // the environment may carry variables for other specs
		}
		set(name, raw, nil, "environment variable "+EnvVarPrefix+name)
	}
	for _, kv := range l.opts.Vars {
		name, raw, ok := strings.Cut(kv, "=")
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("-var %q: expected name=value.", kv)})
			continue
		}
		set(strings.TrimSpace(name), raw, nil, "-var")
	}
	names := make([]string, 0, len(l.varDecls))
	for n := range l.varDecls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		_, ok := l.vars[name]
		if !ok && !l.broken["var."+name] && !failed[name] {
			vd := l.varDecls[name]
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail:  fmt.Sprintf("Variable %q has no default. Set it with -var %s=VALUE, a -var-file, or %s%s.", name, name, EnvVarPrefix, name),
				Subject: vd.rng.Ptr()})
		}
		// What reads a variable without a valid value is not reported again.
		if !ok || failed[name] || l.broken["var."+name] {
			l.broken["var."+name] = true
			l.vars[name] = cty.DynamicVal
		}
	}
	return diags
}

// sortedAttributes lists attributes in source order.
func sortedAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NameRange.Start.Byte < out[j].NameRange.Start.Byte })
	return out
}

// parseVarValue reads a -var or environment value: raw text for string
// variables, an HCL expression (e.g. ["a","b"]) otherwise.
func parseVarValue(raw string, t cty.Type) (cty.Value, error) {
	if t == cty.String || t == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	if d := checkNesting([]byte(raw), "value", false); d != nil {
		return cty.NilVal, fmt.Errorf("nested more than %d levels deep", MaxNestingDepth)
	}
	expr, d := hclsyntax.ParseExpression([]byte(raw), "value", hcl.InitialPos)
	if d.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s", d[0].Summary)
	}
	v, d := expr.Value(nil)
	if d.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s", d[0].Summary)
	}
	cv, err := convert.Convert(v, t)
	if err != nil {
		return cty.NilVal, err
	}
	return cv, nil
}

func (l *loader) varValuesForHash() string {
	if l.vars == nil {
		return ""
	}
	names := make([]string, 0, len(l.vars))
	for n := range l.vars {
		names = append(names, n)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, n := range names {
		b, err := ctyjson.Marshal(l.vars[n], l.vars[n].Type())
		if err != nil {
			continue
		}
		fmt.Fprintf(&sb, "%s=%s\n", n, b)
	}
	return sb.String()
}

type varDecl struct {
	name      string
	typ       cty.Type
	def       cty.Value
	hasDef    bool
	sensitive bool
	rng       hcl.Range
}
