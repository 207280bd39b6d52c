package gcp

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	compute "google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/internal/gcpfake"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func apply(t *testing.T, p *Provider, op providers.Operation, addr string, desired state.Attrs, prior *state.Resource) *state.Resource {
	t.Helper()
	res, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: op, Workspace: p.workspace, Address: addr, Type: spec.AddressType(addr), Desired: desired, Prior: prior})
	if err != nil {
		t.Fatalf("%s %s: %v", op, addr, err)
	}
	return res
}

func observe(t *testing.T, p *Provider, hints ...providers.ResourceHint) map[string]*state.Resource {
	t.Helper()
	got, err := p.Observe(ctxT(t), providers.ObserveRequest{Workspace: p.workspace, Resources: hints})
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	out := map[string]*state.Resource{}
	for _, r := range got {
		out[r.Address] = r
	}
	return out
}

func hint(addr string, attrs map[string]any) providers.ResourceHint {
	return providers.ResourceHint{Address: addr, Type: spec.AddressType(addr), Attrs: attrs}
}

func TestObserveIsOneAggregatedListFollowingPages(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	desired := gceCluster(3)
	apply(t, p, providers.OpCreate, "cluster.train", desired, nil)
	e.fake.MaxPageSize = 1
	e.fake.ResetRequests()

	got := observe(t, p, hint("cluster.train", desired))["cluster.train"]

	var first, paged int
	for _, r := range e.fake.Requests() {
		if !strings.HasSuffix(r.Path, "/aggregated/instances") {
			continue
		}
		if r.Query.Get("pageToken") == "" {
			first++
		} else {
			paged++
		}
		if f := r.Query.Get("filter"); !strings.Contains(f, `labels.skyplan-workspace = "prod"`) || !strings.Contains(f, `labels.skyplan-managed = "true"`) {
			t.Errorf("aggregatedList filter = %q, want the ownership labels", f)
		}
	}
	if first != 1 || paged != 2 {
		t.Errorf("aggregatedList: %d first-page and %d follow-up requests, want 1 and 2 (3 nodes, page size 1)", first, paged)
	}
	if n := e.fake.CountRequests("GET", "/compute/v1/projects/*/zones/*/instances/*"); n != 0 {
		t.Errorf("observe made %d per-instance GETs", n)
	}
	if n := e.fake.CountRequests("", "/v2/**"); n != 1 {
		t.Errorf("observe called the TPU API %d times, want once (all zones, for TPU VMs no hint names)", n)
	}
	want := state.Attrs{
		"cloud": "gcp", "zone": "us-central1-a", "region": "us-central1", "instance_type": "n2-standard-4",
		"nodes": int64(3), "use_spot": false, "use_internal_ips": false, "vpc": "default", "subnet": "default",
		"disk_size": int64(50), "disk_tier": "medium", "labels": map[string]string{"team": "conf"},
	}
	if diff := cmp.Diff(want, got.Attrs); diff != "" {
		t.Errorf("observed attrs (-want +got):\n%s", diff)
	}
	if len(got.IDs) != 3 || got.Private["instances"] != "train-prod-0,train-prod-1,train-prod-2" {
		t.Errorf("IDs %v, private %v", got.IDs, got.Private)
	}
}

