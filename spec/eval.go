package spec

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

type loader struct {
	cfg    *Config
	parser *hclparse.Parser
	opts   Options

	varDecls map[string]*varDecl
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	// sensitiveLocals are locals computed from sensitive variables.
	sensitiveLocals map[string]bool
	// evaluated resources by type, then name
	resVals map[string]map[string]cty.Value
	// resSensitive holds each evaluated resource's sensitive attributes, so
	// values copied from them by reference stay sensitive.
	resSensitive map[string]map[string]bool
	// nodes are the locals, clouds and resources by key, with their references.
	nodes map[string]*node
}

type varDecl struct {
	name      string
	typ       cty.Type
	def       cty.Value
	hasDef    bool
	sensitive bool
	rng       hcl.Range
}

// node is a local value, a cloud block or a resource block: the units that
// reference each other.
type node struct {
	key   string // "local.x", "cloud.aws" or "cluster.train"
	rng   hcl.Range
	refs  []hcl.Traversal
	local *hcl.Attribute
	block *hcl.Block
	cloud *hcl.Block
	// after are implicit dependencies: a resource is completed (region,
	// instance_type) from its cloud block, so clouds are decoded first.
	after []string
}

func (l *loader) load(bodies []hcl.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var skyplanBlocks, varBlocks, cloudBlocks, resBlocks []*hcl.Block
	var localAttrs []*hcl.Attribute
	for _, body := range bodies {
		content, d := body.Content(topSchema)
		diags = append(diags, d...)
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			switch b.Type {
			case "skyplan":
				skyplanBlocks = append(skyplanBlocks, b)
			case "variable":
				varBlocks = append(varBlocks, b)
			case "cloud":
				cloudBlocks = append(cloudBlocks, b)
			case "locals":
				attrs, d := b.Body.JustAttributes()
				diags = append(diags, d...)
				for _, a := range attrs {
					localAttrs = append(localAttrs, a)
				}
			default:
				resBlocks = append(resBlocks, b)
			}
		}
	}
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, l.declareVariables(varBlocks)...)
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, l.assignVariables()...)
	if diags.HasErrors() {
		return diags
	}
	l.cfg.Variables = l.vars

	nodes, d := l.buildNodes(localAttrs, resBlocks, cloudBlocks)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return diags
	}
	order, d := topoSort(nodes)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return diags
	}
	l.locals = map[string]cty.Value{}
	l.sensitiveLocals = map[string]bool{}
	l.resVals = map[string]map[string]cty.Value{}
	l.resSensitive = map[string]map[string]bool{}
	l.cfg.Clouds = map[string]*Cloud{}
	var cloudDiags hcl.Diagnostics
	for _, n := range order {
		if n.cloud != nil {
			d := l.decodeCloud(n.cloud)
			cloudDiags = append(cloudDiags, d...)
			diags = append(diags, d...)
			continue
		}
		if n.local != nil {
			v, d := n.local.Expr.Value(l.evalContext())
			diags = append(diags, d...)
			if v == cty.NilVal {
				v = cty.DynamicVal
			}
			l.locals[strings.TrimPrefix(n.key, "local.")] = v
			if l.refsSensitive(n.refs) {
				l.sensitiveLocals[strings.TrimPrefix(n.key, "local.")] = true
			}
			continue
		}
		r, d := l.decodeResource(n)
		diags = append(diags, d...)
		if r != nil {
			// Validate before others can reference r, so references see the
			// completed values (defaulted region, resolved instance_type).
			if !d.HasErrors() && !cloudDiags.HasErrors() {
				diags = append(diags, validateResource(l.cfg, r)...)
			}
			l.resSensitive[r.Address()] = r.Sensitive
			l.cfg.Resources = append(l.cfg.Resources, r)
			if l.resVals[r.Type] == nil {
				l.resVals[r.Type] = map[string]cty.Value{}
			}
			l.resVals[r.Type][r.Name] = resourceValue(r)
		}
	}
	sort.Slice(l.cfg.Resources, func(i, j int) bool {
		return l.cfg.Resources[i].Address() < l.cfg.Resources[j].Address()
	})
	diags = append(diags, l.decodeSkyplan(skyplanBlocks)...)
	return diags
}

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

