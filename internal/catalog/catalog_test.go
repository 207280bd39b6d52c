package catalog

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// embeddedMember returns one file of the embedded archive.
func embeddedMember(t testing.TB, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(embeddedZip), int64(len(embeddedZip)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Prices come from rows of the data: each case names its rows verbatim
// (checked to be in the embedded CSVs) and the price they support.
func TestPricesFromRows(t *testing.T) {
	member := map[string]string{"aws": string(embeddedMember(t, memberAWS)), "gcp": string(embeddedMember(t, memberGCP))}
	tests := []struct {
		name                string
		rows                []string
		cloud, machine, acc string // acc: GPUs attached to an N1 host
		region, zone        string
		spot                bool
		want                Price
		wantOK              bool
	}{
		{name: "AWS on-demand in an AZ",
			rows:  []string{`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,6.791500,us-east-1,use1-az1`},
			cloud: "aws", machine: "p4d.24xlarge", region: "us-east-1", zone: "use1-az1",
			want: Price{PerHour: 32.7726, Region: "us-east-1", Zone: "use1-az1"}, wantOK: true},
		{name: "AWS spot is an estimate",
			rows:  []string{`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,6.791500,us-east-1,use1-az1`},
			cloud: "aws", machine: "p4d.24xlarge", region: "us-east-1", zone: "use1-az1", spot: true,
			want: Price{PerHour: 6.7915, Spot: true, Estimate: true, Region: "us-east-1", Zone: "use1-az1"}, wantOK: true},
		{name: "AWS AZ names are not AZ IDs: the region's price",
			rows:  []string{`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,9.610700,us-east-1,use1-az2`},
			cloud: "aws", machine: "p4d.24xlarge", region: "us-east-1", zone: "us-east-1a",
			want: Price{PerHour: 32.7726, Region: "us-east-1"}, wantOK: true},
		{name: "AWS region-level spot is the highest zone's",
			rows: []string{
				`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,6.791500,us-east-1,use1-az1`,
				`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,9.610700,us-east-1,use1-az2`,
				`p4d.24xlarge,A100,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 40960}}], 'TotalGpuMemoryInMiB': 327680}",32.7726,5.093300,us-east-1,use1-az6`,
			},
			cloud: "aws", machine: "p4d.24xlarge", region: "us-east-1", spot: true,
			want: Price{PerHour: 9.6107, Spot: true, Estimate: true, Region: "us-east-1"}, wantOK: true},
		{name: "AWS empty on-demand price",
			rows:  []string{`p5e.48xlarge,H200,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H200', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 144384}}], 'TotalGpuMemoryInMiB': 1155072}",,14.925000,ap-southeast-3,apse3-az1`},
			cloud: "aws", machine: "p5e.48xlarge", region: "ap-southeast-3", zone: "apse3-az1"},
		{name: "AWS spot where the on-demand price is empty",
			rows:  []string{`p5e.48xlarge,H200,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H200', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 144384}}], 'TotalGpuMemoryInMiB': 1155072}",,14.925000,ap-southeast-3,apse3-az1`},
			cloud: "aws", machine: "p5e.48xlarge", region: "ap-southeast-3", zone: "apse3-az1", spot: true,
			want: Price{PerHour: 14.925, Spot: true, Estimate: true, Region: "ap-southeast-3", Zone: "apse3-az1"}, wantOK: true},
		{name: "AWS duplicate p4de rows: the spot price of the one that has it",
			rows: []string{
				`p4de.24xlarge,A100-80GB,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",40.96575,7.807400,us-east-1,use1-az4`,
				`p4de.24xlarge,A100-80GB,8.0,96.0,1152.0,"{'Gpus': [{'Name': 'A100-80GB', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",40.96575,,us-east-1,use1-az4`,
			},
			cloud: "aws", machine: "p4de.24xlarge", region: "us-east-1", zone: "use1-az4", spot: true,
			want: Price{PerHour: 7.8074, Spot: true, Estimate: true, Region: "us-east-1", Zone: "use1-az4"}, wantOK: true},
		{name: "AWS region where some zones have no spot price",
			rows: []string{
				`p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",105.2024,,eu-north-1,eun1-az1`,
				`p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",105.2024,28.528000,eu-north-1,eun1-az3`,
			},
			cloud: "aws", machine: "p5.48xlarge", region: "eu-north-1", spot: true,
			want: Price{PerHour: 28.528, Spot: true, Estimate: true, Region: "eu-north-1"}, wantOK: true},
		{name: "AWS region-level on-demand, same in every zone: exact",
			rows:  []string{`p5.48xlarge,H100,8.0,192.0,2048.0,"{'Gpus': [{'Name': 'H100', 'Manufacturer': 'NVIDIA', 'Count': 8, 'MemoryInfo': {'SizeInMiB': 81920}}], 'TotalGpuMemoryInMiB': 655360}",105.2024,,eu-north-1,eun1-az1`},
			cloud: "aws", machine: "p5.48xlarge", region: "eu-north-1",
			want: Price{PerHour: 105.2024, Region: "eu-north-1"}, wantOK: true},
		{name: "GCP GPU VM: host row plus accelerator row",
			rows: []string{
				`a2-highgpu-1g,12.0,85.0,,,,asia-northeast1,asia-northeast1-a,0.94803,0.32744`,
				`,,,A100,1,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 40960}}]},asia-northeast1,asia-northeast1-a,1.70586,0.9643`,
			},
			cloud: "gcp", machine: "a2-highgpu-1g", region: "asia-northeast1", zone: "asia-northeast1-a",
			want: Price{PerHour: 0.94803 + 1.70586, Region: "asia-northeast1", Zone: "asia-northeast1-a"}, wantOK: true},
		{name: "GCP GPU VM spot",
			rows: []string{
				`a2-highgpu-1g,12.0,85.0,,,,asia-northeast1,asia-northeast1-a,0.94803,0.32744`,
				`,,,A100,1,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 40960}}]},asia-northeast1,asia-northeast1-a,1.70586,0.9643`,
			},
			cloud: "gcp", machine: "a2-highgpu-1g", zone: "asia-northeast1-a", spot: true,
			want: Price{PerHour: 0.32744 + 0.9643, Spot: true, Estimate: true, Region: "asia-northeast1", Zone: "asia-northeast1-a"}, wantOK: true},
		{name: "GCP G2: one L4",
			rows: []string{
				`g2-standard-4,4.0,16.0,,,,us-central1,us-central1-a,0.14679,0.05874`,
				`,,,L4,1,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 24576}}]},us-central1,us-central1-a,0.56004,0.2231`,
			},
			cloud: "gcp", machine: "g2-standard-4", zone: "us-central1-a",
			want: Price{PerHour: 0.14679 + 0.56004, Region: "us-central1", Zone: "us-central1-a"}, wantOK: true},
		{name: "GCP N1 host with attached GPUs",
			rows: []string{
				`n1-standard-8,8.0,30.0,,,,us-central1,us-central1-a,0.38,0.0963`,
				`,,,T4,2,{'Gpus': [{'MemoryInfo': {'SizeInMiB': 16384}}]},us-central1,us-central1-a,0.7,0.28`,
			},
			cloud: "gcp", machine: "n1-standard-8", acc: "T4:2", zone: "us-central1-a",
			want: Price{PerHour: 0.38 + 0.7, Region: "us-central1", Zone: "us-central1-a"}, wantOK: true},
		{name: "GCP N1 host alone",
			rows:  []string{`n1-standard-8,8.0,30.0,,,,us-central1,us-central1-a,0.38,0.0963`},
			cloud: "gcp", machine: "n1-standard-8", zone: "us-central1-a",
			want: Price{PerHour: 0.38, Region: "us-central1", Zone: "us-central1-a"}, wantOK: true},
		{name: "TPU slice",
			rows:  []string{`,,,tpu-v6e-1,1,tpu-v6e-1,us-central1,us-central1-b,2.7,0.64833`},
			cloud: "gcp", machine: "tpu-v6e-1", zone: "us-central1-b",
			want: Price{PerHour: 2.7, Region: "us-central1", Zone: "us-central1-b"}, wantOK: true},
		{name: "TPU placeholder 700.0 is no price",
			rows:  []string{`,,,tpu-v6e-1,1,tpu-v6e-1,us-central2,us-central2-b,700.0,700.0`},
			cloud: "gcp", machine: "tpu-v6e-1", zone: "us-central2-b"},
		{name: "TPU placeholder spot is no price either",
			rows:  []string{`,,,tpu-v6e-1,1,tpu-v6e-1,us-central2,us-central2-b,700.0,700.0`},
			cloud: "gcp", machine: "tpu-v6e-1", region: "us-central2", spot: true},
		{name: "GCP empty spot price",
			rows:  []string{`,,,tpu-v3-8,1,tpu-v3-8,us-east1,us-east1-d,8.0,`},
			cloud: "gcp", machine: "tpu-v3-8", zone: "us-east1-d", spot: true},
		{name: "GCP on-demand beside an empty spot price",
			rows:  []string{`,,,tpu-v3-8,1,tpu-v3-8,us-east1,us-east1-d,8.0,`},
			cloud: "gcp", machine: "tpu-v3-8", zone: "us-east1-d",
			want: Price{PerHour: 8, Region: "us-east1", Zone: "us-east1-d"}, wantOK: true},
		{name: "zone where the type is not offered", cloud: "gcp", machine: "tpu-v4-8", zone: "us-central1-a"},
		{name: "zone outside the given region",
			rows:  []string{`,,,tpu-v3-8,1,tpu-v3-8,us-east1,us-east1-d,8.0,`},
			cloud: "gcp", machine: "tpu-v3-8", region: "us-central1", zone: "us-east1-d"},
		{name: "unknown type", cloud: "aws", machine: "p4d.24xl", region: "us-east-1"},
		{name: "no location", cloud: "aws", machine: "p4d.24xlarge"},
	}
	c := Embedded()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, row := range tt.rows {
				if !strings.Contains(member[tt.cloud], "\n"+row+"\n") {
					t.Fatalf("row not in the embedded %s data: %s", tt.cloud, row)
				}
			}
			var got Price
			var ok bool
			if tt.acc != "" {
				m, found := c.LookupMachine(tt.cloud, tt.machine, tt.acc)
				if !found {
					t.Fatalf("LookupMachine(%s, %s, %s) not found", tt.cloud, tt.machine, tt.acc)
				}
				got, ok = m.Price(tt.region, tt.zone, tt.spot)
			} else {
				got, ok = c.PriceOf(tt.cloud, tt.machine, tt.region, tt.zone, tt.spot)
			}
			if ok != tt.wantOK {
				t.Fatalf("PriceOf = %+v, %v; want ok %v", got, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if d := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); d != "" {
				t.Errorf("price (-want +got):\n%s", d)
			}
		})
	}
}

