package cost_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/planner"
	"github.com/skyplan/skyplan/planner/cost"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// dataRows returns the embedded catalog's CSV text per cloud, so each case
// can show that the rows it prices from are in the data verbatim.
func dataRows(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "catalog", "data", "catalog.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cloud := range []string{"aws", "gcp"} {
		f, err := zr.Open(cloud + "/vms.csv")
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[cloud] = string(data)
	}
	return out
}

const (
	g5Row      = `g5.xlarge,A10G,1.0,4.0,16.0,"{'Gpus': [{'Name': 'A10G', 'Manufacturer': 'NVIDIA', 'Count': 1, 'MemoryInfo': {'SizeInMiB': 22888}}], 'TotalGpuMemoryInMiB': 22888}",1.006,`
	g5SpotHigh = g5Row + `0.417700,us-east-1,use1-az1`
)

// Prices are the data's: each case names the rows it is priced from (found
// verbatim in the embedded CSVs) and the figure they give.
func TestSidePricesFromRows(t *testing.T) {
	rows := dataRows(t)
	cat := catalog.Embedded()
	tests := []struct {
		name      string
		cloud     string
		rows      []string
		typ       string
		attrs     map[string]any
		want      float64 // hourly, all nodes
		spot, est bool
		basis     string
		excluded  string
	}{
		{name: "AWS cluster: per-node price × nodes (region-level, every zone the same)", cloud: "aws",
			rows: []string{g5Row + `0.417700,us-east-1,use1-az1`, g5Row + `0.397000,us-east-1,use1-az2`, g5Row + `0.413000,us-east-1,use1-az4`,
				g5Row + `0.402800,us-east-1,use1-az5`, g5Row + `0.400500,us-east-1,use1-az6`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"instance_type": "g5.xlarge", "accelerators": "A10G:1", "region": "us-east-1", "nodes": int64(2)},
			want:  2 * 1.006, basis: "2 × g5.xlarge (on-demand, us-east-1) at $1.006/h"},
		{name: "AWS spot: the highest zone's spot price, an estimate", cloud: "aws",
			rows:  []string{g5SpotHigh},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"instance_type": "g5.xlarge", "region": "us-east-1", "nodes": int64(3), "use_spot": true},
			want:  3 * 0.4177, spot: true, est: true, basis: "3 × g5.xlarge (spot, us-east-1) at $0.4177/h"},
		{name: "AWS zone given by AZ name: the region's price", cloud: "aws",
			rows:  []string{g5Row + `0.417700,us-east-1,use1-az1`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"instance_type": "g5.xlarge", "region": "us-east-1", "zone": "us-east-1a", "nodes": int64(1)},
			want:  1.006, basis: "1 × g5.xlarge (on-demand, us-east-1) at $1.006/h"},
		{name: "AWS jobs controller: one instance", cloud: "aws",
			rows:  []string{`m6i.xlarge,,,4.0,16.0,,0.192,0.088600,us-east-1,use1-az1`},
			typ:   spec.TypeJobsController,
			attrs: map[string]any{"instance_type": "m6i.xlarge", "region": "us-east-1", "nodes": int64(7)},
			want:  0.192, basis: "1 × m6i.xlarge (on-demand, us-east-1) at $0.192/h"},
		{name: "GCP jobs controller in a zone, region from the zone", cloud: "gcp",
			rows:  []string{`n2-standard-4,4.0,16.0,,,,us-central1,us-central1-a,0.19424,0.05552`},
			typ:   spec.TypeJobsController,
			attrs: map[string]any{"instance_type": "n2-standard-4", "zone": "us-central1-a"},
			want:  0.19424, basis: "1 × n2-standard-4 (on-demand, us-central1-a) at $0.1942/h"},
		{name: "GCP GPU VM: host row + GPU row, × nodes", cloud: "gcp",
			rows: []string{`g2-standard-4,4.0,16.0,,,,us-central1,us-central1-a,0.14679,0.05874`,
				`,,,L4,1,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 24576}}]},us-central1,us-central1-a,0.56004,0.2231`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"instance_type": "g2-standard-4", "accelerators": "L4:1", "zone": "us-central1-a", "region": "us-central1", "nodes": int64(2)},
			want:  2 * (0.14679 + 0.56004), basis: "2 × g2-standard-4 (on-demand, us-central1-a) at $0.7068/h"},
		{name: "GCP N1 host with attached T4s", cloud: "gcp",
			rows: []string{`n1-standard-8,8.0,30.0,,,,us-central1,us-central1-a,0.38,0.0963`,
				`,,,T4,2,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 16384}}]},us-central1,us-central1-a,0.7,0.28`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"instance_type": "n1-standard-8", "accelerators": "T4:2", "zone": "us-central1-a", "nodes": int64(1)},
			want:  0.38 + 0.7, basis: "1 × n1-standard-8 + T4:2 (on-demand, us-central1-a) at $1.08/h"},
		{name: "GCP TPU VM: per slice × nodes", cloud: "gcp",
			rows:  []string{`,,,tpu-v4-8,1,tpu-v4-8,us-central2,us-central2-b,12.88,3.686`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"accelerators": "tpu-v4-8", "zone": "us-central2-b", "tpu_vm": true, "nodes": int64(2)},
			want:  2 * 12.88, basis: "2 × tpu-v4-8 (on-demand, us-central2-b) at $12.88/h"},
		{name: "GCP TPU spot", cloud: "gcp",
			rows:  []string{`,,,tpu-v4-8,1,tpu-v4-8,us-central2,us-central2-b,12.88,3.686`},
			typ:   spec.TypeCluster,
			attrs: map[string]any{"accelerators": "tpu-v4-8", "zone": "us-central2-b", "use_spot": true, "nodes": int64(1)},
			want:  3.686, spot: true, est: true, basis: "1 × tpu-v4-8 (spot, us-central2-b) at $3.686/h"},
		{name: "an empty price cell is no price: excluded, not guessed", cloud: "aws",
			rows:     []string{`p5e.48xlarge,H200,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H200', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 144384}}], 'TotalGpuMemoryInMiB': 1155072}",,14.925000,ap-southeast-3,apse3-az1`},
			typ:      spec.TypeCluster,
			attrs:    map[string]any{"instance_type": "p5e.48xlarge", "region": "ap-southeast-3", "zone": "apse3-az1", "nodes": int64(1)},
			excluded: "the catalog has no on-demand price for p5e.48xlarge in apse3-az1"},
		{name: "a type the catalog does not list", cloud: "gcp",
			typ:      spec.TypeCluster,
			attrs:    map[string]any{"instance_type": "n2-highmem-16", "zone": "us-central1-a", "nodes": int64(1)},
			excluded: "n2-highmem-16 is not in skyplan's gcp catalog"},
		{name: "buckets have no price in the data", cloud: "aws",
			typ:      spec.TypeBucket,
			attrs:    map[string]any{"name": "b", "region": "us-east-1"},
			excluded: "the catalog has no storage prices"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range tt.rows {
				if !strings.Contains(rows[tt.cloud], r+"\n") && !strings.Contains(rows[tt.cloud], r) {
					t.Fatalf("row not in the embedded %s data: %s", tt.cloud, r)
				}
			}
			side, why := cost.Side(cat, tt.typ, tt.cloud, tt.attrs)
			if tt.excluded != "" {
				if side != nil || why != tt.excluded {
					t.Fatalf("Side = %+v, %q; want excluded %q", side, why, tt.excluded)
				}
				return
			}
			if why != "" {
				t.Fatalf("excluded: %s", why)
			}
			want := planner.CostSide{Rate: planner.PerHour(tt.want), Basis: tt.basis, Spot: tt.spot, Estimate: tt.est}
			if d := cmp.Diff(want, *side); d != "" {
				t.Errorf("Side (-want +got):\n%s", d)
			}
			if side.Monthly != planner.PerHour(tt.want).Monthly || side.Monthly == 0 {
				t.Errorf("monthly = %v", side.Monthly)
			}
		})
	}
}