func (l *loader) buildNodes(localAttrs []*hcl.Attribute, resBlocks, cloudBlocks []*hcl.Block) ([]*node, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	byKey := map[string]*node{}
	var nodes []*node
	add := func(n *node) {
		if prev, ok := byKey[n.key]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate " + n.key,
				Detail:   fmt.Sprintf("%s is already declared at %s. Addresses must be unique across all spec files.", n.key, prev.rng),
				Subject:  n.rng.Ptr(),
			})
			return
		}
		byKey[n.key] = n
		nodes = append(nodes, n)
	}
	for _, a := range localAttrs {
		add(&node{key: "local." + a.Name, rng: a.NameRange, refs: a.Expr.Variables(), local: a})
	}
	var cloudKeys []string
	for _, b := range cloudBlocks {
		key := "cloud." + b.Labels[0]
		if prev, ok := byKey[key]; ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate cloud block",
				Detail: fmt.Sprintf("cloud %q is already declared at %s.", b.Labels[0], prev.rng), Subject: b.DefRange.Ptr()})
			continue
		}
		n := &node{key: key, rng: b.DefRange, cloud: b}
		attrs, _ := b.Body.JustAttributes()
		for _, a := range attrs {
			n.refs = append(n.refs, a.Expr.Variables()...)
		}
		add(n)
		cloudKeys = append(cloudKeys, key)
	}
	for _, b := range resBlocks {
		if !hclsyntax.ValidIdentifier(b.Labels[0]) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid resource name",
				Detail: "A name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		n := &node{key: b.Type + "." + b.Labels[0], rng: hcl.RangeBetween(b.TypeRange, b.LabelRanges[0]), block: b, after: cloudKeys}
		attrs, _ := b.Body.JustAttributes()
		for _, a := range attrs {
			n.refs = append(n.refs, a.Expr.Variables()...)
		}
		if sb, ok := b.Body.(*hclsyntax.Body); ok {
			for _, inner := range sb.Blocks {
				for _, a := range inner.Body.Attributes {
					n.refs = append(n.refs, a.Expr.Variables()...)
				}
			}
		}
		add(n)
	}
	// Resolve each reference to a node (or a variable), reporting unknown ones here
	// so the message names what is missing rather than an evaluation detail.
	for _, n := range nodes {
		var members []hcl.Traversal
		for _, t := range n.refs {
			root := t.RootName()
			switch root {
			case "var":
				name, ok := stepName(t, 1)
				if ok {
					if _, declared := l.varDecls[name]; !declared {
						diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared variable",
							Detail: fmt.Sprintf("There is no variable %q. Declare it with a variable %q {} block.", name, name), Subject: t.SourceRange().Ptr()})
					}
				}
			case "local":
				name, ok := stepName(t, 1)
				if !ok {
					members = append(members, memberRefs(t, root, nodes)...)
					continue
				}
				if _, declared := byKey["local."+name]; !declared {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared local value",
						Detail: fmt.Sprintf("There is no local value %q in any locals block.", name), Subject: t.SourceRange().Ptr()})
				}
			default:
				if SchemaFor(root) == nil {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown reference",
						Detail: fmt.Sprintf("%q is not a valid reference. Use var.NAME, local.NAME or TYPE.NAME.ATTRIBUTE (e.g. bucket.jobs.name).", root), Subject: t.SourceRange().Ptr()})
					continue
				}
				name, ok := stepName(t, 1)
				if !ok {
					members = append(members, memberRefs(t, root, nodes)...)
					continue
				}
				if _, declared := byKey[root+"."+name]; !declared {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference to undeclared resource",
						Detail: fmt.Sprintf("There is no %s %q in the spec.", root, name), Subject: t.SourceRange().Ptr()})
				}
			}
		}
		n.refs = append(n.refs, members...)
	}
	l.nodes = byKey
	return nodes, diags
}