// A region-level price is the highest of its zones, an estimate when they
// differ, and never a price a zone lacks.
func TestRegionLevelPrice(t *testing.T) {
	offs := Offerings{
		{Region: "r1", Zone: "r1-a", onDemand: 2, spot: noPrice},
		{Region: "r1", Zone: "r1-b", onDemand: 3, spot: 1},
		{Region: "r2", Zone: "r2-a", onDemand: 5, spot: 2},
		{Region: "r3", Zone: "r3-a", onDemand: noPrice, spot: noPrice},
	}
	tests := []struct {
		region, zone string
		spot         bool
		want         Price
		ok           bool
	}{
		{"r1", "", false, Price{PerHour: 3, Estimate: true, Region: "r1"}, true},
		{"r1", "", true, Price{PerHour: 1, Spot: true, Estimate: true, Region: "r1"}, true},
		{"r1", "r1-a", false, Price{PerHour: 2, Region: "r1", Zone: "r1-a"}, true},
		{"", "r1-a", true, Price{}, false},
		{"r2", "", false, Price{PerHour: 5, Region: "r2"}, true},
		{"r3", "", false, Price{}, false},
		{"r4", "", false, Price{}, false},
	}
	for _, tt := range tests {
		got, ok := offs.Price(tt.region, tt.zone, tt.spot)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("Price(%q, %q, %v) = %+v, %v; want %+v, %v", tt.region, tt.zone, tt.spot, got, ok, tt.want, tt.ok)
		}
	}
	if got, want := offs.Zones(""), []string{"r1-a", "r1-b", "r2-a", "r3-a"}; !cmp.Equal(got, want) {
		t.Errorf("Zones = %v, want %v (cheapest first, unpriced last)", got, want)
	}
	if got, want := offs.locations("aws"), []string{"r1", "r2", "r3"}; !cmp.Equal(got, want) {
		t.Errorf("locations = %v, want %v", got, want)
	}
}

