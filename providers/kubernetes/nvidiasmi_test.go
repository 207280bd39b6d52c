package kubernetes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nvidia-smi", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixtureGPULine is the one GPU line of a real query fixture, without its header.
func fixtureGPULine(t *testing.T, name string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(fixture(t, name)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%s: want a header and one GPU line, got %d lines", name, len(lines))
	}
	return lines[1]
}

func TestDetectGPUsOnRealFixtures(t *testing.T) {
	tests := []struct {
		file string
		want GPUDetection
	}{
		{"nvidia-smi-query-h100.csv", GPUDetection{Accelerator: "H100", LabelValue: "h100", Count: 1, MemoryMiB: 81559, GPUName: "NVIDIA H100 80GB HBM3"}},
		{"nvidia-smi-query-h200.csv", GPUDetection{Accelerator: "H200", LabelValue: "h200", Count: 1, MemoryMiB: 143771, GPUName: "NVIDIA H200"}},
		// detect-gpu's own query, captured on a live H200 node.
		{"nvidia-smi-query-noheader-h200-live.csv", GPUDetection{Accelerator: "H200", LabelValue: "h200", Count: 1, MemoryMiB: 143771, GPUName: "NVIDIA H200"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			gpus, err := ParseNvidiaSMI(strings.NewReader(fixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := DetectGPUs(gpus)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectGPUsNoHeaderNoUnitsMultiGPU(t *testing.T) {
	// --format=csv,noheader,nounits on an 8-GPU node: one line per GPU.
	line := strings.Replace(fixtureGPULine(t, "nvidia-smi-query-h100.csv"), " MiB", "", 1)
	out := strings.Repeat(line+"\n", 8)
	gpus, err := ParseNvidiaSMI(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DetectGPUs(gpus)
	if err != nil {
		t.Fatal(err)
	}
	if got.Accelerator != "H100" || got.Count != 8 || got.MemoryMiB != 81559 {
		t.Errorf("got %+v, want 8× H100 with 81559 MiB", got)
	}
}

func TestDetectGPUsMixedModelsIsAnError(t *testing.T) {
	out := fixtureGPULine(t, "nvidia-smi-query-h100.csv") + "\n" + fixtureGPULine(t, "nvidia-smi-query-h200.csv") + "\n"
	gpus, err := ParseNvidiaSMI(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	_, err = DetectGPUs(gpus)
	if err == nil || !strings.Contains(err.Error(), "mixed GPU models") || !strings.Contains(err.Error(), "H100 ×1, H200 ×1") {
		t.Fatalf("err = %v, want a mixed-models error naming both", err)
	}
}

func TestDetectGPUsA100SizedByMemory(t *testing.T) {
	for out, want := range map[string]string{
		"NVIDIA A100-SXM4-80GB, 81920 MiB\n": "A100-80GB",
		"NVIDIA A100-SXM4-40GB, 40960 MiB\n": "A100",
		"NVIDIA A100, 81920\n":               "A100-80GB",
	} {
		gpus, err := ParseNvidiaSMI(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DetectGPUs(gpus)
		if err != nil || got.Accelerator != want {
			t.Errorf("%q: got %+v, %v; want %s", out, got, err, want)
		}
	}
}

func TestParseNvidiaSMIRefusesOtherOutputs(t *testing.T) {
	for _, file := range []string{"nvidia-smi-L-h100.txt", "nvidia-smi-q-h200.xml", "nvidia-smi-h100.txt"} {
		_, err := ParseNvidiaSMI(strings.NewReader(fixture(t, file)))
		if err == nil || !strings.Contains(err.Error(), "--query-gpu=name,memory.total") {
			t.Errorf("%s: err = %v, want a refusal naming the query to run", file, err)
		}
	}
}

func TestParseNvidiaSMIErrors(t *testing.T) {
	tests := map[string]string{
		"":                        "lists no GPUs",
		"No devices were found\n": "found no GPUs",
		"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n": "nvidia-smi failed",
		"NVIDIA H100 80GB HBM3, lots\n": "not nvidia-smi query output",
	}
	for in, want := range tests {
		if _, err := ParseNvidiaSMI(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
	gpus, err := ParseNvidiaSMI(strings.NewReader("NVIDIA GeForce RTX 4090, 24564 MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DetectGPUs(gpus); err == nil || !strings.Contains(err.Error(), "unknown GPU model") {
		t.Errorf("unknown model: err = %v", err)
	}
}