// memberRefs turns a reference to a whole collection (`bucket`, `local`,
// `bucket[var.name]`) into one reference per member, so evaluation order and
// DependsOn cover everything it may read.
func memberRefs(t hcl.Traversal, root string, nodes []*node) []hcl.Traversal {
	rng := t.SourceRange()
	var out []hcl.Traversal
	for _, n := range nodes {
		if name, ok := strings.CutPrefix(n.key, root+"."); ok {
			out = append(out, hcl.Traversal{hcl.TraverseRoot{Name: root, SrcRange: rng}, hcl.TraverseAttr{Name: name, SrcRange: rng}})
		}
	}
	return out
}

func stepName(t hcl.Traversal, i int) (string, bool) {
	if len(t) <= i {
		return "", false
	}
	switch step := t[i].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex: // bucket["jobs"] names bucket.jobs as much as bucket.jobs does
		if k := step.Key; k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
			return k.AsString(), true
		}
	}
	return "", false
}

// refKey maps a traversal to the node key it depends on ("" for variables).
func refKey(t hcl.Traversal) string {
	root := t.RootName()
	if root == "var" {
		return ""
	}
	name, ok := stepName(t, 1)
	if !ok {
		return ""
	}
	return root + "." + name
}

// topoSort orders nodes so each comes after what it references, and reports cycles.
func topoSort(nodes []*node) ([]*node, hcl.Diagnostics) {
	byKey := map[string]*node{}
	for _, n := range nodes {
		byKey[n.key] = n
	}
	const (
		unvisited = iota
		visiting
		done
	)
	mark := map[string]int{}
	var order []*node
	var diags hcl.Diagnostics
	var stack []string
	var visit func(n *node) bool
	visit = func(n *node) bool {
		switch mark[n.key] {
		case done:
			return true
		case visiting:
			i := 0
			for i < len(stack) && stack[i] != n.key {
				i++
			}
			cycle := append(append([]string{}, stack[i:]...), n.key)
			detail := "These references form a cycle: " + strings.Join(cycle, " → ") + ". Break it by removing one reference."
			if strings.Contains(detail, "cloud.") {
				detail += " (Every resource comes after the cloud blocks, so a cloud block cannot refer to a resource.)"
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference cycle", Detail: detail, Subject: n.rng.Ptr()})
			return false
		}
		mark[n.key] = visiting
		stack = append(stack, n.key)
		deps := []string{}
		for _, t := range n.refs {
			if k := refKey(t); k != "" && k != n.key {
				deps = append(deps, k)
			} else if k == n.key {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Self-reference",
					Detail: n.key + " refers to itself.", Subject: t.SourceRange().Ptr()})
				return false
			}
		}
		deps = append(deps, n.after...)
		sort.Strings(deps)
		for _, k := range deps {
			if dep, ok := byKey[k]; ok {
				if !visit(dep) {
					return false
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[n.key] = done
		order = append(order, n)
		return true
	}
	sorted := append([]*node{}, nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].key < sorted[j].key })
	for _, n := range sorted {
		if !visit(n) {
			return nil, diags
		}
	}
	return order, diags
}

// resourceSchemaHCL builds the hcl.BodySchema of a resource block.
func resourceSchemaHCL(s *ResourceSchema) *hcl.BodySchema {
	bs := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "lifecycle"}}}
	for _, a := range s.Attrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	return bs
}

var lifecycleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "allow_replace"}}}

