package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/skyplan/skyplan/internal/specgen"
)

// withChunkSize parses in pieces of about size bytes for one test.
func withChunkSize(t *testing.T, size int) {
	t.Helper()
	saved := chunkSize
	chunkSize = size
	t.Cleanup(func() { chunkSize = saved })
}

// outline lists every node of a parsed file with its type and range, and
// what diagnostics would say about the context of each block.
func outline(f *hcl.File) []string {
	if f == nil {
		return nil
	}
	var out []string
	body := f.Body.(*hclsyntax.Body)
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		switch n.(type) {
		case hclsyntax.Attributes, hclsyntax.Blocks:
			// Containers: their Range is any one member's (a map's).
		default:
			out = append(out, fmt.Sprintf("%T %s", n, n.Range()))
		}
		return nil
	})
	type contexter interface{ ContextString(int) string }
	for _, b := range body.Blocks {
		nav := f.Nav.(contexter)
		out = append(out, fmt.Sprintf("context at %d: %s", b.Body.SrcRange.Start.Byte, nav.ContextString(b.Body.SrcRange.Start.Byte)))
	}
	slices.Sort(out) // attributes are a map: visited in any order
	return out
}

// oneFile is a generated spec of about n resources in one file.
func oneFile(n int) string {
	var b strings.Builder
	sources := specgen.Sources(n)
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		b.Write(sources[name])
		b.WriteString("\n")
	}
	return b.String()
}

func describeDiags(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, d.Error())
	}
	return out
}

// Parsing in pieces gives exactly the whole-file parse: the same nodes at
// the same ranges, the same block contexts, the same diagnostics — also
// when a cut falls inside a heredoc or a comment, or a piece has an error.
func TestParseInPiecesEqualsWholeFile(t *testing.T) {
	block := func(name string) string {
		return fmt.Sprintf("cluster %q {\n  cloud = \"aws\"\n  nodes = 1\n}\n\n", name)
	}
	many := func(prefix string, n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(block(fmt.Sprintf("%s%d", prefix, i)))
		}
		return b.String()
	}
	tests := []struct {
		name, src string
		wantCuts  bool // the file is parsed in pieces, not as a whole
	}{
		{"generated", oneFile(300), true},
		{"heredoc spanning cuts", many("a", 20) + "locals {\n  script = <<EOT\n}\n\n" + many("h", 20) + "EOT\n}\n\n" + many("b", 20), false},
		{"comment spanning cuts", many("a", 20) + "/*\n}\n\n" + many("c", 20) + "*/\n" + many("b", 20), false},
		{"syntax error in a piece", many("a", 20) + "cluster \"bad\" {\n  nodes = \n}\n\n" + many("b", 20), false},
		{"attribute set in two pieces", "x = 1\n" + many("a", 40) + "x = 2\n" + many("b", 5), false},
		{"crlf line ends", strings.ReplaceAll(many("a", 60), "\n", "\r\n"), true},
		{"unicode before a cut", "# ünïcödé ✓\n" + many("ü", 60), true},
	}
	withChunkSize(t, 200)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(tt.src)
			if cuts := chunkCuts(src); len(cuts) < 2 {
				t.Fatalf("only %d cuts: the case does not test pieces", len(cuts))
			}
			wantFile, wantDiags := hclsyntax.ParseConfig(src, "main.hcl", hcl.InitialPos)
			gotFile, gotDiags := parseConfig(src, "main.hcl")
			if diff := cmp.Diff(outline(wantFile), outline(gotFile)); diff != "" {
				t.Errorf("nodes (-whole file +pieces):\n%s", diff)
			}
			if diff := cmp.Diff(describeDiags(wantDiags), describeDiags(gotDiags)); diff != "" {
				t.Errorf("diagnostics (-whole file +pieces):\n%s", diff)
			}
			if _, pieced := gotFile.Nav.(chunkNav); pieced != tt.wantCuts {
				t.Errorf("parsed in pieces: %v, want %v", pieced, tt.wantCuts)
			}
			if string(gotFile.Bytes) != tt.src {
				t.Error("the file's bytes are not the whole source")
			}
		})
	}
}

// A spec loads to the same resources, attributes and source ranges whether
// its files are parsed in pieces or whole.
func TestLoadInPiecesEqualsWhole(t *testing.T) {
	src := oneFile(200)
	summary := func() []string {
		cfg, diags := LoadSources(map[string][]byte{"main.hcl": []byte(src)}, Options{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		var out []string
		for _, r := range cfg.Resources {
			for _, a := range slices.Sorted(maps.Keys(r.Attrs)) {
				out = append(out, fmt.Sprintf("%s.%s = %v at %s", r.Address(), a, r.Attrs[a], r.Range(a)))
			}
		}
		return out
	}
	whole := summary()
	withChunkSize(t, 300)
	if diff := cmp.Diff(whole, summary()); diff != "" {
		t.Errorf("loaded (-whole +pieces):\n%s", diff)
	}
}
