package gcpfake

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	compute "google.golang.org/api/compute/v1"
	tpu "google.golang.org/api/tpu/v2"
)

// vmIn is vm in another zone.
func vmIn(zone, name string) *compute.Instance {
	in := vm(name, "n2-standard-4", nil)
	in.MachineType = "zones/" + zone + "/machineTypes/n2-standard-4"
	in.Disks[0].InitializeParams.DiskType = "zones/" + zone + "/diskTypes/pd-balanced"
	return in
}

// insertOutcome inserts and waits: "" when the instance was created, else
// the operation's error code.
func insertOutcome(t *testing.T, c *compute.Service, zone, name string) (code, message string) {
	t.Helper()
	op, err := c.Instances.Insert(project, zone, vmIn(zone, name)).Do()
	if err != nil {
		t.Fatalf("insert %s in %s: %v", name, zone, err)
	}
	for op.Status != "DONE" {
		if op, err = c.ZoneOperations.Wait(project, zone, op.Name).Do(); err != nil {
			t.Fatal(err)
		}
	}
	if op.Error == nil {
		return "", ""
	}
	return op.Error.Errors[0].Code, op.Error.Errors[0].Message
}

func TestFractionFaultsAreSeeded(t *testing.T) {
	s, c, _ := start(t)
	s.OperationPolls = 0
	if _, err := s.AddInstance(project, "us-central1-a", vm("a", "n2-standard-4", nil)); err != nil {
		t.Fatal(err)
	}
	pattern := func(seed uint64) string {
		s.ClearFaults()
		s.SetSeed(seed)
		f := Unavailable()
		f.Fraction = 0.5
		s.Inject("GET", "/compute/v1/projects/*/zones/*/instances/*", f)
		var b strings.Builder
		for range 24 {
			_, err := c.Instances.Get(project, "us-central1-a", "a").Do()
			switch code := httpCodeOf(err); {
			case err == nil:
				b.WriteByte('.')
			case code == 503:
				b.WriteByte('x')
			default:
				t.Fatalf("get: %v", err)
			}
		}
		return b.String()
	}
	s.ResetRequests()
	a := pattern(7)
	if n := s.CountRequests("GET", "/compute/v1/projects/*/zones/*/instances/*"); n != 24 {
		t.Errorf("%d requests for 24 gets: the client retried", n)
	}
	if again, other := pattern(7), pattern(8); again != a || other == a {
		t.Errorf("seed 7: %s then %s; seed 8: %s", a, again, other)
	}
	if n := strings.Count(a, "x"); n == 0 || n == len(a) {
		t.Errorf("fraction 0.5 failed %d of %d gets: %s", n, len(a), a)
	}
}

// TestDroppedAnswerAfterTheCallTookEffect: the insert is served and its
// answer lost; a retry by name finds the instance (409), which is how a
// client recovers on GCE, where the name is the idempotency key.
func TestDroppedAnswerAfterTheCallTookEffect(t *testing.T) {
	s, c, tp := start(t)
	s.OperationPolls = 0
	s.Inject("POST", "/compute/v1/projects/*/zones/*/instances", Fault{Drop: true, Times: 1})
	_, err := c.Instances.Insert(project, "us-central1-a", vm("lost", "n2-standard-4", nil)).Do()
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("insert with a dropped answer: %v, want a connection reset", err)
	}
	if inst := s.Instance(project, "us-central1-a", "lost"); inst == nil || inst.Status != "RUNNING" {
		t.Fatalf("instance after the dropped answer: %+v, want it created", inst)
	}
	if _, err := c.Instances.Insert(project, "us-central1-a", vm("lost", "n2-standard-4", nil)).Do(); httpCodeOf(err) != 409 {
		t.Errorf("retried insert: %v, want 409", err)
	}

	parent := "projects/" + project + "/locations/us-central2-b"
	s.Inject("POST", "/v2/projects/*/locations/*/nodes", Fault{Drop: true, Times: 1})
	node := &tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "tpu-ubuntu2204-base"}
	if _, err := tp.Projects.Locations.Nodes.Create(parent, node).NodeId("t").Do(); err == nil {
		t.Fatal("TPU create with a dropped answer succeeded")
	}
	if s.Node(parent+"/nodes/t") == nil {
		t.Fatal("TPU node not created by the dropped request")
	}
	if _, err := tp.Projects.Locations.Nodes.Create(parent, node).NodeId("t").Do(); httpCodeOf(err) != 409 {
		t.Errorf("retried TPU create: %v, want 409", err)
	}
}

func TestCapacityFaultsPerZone(t *testing.T) {
	s, c, tp := start(t)
	s.OperationPolls = 0
	s.ExhaustZone("us-central1-a")
	s.ExceedQuota("us-central1-c", "NVIDIA_A100_GPUS")
	type outcome struct{ Code, Message string }
	var got []outcome
	for i, zone := range []string{"us-central1-a", "us-central1-b", "us-central1-c"} {
		code, msg := insertOutcome(t, c, zone, "vm"+string(rune('0'+i)))
		got = append(got, outcome{code, msg})
	}
	want := []outcome{
		{"ZONE_RESOURCE_POOL_EXHAUSTED", "The zone 'us-central1-a' does not have enough resources available to fulfill the request.  Try a different zone, or try again later."},
		{"", ""},
		{"QUOTA_EXCEEDED", "Quota 'NVIDIA_A100_GPUS' exceeded.  Limit: 0.0 in region us-central1."},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inserts per zone (-want +got):\n%s", diff)
	}
	if s.Instance(project, "us-central1-a", "vm0") != nil || s.Instance(project, "us-central1-b", "vm1") == nil {
		t.Error("the exhausted zone created an instance, or the other zone did not")
	}

	s.ExhaustZone("us-central2-b")
	create := func(zone string) *tpu.Status {
		op, err := tp.Projects.Locations.Nodes.Create("projects/"+project+"/locations/"+zone,
			&tpu.Node{AcceleratorType: "v4-8", RuntimeVersion: "tpu-ubuntu2204-base"}).NodeId("n").Do()
		if err != nil {
			t.Fatal(err)
		}
		for !op.Done {
			if op, err = tp.Projects.Locations.Operations.Get(op.Name).Do(); err != nil {
				t.Fatal(err)
			}
		}
		return op.Error
	}
	if st := create("us-central2-b"); st == nil || st.Code != 8 || !strings.Contains(st.Message, `"us-central2-b"`) {
		t.Errorf("TPU create in the exhausted zone: %+v, want RESOURCE_EXHAUSTED (8) naming the zone", st)
	}
	if st := create("us-east5-a"); st != nil {
		t.Errorf("TPU create in another zone: %+v", st)
	}
}

func TestGCSDroppedAnswer(t *testing.T) {
	g, client := startGCS(t)
	ctx := context.Background()
	g.Inject("POST", "/storage/v1/b", Fault{Drop: true, Times: 1})
	// The client retries the insert after the reset, and the retry finds
	// the bucket the first one created.
	err := client.Bucket("dropped").Create(ctx, project, nil)
	if httpCodeOf(err) != 409 {
		t.Fatalf("create with a dropped answer: %v, want the retry's 409", err)
	}
	if !g.BucketExists("dropped") {
		t.Error("bucket not created by the dropped request")
	}
	inserts := 0
	for _, r := range g.Requests() {
		if r.Method == "POST" && r.Path == "/storage/v1/b" {
			inserts++
		}
	}
	if inserts != 2 {
		t.Errorf("%d bucket inserts, want 2 (the dropped one and the retry)", inserts)
	}
}