func (l *loader) decodeResource(n *node) (*Resource, hcl.Diagnostics) {
	b := n.block
	s := SchemaFor(b.Type)
	content, diags := b.Body.Content(resourceSchemaHCL(s))
	if diags.HasErrors() {
		return nil, diags
	}
	r := &Resource{Type: b.Type, Name: b.Labels[0], Attrs: map[string]any{}, DeclRange: n.rng, AttrRanges: map[string]hcl.Range{}}
	ctx := l.evalContext()
	for _, as := range s.Attrs {
		a, ok := content.Attributes[as.Name]
		if !ok {
			if as.Default != nil {
				r.Attrs[as.Name] = as.Default
			}
			continue
		}
		r.AttrRanges[as.Name] = a.Expr.Range()
		if l.refsSensitive(a.Expr.Variables()) {
			if r.Sensitive == nil {
				r.Sensitive = map[string]bool{}
			}
			r.Sensitive[as.Name] = true
		}
		v, d := decodeAttr(a, as.Type, ctx)
		diags = append(diags, d...)
		if v != nil {
			r.Attrs[as.Name] = v
		} else if !d.HasErrors() && as.Default != nil {
			r.Attrs[as.Name] = as.Default // explicit null means "use the default"
		}
	}
	for i, lb := range content.Blocks {
		if i > 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate lifecycle block",
				Detail:  fmt.Sprintf("%s.%s already has a lifecycle block at %s; merge them into one.", r.Type, r.Name, content.Blocks[0].DefRange),
				Subject: lb.DefRange.Ptr()})
			continue
		}
		lc, d := lb.Body.Content(lifecycleSchema)
		diags = append(diags, d...)
		if a, ok := lc.Attributes["allow_replace"]; ok {
			v, d := decodeAttr(a, TypeBool, ctx)
			diags = append(diags, d...)
			r.AllowReplace, _ = v.(bool)
		}
	}
	deps := map[string]bool{}
	for _, t := range n.refs {
		if k := refKey(t); k != "" && !strings.HasPrefix(k, "local.") {
			deps[k] = true
		}
	}
	// Dependencies through locals count too: a local that references a resource.
	for _, t := range n.refs {
		if k := refKey(t); strings.HasPrefix(k, "local.") {
			for _, dep := range l.localResourceDeps(k, map[string]bool{}) {
				deps[dep] = true
			}
		}
	}
	for k := range deps {
		r.DependsOn = append(r.DependsOn, k)
	}
	sort.Strings(r.DependsOn)
	return r, diags
}

// refsSensitive reports whether any reference reaches a sensitive variable,
// directly or through a local value.
func (l *loader) refsSensitive(refs []hcl.Traversal) bool {
	for _, t := range refs {
		name, ok := stepName(t, 1)
		if !ok {
			if l.collectionSensitive(t.RootName()) {
				return true
			}
			continue
		}
		switch t.RootName() {
		case "var":
			if vd := l.varDecls[name]; vd != nil && vd.sensitive {
				return true
			}
		case "local":
			if l.sensitiveLocals[name] {
				return true
			}
		default:
			sens := l.resSensitive[t.RootName()+"."+name]
			if attr, ok := stepName(t, 2); ok {
				if sens[attr] {
					return true
				}
			} else if len(sens) > 0 {
				return true // the whole resource object
			}
		}
	}
	return false
}

// collectionSensitive reports whether any member of a whole collection
// (var, local, or a resource type such as bucket) is sensitive.
func (l *loader) collectionSensitive(root string) bool {
	switch root {
	case "var":
		for _, vd := range l.varDecls {
			if vd.sensitive {
				return true
			}
		}
	case "local":
		return len(l.sensitiveLocals) > 0
	default:
		for addr, sens := range l.resSensitive {
			if strings.HasPrefix(addr, root+".") && len(sens) > 0 {
				return true
			}
		}
	}
	return false
}

// localResourceDeps finds the resources a local value depends on, transitively.
func (l *loader) localResourceDeps(key string, seen map[string]bool) []string {
	n := l.nodes[key]
	if seen[key] || n == nil {
		return nil
	}
	seen[key] = true
	var out []string
	for _, t := range n.refs {
		k := refKey(t)
		switch {
		case k == "":
		case strings.HasPrefix(k, "local."):
			out = append(out, l.localResourceDeps(k, seen)...)
		default:
			out = append(out, k)
		}
	}
	return out
}

