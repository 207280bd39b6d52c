# A spec that trips every skyplan lint rule on purpose: run
#   skyplan -C examples/lint-showcase lint
# and read each finding's fix. docs/lint-rules.md explains every rule.

skyplan {
  workspace = "lint-showcase"
}

# Compute only: an AWS bucket a controller uses trips SP-CLOUD-004.
cloud "aws" {
  regions      = ["us-east-1", "eu-south-1"]
  capabilities = ["compute"]
}

# Storage-only credentials for GCP: compute resources here trip SP-CLOUD-001.
cloud "gcp" {
  project      = "skyplan-demo"
  capabilities = ["storage"]
}

# No capabilities at all: jobs sent here trip SP-CLOUD-003.
cloud "kubernetes" {
  context      = "fake"
  capabilities = []
}

# SP-ACC-001: no H100s in eu-south-1. SP-AWS-001 (live): the default VPC of the
# region has no route to an internet gateway.
cluster "h100" {
  cloud        = "aws"
  region       = "eu-south-1"
  accelerators = "H100:8"
}

# SP-CLOUD-001 (gcp has no compute), SP-DISK-001 (G2 has no pd-standard),
# SP-LBL-001 (GCP label keys are lowercase).
cluster "l4" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "L4:1"
  disk_tier    = "low"
  labels       = { Team = "ml" }
}

# SP-GCP-001: legacy TPU Node.
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central1-b"
  accelerators    = "tpu-v3-8"
  runtime_version = "tpu-vm-base"
  tpu_vm          = false
}

# SP-BKT-001: S3 names are lowercase, no underscores. SP-CLOUD-001: aws has no storage.
bucket "artifacts" {
  cloud = "aws"
  name  = "ML_Artifacts"
}

# SP-LINT-001: an ignore needs a reason.
# skyplan:ignore SP-BKT-001
bucket "legacy" {
  cloud = "aws"
  name  = "Legacy_Bucket"
}

# SP-CLOUD-003: kubernetes has no compute. SP-CLOUD-004: its bucket's cloud
# (aws) has no storage. SP-JOBS-001 (with state): the controller moves cloud.
jobs_controller "main" {
  cloud      = "aws"
  region     = "us-east-1"
  bucket     = bucket.artifacts.name
  job_clouds = ["aws", "kubernetes"]
}

# The live rules need clouds: SP-CLOUD-002 (credentials fail a needed
# capability), SP-AWS-001 (no subnet with a route to the internet; moto's
# default VPCs have none), SP-K8S-001/002/003 (GPU node labels).