func TestGPUInstances(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	n1 := gceCluster(1)
	n1["instance_type"], n1["accelerators"] = "n1-standard-8", "T4:1"
	apply(t, p, providers.OpCreate, "cluster.t4", n1, nil)
	spot := gceCluster(1)
	spot["instance_type"], spot["accelerators"], spot["use_spot"] = "a2-highgpu-1g", "A100:1", true
	apply(t, p, providers.OpCreate, "cluster.a100", spot, nil)

	t4 := e.fake.Instance(testProject, "us-central1-a", "t4-prod-0")
	if t4 == nil || len(t4.GuestAccelerators) != 1 ||
		!strings.HasSuffix(t4.GuestAccelerators[0].AcceleratorType, "/zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4") ||
		t4.GuestAccelerators[0].AcceleratorCount != 1 {
		t.Fatalf("n1 guest accelerators = %+v", t4)
	}
	if t4.Scheduling.OnHostMaintenance != "TERMINATE" || t4.Scheduling.ProvisioningModel != "STANDARD" {
		t.Errorf("n1 GPU scheduling = %+v", t4.Scheduling)
	}
	if boot := e.fake.Disks()[len(e.fake.Disks())-1]; !strings.Contains(boot.SourceImage, "deeplearning-platform-release") {
		t.Errorf("GPU boot image = %s, want a Deep Learning VM image", boot.SourceImage)
	}
	a100 := e.fake.Instance(testProject, "us-central1-a", "a100-prod-0")
	if a100 == nil || len(a100.GuestAccelerators) != 0 || a100.Scheduling.ProvisioningModel != "SPOT" ||
		*a100.Scheduling.AutomaticRestart || a100.Scheduling.OnHostMaintenance != "TERMINATE" {
		t.Fatalf("a2 spot instance = %+v", a100)
	}
	got := observe(t, p, hint("cluster.t4", n1), hint("cluster.a100", spot))
	if a := got["cluster.t4"].Attrs; a["accelerators"] != "T4:1" || a["instance_type"] != "n1-standard-8" {
		t.Errorf("n1 observed: %v", a)
	}
	if a := got["cluster.a100"].Attrs; a["accelerators"] != "A100:1" || a["use_spot"] != true {
		t.Errorf("a2 observed: %v", a)
	}
}

func TestOperationErrorSurfaced(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/*/instances", gcpfake.QuotaExceeded("NVIDIA_A100_GPUS"))
	desired := gceCluster(1)
	desired["instance_type"] = "a2-highgpu-1g"
	res, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "cluster.big", Type: spec.TypeCluster, Desired: desired})
	if err == nil {
		t.Fatal("quota error not reported")
	}
	for _, want := range []string{"cluster.big", "big-prod-0", "us-central1-a", testProject, "QUOTA_EXCEEDED", "NVIDIA_A100_GPUS", "raise the quota"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if res != nil || !providers.IsRefused(err) {
		t.Errorf("result after a refused create = %+v, %v; want nothing, and the error marked as refused (nothing was made)", res, err)
	}

	e.fake.ClearFaults()
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/*/instances", gcpfake.ZoneExhausted())
	_, err = p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "cluster.big", Type: spec.TypeCluster, Desired: desired})
	if err == nil || !strings.Contains(err.Error(), "ZONE_RESOURCE_POOL_EXHAUSTED") || !strings.Contains(err.Error(), "choose another zone") {
		t.Errorf("zone exhausted error = %v", err)
	}
}

func TestAlreadyExistsIsAdoptedOnlyWhenOwned(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	var adopted *compute.Instance
	// The node appears between skyplan's list and its insert (a concurrent
	// or crashed earlier apply): the insert gets 409.
	e.fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/instances", func(*http.Request) *gcpfake.Fault {
		if adopted == nil {
			inst := &compute.Instance{Name: "web-prod-0", Labels: providers.Owner{Workspace: "prod", Address: "cluster.web"}.Labels()}
			adopted, _ = e.fake.AddInstance(testProject, "us-central1-a", inst)
		}
		return nil
	})
	res := apply(t, p, providers.OpCreate, "cluster.web", gceCluster(1), nil)
	if adopted == nil || len(res.IDs) != 1 || res.IDs[0] != strconv.FormatUint(adopted.Id, 10) {
		t.Fatalf("409 of our own node: IDs %v, want the adopted %v", res.IDs, adopted)
	}
	// The node is adopted as is, then its labels are brought to the spec.
	if got := e.fake.Instance(testProject, "us-central1-a", "web-prod-0").Labels["team"]; got != "conf" {
		t.Errorf("adopted node label team = %q, want conf", got)
	}

	e.fake.ClearFaults()
	e.fake.OnRequest("POST", "/compute/v1/projects/*/zones/*/instances", func(*http.Request) *gcpfake.Fault {
		e.fake.AddInstance(testProject, "us-central1-a", &compute.Instance{Name: "db-prod-0"})
		return nil
	})
	_, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "cluster.db", Type: spec.TypeCluster, Desired: gceCluster(1)})
	if err == nil || !strings.Contains(err.Error(), "db-prod-0") || !strings.Contains(err.Error(), "not owned") {
		t.Errorf("409 of an unowned instance: %v", err)
	}
	if inst := e.fake.Instance(testProject, "us-central1-a", "db-prod-0"); inst == nil || len(inst.Labels) != 0 {
		t.Errorf("the unowned instance was changed: %+v", inst)
	}
}

