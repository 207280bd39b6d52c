package spec_test

import (
	"fmt"
	"testing"

	"github.com/skyplan/skyplan/internal/specgen"
	"github.com/skyplan/skyplan/spec"
)

// BenchmarkLoad loads generated specs (internal/specgen: clusters, buckets,
// controllers referencing buckets, locals, variables, ignore comments).
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			sources := specgen.Sources(n)
			b.ReportAllocs()
			for b.Loop() {
				cfg, diags := spec.LoadSources(sources, spec.Options{})
				if diags.HasErrors() {
					b.Fatal(diags.Error())
				}
				if len(cfg.Resources) != specgen.Resources(n) {
					b.Fatalf("%d resources, want %d", len(cfg.Resources), specgen.Resources(n))
				}
			}
		})
	}
}

// BenchmarkLoadLocals loads n local values chained to each other and to a
// variable, the shape that was quadratic.
func BenchmarkLoadLocals(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("locals=%d", n), func(b *testing.B) {
			src := []byte("variable \"v\" {\n  default = \"x\"\n}\nlocals {\n  l0 = var.v\n")
			for i := 1; i < n; i++ {
				src = fmt.Appendf(src, "  l%d = \"${local.l%d}-%d\"\n", i, i/2, i)
			}
			src = append(src, "}\n"...)
			sources := map[string][]byte{"main.hcl": src}
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := spec.LoadSources(sources, spec.Options{}); diags.HasErrors() {
					b.Fatal(diags.Error())
				}
			}
		})
	}
}
