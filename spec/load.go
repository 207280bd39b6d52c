// Package spec turns a directory of skyplan HCL files into a typed, validated
// Config. Every problem is an hcl.Diagnostic with a source range.
//
// References between resources are resolved to the referenced resource's
// configured attribute values (defaults included), so every value is known at
// plan time; a reference is also a dependency edge used to order the plan.
//
// # Errors
//
// Loading goes on past an error as far as it safely can, so one run reports
// every independent problem (a wrong type in one block, an unknown attribute
// in another, an undeclared reference in a third), each once: whatever
// cannot be evaluated is marked broken, and what is computed from it is
// skipped without a second error. Syntax errors are the exception: a file
// that does not parse cannot say what it declares, so loading stops after
// every file has been parsed. At most MaxDiagnosticsPerFile errors are kept
// per file, followed by one that counts the rest.
//
// # What is read, and what may be shown
//
// Only regular files are read (a symbolic link only when its target lies in
// the spec directory), never more than MaxFileSize each; FIFOs and devices
// are refused without being opened, so loading never blocks on them. Input
// nested deeper than MaxNestingDepth is refused before the recursive HCL
// parser sees it. Variable files must be regular files named *.hcl or *.json.
//
// Config.Sources (and, after a failed load, Config.Files) hold only the
// files whose lines may be printed in diagnostics: the spec files of the
// directory and variable files inside it. A variable file from elsewhere
// (`--var-file ../prod.vars.hcl`, or a secret) is read but never kept
// there, and the details of its diagnostics, which may quote its text, are
// withheld: only its name and line are shown.
package spec

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
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
	// Saved are the values a saved plan was made with; they take the place
	// of defaults, and what -var-file, the environment or -var set still
	// wins (a differing value then fails the plan's hash check).
	Saved map[string]cty.Value
	// Context stops loading when it is done (checked between files and
	// between blocks), with a "Loading interrupted" error; nil never stops.
	Context context.Context
}

func (o Options) context() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
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
		{Type: "moved"},
		{Type: "import"},
	},
}

// Load reads every spec file in opts.Dir. The returned Config is never nil:
// on error its Files/Sources are still set so the caller can print snippets.
func Load(opts Options) (*Config, hcl.Diagnostics) {
	if opts.Dir == "" {
		opts.Dir = "."
	}
	cfg := &Config{Dir: opts.Dir, Sources: map[string][]byte{}, Files: map[string]*hcl.File{}}
	sources, diags := readSpecDir(opts.context(), opts.Dir)
	if diags.HasErrors() {
		for p, b := range sources {
			cfg.Sources[p] = b
		}
		return cfg, capPerFile(diags)
	}
	if len(sources) == 0 {
		return cfg, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No spec files",
			Detail: fmt.Sprintf("No *%s files found in %s. Run skyplan in a spec directory or pass --chdir DIR.", SpecFileSuffix, opts.Dir)}}
	}
	return LoadSources(sources, opts)
}

// LoadSources loads a spec from in-memory files (path → content).
func LoadSources(sources map[string][]byte, opts Options) (*Config, hcl.Diagnostics) {
	cfg := &Config{Dir: opts.Dir, Sources: map[string][]byte{}, Files: map[string]*hcl.File{}}
	l := &loader{
		cfg: cfg, opts: opts, ctx: opts.context(), funcs: Functions(),
		varFiles: map[string]*hcl.File{}, hidden: map[string]bool{}, broken: map[string]bool{},
	}
	bodies, diags := l.parse(sources)
	if !diags.HasErrors() {
		diags = append(diags, l.load(bodies)...)
	}
	cfg.Hash = hashSpec(sources, l.varValuesForHash())
	if !diags.HasErrors() {
		// The syntax trees are most of a big spec's memory, and nothing
		// after a clean load reads them (Sources keep the text).
		cfg.Files = map[string]*hcl.File{}
	}
	trimPanicStacks(diags)
	l.withholdHidden(diags)
	sortByLocation(diags)
	return cfg, capPerFile(diags)
}

