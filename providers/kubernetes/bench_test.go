package kubernetes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/providers"
)

// BenchmarkLabel5000Nodes times a whole gpu_label_policy create on a
// 5,000-node cluster: list (paginated), decide, patch every GPU node with a
// bounded worker pool. It reports the API calls per run, with and without
// injected latency and with the default client-side rate limit (500 QPS,
// burst 1000) or none. Run with -benchtime=1x: one run is thousands of
// requests.
func BenchmarkLabel5000Nodes(b *testing.B) {
	type setup struct {
		latency time.Duration
		qps     float32 // 0: the default limit; -1: none
	}
	for _, s := range []setup{{0, 0}, {5 * time.Millisecond, 0}, {0, -1}, {5 * time.Millisecond, -1}} {
		qps := "default"
		if s.qps < 0 {
			qps = "unlimited"
		}
		b.Run(fmt.Sprintf("latency=%s/qps=%s", s.latency, qps), func(b *testing.B) {
			var calls map[string]int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := startCluster(b, k8sfake.SimulatedCluster(5000)...)
				c.srv.SetLatency(s.latency)
				c.p.opts.QPS = s.qps
				pol := policy("eks", nil)
				b.StartTimer()

				attrs, _, err := c.p.Expand(context.Background(), pol, nil)
				if err != nil {
					b.Fatal(err)
				}
				res, err := c.p.Apply(context.Background(), providers.ApplyRequest{Op: providers.OpCreate, Workspace: testWorkspace, Address: pol.Address(), Type: pol.Type, Desired: attrs})
				if err != nil {
					b.Fatal(err)
				}

				b.StopTimer()
				if n := len(labelsOf(res.Attrs)); n != 4998 {
					b.Fatalf("labelled %d nodes, want 4998", n)
				}
				calls = c.srv.Calls()
				c.srv.Close()
			}
			total := 0
			for _, n := range calls {
				total += n
			}
			b.ReportMetric(float64(total), "api-calls/op")
			b.ReportMetric(float64(calls["list nodes"]), "lists/op")
			b.ReportMetric(float64(calls["patch nodes"]), "patches/op")
		})
	}
}
