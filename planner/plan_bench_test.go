package planner

import (
	"fmt"
	"io"
	"testing"

	"github.com/skyplan/skyplan/internal/specgen"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// benchInput builds n clusters (each referencing one of n/10 buckets), all
// observed, half of them with a changed node count.
func benchInput(n int) Input {
	in := Input{Workspace: "bench", Prior: state.New("bench"), ObservedClouds: map[string]bool{"aws": true}}
	for i := 0; i < n; i++ {
		bucket := fmt.Sprintf("bucket.b%d", i%max(1, n/10))
		attrs := map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "p4d.24xlarge", "nodes": int64(2),
			"disk_size": int64(256), "disk_tier": "medium", "labels": map[string]string{"team": "ml"}}
		r := &spec.Resource{Type: spec.TypeCluster, Name: fmt.Sprintf("c%d", i), Attrs: attrs, DependsOn: []string{bucket}}
		in.Desired = append(in.Desired, r)
		obs := map[string]any{}
		for k, v := range attrs {
			obs[k] = v
		}
		if i%2 == 0 {
			obs["nodes"] = int64(1)
		}
		in.Observed = append(in.Observed, &state.Resource{Address: r.Address(), Type: r.Type, Cloud: "aws", IDs: []string{"i-1"}, Attrs: obs})
	}
	for i := 0; i < max(1, n/10); i++ {
		in.Desired = append(in.Desired, &spec.Resource{Type: spec.TypeBucket, Name: fmt.Sprintf("b%d", i),
			Attrs: map[string]any{"cloud": "aws", "name": fmt.Sprintf("bucket-%d", i), "region": "us-east-1"}})
	}
	return in
}

func BenchmarkMake(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			in := benchInput(n)
			b.ReportAllocs()
			for b.Loop() {
				p, err := Make(in)
				if err != nil {
					b.Fatal(err)
				}
				if p.Summary.Change != n/2 {
					b.Fatalf("summary %+v", p.Summary)
				}
			}
		})
	}
}

func BenchmarkWriteText(b *testing.B) {
	p, err := Make(benchInput(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteText(io.Discard, p, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMakeFromSpec plans generated specs (internal/specgen) with nothing
// observed and no prior state: every resource is a create, ordered by its
// references.
func BenchmarkMakeFromSpec(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			cfg, diags := spec.LoadSources(specgen.Sources(n), spec.Options{})
			if diags.HasErrors() {
				b.Fatal(diags.Error())
			}
			in := Input{Workspace: cfg.Workspace, SpecHash: cfg.Hash, Desired: cfg.Resources, Prior: state.New(cfg.Workspace),
				ObservedClouds: map[string]bool{"aws": true, "gcp": true}}
			b.ReportAllocs()
			for b.Loop() {
				p, err := Make(in)
				if err != nil {
					b.Fatal(err)
				}
				if p.Summary.Add != len(cfg.Resources) {
					b.Fatalf("summary %+v", p.Summary)
				}
			}
		})
	}
}
