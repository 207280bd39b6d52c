package aws

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/skyplan/skyplan/state"
)

// A jobs_controller is one EC2 instance. Its configuration (the jobs bucket
// and the clouds jobs run on) reaches it two ways: as user-data at launch and
// as instance tags, which EC2 exposes through instance metadata and which can
// change in place — so a configuration change is an update, not a replace.
const (
	tagControllerBucket    = "skyplan-controller-bucket"
	tagControllerJobClouds = "skyplan-controller-job-clouds"
)

// ControllerConfig is what a managed-jobs controller is told.
type ControllerConfig struct {
	Workspace string   `json:"workspace"`
	Bucket    string   `json:"bucket"`
	JobClouds []string `json:"job_clouds"`
}

func controllerConfig(workspace string, desired state.Attrs) ControllerConfig {
	jc := desired.StringList("job_clouds")
	return ControllerConfig{Workspace: workspace, Bucket: desired.String("bucket"), JobClouds: jc}
}

func (c ControllerConfig) tags() map[string]string {
	return map[string]string{tagControllerBucket: c.Bucket, tagControllerJobClouds: strings.Join(c.JobClouds, ",")}
}

// userData is a cloud-init file that writes the configuration for the controller.
func (c ControllerConfig) userData() string {
	b, _ := json.MarshalIndent(c, "", "  ")
	doc := "#cloud-config\nwrite_files:\n  - path: /etc/skyplan/controller.json\n    permissions: '0644'\n    content: |\n"
	for _, line := range strings.Split(string(b), "\n") {
		doc += "      " + line + "\n"
	}
	return base64.StdEncoding.EncodeToString([]byte(doc))
}

// controllerAttrs reads a controller's configuration back from its tags.
func controllerAttrs(tags map[string]string) map[string]any {
	attrs := map[string]any{}
	if b, ok := tags[tagControllerBucket]; ok {
		attrs["bucket"] = b
	}
	if jc, ok := tags[tagControllerJobClouds]; ok {
		list := []string{}
		if jc != "" {
			list = strings.Split(jc, ",")
		}
		attrs["job_clouds"] = list
	}
	return attrs
}

// syncConfigTags rewrites the configuration tags where they differ.
func (p *Provider) syncConfigTags(ctx context.Context, client *ec2.Client, addr, region string, nodes map[int]ec2types.Instance, want map[string]string) error {
	var ids []string
	for _, idx := range sortedInts(nodes) {
		have := tagMap(nodes[idx].Tags)
		for k, v := range want {
			if hv, ok := have[k]; !ok || hv != v {
				ids = append(ids, awssdk.ToString(nodes[idx].InstanceId))
				break
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: ids, Tags: ec2Tags(want)}); err != nil {
		return wrapErr(addr, "CreateTags", region, err)
	}
	return nil
}
