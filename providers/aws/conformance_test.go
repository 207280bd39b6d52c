package aws

import (
	"context"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/providers/providertest"
)

// clusterAttrs are a cluster's desired attributes as the spec loader
// produces them (defaults filled, instance_type set).
func clusterAttrs(nodes int64) map[string]any {
	return map[string]any{
		"cloud":            "aws",
		"region":           "us-east-1",
		"instance_type":    "t3.micro",
		"nodes":            nodes,
		"disk_size":        int64(256),
		"disk_tier":        "medium",
		"use_spot":         false,
		"use_internal_ips": false,
		"tpu_vm":           true,
		"labels":           map[string]string{"team": "research"},
	}
}

func TestConformance(t *testing.T) {
	needMoto(t)
	raw := rawEC2(t, "us-east-1")
	bucket := unique("skyplan-conf")
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T, workspace string) providers.Provider {
			return newProvider(t, workspace, nil)
		},
		Cluster:      clusterAttrs,
		ReplaceAttr:  "instance_type",
		ReplaceValue: "t3.small",
		Bucket: func() map[string]any {
			return map[string]any{"cloud": "aws", "name": bucket, "region": "us-east-1", "versioning": false, "force_destroy": false}
		},
		DeleteOutOfBand: func(t *testing.T, id string) {
			if _, err := raw.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
				t.Fatal(err)
			}
		},
		CreateUnowned: func(t *testing.T) string {
			out, err := raw.RunInstances(context.Background(), &ec2.RunInstancesInput{
				ImageId: awssdk.String(anyImage(t, raw)), InstanceType: ec2types.InstanceTypeT3Micro,
				MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
			})
			if err != nil {
				t.Fatal(err)
			}
			return awssdk.ToString(out.Instances[0].InstanceId)
		},
		Exists: func(t *testing.T, id string) bool {
			inst := describeByID(t, raw, id)
			return isLive(inst)
		},
	})
}
