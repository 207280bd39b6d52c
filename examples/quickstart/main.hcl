# Quickstart: one GPU cluster and one artifacts bucket on AWS.
# Run against local emulators with `make demo`, or against real AWS (see README.md).

skyplan {
  workspace = "quickstart"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "nodes" {
  type    = number
  default = 2
}

cloud "aws" {
  regions      = [var.region]
  capabilities = ["compute", "storage"]
}

bucket "artifacts" {
  cloud         = "aws"
  name          = "skyplan-quickstart-artifacts"
  region        = var.region
  versioning    = true
  force_destroy = true
  labels        = { team = "ml" }
}

cluster "train" {
  cloud        = "aws"
  region       = var.region
  accelerators = "A10G:1" # resolved to g5.xlarge through the catalog
  nodes        = var.nodes
  disk_size    = 100
  disk_tier    = "medium"
  labels = {
    team      = "ml"
    artifacts = bucket.artifacts.name # a reference: the bucket is created first
  }
}