// decodeAttr evaluates an attribute and converts it to a plain Go value.
// A null value returns (nil, no diagnostics).
func decodeAttr(a *hcl.Attribute, t AttrType, ctx *hcl.EvalContext) (any, hcl.Diagnostics) {
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	if v.IsNull() {
		return nil, nil
	}
	cv, err := convert.Convert(v, t.CtyType())
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: fmt.Sprintf("Inappropriate value for attribute %q: %s required.", a.Name, t), Subject: a.Expr.Range().Ptr()}}
	}
	if !cv.IsWhollyKnown() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown value",
			Detail: fmt.Sprintf("The value of %q cannot be determined.", a.Name), Subject: a.Expr.Range().Ptr()}}
	}
	out, err := GoValue(cv, t)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid attribute value",
			Detail: fmt.Sprintf("Invalid value for %q: %s.", a.Name, err), Subject: a.Expr.Range().Ptr()}}
	}
	return out, nil
}

// GoValue converts a known cty value of the given attribute type to Go.
func GoValue(v cty.Value, t AttrType) (any, error) {
	switch t {
	case TypeString:
		return v.AsString(), nil
	case TypeNumber:
		bf := v.AsBigFloat()
		if !bf.IsInt() {
			return nil, fmt.Errorf("a whole number is required, got %s", bf.Text('g', -1))
		}
		n, acc := bf.Int64()
		if acc != big.Exact {
			return nil, fmt.Errorf("number out of range")
		}
		return n, nil
	case TypeBool:
		return v.True(), nil
	case TypeStringList:
		out := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() {
				return nil, fmt.Errorf("list elements must not be null")
			}
			out = append(out, e.AsString())
		}
		return out, nil
	case TypeStringMap:
		out := map[string]string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				return nil, fmt.Errorf("map values must not be null")
			}
			out[k.AsString()] = e.AsString()
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported type")
}

// CtyValue converts a Go attribute value back to cty (for references).
func CtyValue(v any, t AttrType) cty.Value {
	if v == nil {
		return cty.NullVal(t.CtyType())
	}
	switch x := v.(type) {
	case string:
		return cty.StringVal(x)
	case int64:
		return cty.NumberIntVal(x)
	case bool:
		return cty.BoolVal(x)
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vals := make([]cty.Value, len(x))
		for i, s := range x {
			vals[i] = cty.StringVal(s)
		}
		return cty.ListVal(vals)
	case map[string]string:
		if len(x) == 0 {
			return cty.MapValEmpty(cty.String)
		}
		vals := map[string]cty.Value{}
		for k, s := range x {
			vals[k] = cty.StringVal(s)
		}
		return cty.MapVal(vals)
	}
	return cty.NullVal(t.CtyType())
}

func resourceValue(r *Resource) cty.Value {
	s := SchemaFor(r.Type)
	attrs := map[string]cty.Value{"address": cty.StringVal(r.Address())}
	for _, a := range s.Attrs {
		attrs[a.Name] = CtyValue(r.Attrs[a.Name], a.Type)
	}
	return cty.ObjectVal(attrs)
}

var skyplanSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "workspace"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}},
}

// BackendTypes lists the supported state backends and their attributes.
var BackendTypes = map[string][]string{
	"local": {"path"},
	"s3":    {"bucket", "key", "region"},
	"gcs":   {"bucket", "prefix"},
}

