package spec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty/convert"
)

// resourceBodySchemas are the hcl.BodySchema of each resource block type.
var resourceBodySchemas = func() map[string]*hcl.BodySchema {
	out := map[string]*hcl.BodySchema{}
	for _, s := range Schemas {
		bs := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "lifecycle"}}}
		for _, a := range s.Attrs {
			bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
		}
		out[s.Type] = bs
	}
	return out
}()

var lifecycleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "allow_replace"}, {Name: "create_before_destroy"}}}

// decodeResource decodes every attribute it can, so one run reports an
// unknown attribute and a wrong type in the same block together.
func (l *loader) decodeResource(n *node, sc *scope) (*Resource, hcl.Diagnostics) {
	b := n.block
	s := SchemaFor(b.Type)
	content, diags := b.Body.Content(resourceBodySchemas[b.Type])
	r := &Resource{Type: b.Type, Name: b.Labels[0], Attrs: make(map[string]any, len(s.Attrs)), DeclRange: n.rng,
		AttrRanges: make(map[string]hcl.Range, len(content.Attributes))}
	for _, as := range s.Attrs {
		a, ok := content.Attributes[as.Name]
		if !ok {
			if as.Default != nil {
				r.Attrs[as.Name] = as.Default
			}
			continue
		}
		r.AttrRanges[as.Name] = a.Expr.Range()
		if l.anySensitive() && l.refsSensitive(a.Expr.Variables()) {
			if r.Sensitive == nil {
				r.Sensitive = map[string]bool{}
			}
			r.Sensitive[as.Name] = true
		}
		v, d := decodeAttr(a, as.Type, sc)
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
			v, d := decodeAttr(a, TypeBool, sc)
			diags = append(diags, d...)
			r.AllowReplace, _ = v.(bool)
		}
		if a, ok := lc.Attributes["create_before_destroy"]; ok {
			v, d := decodeAttr(a, TypeBool, sc)
			diags = append(diags, d...)
			if cbd, set := v.(bool); set {
				r.DestroyBeforeCreate = !cbd
				r.AttrRanges["lifecycle.create_before_destroy"] = a.Expr.Range()
			}
		}
	}
	r.DependsOn = l.resourceDeps(n)
	return r, diags
}

// decodeAttr evaluates an attribute and converts it to a plain Go value.
// A null value returns (nil, no diagnostics), and so does a value computed
// from something broken (its error is already reported).
func decodeAttr(a *hcl.Attribute, t AttrType, sc *scope) (any, hcl.Diagnostics) {
	v, diags := a.Expr.Value(sc.ctx)
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
		if sc.tainted {
			return nil, nil
		}
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
	refs, d := l.resolveRefs(blockRefs(blocks[0]))
	diags = append(diags, d...)
	sc := l.scopeFor(refs)
	if a, ok := content.Attributes["workspace"]; ok {
		v, d := decodeAttr(a, TypeString, sc)
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
			v, d := decodeAttr(a, TypeString, sc)
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

var cloudBodySchema = func() *hcl.BodySchema {
	bs := &hcl.BodySchema{}
	for _, a := range cloudAttrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name})
	}
	return bs
}()

// decodeCloud decodes one `cloud "NAME" {}` block (duplicates are reported
// when the nodes are built).
func (l *loader) decodeCloud(b *hcl.Block, sc *scope) hcl.Diagnostics {
	var diags hcl.Diagnostics
	name := b.Labels[0]
	if !contains(CloudNames, name) {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown cloud",
			Detail: fmt.Sprintf("Cloud %q is not supported; use one of %s.", name, strings.Join(CloudNames, ", ")), Subject: b.LabelRanges[0].Ptr()}}
	}
	content, d := b.Body.Content(cloudBodySchema)
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
		v, d := decodeAttr(a, as.Type, sc)
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