// parse checks and parses the spec files and the variable files.
func (l *loader) parse(sources map[string][]byte) ([]hcl.Body, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var bodies []hcl.Body
	paths := slices.Sorted(maps.Keys(sources))
	parsed := parseAll(l.ctx, paths, sources)
	for i, p := range paths {
		r := parsed[i]
		diags = append(diags, r.diags...)
		if r.interrupted {
			return nil, append(diags, interrupted(l.ctx))
		}
		if r.tooLarge {
			continue
		}
		l.cfg.Sources[p] = sources[p]
		if r.file != nil {
			l.cfg.Files[p] = r.file
			bodies = append(bodies, r.file.Body)
		}
	}
	for _, vf := range l.opts.VarFiles {
		src, shown, err := readVarFile(vf, dirOrDot(l.opts.Dir))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read variable file", Detail: err.Error()})
			continue
		}
		if !shown {
			l.hidden[vf] = true
		}
		isJSON := strings.HasSuffix(vf, ".json")
		if d := checkNesting(src, vf, isJSON); d != nil {
			diags = append(diags, d)
			continue
		}
		var f *hcl.File
		var d hcl.Diagnostics
		if isJSON {
			f, d = json.Parse(src, vf)
		} else {
			f, d = hclsyntax.ParseConfig(src, vf, hcl.InitialPos)
		}
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		l.varFiles[vf] = f
		if shown { // so their diagnostics print with snippets too
			l.cfg.Sources[vf] = src
			l.cfg.Files[vf] = f
		}
	}
	return bodies, diags
}

// parsedFile is the outcome of checking and parsing one spec file.
type parsedFile struct {
	file        *hcl.File
	diags       hcl.Diagnostics
	tooLarge    bool
	interrupted bool
}

// parseAll checks and parses spec files on every CPU: parsing is most of the
// time a large spec takes to load. Results are in the order of paths.
func parseAll(ctx context.Context, paths []string, sources map[string][]byte) []parsedFile {
	out := make([]parsedFile, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(len(paths), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				out[i] = parseOne(ctx, paths[i], sources[paths[i]])
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func parseOne(ctx context.Context, path string, src []byte) (pf parsedFile) {
	// A parser bug must not crash the process from this goroutine (exit 2).
	defer func() {
		if r := recover(); r != nil {
			pf = parsedFile{diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot parse spec file",
				Detail: fmt.Sprintf("internal error: %v; please report it", r), Subject: &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}}}}
		}
	}()
	if ctx.Err() != nil {
		return parsedFile{interrupted: true}
	}
	if len(src) > MaxFileSize {
		return parsedFile{tooLarge: true, diags: hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec file",
			Detail: tooLarge(path).Error(), Subject: &hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}}}}
	}
	if d := checkNesting(src, path, false); d != nil {
		return parsedFile{diags: hcl.Diagnostics{d}}
	}
	f, diags := parseConfig(src, path)
	return parsedFile{file: f, diags: diags}
}

func dirOrDot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// withholdHidden blanks the details of diagnostics about files whose text
// must not be shown: parser messages may quote it.
func (l *loader) withholdHidden(diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Subject != nil && l.hidden[d.Subject.Filename] {
			d.Detail = fmt.Sprintf("Details are not shown: %s lies outside the spec directory, so none of its text is printed.", d.Subject.Filename)
			d.Context, d.Expression, d.EvalContext = nil, nil, nil
		}
	}
}

