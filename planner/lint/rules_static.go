package lint

import (
	"fmt"
	"strings"

	"github.com/skyplan/skyplan/internal/catalog"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// Rules returns every rule, in documentation order.
func Rules() []*Rule {
	return []*Rule{
		RuleNoUsableSubnet, RuleCapabilityNotDeclared, RuleCapabilityDenied, RuleJobCloudWithoutCompute,
		RuleControllerBucketWithoutStorage, RuleTPUNode, RuleDiskTier, RuleAcceleratorNotOffered,
		RuleUnlabeledGPUNodes, RuleInvalidGPULabel, RuleGPULabelWithoutGPUs, RuleControllerCloudChange,
		RuleBucketName, RuleLabels, RuleIgnoreWithoutReason,
	}
}

var RuleCapabilityNotDeclared = &Rule{
	ID: "SP-CLOUD-001", Name: "capability-not-declared", Severity: Error,
	Description: "A resource needs a capability (compute or storage) that its cloud block does not declare.",
	Help:        "Add the capability to the cloud block's capabilities, or move the resource to a cloud that has it.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			cloud := c.Config.Clouds[r.Cloud()]
			need := r.Schema().Needs
			if cloud == nil || cloud.HasCapability(need) {
				continue
			}
			out = append(out, resourceFinding(r, "cloud",
				fmt.Sprintf("%s needs %s on %s, but cloud %q declares capabilities %s", r.Address(), need, r.Cloud(), r.Cloud(), capList(cloud)),
				fmt.Sprintf("in cloud %q: capabilities = %s", r.Cloud(), capListWith(cloud, need))))
		}
		return out
	},
}

var RuleJobCloudWithoutCompute = &Rule{
	ID: "SP-CLOUD-003", Name: "job-cloud-without-compute", Severity: Error,
	Description: "A jobs_controller lists a job cloud whose cloud block does not declare compute: jobs sent there fail at pre-checks.",
	Help:        "Declare compute on that cloud, or remove it from job_clouds.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			if r.Type != spec.TypeJobsController {
				continue
			}
			for _, jc := range r.StringList("job_clouds") {
				cloud := c.Config.Clouds[jc]
				if cloud == nil || cloud.HasCapability(spec.CapCompute) {
					continue
				}
				out = append(out, resourceFinding(r, "job_clouds",
					fmt.Sprintf("%s sends jobs to %s, but cloud %q declares capabilities %s (no compute)", r.Address(), jc, jc, capList(cloud)),
					fmt.Sprintf("in cloud %q: capabilities = %s, or remove %q from job_clouds", jc, capListWith(cloud, spec.CapCompute), jc)))
			}
		}
		return out
	},
}

var RuleControllerBucketWithoutStorage = &Rule{
	ID: "SP-CLOUD-004", Name: "controller-bucket-without-storage", Severity: Error,
	Description: "A jobs_controller's bucket lives on a cloud that does not declare storage.",
	Help:        "Declare storage on the bucket's cloud.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			if r.Type != spec.TypeJobsController {
				continue
			}
			b := c.bucketNamed(r.String("bucket"))
			if b == nil {
				continue
			}
			cloud := c.Config.Clouds[b.Cloud()]
			if cloud == nil || cloud.HasCapability(spec.CapStorage) {
				continue
			}
			out = append(out, resourceFinding(r, "bucket",
				fmt.Sprintf("%s uses bucket %q (%s on %s), but cloud %q declares capabilities %s (no storage)", r.Address(), b.String("name"), b.Address(), b.Cloud(), b.Cloud(), capList(cloud)),
				fmt.Sprintf("in cloud %q: capabilities = %s", b.Cloud(), capListWith(cloud, spec.CapStorage))))
		}
		return out
	},
}