func TestResolveInstanceType(t *testing.T) {
	tests := []struct {
		cloud, acc, location string
		want, guest          string
		wantErr              string
	}{
		{cloud: "aws", acc: "A100:8", want: "p4d.24xlarge"},
		{cloud: "aws", acc: "a100-80gb:8", want: "p4de.24xlarge"},
		{cloud: "aws", acc: "A10G:1", location: "us-east-1", want: "g5.xlarge"},
		{cloud: "aws", acc: "L4:1", want: "g6.xlarge"},       // cheaper than gr6.4xlarge and the bigger g6 sizes
		{cloud: "aws", acc: "H200:8", want: "p5en.48xlarge"}, // p5e.48xlarge has no on-demand price
		// ... but where only p5e is offered, a type offered there wins.
		{cloud: "aws", acc: "H200:8", location: "ap-southeast-2", want: "p5e.48xlarge"},
		{cloud: "aws", acc: "H100:8", location: "eu-south-1", want: "p5.48xlarge"},
		{cloud: "aws", acc: "A100-40GB:8", want: "p4d.24xlarge"},
		{cloud: "gcp", acc: "A100:16", want: "a2-megagpu-16g"},
		{cloud: "gcp", acc: "L4:1", location: "us-central1-a", want: "g2-standard-4"},
		{cloud: "gcp", acc: "L4:2", want: "g2-standard-24"},
		{cloud: "gcp", acc: "H100:8", want: "a3-highgpu-8g"},
		{cloud: "gcp", acc: "H100-MEGA:8", want: "a3-megagpu-8g"},
		{cloud: "gcp", acc: "H200:8", want: "a3-ultragpu-8g"},
		{cloud: "gcp", acc: "T4:1", location: "us-central1-a", want: "n1-standard-8", guest: "nvidia-tesla-t4"},
		{cloud: "gcp", acc: "V100:8", want: "n1-standard-8", guest: "nvidia-tesla-v100"},
		{cloud: "aws", acc: "A100:3", wantErr: "no aws instance type has 3× A100; offered: A100:8 (p4d.24xlarge)"},
		{cloud: "gcp", acc: "T4:3", wantErr: "offered: T4:1 (n1-standard-8 + attached), T4:2 (n1-standard-8 + attached), T4:4 (n1-standard-8 + attached)"},
		{cloud: "gcp", acc: "B200:8", wantErr: "no gcp instance type in skyplan's catalog carries B200"},
		{cloud: "gcp", acc: "A10G:1", wantErr: "no gcp instance type in skyplan's catalog carries A10G"},
	}
	c := Embedded()
	for _, tt := range tests {
		acc, err := c.ParseAccelerators(tt.acc)
		if err != nil {
			t.Fatalf("ParseAccelerators(%q): %v", tt.acc, err)
		}
		got, err := c.ResolveInstanceTypeIn(tt.cloud, acc, tt.location)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolve %s %s: err %v, want %q", tt.cloud, tt.acc, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Name != tt.want || got.GuestAccelerator != tt.guest || got.Accelerator != acc.Name || got.Count != acc.Count {
			t.Errorf("resolve %s %s in %q = %s %s:%d guest %q, %v; want %s guest %q", tt.cloud, tt.acc, tt.location, got.Name, got.Accelerator, got.Count, got.GuestAccelerator, err, tt.want, tt.guest)
		}
	}
}