// sortByLocation orders diagnostics as a reader meets them: those about
// options first, then by file and position. Evaluation follows references,
// not the text.
func sortByLocation(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(a, b *hcl.Diagnostic) int {
		switch {
		case a.Subject == nil || b.Subject == nil:
			return cmp.Compare(boolInt(a.Subject != nil), boolInt(b.Subject != nil))
		case a.Subject.Filename != b.Subject.Filename:
			return strings.Compare(a.Subject.Filename, b.Subject.Filename)
		case a.Subject.Start.Line != b.Subject.Start.Line:
			return cmp.Compare(a.Subject.Start.Line, b.Subject.Start.Line)
		}
		return cmp.Compare(a.Subject.Start.Column, b.Subject.Start.Column)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// capPerFile keeps the first MaxDiagnosticsPerFile errors (and as many
// warnings) of each file and adds, for each file with more, one diagnostic
// that counts the rest, located at the first one left out. So garbage input
// gives a short answer, and printing it stays cheap.
func capPerFile(diags hcl.Diagnostics) hcl.Diagnostics {
	type count struct {
		errors, warnings, droppedErrors, droppedWarnings int
		firstDropped                                     *hcl.Range
	}
	counts := map[string]*count{}
	var files []string
	out := diags[:0:0]
	for _, d := range diags {
		file := ""
		if d.Subject != nil {
			file = d.Subject.Filename
		}
		c := counts[file]
		if c == nil {
			c = &count{}
			counts[file] = c
			files = append(files, file)
		}
		n, dropped := &c.errors, &c.droppedErrors
		if d.Severity != hcl.DiagError {
			n, dropped = &c.warnings, &c.droppedWarnings
		}
		if *n < MaxDiagnosticsPerFile {
			*n++
			out = append(out, d)
			continue
		}
		*dropped++
		if c.firstDropped == nil {
			c.firstDropped = d.Subject
		}
	}
	for _, file := range files {
		c := counts[file]
		if c.droppedErrors+c.droppedWarnings == 0 {
			continue
		}
		where := file
		if where == "" {
			where = "the options"
		}
		sev, what := hcl.DiagError, fmt.Sprintf("%d more errors", c.droppedErrors)
		switch {
		case c.droppedErrors == 0:
			sev, what = hcl.DiagWarning, fmt.Sprintf("%d more warnings", c.droppedWarnings)
		case c.droppedWarnings > 0:
			what += fmt.Sprintf(" and %d warnings", c.droppedWarnings)
		}
		out = append(out, &hcl.Diagnostic{Severity: sev, Summary: fmt.Sprintf("And %s in %s", what, where),
			Detail:  fmt.Sprintf("Only the first %d errors of each file are shown; fix these and run again.", MaxDiagnosticsPerFile),
			Subject: c.firstDropped})
	}
	return out
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
	cfg   *Config
	opts  Options
	ctx   context.Context
	funcs map[string]function.Function

	// varFiles are the parsed -var-file files; hidden names those whose
	// text must not be shown.
	varFiles map[string]*hcl.File
	hidden   map[string]bool

	varDecls map[string]*varDecl
	vars     map[string]cty.Value
	// varsObj is vars as the object `var`, built once.
	varsObj         cty.Value
	anySensitiveVar bool
	locals          map[string]cty.Value
	// sensitiveLocals are locals computed from sensitive variables.
	sensitiveLocals map[string]bool
	// localDeps are the resources each local value reads, directly or not.
	localDeps map[string][]string
	// decoded resources by type, then name, and their values as references
	// see them (built on first use: most resources are never referenced).
	decoded map[string]map[string]*Resource
	resVals map[string]map[string]cty.Value
	// resSensitive holds each evaluated resource's sensitive attributes, so
	// values copied from them by reference stay sensitive; sensitiveTypes
	// the resource types with any.
	resSensitive   map[string]map[string]bool
	sensitiveTypes map[string]bool
	// nodes are the locals, clouds and resources by key, with their references.
	nodes map[string]*node
	// members are the names in each collection ("local", "bucket", ...).
	members map[string][]string
	// broken names what could not be declared or evaluated ("var.x",
	// "local.y", "bucket.z", "cloud.aws", an unknown root): its error is
	// reported, and what reads it is skipped without another.
	broken map[string]bool
}

func (l *loader) load(bodies []hcl.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var skyplanBlocks, varBlocks, cloudBlocks, resBlocks, movedBlocks, importBlocks []*hcl.Block
	var localAttrs []*hcl.Attribute
	for _, body := range bodies {
		content, d := body.Content(topSchema)
		diags = append(diags, d...)
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
				localAttrs = append(localAttrs, sortedAttributes(attrs)...)
			case "moved":
				movedBlocks = append(movedBlocks, b)
			case "import":
				importBlocks = append(importBlocks, b)
			default:
				resBlocks = append(resBlocks, b)
			}
		}
	}
	diags = append(diags, l.declareVariables(varBlocks)...)
	diags = append(diags, l.assignVariables()...)
	l.cfg.Variables = l.vars
	l.cfg.SensitiveVariables = map[string]bool{}
	for name, vd := range l.varDecls {
		if vd.sensitive {
			l.cfg.SensitiveVariables[name] = true
		}
	}
	l.varsObj = cty.ObjectVal(l.vars)

	nodes, d := l.buildNodes(localAttrs, resBlocks, cloudBlocks)
	diags = append(diags, d...)
	order, d := l.topoSort(nodes)
	diags = append(diags, d...)
	l.locals = map[string]cty.Value{}
	l.sensitiveLocals = map[string]bool{}
	l.localDeps = map[string][]string{}
	l.resVals = map[string]map[string]cty.Value{}
	l.decoded = map[string]map[string]*Resource{}
	for _, s := range Schemas {
		l.resVals[s.Type] = map[string]cty.Value{}
		l.decoded[s.Type] = map[string]*Resource{}
	}
	l.resSensitive = map[string]map[string]bool{}
	l.sensitiveTypes = map[string]bool{}
	l.cfg.Clouds = map[string]*Cloud{}
	for _, n := range order {
		if l.ctx.Err() != nil {
			return append(diags, interrupted(l.ctx))
		}
		diags = append(diags, l.evaluate(n)...)
	}
	l.cfg.Resources = sortedByAddress(l.cfg.Resources)
	diags = append(diags, l.decodeSkyplan(skyplanBlocks)...)
	diags = append(diags, l.decodeRefactors(movedBlocks, importBlocks)...)
	return diags
}

