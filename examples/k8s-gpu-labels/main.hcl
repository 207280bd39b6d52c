# Keep accelerator labels right on a Kubernetes cluster's GPU nodes (e.g. EKS,
# which exposes nvidia.com/gpu but no accelerator-type label).
# `make demo` runs it against the in-repo Kubernetes fake (context "fake").

skyplan {
  workspace = "k8s-gpu-labels"
}

variable "context" {
  type    = string
  default = "fake"
}

cloud "kubernetes" {
  context = var.context
}

gpu_label_policy "gpus" {
  cloud     = "kubernetes"
  label_key = "skypilot.co/accelerator"
  # Models detection cannot infer: by instance type or node name.
  overrides = { "custom.gpu-box" = "l40s" }
}