func TestRateLimitIsRetried(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/*/instances", gcpfake.RateLimited(2))
	apply(t, p, providers.OpCreate, "cluster.web", gceCluster(1), nil)
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances"); n != 3 {
		t.Errorf("insert requests = %d, want 3 (two 429s, then success)", n)
	}
}

// Compute Engine also says "rate quota exceeded" with a 403: retried too,
// unlike a 403 for a missing permission.
func TestRateLimit403IsRetried(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	limited := gcpfake.Fault{Status: http.StatusForbidden, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded", Times: 2}
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/*/instances", limited)
	apply(t, p, providers.OpCreate, "cluster.web", gceCluster(1), nil)
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances"); n != 3 {
		t.Errorf("insert requests = %d, want 3 (two rate-limit 403s, then success)", n)
	}
	e.fake.Inject("POST", "/compute/v1/projects/*/zones/*/instances", gcpfake.Forbidden())
	e.fake.ResetRequests()
	if _, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: "cluster.api",
		Type: spec.TypeCluster, Desired: gceCluster(1)}); err == nil {
		t.Fatal("create without permission succeeded")
	}
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances"); n != 1 {
		t.Errorf("insert requests after a permission 403 = %d, want 1 (not retried)", n)
	}
}

func TestScaleInAndLabelUpdate(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	prior := apply(t, p, providers.OpCreate, "cluster.web", gceCluster(3), nil)
	desired := gceCluster(2)
	desired["labels"] = map[string]string{"team": "infra", "cost": "a1"}
	res := apply(t, p, providers.OpUpdate, "cluster.web", desired, prior)
	if e.fake.Instance(testProject, "us-central1-a", "web-prod-2") != nil {
		t.Errorf("scale in kept the highest index")
	}
	for _, name := range []string{"web-prod-0", "web-prod-1"} {
		inst := e.fake.Instance(testProject, "us-central1-a", name)
		if inst == nil || inst.Labels["team"] != "infra" || inst.Labels["cost"] != "a1" || inst.Labels[providers.TagAddress] != "cluster--web" {
			t.Errorf("%s labels = %v", name, inst)
		}
	}
	if diff := cmp.Diff(map[string]string{"team": "infra", "cost": "a1"}, res.Attrs["labels"]); diff != "" {
		t.Errorf("result labels (-want +got):\n%s", diff)
	}
	if n := e.fake.CountRequests("POST", "/compute/v1/projects/*/zones/*/instances/*/setLabels"); n != 2 {
		t.Errorf("setLabels calls = %d, want 2", n)
	}
	// Drift on one node's labels shows in observation.
	inst := e.fake.Instance(testProject, "us-central1-a", "web-prod-1")
	e.fake.DeleteInstance(testProject, "us-central1-a", "web-prod-1")
	inst.Labels["team"] = "hacked"
	inst.Name = "web-prod-1"
	if _, err := e.fake.AddInstance(testProject, "us-central1-a", inst); err != nil {
		t.Fatal(err)
	}
	got := observe(t, p, hint("cluster.web", desired))["cluster.web"]
	if got.Attrs["labels"].(map[string]string)["team"] != "hacked" {
		t.Errorf("label drift on node 1 not observed: %v", got.Attrs["labels"])
	}
}

func TestDiskTierObserved(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	desired := gceCluster(1)
	desired["instance_type"], desired["disk_tier"], desired["disk_size"] = "c3-standard-8", "best", int64(100)
	apply(t, p, providers.OpCreate, "cluster.fast", desired, nil)
	disks := e.fake.Disks()
	if len(disks) != 1 || !strings.HasSuffix(disks[0].Type, "/diskTypes/hyperdisk-balanced") || disks[0].ProvisionedIops != 50000 {
		t.Fatalf("boot disk = %+v, want hyperdisk-balanced with 50000 IOPS", disks)
	}
	// With the spec's hint "best" stays "best"; without (state rebuild) the tier is reverse-mapped.
	if got := observe(t, p, hint("cluster.fast", desired))["cluster.fast"].Attrs["disk_tier"]; got != "best" {
		t.Errorf("disk_tier with hint = %v, want best", got)
	}
	if got := observe(t, p)["cluster.fast"].Attrs["disk_tier"]; got != "ultra" {
		t.Errorf("disk_tier without hint = %v, want ultra", got)
	}
}