var RuleTPUNode = &Rule{
	ID: "SP-GCP-001", Name: "tpu-node-requested", Severity: Error,
	Description: "A cluster asks for a legacy TPU Node (tpu_vm = false). GCP refuses to create TPU Nodes (the v1 architecture with a separate host VM) for new users; only TPU VMs are created.",
	Help:        "Use a TPU VM: remove tpu_vm = false.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			if r.Type != spec.TypeCluster || !catalog.IsTPU(r.String("accelerators")) {
				continue
			}
			if v, set := r.Attrs["tpu_vm"].(bool); set && !v {
				out = append(out, resourceFinding(r, "tpu_vm",
					fmt.Sprintf("%s asks for %s as a legacy TPU Node; GCP no longer creates TPU Nodes (v2/v3 with a separate host VM) for new users", r.Address(), r.String("accelerators")),
					"use a TPU VM (remove tpu_vm = false)"))
			}
		}
		return out
	},
}

var RuleDiskTier = &Rule{
	ID: "SP-DISK-001", Name: "disk-tier-unsupported", Severity: Error,
	Description: "The disk_tier cannot be used by the instance type's machine family (e.g. pd-extreme or pd-standard where the family does not support it).",
	Help:        "Pick one of the tiers the finding lists, or 'best' for the best the family allows.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			tier := r.String("disk_tier")
			it := r.String("instance_type")
			if r.Type != spec.TypeCluster || tier == "" || it == "" || catalog.IsTPU(r.String("accelerators")) {
				continue
			}
			if _, err := catalog.ResolveDisk(r.Cloud(), it, tier, r.Int("disk_size")); err != nil {
				allowed := catalog.AllowedDiskTiersFor(r.Cloud(), it)
				out = append(out, resourceFinding(r, "disk_tier",
					fmt.Sprintf("%s: %v", r.Address(), err),
					fmt.Sprintf("disk_tier = %q (allowed for %s: %s)", allowed[len(allowed)-1], it, strings.Join(allowed, ", "))))
			}
		}
		return out
	},
}

var RuleAcceleratorNotOffered = &Rule{
	ID: "SP-ACC-001", Name: "accelerator-not-offered", Severity: Error,
	Description: "The instance type or TPU is not offered in the chosen region or zone (from skyplan's catalog).",
	Help:        "Move the resource to a region or zone that offers it (the finding lists them), or pick another accelerator.",
	static: func(c *Context) []Finding {
		var out []Finding
		for _, r := range c.Config.Resources {
			if r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController {
				continue
			}
			acc := r.String("accelerators")
			if catalog.IsTPU(acc) {
				t, err := catalog.ParseTPU(acc)
				zone := r.String("zone")
				if err == nil && zone != "" && !t.Offered(zone) {
					out = append(out, resourceFinding(r, "zone",
						fmt.Sprintf("%s: TPU %s is not offered in zone %s", r.Address(), t.Name, zone),
						fmt.Sprintf("zone = %q (%s is offered in %s)", t.Zones[0], t.Name, firstN(t.Zones, 8))))
				}
				continue
			}
			t, known := catalog.LookupMachine(r.Cloud(), r.String("instance_type"), acc)
			if !known {
				continue
			}
			loc, attr := r.String("region"), "region"
			if r.Cloud() == "gcp" || r.String("zone") != "" && r.Cloud() != "aws" {
				loc, attr = r.String("zone"), "zone"
			}
			if loc == "" || t.Offered(loc) {
				continue
			}
			what := t.Name
			if t.Accelerator != "" {
				what = fmt.Sprintf("%s (%d× %s)", t.Name, t.Count, t.Accelerator)
			}
			out = append(out, resourceFinding(r, attr,
				fmt.Sprintf("%s: %s is not offered in %s %s", r.Address(), what, attr, loc),
				fmt.Sprintf("%s = %q (offered in %s)", attr, t.Locations[0], firstN(t.Locations, 8))))
		}
		return out
	},
}

