// Package spec turns a directory of skyplan HCL files into a typed, validated
// Config. Every problem is an hcl.Diagnostic with a source range.
//
// References between resources are resolved to the referenced resource's
// configured attribute values (defaults included), so every value is known at
// plan time; a reference is also a dependency edge used to order the plan.
package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Options controls where a spec is read from and which variable values apply.
type Options struct {
	Dir string
	// Vars are -var name=value flags, in order.
	Vars []string
	// VarFiles are -var-file paths (HCL attributes or JSON).
	VarFiles []string
	// Env is the environment searched for SKYPLAN_VAR_name (os.Environ() form).
	Env []string
}

// SpecFileSuffix is the extension of spec files; files ending in
// VarFileSuffix are variable files and are not loaded as spec.
const (
	SpecFileSuffix = ".hcl"
	VarFileSuffix  = ".vars.hcl"
)

var topSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "skyplan"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "cloud", LabelNames: []string{"name"}},
		{Type: TypeCluster, LabelNames: []string{"name"}},
		{Type: TypeBucket, LabelNames: []string{"name"}},
		{Type: TypeJobsController, LabelNames: []string{"name"}},
		{Type: TypeGPULabelPolicy, LabelNames: []string{"name"}},
	},
}

// Load reads every spec file in opts.Dir. The returned Config is never nil:
// on error its Files/Sources are still set so the caller can print snippets.
func Load(opts Options) (*Config, hcl.Diagnostics) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	cfg := &Config{Dir: opts.Dir, Sources: map[string][]byte{}, Files: map[string]*hcl.File{}}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return cfg, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory", Detail: err.Error()}}
	}
	var paths []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, SpecFileSuffix) || strings.HasSuffix(n, VarFileSuffix) || strings.HasPrefix(n, ".") {
			continue
		}
		paths = append(paths, filepath.Join(opts.Dir, n))
	}
	if len(paths) == 0 {
		return cfg, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No spec files",
			Detail: fmt.Sprintf("No *%s files found in %s. Run skyplan in a spec directory or pass --chdir DIR.", SpecFileSuffix, opts.Dir)}}
	}
	sources := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return cfg, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec file", Detail: err.Error()}}
		}
		sources[p] = b
	}
	return LoadSources(sources, opts)
}

// LoadSources loads a spec from in-memory files (path → content).
func LoadSources(sources map[string][]byte, opts Options) (*Config, hcl.Diagnostics) {
	// A copy: variable files are added to Sources, and the caller's map must
	// not change (a second load would parse them as spec files).
	cfg := &Config{Dir: opts.Dir, Sources: maps.Clone(sources), Files: map[string]*hcl.File{}}
	if cfg.Sources == nil {
		cfg.Sources = map[string][]byte{}
	}
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	paths := make([]string, 0, len(sources))
	for p := range sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var bodies []hcl.Body
	for _, p := range paths {
		f, d := parser.ParseHCL(sources[p], p)
		diags = append(diags, d...)
		if f != nil {
			cfg.Files[p] = f
			bodies = append(bodies, f.Body)
		}
	}
	// Variable files are parsed with the same parser so their diagnostics print with snippets too.
	for _, vf := range opts.VarFiles {
		b, err := os.ReadFile(vf)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read variable file", Detail: err.Error()})
			continue
		}
		cfg.Sources[vf] = b
	}
	if diags.HasErrors() {
		return cfg, diags
	}
	l := &loader{cfg: cfg, parser: parser, opts: opts}
	diags = append(diags, l.load(bodies)...)
	cfg.Hash = hashSpec(sources, l.varValuesForHash())
	for p, f := range parser.Files() {
		cfg.Files[p] = f
	}
	trimPanicStacks(diags)
	return cfg, diags
}

// trimPanicStacks cuts the goroutine dump that go-cty appends when a function
// panics on bad arguments (e.g. indent(-1, s)): the message is what helps.
func trimPanicStacks(diags hcl.Diagnostics) {
	for _, d := range diags {
		i := strings.Index(d.Detail, "panic in function implementation: ")
		if i < 0 {
			continue
		}
		if j := strings.IndexByte(d.Detail[i:], '\n'); j >= 0 {
			d.Detail = strings.TrimRight(d.Detail[:i+j], ". ") + "."
		}
	}
}

func hashSpec(sources map[string][]byte, vars string) string {
	h := sha256.New()
	paths := make([]string, 0, len(sources))
	for p := range sources {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(p), len(sources[p]))
		h.Write(sources[p])
	}
	h.Write([]byte(vars))
	return hex.EncodeToString(h.Sum(nil))
}

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
