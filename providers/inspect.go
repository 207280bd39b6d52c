package providers

import (
	"context"
	"fmt"
	"strings"
)

// Read-only inspections that live lint rules use. A provider implements the
// ones that make sense for its cloud; lint type-asserts for them.

// NetworkInspector reports, for AWS, whether instances launched in a region
// can reach the internet.
type NetworkInspector interface {
	// InspectNetwork describes the subnets instances could land in: the given
	// subnet, else the given VPC's, else the default VPC's, else every VPC's.
	InspectNetwork(ctx context.Context, req NetworkRequest) (*NetworkFacts, error)
}

// NetworkRequest narrows InspectNetwork.
type NetworkRequest struct {
	Region   string
	VPCID    string
	SubnetID string
}

// NetworkFacts are the network facts of one region.
type NetworkFacts struct {
	Region        string
	HasDefaultVPC bool
	Subnets       []SubnetFacts
	// InternetGateways maps each inspected subnet's VPC to an attached
	// internet gateway (absent: none attached), so fixes can name it.
	InternetGateways map[string]string
}

// SubnetFacts describes one subnet's route to the internet.
type SubnetFacts struct {
	ID               string
	VPCID            string
	AvailabilityZone string
	// RouteTableID is the explicitly associated table, else the VPC's main one.
	RouteTableID     string
	RouteTableIsMain bool
	// DefaultRouteTarget is the target of 0.0.0.0/0 (igw-…, nat-…, pcx-…), or "".
	DefaultRouteTarget  string
	MapPublicIPOnLaunch bool
}

// GPUNodeInspector reports, for Kubernetes, the nodes that have GPUs or GPU labels.
type GPUNodeInspector interface {
	// GPUNodes lists nodes with GPU capacity or a GPU label: the well-known
	// model labels and any of labelKeys (e.g. a policy's custom key).
	GPUNodes(ctx context.Context, labelKeys ...string) ([]GPUNode, error)
}

// GPUNode is one node with GPU capacity or a GPU label.
type GPUNode struct {
	Name string
	// GPUCapacity is nvidia.com/gpu from capacity (or allocatable).
	GPUCapacity  int64
	InstanceType string
	Labels       map[string]string
	// Detected is the accelerator inferred from labels or instance type
	// (canonical catalog name), or "" when it cannot be inferred.
	Detected string
}

// Lacks says what keeps instances in the subnet from reaching the internet
// ("" when nothing does). Lint's SP-AWS-001 reports it; the AWS provider
// uses it to pick a subnet in a vpc. internal: instances get no public IP
// and need a NAT or transit gateway route; otherwise they need an internet
// gateway route and the public IP the subnet maps on launch.
func (s SubnetFacts) Lacks(internal bool) string {
	target := s.DefaultRouteTarget
	if internal {
		if strings.HasPrefix(target, "nat-") || strings.HasPrefix(target, "tgw-") {
			return ""
		}
		if target == "" {
			return "no 0.0.0.0/0 route (instances without public IPs need one through a NAT gateway)"
		}
		return fmt.Sprintf("0.0.0.0/0 goes to %s, not a NAT or transit gateway (instances have no public IPs)", target)
	}
	var lacks []string
	switch {
	case target == "":
		lacks = append(lacks, "no 0.0.0.0/0 route to an internet gateway")
	case !strings.HasPrefix(target, "igw-"):
		lacks = append(lacks, fmt.Sprintf("0.0.0.0/0 goes to %s, not an internet gateway (igw-…)", target))
	}
	if !s.MapPublicIPOnLaunch {
		lacks = append(lacks, "does not map public IPs on launch")
	}
	return strings.Join(lacks, "; ")
}
