package style

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints each diagnostic as
//
//	Error: Summary
//	  --> file.hcl:12:5
//	   |
//	12 |   nodes = "two"
//	   |           ^^^^^
//	Detail text.
//
// so editors and CI logs can jump to file:line:col.
//
// Snippets come only from sources: a caller leaves out files whose lines
// must not be shown.
func WriteDiagnostics(w io.Writer, sources map[string][]byte, diags hcl.Diagnostics, color bool) {
	paint := Painter{Color: color}
	for _, d := range diags {
		sev, code := "Error", RedBold
		if d.Severity == hcl.DiagWarning {
			sev, code = "Warning", YellowBold
		}
		fmt.Fprintf(w, "%s: %s\n", paint.Paint(code, sev), d.Summary)
		if d.Subject != nil {
			rng := *d.Subject
			fmt.Fprintf(w, "  --> %s:%d:%d\n", DisplayPath(rng.Filename), rng.Start.Line, rng.Start.Column)
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
