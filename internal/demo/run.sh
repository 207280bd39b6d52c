#!/usr/bin/env bash
# make demo: for each example, lint → plan → apply → plan (must show no
# changes) → destroy, against local emulators on 127.0.0.1 only.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
skyplan="$root/bin/skyplan"
logdir="$(mktemp -d)"
pids=()
cleanup() {
  # Each emulator runs in its own process group (setsid): kill the groups, so
  # a pyenv shim's python child does not outlive the demo.
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  rm -rf "$logdir"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() {
  for _ in $(seq 1 300); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "emulator at $1 did not start" >&2; return 1
}

# aws_count WORKSPACE: live instances and owned buckets, seen from outside
# skyplan with boto3 against the same moto_server.
aws_count() {
  python3 - "$1" <<'PY'
import sys, boto3
ws = sys.argv[1]
ec2 = boto3.client("ec2", region_name="us-east-1")
n = sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=[
    {"Name": "tag:skyplan-workspace", "Values": [ws]},
    {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"])
s3 = boto3.client("s3", region_name="us-east-1")
b = 0
for bucket in s3.list_buckets()["Buckets"]:
    try:
        tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]}
    except Exception:
        continue
    b += tags.get("skyplan-workspace") == ws
print(f"{n} {b}")
PY
}

expect_aws() {
  local got
  got="$(aws_count "$1")"
  echo "boto3 sees: $got (instances buckets) in workspace $1"
  [ "$got" = "$2" ] || { echo "expected $2" >&2; exit 1; }
}

# run_example DIR: the whole lifecycle on a copy of examples/DIR.
run_example() {
  local name="$1" work
  work="$(mktemp -d "$logdir/$name.XXXX")"
  cp "$root/examples/$name/"*.hcl "$work/"
  step "$name: skyplan lint"
  "$skyplan" -C "$work" lint
  step "$name: skyplan plan (exit 2: changes present)"
  set +e; "$skyplan" -C "$work" plan --detailed-exitcode; rc=$?; set -e
  [ "$rc" -eq 2 ] || { echo "expected exit 2 from plan, got $rc" >&2; exit 1; }
  step "$name: skyplan apply"
  "$skyplan" -C "$work" apply --auto-approve
  [ "$name" = quickstart ] && expect_aws quickstart "2 1"
  step "$name: skyplan plan (must show no changes: exit 0)"
  "$skyplan" -C "$work" plan --detailed-exitcode
  step "$name: skyplan destroy"
  "$skyplan" -C "$work" destroy --auto-approve
  [ "$name" = quickstart ] && expect_aws quickstart "0 0"
  step "$name: skyplan plan after destroy (exit 2: everything to create again)"
  set +e; "$skyplan" -C "$work" plan --detailed-exitcode >/dev/null; rc=$?; set -e
  [ "$rc" -eq 2 ] || { echo "expected exit 2 after destroy, got $rc" >&2; exit 1; }
}

step "starting moto_server (AWS EC2/S3 emulator)"
port="$(free_port)"
setsid moto_server -H 127.0.0.1 -p "$port" >"$logdir/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/moto-api/"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# Real AWS default VPCs come with an internet gateway; moto's do not, and
# `skyplan lint` would rightly report SP-AWS-001. Give us-east-1 what AWS gives.
step "preparing moto's default VPC like AWS's (internet gateway + 0.0.0.0/0 route)"
python3 - <<'PY'
import boto3
ec2 = boto3.client("ec2", region_name="us-east-1")
vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                        {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]["RouteTableId"]
ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
print(f"default VPC {vpc}: {igw} attached, 0.0.0.0/0 → {igw} in {rtb}")
PY

run_example quickstart

go build -o "$root/bin/fakeclouds" "$root/internal/cmd/fakeclouds"
if [ -x "$root/bin/fakeclouds" ]; then
  step "starting the GCP (GCE, TPU, GCS) and Kubernetes fakes"
  setsid "$root/bin/fakeclouds" -env "$logdir/fake.env" >"$logdir/fake.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do [ -s "$logdir/fake.env" ] && break; sleep 0.1; done
  # shellcheck disable=SC1091
  set -a; . "$logdir/fake.env"; set +a
  for ex in gcp-tpu gpu-failover k8s-gpu-labels cross-cloud-jobs; do
    [ -d "$root/examples/$ex" ] && run_example "$ex"
  done
fi
step "demo complete"