// evaluate decodes one node, in dependency order. A node that reads
// something broken is broken too, and a resource is validated only when it
// decoded cleanly on a cloud block that did.
func (l *loader) evaluate(n *node) hcl.Diagnostics {
	sc := l.scopeFor(n.refs)
	if sc.tainted {
		l.broken[n.key] = true
	}
	switch {
	case n.cloud != nil:
		d := l.decodeCloud(n.cloud, sc)
		if d.HasErrors() {
			l.broken[n.key] = true
		}
		return d
	case n.local != nil:
		name := strings.TrimPrefix(n.key, "local.")
		v, d := n.local.Expr.Value(sc.ctx)
		if d.HasErrors() || v == cty.NilVal || !v.IsWhollyKnown() {
			l.broken[n.key] = true
			v = cty.DynamicVal
		}
		l.locals[name] = v
		l.localDeps[n.key] = l.resourceDeps(n)
		if l.anySensitive() && l.refsSensitive(n.refs) {
			l.sensitiveLocals[name] = true
		}
		return d
	}
	r, d := l.decodeResource(n, sc)
	if d.HasErrors() {
		l.broken[n.key] = true
	}
	// Validate before others can reference r, so references see the
	// completed values (defaulted region, resolved instance_type).
	if !l.broken[n.key] && !l.broken["cloud."+r.Cloud()] {
		d = append(d, validateResource(l.cfg, r)...)
	}
	l.recordSensitive(r)
	l.cfg.Resources = append(l.cfg.Resources, r)
	if !l.broken[n.key] {
		l.decoded[r.Type][r.Name] = r
	}
	return d
}

// sortedByAddress sorts resources by address, computing each address once.
func sortedByAddress(rs []*Resource) []*Resource {
	type keyed struct {
		addr string
		r    *Resource
	}
	ks := make([]keyed, len(rs))
	for i, r := range rs {
		ks[i] = keyed{r.Address(), r}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.addr, b.addr) })
	for i := range ks {
		rs[i] = ks[i].r
	}
	return rs
}
