package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// writeDiagnostics prints each diagnostic as
//
//	Error: Summary
//	  --> file.hcl:12:5
//	   |
//	12 |   nodes = "two"
//	   |           ^^^^^
//	Detail text.
//
// so editors and CI logs can jump to file:line:col.
func writeDiagnostics(w io.Writer, sources map[string][]byte, diags hcl.Diagnostics, color bool) {
	for _, d := range diags {
		sev, code := "Error", ansiRedBold
		if d.Severity == hcl.DiagWarning {
			sev, code = "Warning", ansiYellowBold
		}
		if color {
			fmt.Fprintf(w, "%s%s%s: %s\n", code, sev, ansiResetCode, d.Summary)
		} else {
			fmt.Fprintf(w, "%s: %s\n", sev, d.Summary)
		}
		if d.Subject != nil {
			rng := *d.Subject
			fmt.Fprintf(w, "  --> %s:%d:%d\n", displayPath(rng.Filename), rng.Start.Line, rng.Start.Column)
			if src, ok := sources[rng.Filename]; ok {
				writeSnippet(w, src, rng)
			}
		}
		if d.Detail != "" {
			fmt.Fprintln(w, d.Detail)
		}
		fmt.Fprintln(w)
	}
}

const (
	ansiRedBold    = "\x1b[1;31m"
	ansiYellowBold = "\x1b[1;33m"
	ansiResetCode  = "\x1b[0m"
)

func writeSnippet(w io.Writer, src []byte, rng hcl.Range) {
	lines := bytes.Split(src, []byte("\n"))
	if rng.Start.Line < 1 || rng.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(string(lines[rng.Start.Line-1]), "\r")
	start := rng.Start.Column - 1
	end := len(line)
	if rng.End.Line == rng.Start.Line {
		end = rng.End.Column - 1
	}
	// A long line (minified or garbage input) is cut to a window around the
	// range, so a diagnostic stays a few lines long.
	const window = 120
	if len(line) > window && start >= 0 && start <= len(line) {
		from := max(0, min(start-window/4, len(line)-window))
		line = line[from : from+window]
		start, end = start-from, min(end-from, window)
	}
	num := fmt.Sprint(rng.Start.Line)
	gutter := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "%s |\n%s | %s\n", gutter, num, line)
	if start >= 0 && start <= len(line) && end >= start {
		width := max(1, min(end, len(line))-start)
		fmt.Fprintf(w, "%s | %s%s\n", gutter, strings.Repeat(" ", start), strings.Repeat("^", width))
	}
}

func displayPath(p string) string {
	if rel, err := filepath.Rel(".", p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}