func TestLabelEncodingRoundTrip(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "Team_A.eu")
	addr := "cluster.Train_GPU"
	apply(t, p, providers.OpCreate, addr, gceCluster(1), nil)
	insts := e.fake.Instances()
	if len(insts) != 1 {
		t.Fatalf("instances: %d", len(insts))
	}
	valid := regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	for k, v := range insts[0].Labels {
		if !valid.MatchString(k) || !valid.MatchString(v) {
			t.Errorf("label %s=%s is not a valid GCE label", k, v)
		}
	}
	if name := insts[0].Name; !regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`).MatchString(name) {
		t.Errorf("instance name %q is not a valid GCE name", name)
	}
	// Without hints (state lost) the address is decoded from the label.
	if got := observe(t, p); got[addr] == nil {
		t.Errorf("observe without hints: %v, want %s", got, addr)
	}
	// An address too long for a label is cut and hashed; hints resolve it.
	long := "cluster." + strings.Repeat("very_long_name", 5)
	apply(t, p, providers.OpCreate, long, gceCluster(1), nil)
	if got := observe(t, p, hint(long, gceCluster(1))); got[long] == nil || got[long].Attrs["nodes"] != int64(1) {
		t.Errorf("long address not resolved through the hint: %v", got)
	}
}

func TestNodeNames(t *testing.T) {
	tests := []struct {
		addr, ws string
		i        int
		want     string
	}{
		{"cluster.train", "prod", 0, "train-prod-0"},
		{"cluster.Train_GPU", "Team_A.eu", 12, "train-gpu-team-a-eu-12"},
		{"cluster.9lives", "default", 1, "sky-9lives-default-1"},
	}
	for _, tt := range tests {
		if got := nodeName(tt.addr, tt.ws, tt.i); got != tt.want {
			t.Errorf("nodeName(%s, %s, %d) = %q, want %q", tt.addr, tt.ws, tt.i, got, tt.want)
		}
		if got := nodeIndex(tt.want, tt.addr, tt.ws); got != tt.i {
			t.Errorf("nodeIndex(%q) = %d, want %d", tt.want, got, tt.i)
		}
	}
	long := nodeName("cluster."+strings.Repeat("x", 80), "prod", 3)
	if len(long) > 63 || !strings.HasSuffix(long, "-3") || nodeName("cluster."+strings.Repeat("x", 81), "prod", 3) == long {
		t.Errorf("long name %q: too long or not distinct", long)
	}
	if nodeIndex("hand-made-vm", "cluster.train", "prod") != -1 {
		t.Errorf("a foreign name got an index")
	}
}

func TestInvalidInputFailsBeforeAnyCall(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	with := func(k string, v any) map[string]any {
		d := gceCluster(1)
		d[k] = v
		return d
	}
	tpuCluster := func(k string, v any) map[string]any {
		d := map[string]any{"cloud": "gcp", "zone": "us-central2-b", "accelerators": "tpu-v4-8", "runtime_version": "tpu-ubuntu2204-base", "nodes": int64(1)}
		if k != "" {
			d[k] = v
		}
		return d
	}
	tests := []struct {
		name    string
		addr    string
		desired state.Attrs
		want    []string
	}{
		{"missing zone", "cluster.a", with("zone", ""), []string{"cluster.a", "zone is required"}},
		{"upper-case label key", "cluster.a", with("labels", map[string]string{"Team": "x"}), []string{"cluster.a", `label key "Team"`, `"team"`}},
		{"bad label value", "cluster.a", with("labels", map[string]string{"team": "ML Ops"}), []string{`team = "ML Ops"`, `"ml_ops"`}},
		{"reserved label", "cluster.a", with("labels", map[string]string{"skyplan-address": "x"}), []string{"reserved prefix"}},
		{"disk tier not offered", "cluster.a", with("instance_type", "g2-standard-4"), nil},
		{"negative nodes", "cluster.a", with("nodes", int64(-1)), []string{"nodes = -1"}},
		{"legacy TPU node", "cluster.tpu", tpuCluster("tpu_vm", false), []string{"cluster.tpu", "use a TPU VM (remove tpu_vm = false)"}},
		{"TPU without runtime", "cluster.tpu", tpuCluster("runtime_version", ""), []string{"cluster.tpu", "runtime_version is required"}},
		{"bad TPU", "cluster.tpu", tpuCluster("accelerators", "tpu-v9-8"), []string{"cluster.tpu", "unknown TPU generation"}},
		{"bad bucket name", "bucket.b", map[string]any{"cloud": "gcp", "name": "Bad_Name"}, []string{"bucket.b", `"Bad_Name"`}},
	}
	// The g2 case: disk_tier low is not offered; name the value and the allowed tiers.
	tests[4].desired["disk_tier"] = "low"
	tests[4].want = []string{"cluster.a", `disk_tier "low"`, "allowed: medium, high, best"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fake.ResetRequests()
			_, err := p.Apply(ctxT(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: "prod", Address: tt.addr, Type: spec.AddressType(tt.addr), Desired: tt.desired})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := len(e.fake.Requests()) + len(e.gcs.Requests()); n != 0 {
				t.Errorf("%d API calls made before the input was refused", n)
			}
		})
	}
}

func TestNetworkAttributes(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "prod")
	desired := gceCluster(1)
	desired["vpc"], desired["subnet"], desired["use_internal_ips"] = "ml-net", "projects/"+testProject+"/regions/us-central1/subnetworks/ml-sub", true
	apply(t, p, providers.OpCreate, "cluster.private", desired, nil)
	inst := e.fake.Instance(testProject, "us-central1-a", "private-prod-0")
	nic := inst.NetworkInterfaces[0]
	if !strings.HasSuffix(nic.Network, "/global/networks/ml-net") || !strings.HasSuffix(nic.Subnetwork, "/subnetworks/ml-sub") || len(nic.AccessConfigs) != 0 {
		t.Errorf("network interface = %+v", nic)
	}
	a := observe(t, p, hint("cluster.private", desired))["cluster.private"].Attrs
	for _, k := range []string{"vpc", "subnet", "use_internal_ips"} {
		if a[k] != desired[k] {
			t.Errorf("observed %s = %v, want %v", k, a[k], desired[k])
		}
	}
}

func TestRegistered(t *testing.T) {
	newEnv(t)
	prov, err := providers.New(ctxT(t), providers.Config{Cloud: &spec.Cloud{Name: "gcp", Attrs: map[string]any{"project": testProject}}, Workspace: "w"})
	if err != nil || prov.Name() != "gcp" {
		t.Fatalf("providers.New(gcp) = %v, %v", prov, err)
	}
}

// Every list of an observation asks for the largest page the API gives:
// maxResults 500 for GCE (aggregated lists included), pageSize 500 for TPU.
func TestObserveListsAtTheLargestPage(t *testing.T) {
	e := newEnv(t)
	p := e.provider(t, "pages")
	apply(t, p, providers.OpCreate, "cluster.train", gceCluster(1), nil)
	apply(t, p, providers.OpCreate, "cluster.tpu", tpuCluster(1), nil)
	e.fake.ResetRequests()
	observe(t, p, hint("cluster.train", gceCluster(1)), hint("cluster.tpu", tpuCluster(1)))
	lists := map[string]string{}
	for _, r := range e.fake.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/aggregated/instances"), strings.HasSuffix(r.Path, "/aggregated/disks"):
			lists[r.Path[strings.LastIndex(r.Path, "/aggregated/"):]] = r.Query.Get("maxResults")
		case strings.HasSuffix(r.Path, "/nodes"):
			lists["tpu nodes"] = r.Query.Get("pageSize")
		}
	}
	want := map[string]string{"/aggregated/instances": "500", "/aggregated/disks": "500", "tpu nodes": "500"}
	if diff := cmp.Diff(want, lists); diff != "" {
		t.Errorf("page sizes of the observation's lists (-want +got):\n%s", diff)
	}
}