func TestCheckInstanceType(t *testing.T) {
	tests := []struct {
		cloud, name string
		want        string // "" for no error
	}{
		{"aws", "p4d.24xlarge", ""},
		{"aws", "p4d.24xl", `unknown aws instance type "p4d.24xl"; did you mean p4d.24xlarge?`},
		{"aws", "g5.xlarg", `did you mean g5.xlarge?`},
		{"aws", "P4D.24XLARGE", `did you mean p4d.24xlarge?`},
		{"aws", "g5.64xlarge", `unknown aws instance type "g5.64xlarge"`}, // the g5 family is listed whole
		{"aws", "m6i.xlarg", `did you mean m6i.xlarge?`},                  // not a family.size name
		// The catalog lists only a few CPU types: other sizes and families may exist.
		{"aws", "m6i.4xlarge", ""},
		{"aws", "r7i.large", ""},
		{"aws", "u-6tb1.metal", ""},
		{"gcp", "a2-highgpu-3g", `did you mean a2-highgpu-1g, a2-highgpu-2g or a2-highgpu-4g?`},
		{"gcp", "g2-standard-6", `unknown gcp instance type "g2-standard-6"`},
		{"gcp", "n1-highmem-16", ""},
		{"gcp", "c3-standard-8", ""},
		{"gcp", "a4-highgpu-8g", ""}, // a4 is absent from this catalog version, not unknown
	}
	c := Embedded()
	for _, tt := range tests {
		err := c.CheckInstanceType(tt.cloud, tt.name)
		var unknown *UnknownError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckInstanceType(%s, %s) = %v, want nil", tt.cloud, tt.name, err)
		case tt.want != "" && (!errors.As(err, &unknown) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckInstanceType(%s, %s) = %v, want %q", tt.cloud, tt.name, err, tt.want)
		}
	}
}

