package gcpfake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	tpu "google.golang.org/api/tpu/v2"
)

const project = "fake-project"

func start(t *testing.T) (*Server, *compute.Service, *tpu.Service) {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	c, err := compute.NewService(ctx, option.WithEndpoint(s.ComputeEndpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tpu.NewService(ctx, option.WithEndpoint(s.TPUEndpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return s, c, tp
}

func vm(name, machineType string, labels map[string]string) *compute.Instance {
	return &compute.Instance{
		Name: name, MachineType: "zones/us-central1-a/machineTypes/" + machineType, Labels: labels,
		Disks: []*compute.AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &compute.AttachedDiskInitializeParams{
			SourceImage: "projects/debian-cloud/global/images/family/debian-12", DiskSizeGb: 50,
			DiskType: "zones/us-central1-a/diskTypes/pd-balanced", Labels: labels}}},
		NetworkInterfaces: []*compute.NetworkInterface{{}},
	}
}

func TestInsertOperationProgressesOverPolls(t *testing.T) {
	s, c, _ := start(t)
	ctx := context.Background()
	op, err := c.Instances.Insert(project, "us-central1-a", vm("a", "n2-standard-4", map[string]string{"team": "ml"})).Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if op.Status != "PENDING" || op.OperationType != "insert" {
		t.Fatalf("insert op = %s %s, want PENDING insert", op.Status, op.OperationType)
	}
	if got := s.Instance(project, "us-central1-a", "a"); got == nil || got.Status != "PROVISIONING" {
		t.Fatalf("instance right after insert: %+v", got)
	}
	var seen []string
	for i := 0; i < 5 && op.Status != "DONE"; i++ {
		if op, err = c.ZoneOperations.Wait(project, "us-central1-a", op.Name).Context(ctx).Do(); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, op.Status)
	}
	if diff := cmp.Diff([]string{"RUNNING", "DONE"}, seen); diff != "" {
		t.Errorf("statuses over polls (-want +got):\n%s", diff)
	}
	inst, err := c.Instances.Get(project, "us-central1-a", "a").Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != "RUNNING" || !strings.HasSuffix(inst.MachineType, "/machineTypes/n2-standard-4") || inst.Id == 0 {
		t.Errorf("instance after op: status %s machineType %s id %d", inst.Status, inst.MachineType, inst.Id)
	}
	disks := s.Disks()
	if len(disks) != 1 || !strings.HasSuffix(disks[0].Type, "/diskTypes/pd-balanced") || disks[0].SizeGb != 50 || disks[0].Labels["team"] != "ml" {
		t.Errorf("boot disk = %+v", disks)
	}
	// Duplicate names are refused with 409 alreadyExists.
	_, err = c.Instances.Insert(project, "us-central1-a", vm("a", "n2-standard-4", nil)).Context(ctx).Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 409 || len(gerr.Errors) == 0 || gerr.Errors[0].Reason != "alreadyExists" {
		t.Errorf("duplicate insert error = %v", err)
	}
	// Delete removes the instance and its auto-delete disk once done.
	op, err = c.Instances.Delete(project, "us-central1-a", "a").Context(ctx).Do()
	if err != nil {
		t.Fatal(err)
	}
	for op.Status != "DONE" {
		op, _ = c.ZoneOperations.Get(project, "us-central1-a", op.Name).Context(ctx).Do()
	}
	if len(s.Instances()) != 0 || len(s.Disks()) != 0 {
		t.Errorf("after delete: %d instances, %d disks", len(s.Instances()), len(s.Disks()))
	}
}

func TestAggregatedListFilterAndPagination(t *testing.T) {
	s, c, _ := start(t)
	s.MaxPageSize = 2
	s.OperationPolls = 0
	ctx := context.Background()
	owned := map[string]string{"skyplan-managed": "true", "skyplan-workspace": "prod"}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.AddInstance(project, "us-central1-a", vm(n, "n2-standard-4", owned)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddInstance(project, "us-central1-a", vm("other", "n2-standard-4", map[string]string{"skyplan-managed": "true", "skyplan-workspace": "dev"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInstance(project, "us-central1-a", vm("unlabelled", "n2-standard-4", nil)); err != nil {
		t.Fatal(err)
	}
	var names []string
	pages := 0
	err := c.Instances.AggregatedList(project).Filter(`(labels.skyplan-managed = "true") (labels.skyplan-workspace = "prod")`).
		Pages(ctx, func(l *compute.InstanceAggregatedList) error {
			pages++
			for _, scope := range l.Items {
				for _, inst := range scope.Instances {
					names = append(names, inst.Name)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("filtered names (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2 (page size 2, 3 results)", pages)
	}
	if n := s.CountRequests("GET", "/compute/v1/projects/*/aggregated/instances"); n != 2 {
		t.Errorf("aggregatedList requests = %d, want 2", n)
	}
	// Label presence and AND keyword.
	list, err := c.Instances.List(project, "us-central1-a").Filter(`labels.skyplan-managed = "true" AND labels.skyplan-workspace != "prod"`).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "other" {
		t.Errorf("!= filter: %v", list.Items)
	}
	if _, err := c.Instances.List(project, "us-central1-a").Filter(`(name = "a") OR (name = "b")`).Do(); httpCodeOf(err) != 400 {
		t.Errorf("OR filter: err = %v, want 400", err)
	}
	if _, err := c.Instances.List(project, "us-central1-a").MaxResults(501).Do(); httpCodeOf(err) != 400 {
		t.Errorf("maxResults 501: err = %v, want 400", err)
	}
	if _, err := c.Instances.List(project, "no-such-zone").Do(); httpCodeOf(err) != 404 {
		t.Errorf("unknown zone: err = %v, want 404", err)
	}
}

func httpCodeOf(err error) int {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code
	}
	return 0
}

func TestInsertValidation(t *testing.T) {
	_, c, _ := start(t)
	tests := []struct {
		name string
		edit func(*compute.Instance)
		want string
	}{
		{"bad name", func(i *compute.Instance) { i.Name = "Bad_Name" }, "resource.name"},
		{"gpu without TERMINATE", func(i *compute.Instance) { i.MachineType = "zones/us-central1-a/machineTypes/a2-highgpu-1g" }, "live migration"},
		{"guest accelerators on a2", func(i *compute.Instance) {
			i.MachineType = "zones/us-central1-a/machineTypes/a2-highgpu-1g"
			i.GuestAccelerators = []*compute.AcceleratorConfig{{AcceleratorType: "zones/us-central1-a/acceleratorTypes/nvidia-tesla-t4", AcceleratorCount: 1}}
		}, "built-in accelerators"},
		{"spot restarting", func(i *compute.Instance) {
			i.Scheduling = &compute.Scheduling{ProvisioningModel: "SPOT", OnHostMaintenance: "TERMINATE"}
		}, "automaticRestart"},
		{"hyperdisk-extreme boot", func(i *compute.Instance) {
			i.Disks[0].InitializeParams.DiskType = "zones/us-central1-a/diskTypes/hyperdisk-extreme"
		}, "cannot be used as a boot disk"},
		{"hyperdisk IOPS above 500/GiB", func(i *compute.Instance) {
			i.Disks[0].InitializeParams.DiskType = "zones/us-central1-a/diskTypes/hyperdisk-balanced"
			i.Disks[0].InitializeParams.DiskSizeGb = 10
			i.Disks[0].InitializeParams.ProvisionedIops = 80000
		}, "provisionedIops"},
		{"upper-case label", func(i *compute.Instance) { i.Labels = map[string]string{"Team": "x"} }, "label key"},
		{"no network", func(i *compute.Instance) { i.NetworkInterfaces = nil }, "network interface"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := vm("ok", "n2-standard-4", nil)
			tt.edit(in)
			_, err := c.Instances.Insert(project, "us-central1-a", in).Do()
			if httpCodeOf(err) != 400 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want 400 mentioning %q", err, tt.want)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	s, c, _ := start(t)
	ctx := context.Background()
	s.Inject("GET", "/compute/v1/projects/*/zones", ServiceDisabled("compute.googleapis.com"))
	_, err := c.Zones.List(project).Context(ctx).Do()
	if httpCodeOf(err) != 403 || !strings.Contains(err.Error(), "compute.googleapis.com API has not been used in project fake-project") {
		t.Errorf("service disabled: %v", err)
	}
	s.ClearFaults()
	s.Inject("POST", "/compute/v1/projects/*/zones/*/instances", RateLimited(1))
	if _, err := c.Instances.Insert(project, "us-central1-a", vm("x", "n2-standard-4", nil)).Do(); httpCodeOf(err) != 429 {
		t.Errorf("first insert: %v, want 429", err)
	}
	if _, err := c.Instances.Insert(project, "us-central1-a", vm("x", "n2-standard-4", nil)).Do(); err != nil {
		t.Errorf("second insert (fault used up): %v", err)
	}
	s.Inject("POST", "/compute/v1/projects/*/zones/*/instances", QuotaExceeded("NVIDIA_A100_GPUS"))
	op, err := c.Instances.Insert(project, "us-central1-a", vm("y", "n2-standard-4", nil)).Do()
	if err != nil {
		t.Fatal(err)
	}
	for op.Status != "DONE" {
		op, _ = c.ZoneOperations.Wait(project, "us-central1-a", op.Name).Do()
	}
	if op.Error == nil || op.Error.Errors[0].Code != "QUOTA_EXCEEDED" || !strings.Contains(op.Error.Errors[0].Message, "us-central1") {
		t.Errorf("quota op error = %+v", op.Error)
	}
	if s.Instance(project, "us-central1-a", "y") != nil {
		t.Errorf("instance y exists although its insert failed")
	}
	// Hooks can stage a race: the name appears between list and insert.
	s.ClearFaults()
	s.OnRequest("POST", "/compute/v1/projects/*/zones/*/instances", func(r *http.Request) *Fault {
		s.AddInstance(project, "us-central1-a", vm("z", "n2-standard-4", nil))
		return nil
	})
	if _, err := c.Instances.Insert(project, "us-central1-a", vm("z", "n2-standard-4", nil)).Do(); httpCodeOf(err) != 409 {
		t.Errorf("insert racing a hook-created instance: %v, want 409", err)
	}
}

func TestSetLabelsFingerprint(t *testing.T) {
	s, c, _ := start(t)
	s.OperationPolls = 0
	inst, err := s.AddInstance(project, "us-central1-a", vm("a", "n2-standard-4", map[string]string{"a": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instances.SetLabels(project, "us-central1-a", "a", &compute.InstancesSetLabelsRequest{Labels: map[string]string{"b": "2"}, LabelFingerprint: "stale"}).Do(); httpCodeOf(err) != 412 {
		t.Errorf("stale fingerprint: %v, want 412", err)
	}
	op, err := c.Instances.SetLabels(project, "us-central1-a", "a", &compute.InstancesSetLabelsRequest{Labels: map[string]string{"b": "2"}, LabelFingerprint: inst.LabelFingerprint}).Do()
	if err != nil || op.Status != "DONE" {
		t.Fatalf("setLabels: %v %v", op, err)
	}
	if got := s.Instance(project, "us-central1-a", "a").Labels; !cmp.Equal(got, map[string]string{"b": "2"}) {
		t.Errorf("labels = %v", got)
	}
}

func TestTPUNodeLifecycle(t *testing.T) {
	s, _, tp := start(t)
	s.MaxPageSize = 1
	ctx := context.Background()
	parent := "projects/" + project + "/locations/us-central2-b"
	for _, id := range []string{"n0", "n1"} {
		op, err := tp.Projects.Locations.Nodes.Create(parent, &tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "tpu-ubuntu2204-base",
			Labels: map[string]string{"team": "ml"}}).NodeId(id).Context(ctx).Do()
		if err != nil {
			t.Fatal(err)
		}
		polls := 0
		for !op.Done {
			polls++
			if op, err = tp.Projects.Locations.Operations.Get(op.Name).Context(ctx).Do(); err != nil {
				t.Fatal(err)
			}
		}
		if polls != 2 || op.Error != nil || !strings.Contains(string(op.Response), `"state":"READY"`) || !strings.Contains(string(op.Response), "google.cloud.tpu.v2.Node") {
			t.Errorf("create op after %d polls: error %v response %s", polls, op.Error, op.Response)
		}
	}
	var ids []string
	err := tp.Projects.Locations.Nodes.List(parent).Pages(ctx, func(l *tpu.ListNodesResponse) error {
		for _, n := range l.Nodes {
			ids = append(ids, n.Name[strings.LastIndex(n.Name, "/")+1:])
		}
		return nil
	})
	if err != nil || !cmp.Equal(ids, []string{"n0", "n1"}) || s.CountRequests("GET", "/v2/projects/*/locations/*/nodes") != 2 {
		t.Errorf("paged list: %v %v (%d requests)", ids, err, s.CountRequests("GET", "/v2/projects/*/locations/*/nodes"))
	}
	if _, err := tp.Projects.Locations.Nodes.Create(parent, &tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "x"}).NodeId("n0").Do(); httpCodeOf(err) != 409 {
		t.Errorf("duplicate node: %v, want 409", err)
	}
	if _, err := tp.Projects.Locations.Nodes.Create(parent, &tpu.Node{AcceleratorType: "v4-8"}).NodeId("n9").Do(); httpCodeOf(err) != 400 {
		t.Errorf("no runtime version: %v, want 400", err)
	}
	s.Inject("POST", "/v2/projects/*/locations/*/nodes", TPUQuotaExceeded())
	op, err := tp.Projects.Locations.Nodes.Create(parent, &tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "x"}).NodeId("n2").Do()
	if err != nil {
		t.Fatal(err)
	}
	for !op.Done {
		op, _ = tp.Projects.Locations.Operations.Get(op.Name).Do()
	}
	if op.Error == nil || op.Error.Code != 8 || s.Node(parent+"/nodes/n2") != nil {
		t.Errorf("quota: op error %+v, node %v", op.Error, s.Node(parent+"/nodes/n2"))
	}
	op, err = tp.Projects.Locations.Nodes.Delete(parent + "/nodes/n0").Do()
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Node(parent + "/nodes/n0"); n == nil || n.State != "DELETING" {
		t.Errorf("node during delete: %+v", n)
	}
	for !op.Done {
		op, _ = tp.Projects.Locations.Operations.Get(op.Name).Do()
	}
	if s.Node(parent+"/nodes/n0") != nil || len(s.Nodes()) != 1 {
		t.Errorf("after delete: %d nodes", len(s.Nodes()))
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want []condition
		err  bool
	}{
		{``, nil, false},
		{`labels.a = "x"`, []condition{{"labels.a", "=", "x"}}, false},
		{`(labels.skyplan-managed = "true") (labels.skyplan-workspace = "prod")`,
			[]condition{{"labels.skyplan-managed", "=", "true"}, {"labels.skyplan-workspace", "=", "prod"}}, false},
		{`name eq 'web-.*' AND status != TERMINATED`, []condition{{"name", "eq", "web-.*"}, {"status", "!=", "TERMINATED"}}, false},
		{`labels.team:*`, []condition{{"labels.team", ":", "*"}}, false},
		{`name = "a" OR name = "b"`, nil, true},
		{`name =`, nil, true},
		{`name = "unterminated`, nil, true},
		{`name ~ x`, nil, true},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("parseFilter(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(condition{})); diff != "" {
			t.Errorf("parseFilter(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// startGCS starts the GCS fake and a storage client pointed at it.
func startGCS(t *testing.T) (*GCS, *storage.Client) {
	t.Helper()
	g, err := StartGCS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	t.Setenv("STORAGE_EMULATOR_HOST", g.Host())
	client, err := storage.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return g, client
}

func TestGCSKeepsBucketMetadata(t *testing.T) {
	g, client := startGCS(t)
	ctx := context.Background()
	b := client.Bucket("jobs")
	if err := b.Create(ctx, project, &storage.BucketAttrs{Location: "us-central1", StorageClass: "NEARLINE", VersioningEnabled: true,
		Labels: map[string]string{"team": "ml", "skyplan-managed": "true"}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := b.Attrs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Location != "US-CENTRAL1" || attrs.StorageClass != "NEARLINE" || !attrs.VersioningEnabled || attrs.Labels["team"] != "ml" {
		t.Errorf("attrs after create: location %s class %s versioning %v labels %v", attrs.Location, attrs.StorageClass, attrs.VersioningEnabled, attrs.Labels)
	}
	// A labels-only patch keeps versioning (fake-gcs-server alone would reset it).
	var upd storage.BucketAttrsToUpdate
	upd.DeleteLabel("team")
	upd.SetLabel("owner", "alice")
	if _, err := b.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	it := client.Buckets(ctx, project)
	got, err := it.Next()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"owner": "alice", "skyplan-managed": "true"}, got.Labels); diff != "" || !got.VersioningEnabled {
		t.Errorf("listed bucket: versioning %v, labels (-want +got):\n%s", got.VersioningEnabled, diff)
	}
	if _, err := it.Next(); !errors.Is(err, iterator.Done) {
		t.Errorf("second bucket: %v", err)
	}
	if _, err := b.Update(ctx, storage.BucketAttrsToUpdate{}); err != nil {
		t.Fatal(err)
	}
	g.PutObject("jobs", "a.txt", []byte("x"))
	if err := b.Delete(ctx); httpCodeOf(err) != 409 {
		t.Errorf("delete non-empty: %v, want 409", err)
	}
	if err := b.Object("a.txt").Delete(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := client.Bucket("jobs").Object("missing").NewReader(ctx)
	if err == nil {
		io.Copy(io.Discard, r)
		t.Errorf("reading a missing object succeeded")
	}
	if err := b.Delete(ctx); err != nil || g.BucketExists("jobs") {
		t.Errorf("delete empty: %v (exists %v)", err, g.BucketExists("jobs"))
	}
	g.Inject("GET", "/storage/v1/b", Forbidden())
	if _, err := client.Buckets(ctx, project).Next(); httpCodeOf(err) != 403 {
		t.Errorf("injected 403 on bucket list: %v", err)
	}
}

func TestPowerOperations(t *testing.T) {
	s, c, _ := start(t)
	ctx := context.Background()
	in := vm("a", "n2-standard-4", nil)
	in.NetworkInterfaces[0].AccessConfigs = []*compute.AccessConfig{{}}
	if _, err := s.AddInstance(project, "us-central1-a", in); err != nil {
		t.Fatal(err)
	}
	status := func() string { return s.Instance(project, "us-central1-a", "a").Status }
	natIP := func() string {
		return s.Instance(project, "us-central1-a", "a").NetworkInterfaces[0].AccessConfigs[0].NatIP
	}
	finish := func(op *compute.Operation, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; op.Status != "DONE"; i++ {
			if op, err = c.ZoneOperations.Wait(project, "us-central1-a", op.Name).Context(ctx).Do(); err != nil || i > 5 {
				t.Fatalf("operation %s: %v", op.Name, err)
			}
		}
		if op.Error != nil {
			t.Fatalf("operation %s failed: %+v", op.Name, op.Error.Errors[0])
		}
	}
	ip := natIP()

	// Stop: STOPPING until the operation is done, then TERMINATED without its external IP.
	op, err := c.Instances.Stop(project, "us-central1-a", "a").Context(ctx).Do()
	if err != nil || status() != "STOPPING" {
		t.Fatalf("stop: %v, status %s; want STOPPING while the operation runs", err, status())
	}
	// An instance in transition is not ready for another power operation.
	_, err = c.Instances.Start(project, "us-central1-a", "a").Context(ctx).Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 400 || len(gerr.Errors) == 0 || gerr.Errors[0].Reason != "resourceNotReady" {
		t.Errorf("start while stopping: %v, want 400 resourceNotReady", err)
	}
	finish(op, nil)
	if status() != "TERMINATED" || natIP() != "" || s.Instance(project, "us-central1-a", "a").LastStopTimestamp == "" {
		t.Errorf("after stop: status %s, natIP %q", status(), natIP())
	}
	finish(c.Instances.Stop(project, "us-central1-a", "a").Context(ctx).Do()) // stopping a stopped instance is a no-op
	if status() != "TERMINATED" {
		t.Errorf("second stop: status %s", status())
	}
	// Start: STAGING, then RUNNING with its IP again.
	op, err = c.Instances.Start(project, "us-central1-a", "a").Context(ctx).Do()
	if err != nil || status() != "STAGING" {
		t.Fatalf("start: %v, status %s; want STAGING", err, status())
	}
	finish(op, nil)
	if status() != "RUNNING" || natIP() != ip {
		t.Errorf("after start: status %s, natIP %q (want %q)", status(), natIP(), ip)
	}
	finish(c.Instances.Start(project, "us-central1-a", "a").Context(ctx).Do()) // starting a running instance is a no-op
	// Suspend, then start is refused and resume brings it back.
	finish(c.Instances.Suspend(project, "us-central1-a", "a").Context(ctx).Do())
	if status() != "SUSPENDED" {
		t.Fatalf("after suspend: %s", status())
	}
	if _, err := c.Instances.Start(project, "us-central1-a", "a").Context(ctx).Do(); httpCodeOf(err) != 400 {
		t.Errorf("start of a suspended instance: %v, want 400", err)
	}
	finish(c.Instances.Resume(project, "us-central1-a", "a").Context(ctx).Do())
	if status() != "RUNNING" {
		t.Errorf("after resume: %s", status())
	}
	if _, err := c.Instances.Resume(project, "us-central1-a", "a").Context(ctx).Do(); httpCodeOf(err) != 400 {
		t.Errorf("resume of a running instance: %v, want 400", err)
	}
	if _, err := c.Instances.Stop(project, "us-central1-a", "nope").Context(ctx).Do(); httpCodeOf(err) != 404 {
		t.Errorf("stop of a missing instance: %v, want 404", err)
	}
}
