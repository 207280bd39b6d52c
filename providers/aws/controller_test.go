package aws

import (
	"encoding/base64"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func applyController(t *testing.T, p *Provider, ws string, op providers.Operation, desired state.Attrs, prior *state.Resource) *state.Resource {
	t.Helper()
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: op, Workspace: ws, Address: "jobs_controller.main", Type: spec.TypeJobsController, Desired: desired, Prior: prior})
	if err != nil {
		t.Fatalf("%s jobs_controller.main: %v", op, err)
	}
	return res
}

func TestControllerConfigDeliveredAndUpdatedInPlace(t *testing.T) {
	needMoto(t)
	ws := unique("ctrl")
	p := newProvider(t, ws, nil)
	desired := map[string]any{"cloud": "aws", "region": "us-east-1", "instance_type": "m6i.xlarge", "disk_size": int64(50),
		"bucket": "jobs-bucket", "job_clouds": []string{"aws", "gcp"}}
	created := applyController(t, p, ws, providers.OpCreate, desired, nil)
	if len(created.IDs) != 1 {
		t.Fatalf("controller IDs = %v, want one instance", created.IDs)
	}
	client := rawEC2(t, "us-east-1")
	ud, err := client.DescribeInstanceAttribute(testCtx(t), &ec2.DescribeInstanceAttributeInput{
		InstanceId: awssdk.String(created.IDs[0]), Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(awssdk.ToString(ud.UserData.Value))
	for _, want := range []string{"/etc/skyplan/controller.json", `"bucket": "jobs-bucket"`, `"gcp"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("user-data lacks %q:\n%s", want, raw)
		}
	}
	got := observeAddr(t, p, ws, "jobs_controller.main")
	if got == nil || got.Type != spec.TypeJobsController {
		t.Fatalf("controller not observed: %+v", got)
	}
	if diff := cmp.Diff(map[string]any{"bucket": "jobs-bucket", "job_clouds": []string{"aws", "gcp"}},
		map[string]any{"bucket": got.Attrs["bucket"], "job_clouds": got.Attrs["job_clouds"]}); diff != "" {
		t.Errorf("observed configuration (-want +got):\n%s", diff)
	}

	// A configuration change keeps the instance.
	desired["bucket"] = "other-bucket"
	desired["job_clouds"] = []string{"kubernetes"}
	updated := applyController(t, p, ws, providers.OpUpdate, desired, got)
	if diff := cmp.Diff(created.IDs, updated.IDs); diff != "" {
		t.Fatalf("config update replaced the instance (-before +after):\n%s", diff)
	}
	got = observeAddr(t, p, ws, "jobs_controller.main")
	if got.Attrs["bucket"] != "other-bucket" || !cmp.Equal(got.Attrs["job_clouds"], []string{"kubernetes"}) {
		t.Fatalf("observed after update: bucket=%v job_clouds=%v", got.Attrs["bucket"], got.Attrs["job_clouds"])
	}
	if labels := got.Attrs["labels"].(map[string]string); len(labels) != 0 {
		t.Errorf("configuration tags leaked into labels: %v", labels)
	}

	applyController(t, p, ws, providers.OpDelete, nil, got)
	if got := observeAddr(t, p, ws, "jobs_controller.main"); got != nil {
		t.Fatalf("controller still observed after delete: %+v", got)
	}
}
