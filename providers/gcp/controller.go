package gcp

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/skyplan/skyplan/state"
	compute "google.golang.org/api/compute/v1"
)

// A jobs_controller is one GCE instance whose configuration (jobs bucket,
// job clouds) is an instance metadata item: the controller reads it from the
// metadata server, and setMetadata changes it in place.
const controllerMetadataKey = "skyplan-controller-config"

type controllerConfig struct {
	Workspace string   `json:"workspace"`
	Bucket    string   `json:"bucket"`
	JobClouds []string `json:"job_clouds"`
}

func controllerMetadata(workspace string, desired state.Attrs) string {
	jc := desired.StringList("job_clouds")
	if jc == nil {
		jc = []string{}
	}
	b, _ := json.Marshal(controllerConfig{Workspace: workspace, Bucket: desired.String("bucket"), JobClouds: jc})
	return string(b)
}

// metadataValue returns one metadata item's value.
func metadataValue(md *compute.Metadata, key string) (string, bool) {
	if md == nil {
		return "", false
	}
	for _, it := range md.Items {
		if it != nil && it.Key == key && it.Value != nil {
			return *it.Value, true
		}
	}
	return "", false
}

// controllerAttrs reads the configuration back in spec terms.
func controllerAttrs(md *compute.Metadata) map[string]any {
	v, ok := metadataValue(md, controllerMetadataKey)
	if !ok {
		return nil
	}
	var c controllerConfig
	if json.Unmarshal([]byte(v), &c) != nil {
		return nil
	}
	if c.JobClouds == nil {
		c.JobClouds = []string{}
	}
	return map[string]any{"bucket": c.Bucket, "job_clouds": c.JobClouds}
}

// withMetadataItem returns md's items with key set to value.
func withMetadataItem(md *compute.Metadata, key, value string) []*compute.MetadataItems {
	var items []*compute.MetadataItems
	if md != nil {
		for _, it := range md.Items {
			if it != nil && it.Key != key {
				items = append(items, it)
			}
		}
	}
	return append(items, &compute.MetadataItems{Key: key, Value: &value})
}

// setControllerMetadata rewrites the configuration item.
func (p *Provider) setControllerMetadata(ctx context.Context, svc *compute.Service, s *gceSpec, inst *compute.Instance) error {
	what := fmt.Sprintf("setting metadata of instance %s in zone %s", inst.Name, s.zone)
	return p.withFingerprint(ctx, svc, s, inst, what, func(ctx context.Context, inst *compute.Instance) (*compute.Operation, error) {
		md := &compute.Metadata{Items: withMetadataItem(inst.Metadata, controllerMetadataKey, s.controllerConfig)}
		if inst.Metadata != nil {
			md.Fingerprint = inst.Metadata.Fingerprint
		}
		return svc.Instances.SetMetadata(p.project, s.zone, inst.Name, md).Context(ctx).Do()
	})
}