func TestPerHourMonth(t *testing.T) {
	r := planner.PerHour(2 * 1.006)
	if r.Hourly != 2.012 || r.Monthly != 1468.76 {
		t.Fatalf("PerHour(2.012) = %+v, want 2.012/h and 1468.76/mo (730 h)", r)
	}
	for _, c := range []struct {
		v      float64
		hourly bool
		want   string
	}{{1468.76, false, "$1,468.76"}, {-734.38, false, "-$734.38"}, {1234567.891, false, "$1,234,567.89"},
		{1.006, true, "$1.006"}, {0.0104, true, "$0.0104"}, {2, true, "$2.00"}, {32.77265, true, "$32.7727"}} {
		if got := planner.Dollars(c.v, c.hourly); got != c.want {
			t.Errorf("Dollars(%v, %v) = %q, want %q", c.v, c.hourly, got, c.want)
		}
	}
}

// fixture is a plan with one change of each kind, priced: a cluster scaled
// down, a TPU VM on spot created, a controller moved between clouds (its
// replace priced from the old cloud to the new), a bucket created, another
// deleted, and a lint warning.
func fixture(t *testing.T) *planner.Plan {
	t.Helper()
	res := func(typ, name string, attrs map[string]any, deps ...string) *spec.Resource {
		return &spec.Resource{Type: typ, Name: name, Attrs: attrs, DependsOn: deps}
	}
	obs := func(addr, cloud string, attrs map[string]any) *state.Resource {
		typ, _, _ := strings.Cut(addr, ".")
		return &state.Resource{Address: addr, Type: typ, Cloud: cloud, IDs: []string{"id-" + addr}, Attrs: attrs}
	}
	train := map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "g5.xlarge", "accelerators": "A10G:1", "nodes": int64(2), "use_spot": false}
	trainWas := map[string]any{"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a", "instance_type": "g5.xlarge", "accelerators": "A10G:1", "nodes": int64(3), "use_spot": false}
	ctlGCP := map[string]any{"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "n2-standard-4", "bucket": "jobs"}
	ctlAWS := map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "m6i.xlarge", "bucket": "jobs"}
	bucket := map[string]any{"cloud": "aws", "name": "jobs", "region": "us-east-1"}
	old := map[string]any{"cloud": "aws", "name": "old", "region": "us-east-1"}
	in := planner.Input{
		Workspace: "quickstart",
		Desired: []*spec.Resource{
			res("bucket", "jobs", bucket),
			res("cluster", "train", train, "bucket.jobs"),
			res("cluster", "tpu", map[string]any{"cloud": "gcp", "zone": "us-central2-b", "region": "us-central2", "accelerators": "tpu-v4-8", "nodes": int64(1), "use_spot": true}),
			{Type: "jobs_controller", Name: "main", Attrs: ctlAWS, DependsOn: []string{"bucket.jobs"}, AllowReplace: true},
		},
		Prior: &state.State{Lineage: "l", Serial: 3, Workspace: "quickstart", Resources: []*state.Resource{
			obs("cluster.train", "aws", trainWas), obs("jobs_controller.main", "gcp", ctlGCP), obs("bucket.old", "aws", old)}},
		Observed:       []*state.Resource{obs("cluster.train", "aws", trainWas), obs("jobs_controller.main", "gcp", ctlGCP), obs("bucket.old", "aws", old)},
		ObservedClouds: map[string]bool{"aws": true, "gcp": true},
	}
	p, err := planner.Make(in)
	if err != nil {
		t.Fatal(err)
	}
	p.Findings = []planner.Finding{{RuleID: "SP-NET-001", Rule: "no-usable-subnet", Severity: "warning", Address: "cluster.train",
		Message: "subnet-1 has no route to the internet", File: "main.hcl", Line: 12, Fix: "aws ec2 create-route --route-table-id rtb-1 --destination-cidr-block 0.0.0.0/0 --gateway-id igw-1"}}
	cost.Annotate(p, catalog.Embedded())
	return p
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./planner/cost -update writes it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-golden +got); rerun with -update if intended:\n%s", path, d)
	}
}

