// Package specgen generates large, realistic spec directories for benchmarks
// and scale checks, so no megabytes of generated HCL are checked in.
//
// Every group of ten resources holds six clusters (AWS GPU, AWS CPU with an
// ignore comment, GCP GPU, GCP TPU VM, AWS spot, GCP CPU), three buckets (one
// named from a local value), and a jobs controller whose bucket is a reference
// to one of them; each group has one local value, and a few variables are
// shared by all. The result loads and lints without errors.
package specgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GroupSize is the number of resources per generated group.
const GroupSize = 10

// groupsPerFile keeps files at about a thousand lines, like a large real spec.
const groupsPerFile = 10

const header = `skyplan {
  workspace = "bench"
}

variable "team" {
  default = "ml"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "env" {
  default = "prod"
}

variable "gpu_nodes" {
  type    = number
  default = 2
}

cloud "aws" {
  regions      = [var.region, "us-west-2"]
  capabilities = ["compute", "storage"]
}

cloud "gcp" {
  project = "bench-project"
}
`

// group writes resources g*10 … g*10+9.
func group(b *strings.Builder, g int) {
	fmt.Fprintf(b, `
locals {
  prefix_%[1]d = "${var.env}-g%[1]d"
}

bucket "data_%[1]d" {
  cloud = "aws"
  name  = "${local.prefix_%[1]d}-data"
}

bucket "ckpt_%[1]d" {
  cloud    = "gcp"
  name     = "bench-ckpt-%[1]d"
  location = "US"
}

bucket "logs_%[1]d" {
  cloud      = "aws"
  name       = "bench-logs-%[1]d"
  region     = "us-west-2"
  versioning = true
}

cluster "train_%[1]d" {
  cloud        = "aws"
  accelerators = "A100:8"
  nodes        = var.gpu_nodes
  labels       = { team = var.team, data = bucket.data_%[1]d.name }
}

# skyplan:ignore SP-DISK-001 benchmark: the tier is checked by the platform team
cluster "cpu_%[1]d" {
  cloud         = "aws"
  instance_type = "m6i.large"
  disk_size     = 64
}

cluster "tune_%[1]d" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "a2-highgpu-1g"
  labels        = { team = var.team }
}

cluster "tpu_%[1]d" {
  cloud           = "gcp"
  zone            = "us-central2-b"
  accelerators    = "tpu-v4-8"
  runtime_version = "tpu-ubuntu2204-base"
}

cluster "spot_%[1]d" {
  cloud         = "aws"
  region        = "us-west-2"
  instance_type = "p3.2xlarge"
  use_spot      = true
}

cluster "batch_%[1]d" {
  cloud         = "gcp"
  zone          = "us-central1-b"
  instance_type = "n2-standard-4"
  nodes         = 4
}

jobs_controller "ctl_%[1]d" {
  cloud      = "aws"
  region     = "us-east-1"
  bucket     = bucket.data_%[1]d.name
  job_clouds = ["aws", "gcp"]
  lifecycle {
    allow_replace = true
  }
}
`, g)
}

// Sources returns a spec of about n resources (rounded up to whole groups)
// as file name → content; names are relative, for spec.LoadSources.
func Sources(n int) map[string][]byte {
	out := map[string][]byte{"main.hcl": []byte(header)}
	groups := (n + GroupSize - 1) / GroupSize
	for first := 0; first < groups; first += groupsPerFile {
		var b strings.Builder
		for g := first; g < min(groups, first+groupsPerFile); g++ {
			group(&b, g)
		}
		out[fmt.Sprintf("groups-%06d.hcl", first/groupsPerFile)] = []byte(b.String())
	}
	return out
}

// Write writes Sources(n) into dir (created if needed).
func Write(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range Sources(n) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Resources is the number of resources Sources(n) declares.
func Resources(n int) int { return (n + GroupSize - 1) / GroupSize * GroupSize }
