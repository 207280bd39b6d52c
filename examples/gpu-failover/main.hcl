# Placement candidates: GPU clusters that fail over across zones and regions
# when the cloud has no capacity, and replacements that keep the old cluster
# running until the new one is up. `make demo` runs it against the in-repo
# GCE/TPU fake.

skyplan {
  workspace = "gpu-failover"
}

variable "project" {
  type    = string
  default = "skyplan-demo"
}

cloud "gcp" {
  project      = var.project
  capabilities = ["compute"]
}

# Three zones that offer A100s. The loader orders them by the catalog's
# on-demand price (europe-west4 is cheaper than us-east1): apply tries
# europe-west4-a, then europe-west4-b, then us-east1-b, on capacity and
# quota errors. All nodes land in one zone; the plan prices the first.
cluster "train" {
  cloud        = "gcp"
  accelerators = "A100:1" # a2-highgpu-1g
  nodes        = 2
  zones        = ["us-east1-b", "europe-west4-a", "europe-west4-b"]
}

# A spot TPU VM in any zone of two regions that offer the slice, cheapest
# spot price first. Replacing it (a new runtime_version, say) creates the
# new TPU VM first; if the cloud refuses it, the old one keeps running.
cluster "tpu" {
  cloud           = "gcp"
  accelerators    = "tpu-v5litepod-4"
  runtime_version = "v2-alpha-tpuv5-lite"
  use_spot        = true
  regions         = ["us-east5", "us-central1"]
}

# A controller whose quota cannot hold two at once: replacements delete the
# old one first.
jobs_controller "main" {
  cloud           = "gcp"
  zones           = ["us-east1-b", "us-east1-c"]
  placement_order = "listed"
  bucket          = "skyplan-gpu-failover-jobs"
  lifecycle {
    create_before_destroy = false
  }
}
