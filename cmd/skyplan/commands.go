package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/internal/session"
	"github.com/skyplan/skyplan/internal/style"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// VersionCmd is `skyplan version`.
type VersionCmd struct{}

// Run prints the version.
func (VersionCmd) Run(g *Globals) error {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	fmt.Fprintf(g.Stdout, "skyplan %s\ncatalog: %s\n", v, catalog.Default().Source())
	return nil
}

// ValidateCmd is `skyplan validate`.
type ValidateCmd struct{}

// Run validates the spec and runs the static lint rules.
func (ValidateCmd) Run(g *Globals) error {
	cfg, err := g.loadSpec()
	if err != nil {
		return err
	}
	if err := g.staticLint(cfg); err != nil {
		return err
	}
	fmt.Fprintf(g.Stdout, "The spec is valid: %d resource(s) in workspace %q.\n", len(cfg.Resources), cfg.Workspace)
	return nil
}

// FmtCmd is `skyplan fmt`.
type FmtCmd struct {
	Check bool     `name:"check" help:"Only report unformatted files; exit 1 if any."`
	Files []string `arg:"" optional:"" type:"path" help:"Files to format (default: every .hcl file in the spec directory)."`
}

// Run formats files in place (or checks them).
func (c *FmtCmd) Run(g *Globals) error {
	files := c.Files
	if len(files) == 0 {
		matches, err := filepath.Glob(filepath.Join(g.Chdir, "*"+spec.SpecFileSuffix))
		if err != nil {
			return err
		}
		files = matches
	}
	sort.Strings(files)
	var unformatted []string
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
			style.WriteDiagnostics(g.Stderr, map[string][]byte{f: src}, diags, g.Color())
			return exitCode(ExitError)
		}
		out := hclwrite.Format(src)
		if bytes.Equal(out, src) {
			continue
		}
		unformatted = append(unformatted, f)
		if !c.Check {
			if err := state.WriteFileAtomicMode(f, out, info.Mode().Perm()); err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, f)
		}
	}
	if c.Check && len(unformatted) > 0 {
		for _, f := range unformatted {
			fmt.Fprintln(g.Stdout, f)
		}
		return &exitError{code: ExitError, msg: fmt.Sprintf("%d file(s) are not formatted; run skyplan fmt", len(unformatted))}
	}
	return nil
}

// ForceUnlockCmd is `skyplan force-unlock ID`.
type ForceUnlockCmd struct {
	ID string `arg:"" help:"The lock ID from the 'state is locked' error."`
}

// Run removes a stale lock.
func (c *ForceUnlockCmd) Run(g *Globals) error {
	cfg, err := g.loadSpec()
	if err != nil {
		return err
	}
	b, err := session.Backend(g.Context(), cfg, g.limits)
	if err != nil {
		return err
	}
	if err := b.ForceUnlock(g.Context(), c.ID); err != nil {
		if errors.Is(err, state.ErrNoLock) {
			return fmt.Errorf("%s is not locked", b.Describe())
		}
		return err
	}
	fmt.Fprintf(g.Stdout, "Lock %s removed from %s.\n", c.ID, b.Describe())
	return nil
}

// CheckCmd is `skyplan check`.
type CheckCmd struct {
	Format string `name:"format" enum:"text,json" default:"text" help:"Output format: text or json."`
}

type checkRow struct {
	Cloud      string `json:"cloud"`
	Capability string `json:"capability"`
	Needed     bool   `json:"needed"`
	Status     string `json:"status"` // ok | denied | unverified | not configured
	Reason     string `json:"reason,omitempty"`
}

// Run checks every declared cloud's credentials per capability.
func (c *CheckCmd) Run(g *Globals) error {
	cfg, err := g.loadSpec()
	if err != nil {
		return err
	}
	ctx := g.Context()
	names := slices.Sorted(maps.Keys(cfg.Clouds))
	s, err := g.open(ctx, cfg, session.Options{Operation: "check", Clouds: names, NoState: true})
	if err != nil {
		return err
	}
	defer g.closeSession(s)
	results := s.Providers.Check(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	var rows []checkRow
	failed := false
	for _, name := range names {
		cloud := cfg.Clouds[name]
		seen := map[spec.Capability]bool{}
		for _, cs := range results[name] {
			seen[cs.Capability] = true
			row := checkRow{Cloud: name, Capability: string(cs.Capability), Needed: cloud.HasCapability(cs.Capability), Reason: cs.Reason}
			row.Status = map[bool]string{true: "ok", false: "denied"}[cs.OK]
			if !cs.OK && cs.Unverified {
				row.Status = "unverified"
			}
			if row.Needed && !cs.OK {
				failed = true
			}
			rows = append(rows, row)
		}
		for _, cp := range cloud.Capabilities() {
			if !seen[cp] {
				rows = append(rows, checkRow{Cloud: name, Capability: string(cp), Needed: true, Status: "not configured",
					Reason: fmt.Sprintf("the %s provider has no %s capability", name, cp)})
				failed = true
			}
		}
	}
	if c.Format == "json" {
		enc := json.NewEncoder(g.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"clouds": rows, "ok": !failed}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(g.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CLOUD\tCAPABILITY\tNEEDED\tSTATUS\tREASON")
		for _, r := range rows {
			needed := "no"
			if r.Needed {
				needed = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Cloud, r.Capability, needed, r.Status, oneLine(r.Reason))
		}
		tw.Flush()
	}
	if failed {
		return exitCode(ExitError)
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