var RuleControllerCloudChange = &Rule{
	ID: "SP-JOBS-001", Name: "controller-cloud-change", Severity: Warning,
	Description: "A jobs_controller's cloud or region differs from the running one in state: applying replaces it, and managed jobs running on the old controller are not migrated.",
	Help:        "Drain the old controller's managed jobs first; apply then needs --allow-replace jobs_controller.NAME.",
	static: func(c *Context) []Finding {
		if c.State == nil {
			return nil
		}
		var out []Finding
		for _, r := range c.Config.Resources {
			if r.Type != spec.TypeJobsController {
				continue
			}
			prior := c.State.Resource(r.Address())
			if prior == nil {
				continue
			}
			for _, attr := range []string{"cloud", "region", "zone"} {
				was, _ := prior.Attrs[attr].(string)
				if attr == "cloud" && was == "" {
					was = prior.Cloud
				}
				now := r.String(attr)
				if was == "" || now == "" || was == now {
					continue
				}
				out = append(out, resourceFinding(r, attr,
					fmt.Sprintf("%s moves from %s %q to %q: the controller is replaced and managed jobs running on the old controller are not migrated", r.Address(), attr, was, now),
					fmt.Sprintf("drain its managed jobs, then: skyplan apply --allow-replace %s (or keep %s = %q)", r.Address(), attr, was)))
				break
			}
		}
		return out
	},
}

var RuleBucketName = &Rule{
	ID: providers.RuleBucketName, Name: "bucket-name-invalid", Severity: Error,
	Description: "A bucket name breaks its cloud's naming rules (S3 or GCS), which the create call would reject. The rules are the provider's own, so lint and apply agree.",
	Help:        "Rename the bucket following the rule the finding names.",
	static:      func(c *Context) []Finding { return providerProblems(c, providers.RuleBucketName) },
}

var RuleLabels = &Rule{
	ID: providers.RuleLabels, Name: "labels-invalid", Severity: Error,
	Description: "A resource's labels break its cloud's tag or label rules (reserved keys, lengths, characters, count), which apply would refuse. The rules are the provider's own.",
	Help:        "Rename or drop the labels the finding names.",
	static:      func(c *Context) []Finding { return providerProblems(c, providers.RuleLabels) },
}

// providerProblems reports the problems a cloud's own rulebook finds under
// one rule (see providers.Validator).
func providerProblems(c *Context, rule string) []Finding {
	var out []Finding
	for _, r := range c.Config.Resources {
		for _, p := range providers.Validate(r.Cloud(), r.Type, r.Attrs) {
			if p.Rule == rule {
				out = append(out, resourceFinding(r, p.Attr, r.Address()+": "+p.Message, p.Fix))
			}
		}
	}
	return out
}

var RuleIgnoreWithoutReason = &Rule{
	ID: "SP-LINT-001", Name: "ignore-without-reason", Severity: Warning,
	Description: "A # skyplan:ignore comment has no reason (or names no or an unknown rule). Silenced rules need a recorded why.",
	Help:        "Write # skyplan:ignore RULE-ID why-it-does-not-apply.",
}

// Set here: checkIgnoreComments reads Rules(), which lists this rule.
func init() { RuleIgnoreWithoutReason.static = checkIgnoreComments }

// bucketNamed finds a bucket by its cloud name; the index is built once per
// lint run, so a spec with thousands of controllers stays linear.
func (c *Context) bucketNamed(name string) *spec.Resource {
	if c.buckets == nil {
		c.buckets = map[string]*spec.Resource{}
		for _, r := range c.Config.Resources {
			if _, seen := c.buckets[r.String("name")]; r.Type == spec.TypeBucket && !seen {
				c.buckets[r.String("name")] = r
			}
		}
	}
	return c.buckets[name]
}

func capList(c *spec.Cloud) string {
	var q []string
	for _, cp := range c.Capabilities() {
		q = append(q, fmt.Sprintf("%q", cp))
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func capListWith(c *spec.Cloud, add spec.Capability) string {
	caps := append(c.Capabilities(), add)
	var q []string
	for _, cp := range spec.Capabilities {
		for _, have := range caps {
			if have == cp {
				q = append(q, fmt.Sprintf("%q", cp))
				break
			}
		}
	}
	return "[" + strings.Join(q, ", ") + "]"
}
