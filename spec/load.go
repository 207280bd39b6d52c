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
