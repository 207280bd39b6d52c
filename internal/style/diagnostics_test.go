package style

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestSnippetOfALongLineIsCut(t *testing.T) {
	line := strings.Repeat("a", 500_000) + "BAD" + strings.Repeat("z", 500_000)
	rng := hcl.Range{Filename: "g.hcl", Start: hcl.Pos{Line: 1, Column: 500_001}, End: hcl.Pos{Line: 1, Column: 500_004}}
	var out bytes.Buffer
	WriteDiagnostics(&out, map[string][]byte{"g.hcl": []byte(line)}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Bad", Subject: &rng}}, false)
	if out.Len() > 1000 {
		t.Fatalf("%d bytes printed for one diagnostic", out.Len())
	}
	lines := strings.Split(out.String(), "\n")
	// The snippet line and the caret line below it still point at BAD.
	for i, l := range lines {
		if j := strings.Index(l, "BAD"); j >= 0 {
			if caret := strings.Index(lines[i+1], "^^^"); caret != j {
				t.Errorf("caret at %d, BAD at %d:\n%s", caret, j, out.String())
			}
			return
		}
	}
	t.Errorf("the snippet lost the range:\n%s", out.String())
}
