# Managed jobs across clouds: the jobs bucket on GCS, the controller on AWS
# (or GCP), jobs on AWS, GCP and Kubernetes. See README.md.

skyplan {
  workspace = "cross-cloud-jobs"
}

variable "controller_cloud" {
  type        = string
  default     = "aws"
  description = "Where the managed-jobs controller runs: aws or gcp. Changing it replaces the controller."
}

cloud "aws" {
  regions      = ["us-east-1"]
  capabilities = ["compute"]
}

cloud "gcp" {
  project      = "skyplan-demo"
  capabilities = ["compute", "storage"]
}

bucket "jobs" {
  cloud    = "gcp"
  name     = "skyplan-cross-cloud-jobs"
  location = "US"
}

jobs_controller "main" {
  cloud         = var.controller_cloud
  region        = var.controller_cloud == "aws" ? "us-east-1" : null
  zone          = var.controller_cloud == "gcp" ? "us-central1-a" : null
  instance_type = var.controller_cloud == "aws" ? "m6i.xlarge" : "n2-standard-4"
  bucket        = bucket.jobs.name # the bucket is created first and deleted last
  job_clouds    = ["aws", "gcp"]
}