func (l *loader) decodeSkyplan(blocks []*hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.cfg.Workspace = "default"
	l.cfg.Backend = Backend{Type: "local", Attrs: map[string]string{"path": ".skyplan/state.json"}}
	if len(blocks) > 1 {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate skyplan block",
			Detail: fmt.Sprintf("Only one skyplan block is allowed; the first is at %s.", blocks[0].DefRange), Subject: blocks[1].DefRange.Ptr()}}
	}
	if len(blocks) == 0 {
		return nil
	}
	content, d := blocks[0].Body.Content(skyplanSchema)
	diags = append(diags, d...)
	if content == nil {
		return diags
	}
	ctx := l.evalContext()
	if a, ok := content.Attributes["workspace"]; ok {
		v, d := decodeAttr(a, TypeString, ctx)
		diags = append(diags, d...)
		if ws, _ := v.(string); ws != "" {
			if !validWorkspace(ws) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid workspace name",
					Detail: "A workspace name is 1-40 characters of lowercase letters, digits, '-' and '_' (it becomes a cloud label).", Subject: a.Expr.Range().Ptr()})
			}
			l.cfg.Workspace = ws
		}
	}
	if len(content.Blocks) > 1 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate backend block", Subject: content.Blocks[1].DefRange.Ptr()})
	}
	for _, b := range content.Blocks[:min(1, len(content.Blocks))] {
		typ := b.Labels[0]
		names, ok := BackendTypes[typ]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported backend",
				Detail: fmt.Sprintf("Backend %q is not supported; use local, s3 or gcs.", typ), Subject: b.LabelRanges[0].Ptr()})
			continue
		}
		bs := &hcl.BodySchema{}
		for _, n := range names {
			bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: n, Required: typ != "local"})
		}
		bc, d := b.Body.Content(bs)
		diags = append(diags, d...)
		if bc == nil {
			continue
		}
		be := Backend{Type: typ, Attrs: map[string]string{}, Range: b.DefRange}
		if typ == "local" {
			be.Attrs["path"] = ".skyplan/state.json"
		}
		for name, a := range bc.Attributes {
			v, d := decodeAttr(a, TypeString, ctx)
			diags = append(diags, d...)
			if s, _ := v.(string); s != "" {
				be.Attrs[name] = s
			}
		}
		l.cfg.Backend = be
	}
	return diags
}

func validWorkspace(ws string) bool {
	if len(ws) == 0 || len(ws) > 40 {
		return false
	}
	for _, c := range ws {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// decodeCloud decodes one `cloud "NAME" {}` block (duplicates are reported
// when the nodes are built).
func (l *loader) decodeCloud(b *hcl.Block) hcl.Diagnostics {
	var diags hcl.Diagnostics
	bs := &hcl.BodySchema{}
	for _, a := range cloudAttrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name})
	}
	ctx := l.evalContext()
	name := b.Labels[0]
	if !contains(CloudNames, name) {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown cloud",
			Detail: fmt.Sprintf("Cloud %q is not supported; use one of %s.", name, strings.Join(CloudNames, ", ")), Subject: b.LabelRanges[0].Ptr()}}
	}
	content, d := b.Body.Content(bs)
	diags = append(diags, d...)
	if content == nil {
		return diags
	}
	c := &Cloud{Name: name, Attrs: map[string]any{}, DeclRange: b.DefRange, AttrRanges: map[string]hcl.Range{}}
	for _, as := range cloudAttrs {
		a, ok := content.Attributes[as.Name]
		if !ok {
			continue
		}
		c.AttrRanges[as.Name] = a.Expr.Range()
		v, d := decodeAttr(a, as.Type, ctx)
		diags = append(diags, d...)
		if v != nil {
			c.Attrs[as.Name] = v
		}
	}
	for _, cp := range c.StringList("capabilities") {
		if !contains(capabilityNames(), cp) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown capability",
				Detail: fmt.Sprintf("Capability %q is not known; use %s.", cp, strings.Join(capabilityNames(), " or ")), Subject: c.AttrRanges["capabilities"].Ptr()})
		}
	}
	l.cfg.Clouds[name] = c
	return diags
}

func capabilityNames() []string {
	out := make([]string, len(Capabilities))
	for i, c := range Capabilities {
		out[i] = string(c)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
