# GCP: a GCE GPU cluster with a disk tier, a TPU VM and a GCS bucket.
# `make demo` runs it against the in-repo GCE/TPU fake and fake-gcs-server.

skyplan {
  workspace = "gcp-tpu"
}

variable "project" {
  type    = string
  default = "skyplan-demo"
}

cloud "gcp" {
  project      = var.project
  capabilities = ["compute", "storage"]
}

cluster "gpu" {
  cloud        = "gcp"
  zone         = "us-central1-a"
  accelerators = "L4:1" # g2-standard-4 through the catalog
  nodes        = 2
  disk_size    = 200
  disk_tier    = "high" # pd-ssd on g2; "ultra" would be a lint error (g2 has no pd-extreme)
  labels       = { team = "ml" }
}

# A TPU VM (tpu/v2 API). Legacy TPU Nodes (tpu_vm = false) are refused by GCP
# and by `skyplan lint`.
cluster "tpu" {
  cloud           = "gcp"
  zone            = "us-central2-b"
  accelerators    = "tpu-v4-8"
  runtime_version = "tpu-ubuntu2204-base"
  labels          = { team = "ml" }
}

bucket "data" {
  cloud         = "gcp"
  name          = "skyplan-gcp-tpu-data"
  location      = "US"
  storage_class = "STANDARD"
  versioning    = true
  force_destroy = true
}
