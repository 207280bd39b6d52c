package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/skyplan/skyplan/internal/style"
)

// WriteText renders findings for a terminal: severity[ID] name, the message,
// the file:line:col, and the fix, then one summary line.
func WriteText(w io.Writer, r *Report, color bool) error {
	var b strings.Builder
	paint := style.Painter{Color: color}.Paint
	for _, f := range r.Findings {
		code := style.YellowBold
		if f.Severity == Error {
			code = style.RedBold
		}
		fmt.Fprintf(&b, "%s %s\n", paint(code, fmt.Sprintf("%s[%s] %s:", f.Severity, f.RuleID, f.RuleName)), f.Message)
		if f.Range.Filename != "" {
			fmt.Fprintf(&b, "  --> %s:%d:%d\n", style.DisplayPath(f.Range.Filename), f.Range.Start.Line, f.Range.Start.Column)
		}
		if f.Fix != "" {
			lines := strings.Split(f.Fix, "\n")
			fmt.Fprintf(&b, "  %s %s\n", paint(style.Cyan, "fix:"), lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(&b, "       %s\n", l)
			}
		}
		b.WriteString("\n")
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped[%s]: %s\n", s.RuleID, s.Reason)
	}
	fmt.Fprintf(&b, "%d error(s), %d warning(s), %d live check(s) skipped.\n", r.Errors(), r.Warnings(), len(r.Skipped))
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonFinding is a finding in the JSON output (schema version "1").
type jsonFinding struct {
	Finding
	Location *jsonLocation `json:"location,omitempty"`
}

type jsonLocation struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
}

// WriteJSON renders the report as JSON.
func WriteJSON(w io.Writer, r *Report) error {
	out := struct {
		FormatVersion string         `json:"format_version"`
		Findings      []jsonFinding  `json:"findings"`
		Skipped       []Skipped      `json:"skipped"`
		Summary       map[string]int `json:"summary"`
	}{FormatVersion: "1", Findings: []jsonFinding{}, Skipped: r.Skipped,
		Summary: map[string]int{"errors": r.Errors(), "warnings": r.Warnings(), "skipped": len(r.Skipped)}}
	if out.Skipped == nil {
		out.Skipped = []Skipped{}
	}
	for _, f := range r.Findings {
		jf := jsonFinding{Finding: f}
		if f.Range.Filename != "" {
			jf.Location = &jsonLocation{File: relPath(r.Dir, f.Range.Filename), Line: f.Range.Start.Line, Column: f.Range.Start.Column,
				EndLine: f.Range.End.Line, EndColumn: f.Range.End.Column}
		}
		out.Findings = append(out.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// relPath makes a finding's file relative to the spec directory, as SARIF
// consumers (GitHub code scanning) resolve it against the checkout.
func relPath(dir, file string) string {
	if dir == "" {
		return filepath.ToSlash(file)
	}
	if rel, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(file)
}

// sarifLevel maps severities to SARIF result levels.
func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// BuildSARIF builds a SARIF 2.1.0 log: one run, every rule's metadata, one
// result per finding with its location in the .hcl file. uriPrefix is
// prepended to file paths (the spec directory relative to the repository
// root, for GitHub code scanning).
func BuildSARIF(r *Report, version, uriPrefix string) *sarif.Report {
	rep := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("skyplan", "https://github.com/skyplan/skyplan/blob/main/docs/lint-rules.md")
	run.Tool.Driver.WithVersion(version)
	for _, rule := range r.Rules {
		d := run.AddRule(rule.ID).
			WithName(rule.Name).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(rule.Description)).
			WithHelp(sarif.NewMultiformatMessageString().WithText(rule.Help).WithMarkdown(rule.Help)).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(rule.Severity)))
		d.WithProperties(sarif.NewPropertyBag().Add("live", rule.Live))
	}
	for _, f := range r.Findings {
		text := f.Message
		if f.Fix != "" {
			text += "\nFix: " + f.Fix
		}
		res := run.CreateResultForRule(f.RuleID).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(text))
		if f.Range.Filename != "" {
			uri := relPath(r.Dir, f.Range.Filename)
			if uriPrefix != "" {
				uri = strings.TrimSuffix(filepath.ToSlash(uriPrefix), "/") + "/" + uri
			}
			region := sarif.NewRegion().WithStartLine(f.Range.Start.Line).WithStartColumn(f.Range.Start.Column).
				WithEndLine(max(f.Range.End.Line, f.Range.Start.Line)).WithEndColumn(max(f.Range.End.Column, 1))
			loc := sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewArtifactLocation().WithURI(uri)).
				WithRegion(region)
			res.AddLocation(sarif.NewLocationWithPhysicalLocation(loc))
		}
	}
	rep.AddRun(run)
	return rep
}

// WriteSARIF renders the report as SARIF 2.1.0.
func WriteSARIF(w io.Writer, r *Report, version, uriPrefix string) error {
	return BuildSARIF(r, version, uriPrefix).PrettyWrite(w)
}
