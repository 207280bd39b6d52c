package crashtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/skyplan/skyplan/state"
)

// Where the spec's objects live.
const (
	AWSRegion = "us-east-1"
	// awsOtherRegion holds a bucket outside us-east-1, where S3 answers a
	// repeated CreateBucket with an error instead of success.
	awsOtherRegion = "eu-west-1"
	gcpProject     = "skyplan-crash"
)

// Spec is one spec directory with its own workspace and bucket names.
type Spec struct {
	Dir       string
	Workspace string
	// Clusters maps each cluster's address to its node count; Write puts
	// changed counts in the spec file.
	Clusters map[string]int
	// Buckets maps each bucket's address to its name and cloud.
	Buckets map[string]Bucket
	on      Cloud
}

// Bucket is a bucket the spec declares.
type Bucket struct{ Name, Cloud string }

// Cloud says which clouds a spec uses.
type Cloud int

const (
	// OnAWS: three EC2 clusters (one of two nodes) and two S3 buckets.
	OnAWS Cloud = 1 << iota
	// OnGCP: a GCE cluster of two nodes, a TPU VM and a GCS bucket.
	OnGCP
)

// NewSpec writes a fresh spec in workspace name, on the given clouds.
func (h *Harness) NewSpec(name string, on Cloud) (*Spec, error) {
	s := &Spec{Dir: filepath.Join(h.Work, name), Workspace: name, Clusters: map[string]int{}, Buckets: map[string]Bucket{}, on: on}
	if on&OnAWS != 0 {
		s.Clusters["cluster.train"], s.Clusters["cluster.eval"], s.Clusters["cluster.serve"] = 2, 1, 1
		s.Buckets["bucket.data"] = Bucket{name + "-data", "aws"}
		s.Buckets["bucket.ckpt"] = Bucket{name + "-ckpt", "aws"}
	}
	if on&OnGCP != 0 {
		s.Clusters["cluster.gpu"], s.Clusters["cluster.tpu"] = 2, 1
		s.Buckets["bucket.gcs"] = Bucket{name + "-gcs", "gcp"}
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	return s, s.Write()
}

// Write writes the spec file.
func (s *Spec) Write() error {
	hcl := fmt.Sprintf("skyplan {\n  workspace = %q\n}\n", s.Workspace)
	if s.on&OnAWS != 0 {
		hcl += fmt.Sprintf(`cloud "aws" {
  regions = [%q]
}
cluster "train" {
  cloud         = "aws"
  instance_type = "t3.micro"
  nodes         = %d
  labels        = { team = "research" }
}
cluster "eval" {
  cloud         = "aws"
  instance_type = "t3.small"
  nodes         = %d
}
cluster "serve" {
  cloud         = "aws"
  instance_type = "t3.micro"
  nodes         = %d
  disk_size     = 20
}
bucket "data" {
  cloud      = "aws"
  name       = %q
  versioning = true
}
bucket "ckpt" {
  cloud  = "aws"
  name   = %q
  region = %q
  labels = { team = "research" }
}
`, AWSRegion, s.Clusters["cluster.train"], s.Clusters["cluster.eval"], s.Clusters["cluster.serve"],
			s.Buckets["bucket.data"].Name, s.Buckets["bucket.ckpt"].Name, awsOtherRegion)
	}
	if s.on&OnGCP != 0 {
		hcl += fmt.Sprintf(`cloud "gcp" {
  project = %q
}
cluster "gpu" {
  cloud         = "gcp"
  zone          = "us-central1-a"
  instance_type = "n2-standard-4"
  nodes         = %d
  labels        = { team = "ml" }
}
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central2-b"
  accelerators    = "tpu-v4-8"
  runtime_version = "tpu-ubuntu2204-base"
  nodes           = %d
}
bucket "gcs" {
  cloud    = "gcp"
  name     = %q
  location = "US"
}
`, gcpProject, s.Clusters["cluster.gpu"], s.Clusters["cluster.tpu"], s.Buckets["bucket.gcs"].Name)
	}
	return os.WriteFile(filepath.Join(s.Dir, "main.hcl"), []byte(hcl), 0o644)
}

// Nodes is how many nodes the spec's clusters have in all.
func (s *Spec) Nodes() int {
	n := 0
	for _, c := range s.Clusters {
		n += c
	}
	return n
}

// LoadState reads the spec's local state file (nil when there is none).
func (s *Spec) LoadState(ctx context.Context) (*state.State, error) {
	return state.NewLocal(filepath.Join(s.Dir, ".skyplan", "state.json")).Load(ctx)
}