func TestAnnotateTotals(t *testing.T) {
	p := fixture(t)
	c := p.Cost
	// before: 3 × 1.006 (train) + 0.19424 (controller on gcp); after: 2 × 1.006 + 3.686 (TPU spot) + 0.192.
	before, after := 3*1.006+0.19424, 2*1.006+3.686+0.192
	if c.Before != planner.PerHour(before) || c.After != planner.PerHour(after) || c.Delta != planner.PerHour(after-before) {
		t.Errorf("totals = %+v → %+v (Δ %+v); want %v → %v", c.Before, c.After, c.Delta, before, after)
	}
	if !c.Estimate {
		t.Error("a plan with a spot price is not an estimate")
	}
	wantExcluded := []planner.ExcludedCost{{Address: "bucket.jobs", Reason: "the catalog has no storage prices"}, {Address: "bucket.old", Reason: "the catalog has no storage prices"}}
	if d := cmp.Diff(wantExcluded, c.Excluded); d != "" {
		t.Errorf("excluded (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{cost.NoteDisks, cost.NoteSpot}, c.Notes); d != "" {
		t.Errorf("notes (-want +got):\n%s", d)
	}
	ctl := p.Change("jobs_controller.main").Cost
	if ctl.Before.Hourly != 0.19424 || ctl.After.Hourly != 0.192 || ctl.Estimate {
		t.Errorf("controller replace priced from its old cloud to its new: %+v → %+v", ctl.Before, ctl.After)
	}
	if tpu := p.Change("cluster.tpu").Cost; tpu.Before != nil || !tpu.After.Spot || !tpu.Estimate {
		t.Errorf("a created spot TPU: %+v", tpu)
	}
	if del := p.Change("bucket.old").Cost; del.Priced || del.Delta != nil {
		t.Errorf("an excluded resource carries figures: %+v", del)
	}

	// A destroy plan ends at zero; an incomplete one says what is not counted.
	p.Destroy = true
	p.Gaps = []planner.Gap{{Cloud: "gcp", Reason: "observing gcp failed"}}
	for _, ch := range p.Changes {
		ch.Action, ch.After = planner.Delete, nil
	}
	cost.Annotate(p, catalog.Embedded())
	if p.Cost.After != (planner.Rate{}) || p.Cost.Delta.Hourly >= 0 {
		t.Errorf("destroy totals: %+v", p.Cost)
	}
	if n := p.Cost.Notes; n[len(n)-1] != cost.NoteHidden {
		t.Errorf("incomplete plan notes: %v", n)
	}
}

// The pull-request comment: marker, summary with the monthly delta, why
// for every action (creates too), cost column and details, diffs, lint.
func TestCommentGolden(t *testing.T) {
	p := fixture(t)
	var b bytes.Buffer
	if err := planner.WriteMarkdown(&b, p); err != nil {
		t.Fatal(err)
	}
	golden(t, "comment.md", b.Bytes())
	out := b.String()
	for _, want := range []string{
		`<!-- skyplan-plan workspace="quickstart" -->` + "\n",
		"**Cost:** +$1,954.76/mo ($2,344.94 → $4,299.70/mo), an estimate.",
		"| `cluster.tpu` | new in the spec: not in state, and nothing in the clouds carries its ownership tags | +$2,690.78/mo (est.) |",
		"| warning | `SP-NET-001` no-usable-subnet |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
}

// The JSON cost fields, as docs/plan-json.md documents them.
func TestJSONCostGolden(t *testing.T) {
	p := fixture(t)
	var b bytes.Buffer
	if err := planner.WriteJSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cost    json.RawMessage `json:"cost"`
		Changes []struct {
			Address string          `json:"address"`
			Cost    json.RawMessage `json:"cost"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	fields := map[string]json.RawMessage{"plan": doc.Cost}
	for _, c := range doc.Changes {
		fields[c.Address] = c.Cost
	}
	out, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cost.json", append(out, '\n'))
}
