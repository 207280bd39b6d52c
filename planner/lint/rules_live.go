package lint

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

var RuleCapabilityDenied = &Rule{
	ID: "SP-CLOUD-002", Name: "capability-denied", Severity: Error, Live: true,
	Description: "The credentials for a resource's cloud fail the check of the capability it needs (compute or storage). Other capabilities of that cloud stay usable.",
	Help:        "Fix the credentials for that capability (the finding has the cloud's reason); skyplan check shows every capability.",
	live: func(ctx context.Context, c *Context) ([]Finding, []Skipped) {
		var out []Finding
		var skipped []Skipped
		for _, r := range c.Config.Resources {
			need := r.Schema().Needs
			if _, ok := c.Providers.Get(r.Cloud()); !ok {
				skipped = append(skipped, Skipped{RuleID: "SP-CLOUD-002", Reason: fmt.Sprintf("%s: no provider for cloud %q", r.Address(), r.Cloud())})
				continue
			}
			if st := c.capabilityStatus(ctx, r.Cloud(), need); !st.OK && st.Unverified {
				out = append(out, resourceFinding(r, "cloud",
					fmt.Sprintf("%s needs %s on %s, which could not be checked: %s", r.Address(), need, r.Cloud(), st.Reason),
					fmt.Sprintf("run skyplan check again once the %s endpoint answers", r.Cloud())))
			} else if !st.OK {
				out = append(out, resourceFinding(r, "cloud",
					fmt.Sprintf("%s needs %s on %s, which is denied: %s", r.Address(), need, r.Cloud(), st.Reason),
					fmt.Sprintf("fix the %s credentials for %s (run skyplan check), or move %s to another cloud", r.Cloud(), need, r.Address())))
			}
		}
		return out, skipped
	},
}

var RuleNoUsableSubnet = &Rule{
	ID: "SP-AWS-001", Name: "aws-no-usable-subnet", Severity: Error, Live: true,
	Description: "No subnet an AWS cluster or controller could launch in reaches the internet: a subnet is usable only if its route table " +
		"(the explicitly associated one, else the VPC's main table) sends 0.0.0.0/0 to an internet gateway and it maps public IPs on launch " +
		"(with use_internal_ips = true: a default route through a NAT or transit gateway instead). Otherwise instances launch but cannot reach the internet.",
	Help: "Add the 0.0.0.0/0 route to an internet gateway and turn on MapPublicIpOnLaunch (the finding has the exact commands), or set subnet/vpc to a usable one.",
	live: checkSubnets,
}

// networkKey groups resources that land in the same place.
type networkKey struct {
	region, vpc, subnet string
	// zone narrows a vpc's subnets, as the AWS provider's launch does; it is
	// set only for a vpc without a subnet.
	zone     string
	internal bool
}

