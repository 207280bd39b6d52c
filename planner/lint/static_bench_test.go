package lint_test

import (
	"fmt"
	"testing"

	"github.com/skyplan/skyplan/internal/specgen"
	"github.com/skyplan/skyplan/planner/lint"
	"github.com/skyplan/skyplan/spec"
)

// BenchmarkStatic runs the static rules over generated specs with ignore
// comments above some of their blocks.
func BenchmarkStatic(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			cfg, diags := spec.LoadSources(specgen.Sources(n), spec.Options{})
			if diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			b.ReportAllocs()
			for b.Loop() {
				if rep := lint.Static(cfg, nil); len(rep.Findings) != 0 {
					b.Fatalf("unexpected findings: %+v", rep.Findings[0])
				}
			}
		})
	}
}