func TestParseTPU(t *testing.T) {
	c := Embedded()
	v4, err := c.ParseTPU("TPU-v4-8")
	if err != nil {
		t.Fatal(err)
	}
	if v4.Name != "tpu-v4-8" || v4.Generation != "v4" || v4.Cores != 8 || v4.AcceleratorType != "v4-8" || !cmp.Equal(v4.Zones, []string{"us-central2-b"}) {
		t.Errorf("tpu-v4-8 = %+v", v4)
	}
	v6e, err := c.ParseTPU("tpu-v6e-8")
	if err != nil {
		t.Fatal(err)
	}
	// Zones whose price is a placeholder come last: they are offered, at no known price.
	if last := v6e.Zones[len(v6e.Zones)-4:]; !cmp.Equal(last, []string{"asia-east1-c", "southamerica-east1-c", "southamerica-west1-a", "us-central2-b"}) {
		t.Errorf("tpu-v6e-8 zones end with %v", last)
	}
	if !v6e.Offered("us-central2-b") || v6e.Offered("us-central1-a") {
		t.Errorf("tpu-v6e-8 Offered wrong: %v", v6e.Zones)
	}
	for in, want := range map[string]string{
		"tpu-v4-9":       `unknown TPU type "tpu-v4-9"; did you mean tpu-v4-8?`,
		"tpu-v5p-9":      `did you mean tpu-v5p-8?`,
		"tpu-v2-1000000": `unknown TPU type "tpu-v2-1000000"; tpu-v2 sizes: 8, 32, 128, 256, 512`,
		"tpu-v9-8":       `unknown TPU generation "v9" in "tpu-v9-8"; known: v2, v3, v4, v5litepod, v5p, v6e`,
		"tpu-v4":         `invalid TPU "tpu-v4"`,
		"tpu-v4-x":       `invalid TPU size "x"`,
	} {
		if _, err := c.ParseTPU(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTPU(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseAccelerators(t *testing.T) {
	c := Embedded()
	for in, want := range map[string]Accelerator{
		"A100:8": {"A100", 8}, "a100-80gb:4": {"A100-80GB", 4}, "h100": {"H100", 1}, "H100-80GB:8": {"H100", 8},
		"trainium:16": {"Trainium", 16}, " l4 : 2": {}, "Gaudi HL-205:8": {"Gaudi HL-205", 8},
	} {
		got, err := c.ParseAccelerators(in)
		if want == (Accelerator{}) {
			if err == nil {
				t.Errorf("ParseAccelerators(%q) = %v, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseAccelerators(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"A10O:1": `unknown accelerator "A10O"; did you mean A100 or A10G?`,
		"Z999:1": `unknown accelerator "Z999"; known: A100, A100-80GB, A10G`,
		"A100:0": `invalid accelerator count "0"`,
		":8":     `empty accelerator name`,
	} {
		if _, err := c.ParseAccelerators(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAccelerators(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestCheckZone(t *testing.T) {
	c := Embedded()
	if err := c.CheckZone("gcp", "us-central2-b"); err != nil {
		t.Error(err)
	}
	if err := c.CheckZone("aws", "us-east-1z"); err != nil {
		t.Errorf("AWS zones are not checked against the catalog: %v", err)
	}
	err := c.CheckZone("gcp", "europe-west4-z")
	if err == nil || !strings.Contains(err.Error(), `unknown gcp zone "europe-west4-z"; did you mean europe-west4-a, europe-west4-b or europe-west4-c?`) {
		t.Errorf("CheckZone(europe-west4-z) = %v", err)
	}
}

func TestAttach(t *testing.T) {
	c := Embedded()
	t4, err := c.Attach("gcp", "n1-standard-8", Accelerator{"T4", 1})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := c.LookupInstanceType("gcp", "n1-standard-8")
	gpus := c.gcpGPUs["T4:1"]
	if t4.GuestAccelerator != "nvidia-tesla-t4" || len(t4.Offers) == 0 || len(t4.Offers) > min(len(host.Offers), len(gpus)) {
		t.Errorf("n1-standard-8 + T4:1 = %+v (host in %d zones, T4 in %d)", t4, len(host.Offers), len(gpus))
	}
	for _, o := range t4.Offers {
		if _, ok := gpus.Zone(o.Zone); !ok || !host.Offered(o.Zone) {
			t.Errorf("offered in %s, where the host or the GPU is not", o.Zone)
		}
	}
	// An N1 size the catalog does not list still takes GPUs, without offerings.
	if big, err := c.Attach("gcp", "n1-highmem-16", Accelerator{"V100", 2}); err != nil || big.GuestAccelerator != "nvidia-tesla-v100" || len(big.Offers) != 0 {
		t.Errorf("n1-highmem-16 + V100:2 = %+v, %v", big, err)
	}
	for _, tt := range []struct {
		cloud, host string
		acc         Accelerator
		want        string
	}{
		{"gcp", "n1-standard-8", Accelerator{"L4", 1}, "come built into their machine series"},
		{"gcp", "a2-highgpu-1g", Accelerator{"T4", 1}, "cannot be attached to a2-highgpu-1g"},
		{"gcp", "n1-standard-8", Accelerator{"T4", 8}, "does not attach 8× T4"},
	} {
		if _, err := c.Attach(tt.cloud, tt.host, tt.acc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Attach(%s, %s) = %v, want %q", tt.host, tt.acc, err, tt.want)
		}
	}
}

func TestAcceleratorsAllResolve(t *testing.T) {
	c := Embedded()
	for _, cloud := range []string{"aws", "gcp"} {
		accs := c.Accelerators(cloud)
		if len(accs) < 10 {
			t.Fatalf("%s offers only %v", cloud, accs)
		}
		for _, a := range accs {
			if _, err := c.ResolveInstanceType(cloud, a); err != nil {
				t.Errorf("%s %s listed but does not resolve: %v", cloud, a, err)
			}
		}
	}
}

// The selection rule that `catalog update` applies keeps every row of the
// embedded extract (it selected them), byte for byte.
func TestSelectionKeepsTheExtract(t *testing.T) {
	awsCSV, gcpCSV := embeddedMember(t, memberAWS), embeddedMember(t, memberGCP)
	src := Embedded().Source()
	archive, err := BuildArchive(awsCSV, gcpCSV, src)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{memberAWS: awsCSV, memberGCP: gcpCSV} {
		f, err := zr.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the selection changed the extract (%d bytes, want %d)", name, len(got), len(want))
		}
	}
	if !bytes.Equal(archive, embeddedZip) {
		t.Error("rebuilding the embedded archive from its own CSVs does not reproduce it; regenerate data/catalog.zip")
	}
}

func TestEmbeddedSource(t *testing.T) {
	src := Embedded().Source()
	if src.Origin != "embedded" || src.ReadOn != "2026-11-30" || !strings.HasPrefix(src.AWSCommit, "001367d") || !strings.HasPrefix(src.GCPCommit, "017e250") || !strings.Contains(src.License, "Apache-2.0") {
		t.Errorf("source = %+v", src)
	}
	if s := src.String(); !strings.Contains(s, "read 2026-11-30") || !strings.Contains(s, "skypilot-catalog") {
		t.Errorf("String() = %q", s)
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	for b.Loop() {
		if _, err := readArchive(embeddedZip, "embedded"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateLookups is the catalog work of validating and linting
// one cluster: parse, resolve, check the type and zone, look the machine up
// (10,000 clusters = 10,000 ops).
func BenchmarkValidateLookups(b *testing.B) {
	c := Embedded()
	accs := []string{"A100:8", "H100:8", "L4:1", "T4:1", "A10G:4"}
	for i := 0; b.Loop(); i++ {
		acc, err := c.ParseAccelerators(accs[i%len(accs)])
		if err != nil {
			b.Fatal(err)
		}
		cloud, loc := "aws", "us-east-1"
		if i%2 == 1 {
			cloud, loc = "gcp", "us-central1-a"
		}
		t, err := c.ResolveInstanceTypeIn(cloud, acc, loc)
		if err == nil {
			_ = c.CheckInstanceType(cloud, t.Name)
			_, _ = c.LookupMachine(cloud, t.Name, accs[i%len(accs)]) // the lint rule's lookup
		}
		_ = c.CheckZone(cloud, loc)
	}
}