func checkSubnets(ctx context.Context, c *Context) ([]Finding, []Skipped) {
	groups := map[networkKey][]*spec.Resource{}
	var keys []networkKey
	for _, r := range c.Config.Resources {
		if r.Cloud() != "aws" || (r.Type != spec.TypeCluster && r.Type != spec.TypeJobsController) {
			continue
		}
		if c.launching != nil && !c.launching[r.Address()] {
			continue
		}
		k := networkKey{region: r.String("region"), vpc: r.String("vpc"), subnet: r.String("subnet"), internal: r.Bool("use_internal_ips")}
		if k.vpc != "" && k.subnet == "" {
			k.zone = r.String("zone")
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	p, ok := c.Providers.Get("aws")
	if !ok {
		return nil, []Skipped{{RuleID: "SP-AWS-001", Reason: "no aws provider"}}
	}
	inspector, ok := p.(providers.NetworkInspector)
	if !ok {
		return nil, []Skipped{{RuleID: "SP-AWS-001", Reason: "the aws provider cannot inspect networks"}}
	}
	if ok, reason := c.capabilityOK(ctx, "aws", spec.CapCompute); !ok {
		return nil, []Skipped{{RuleID: "SP-AWS-001", Reason: "aws compute credentials fail: " + reason}}
	}
	var out []Finding
	var skipped []Skipped
	for _, k := range keys {
		facts, err := inspector.InspectNetwork(ctx, providers.NetworkRequest{Region: k.region, VPCID: k.vpc, SubnetID: k.subnet})
		if err != nil {
			skipped = append(skipped, Skipped{RuleID: "SP-AWS-001", Reason: fmt.Sprintf("inspecting the network of %s: %v", k.region, err)})
			continue
		}
		if k.zone != "" {
			facts.Subnets = slices.DeleteFunc(facts.Subnets, func(s providers.SubnetFacts) bool { return s.AvailabilityZone != k.zone })
		}
		if msg, fix := subnetProblem(facts, k); msg != "" {
			for _, r := range groups[k] {
				attr := "region"
				if k.subnet != "" {
					attr = "subnet"
				} else if k.vpc != "" {
					attr = "vpc"
				}
				out = append(out, resourceFinding(r, attr, r.Address()+": "+msg, fix))
			}
		}
	}
	return out, skipped
}

// subnetProblem returns the finding message and fix when no subnet is usable.
func subnetProblem(facts *providers.NetworkFacts, k networkKey) (string, string) {
	where := "the default VPC"
	switch {
	case k.subnet != "":
		where = "subnet " + k.subnet
	case k.vpc != "" && k.zone != "":
		where = "VPC " + k.vpc + " in zone " + k.zone
	case k.vpc != "":
		where = "VPC " + k.vpc
	case !facts.HasDefaultVPC:
		where = "any VPC"
	}
	if len(facts.Subnets) == 0 {
		msg := fmt.Sprintf("no usable subnet in %s: %s has no subnets", k.region, where)
		fix := fmt.Sprintf("create a VPC with a public subnet in %s and set vpc/subnet, or: aws ec2 create-default-vpc --region %s", k.region, k.region)
		if !facts.HasDefaultVPC {
			msg += fmt.Sprintf(" (region %s has no default VPC)", k.region)
		}
		return msg, fix
	}
	var problems, fixes []string
	igw := knownIGW(facts)
	for _, s := range facts.Subnets {
		lack := s.Lacks(k.internal)
		if lack == "" {
			return "", ""
		}
		table := s.RouteTableID
		if s.RouteTableIsMain {
			table += ", the VPC's main route table"
		}
		problems = append(problems, fmt.Sprintf("%s (%s): %s", s.ID, table, lack))
		if k.internal {
			fixes = append(fixes, fmt.Sprintf("aws ec2 create-route --region %s --route-table-id %s --destination-cidr-block 0.0.0.0/0 --nat-gateway-id NAT_GATEWAY_ID", k.region, s.RouteTableID))
			continue
		}
		if !strings.HasPrefix(s.DefaultRouteTarget, "igw-") {
			gw := igw[s.VPCID]
			if gw == "" {
				gw = "IGW_ID"
				fixes = append(fixes, fmt.Sprintf("aws ec2 create-internet-gateway --region %s  # then: aws ec2 attach-internet-gateway --region %s --vpc-id %s --internet-gateway-id IGW_ID", k.region, k.region, s.VPCID))
			}
			verb := "create-route"
			if s.DefaultRouteTarget != "" {
				verb = "replace-route"
			}
			fixes = append(fixes, fmt.Sprintf("aws ec2 %s --region %s --route-table-id %s --destination-cidr-block 0.0.0.0/0 --gateway-id %s", verb, k.region, s.RouteTableID, gw))
		}
		if !s.MapPublicIPOnLaunch {
			fixes = append(fixes, fmt.Sprintf("aws ec2 modify-subnet-attribute --region %s --subnet-id %s --map-public-ip-on-launch", k.region, s.ID))
		}
	}
	msg := fmt.Sprintf("no usable subnet in %s (%s): %s", k.region, where, strings.Join(problems, "; "))
	if !facts.HasDefaultVPC && k.vpc == "" && k.subnet == "" {
		msg += fmt.Sprintf(". Region %s has no default VPC: set vpc or subnet on the resource, or run aws ec2 create-default-vpc --region %s", k.region, k.region)
	}
	return msg, strings.Join(dedupe(fixes), "\n")
}

// knownIGW finds, per VPC, an attached internet gateway (or one some subnet
// already routes to).
func knownIGW(facts *providers.NetworkFacts) map[string]string {
	out := map[string]string{}
	for vpc, igw := range facts.InternetGateways {
		out[vpc] = igw
	}
	for _, s := range facts.Subnets {
		if strings.HasPrefix(s.DefaultRouteTarget, "igw-") {
			out[s.VPCID] = s.DefaultRouteTarget
		}
	}
	return out
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

var RuleUnlabeledGPUNodes = &Rule{
	ID: "SP-K8S-001", Name: "gpu-nodes-unlabeled", Severity: Warning, Live: true,
	Description: "Kubernetes nodes expose nvidia.com/gpu but carry no accelerator label, so GPU jobs cannot be scheduled by type (common on EKS without GPU Feature Discovery).",
	Help:        "Run skyplan k8s label-gpus, or add a gpu_label_policy block to keep labels right declaratively.",
	live: func(ctx context.Context, c *Context) ([]Finding, []Skipped) {
		return checkGPUNodes(ctx, c, "SP-K8S-001")
	},
}

var RuleInvalidGPULabel = &Rule{
	ID: "SP-K8S-002", Name: "gpu-label-invalid", Severity: Warning, Live: true,
	Description: "A node's accelerator label has a value the scheduler does not match (e.g. upper case A100 where skypilot.co/accelerator=a100 is expected).",
	Help:        "Relabel with the lowercase canonical name (the finding has the command).",
	live: func(ctx context.Context, c *Context) ([]Finding, []Skipped) {
		return checkGPUNodes(ctx, c, "SP-K8S-002")
	},
}

var RuleGPULabelWithoutGPUs = &Rule{
	ID: "SP-K8S-003", Name: "gpu-label-without-gpus", Severity: Warning, Live: true,
	Description: "A node carries an accelerator label but reports zero nvidia.com/gpu capacity: jobs scheduled there by label will not get a GPU (driver or device plugin missing).",
	Help:        "Check the NVIDIA device plugin on those nodes, or remove the label.",
	live: func(ctx context.Context, c *Context) ([]Finding, []Skipped) {
		return checkGPUNodes(ctx, c, "SP-K8S-003")
	},
}

var validLabelValue = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

// checkGPUNodes runs one of the three node rules; the node list is fetched
// once per lint run and shared.
func checkGPUNodes(ctx context.Context, c *Context, ruleID string) ([]Finding, []Skipped) {
	cloud := c.Config.Clouds["kubernetes"]
	if cloud == nil {
		return nil, nil
	}
	labelKey, policy := "skypilot.co/accelerator", (*spec.Resource)(nil)
	for _, r := range c.Config.ResourcesOn("kubernetes") {
		if r.Type == spec.TypeGPULabelPolicy {
			labelKey, policy = r.String("label_key"), r
			break
		}
	}
	nodes, err := c.gpuNodes(ctx, labelKey)
	if err != nil {
		return nil, []Skipped{{RuleID: ruleID, Reason: err.Error()}}
	}
	at := func(msg, fix string) Finding {
		if policy != nil {
			return resourceFinding(policy, "label_key", msg, fix)
		}
		return cloudFinding(cloud, "context", msg, fix)
	}
	ctxFlag := ""
	if k := cloud.String("context"); k != "" {
		ctxFlag = " --context " + k
	}
	var unlabeled, invalid, empty []string
	var relabel []string
	for _, n := range nodes {
		v, has := n.Labels[labelKey]
		switch {
		case n.GPUCapacity > 0 && !has:
			unlabeled = append(unlabeled, n.Name)
		case has && !validLabelValue.MatchString(v):
			invalid = append(invalid, fmt.Sprintf("%s (%s=%s)", n.Name, labelKey, v))
			relabel = append(relabel, fmt.Sprintf("kubectl label node %s %s=%s --overwrite", n.Name, labelKey, suggestLabel(v, n)))
		case has && n.GPUCapacity == 0:
			empty = append(empty, fmt.Sprintf("%s (%s=%s)", n.Name, labelKey, v))
		}
	}
	sort.Strings(unlabeled)
	var out []Finding
	switch ruleID {
	case "SP-K8S-001":
		if len(unlabeled) > 0 {
			fix := fmt.Sprintf("skyplan k8s label-gpus%s --label-key %s   # or add a gpu_label_policy block", ctxFlag, labelKey)
			msg := fmt.Sprintf("%d GPU node(s) have nvidia.com/gpu but no %s label, so jobs cannot request them by type: %s", len(unlabeled), labelKey, firstN(unlabeled, 10))
			if policy != nil {
				msg += fmt.Sprintf(" (%s labels them on apply)", policy.Address())
				fix = "skyplan apply   # " + policy.Address() + " adds the labels"
			}
			out = append(out, at(msg, fix))
		}
	case "SP-K8S-002":
		if len(invalid) > 0 {
			out = append(out, at(fmt.Sprintf("%d node(s) have %s values the scheduler will not match (lowercase names such as a100 are expected): %s", len(invalid), labelKey, firstN(invalid, 10)),
				strings.Join(relabel[:min(len(relabel), 10)], "\n")))
		}
	case "SP-K8S-003":
		if len(empty) > 0 {
			out = append(out, at(fmt.Sprintf("%d node(s) carry %s but report zero nvidia.com/gpu: %s", len(empty), labelKey, firstN(empty, 10)),
				"check the NVIDIA device plugin on these nodes (kubectl describe node NAME), or remove the label"))
		}
	}
	return out, nil
}

// suggestLabel proposes the canonical label value for a node.
func suggestLabel(v string, n providers.GPUNode) string {
	if n.Detected != "" {
		return strings.ToLower(n.Detected)
	}
	return strings.ToLower(v)
}

// gpuNodes lists the cluster's GPU nodes once per run.
func (c *Context) gpuNodes(ctx context.Context, labelKey string) ([]providers.GPUNode, error) {
	p, ok := c.Providers.Get("kubernetes")
	if !ok {
		return nil, fmt.Errorf("no kubernetes provider")
	}
	inspector, ok := p.(providers.GPUNodeInspector)
	if !ok {
		return nil, fmt.Errorf("the kubernetes provider cannot list GPU nodes")
	}
	if ok, reason := c.capabilityOK(ctx, "kubernetes", spec.CapCompute); !ok {
		return nil, fmt.Errorf("kubernetes credentials fail: %s", reason)
	}
	if c.nodes == nil && c.nodesErr == nil {
		c.nodes, c.nodesErr = inspector.GPUNodes(ctx, labelKey)
		if c.nodesErr != nil {
			c.nodesErr = fmt.Errorf("listing GPU nodes: %w", c.nodesErr)
		}
	}
	return c.nodes, c.nodesErr
}
