package catalog

import "testing"

func TestNormalizeGPUName(t *testing.T) {
	tests := []struct {
		name   string
		memMiB int64
		want   string
	}{
		// nvidia-smi names (the H100/H200 ones are from real machines).
		{"NVIDIA H100 80GB HBM3", 81559, "H100"},
		{"NVIDIA H200", 143771, "H200"},
		{"NVIDIA H100 PCIe", 81559, "H100"},
		{"NVIDIA H100 NVL", 95830, "H100"},
		{"NVIDIA A100-SXM4-40GB", 40960, "A100"},
		{"NVIDIA A100-SXM4-80GB", 81920, "A100-80GB"},
		{"NVIDIA A100 80GB PCIe", 81920, "A100-80GB"},
		{"NVIDIA A100-PCIE-40GB", 0, "A100"},
		{"Tesla V100-SXM2-16GB", 16160, "V100"},
		{"Tesla T4", 15360, "T4"},
		{"NVIDIA A10G", 23028, "A10G"},
		{"NVIDIA A10", 23028, "A10"},
		{"NVIDIA L4", 23034, "L4"},
		{"NVIDIA L40S", 46068, "L40S"},
		{"NVIDIA GH200 480GB", 97871, "GH200"},
		// An A100 whose name has no size is sized by its memory.
		{"NVIDIA A100", 81920, "A100-80GB"},
		{"NVIDIA A100", 40960, "A100"},
		// GPU Feature Discovery product labels.
		{"NVIDIA-H100-80GB-HBM3", 0, "H100"},
		{"NVIDIA-A100-SXM4-80GB", 0, "A100-80GB"},
		{"NVIDIA-A100-SXM4-40GB-MIG-3g.20gb", 0, "A100"},
		{"Tesla-T4", 0, "T4"},
		// GKE and EKS accelerator labels.
		{"nvidia-tesla-a100", 0, "A100"},
		{"nvidia-a100-80gb", 0, "A100-80GB"},
		{"nvidia-h100-mega-80gb", 0, "H100"},
		{"nvidia-h200-141gb", 0, "H200"},
		{"nvidia-tesla-v100", 0, "V100"},
		{"nvidia-l4", 0, "L4"},
		// Canonical names in any case.
		{"a100-80gb", 0, "A100-80GB"},
		{"H100", 0, "H100"},
		{"l40s", 0, "L40S"},
		// Unknown models are never guessed.
		{"NVIDIA GeForce RTX 4090", 24564, ""},
		{"", 0, ""},
		{"AMD Instinct MI300X", 196592, ""},
	}
	for _, tt := range tests {
		if got := NormalizeGPUName(tt.name, tt.memMiB); got != tt.want {
			t.Errorf("NormalizeGPUName(%q, %d) = %q, want %q", tt.name, tt.memMiB, got, tt.want)
		}
	}
}

func TestGPULabelValue(t *testing.T) {
	for model, want := range map[string]string{"A100-80GB": "a100-80gb", "H100": "h100", "A10G": "a10g"} {
		if got := GPULabelValue(model); got != want {
			t.Errorf("GPULabelValue(%q) = %q, want %q", model, got, want)
		}
	}
}

func TestGPUForInstanceType(t *testing.T) {
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"p4d.24xlarge", "A100", true},
		{"p4de.24xlarge", "A100-80GB", true},
		{"p5.48xlarge", "H100", true},
		{"p5en.48xlarge", "H200", true},
		{"g5.xlarge", "A10G", true},
		{"g5.2xlarge", "A10G", true}, // not in the catalog: inferred from the g5 family
		{"g6e.12xlarge", "L40S", true},
		{"a2-highgpu-8g", "A100", true},
		{"a2-ultragpu-2g", "A100-80GB", true},
		{"a3-highgpu-8g", "H100", true},
		{"g2-standard-8", "L4", true},
		{"a3-megagpu-8g", "H100", true}, // the catalog's H100-MEGA is an H100
		{"a3-edgegpu-8g", "H100", true}, // in the catalog, never resolved to
		{"a4-highgpu-8g", "B200", true}, // not in the catalog: from the series
		{"p3dn.24xlarge", "V100", true}, // V100-32GB
		{"g5g.xlarge", "T4g", true},     // NVIDIA T4G (arm)
		{"g5g.4xlarge", "T4g", true},    // listed too
		{"g4ad.xlarge", "", false},      // AMD Radeon: no nvidia.com/gpu
		{"inf2.xlarge", "", false},      // Inferentia is not a GPU
		{"trn2.48xlarge", "", false},    // no accelerator in the data
		{"p4d.48xlarge", "A100", true},  // unknown size of a one-model family
		{"g6.64xlarge", "L4", true},
		// GPUs attached to n1 VMs cannot be told from the type name.
		{"n1-standard-8", "", false},
		{"n1-standard-96", "", false},
		{"m6i.xlarge", "", false},
		{"m6i.8xlarge", "", false},
		{"x9z.huge", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := GPUForInstanceType(tt.name)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("GPUForInstanceType(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
