package lint

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/providers"
	_ "github.com/skyplan/skyplan/providers/aws"
	_ "github.com/skyplan/skyplan/providers/kubernetes"
	"github.com/skyplan/skyplan/spec"
)

// awsNet builds network shapes in moto with the raw EC2 client.
type awsNet struct {
	t      *testing.T
	ctx    context.Context
	ec2    *ec2.Client
	region string
}

func newAWSNet(t *testing.T, region string) *awsNet {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return &awsNet{t: t, ctx: ctx, ec2: ec2.NewFromConfig(cfg), region: region}
}

func (n *awsNet) must(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
}

func (n *awsNet) vpc() string {
	out, err := n.ec2.CreateVpc(n.ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.1.0.0/16")})
	n.must(err)
	return awssdk.ToString(out.Vpc.VpcId)
}

func (n *awsNet) subnet(vpc, cidr string, mapPublic bool) string {
	return n.subnetIn(vpc, cidr, "", mapPublic)
}

// subnetIn creates a subnet in zone ("": EC2 picks one).
func (n *awsNet) subnetIn(vpc, cidr, zone string, mapPublic bool) string {
	in := &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: &cidr}
	if zone != "" {
		in.AvailabilityZone = &zone
	}
	out, err := n.ec2.CreateSubnet(n.ctx, in)
	n.must(err)
	_, err = n.ec2.ModifySubnetAttribute(n.ctx, &ec2.ModifySubnetAttributeInput{SubnetId: out.Subnet.SubnetId,
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: awssdk.Bool(mapPublic)}})
	n.must(err)
	return awssdk.ToString(out.Subnet.SubnetId)
}

func (n *awsNet) igw(vpc string) string {
	out, err := n.ec2.CreateInternetGateway(n.ctx, &ec2.CreateInternetGatewayInput{})
	n.must(err)
	id := awssdk.ToString(out.InternetGateway.InternetGatewayId)
	_, err = n.ec2.AttachInternetGateway(n.ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &id, VpcId: &vpc})
	n.must(err)
	return id
}

func (n *awsNet) mainTable(vpc string) string {
	out, err := n.ec2.DescribeRouteTables(n.ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("vpc-id"), Values: []string{vpc}}, {Name: awssdk.String("association.main"), Values: []string{"true"}}}})
	n.must(err)
	if len(out.RouteTables) != 1 {
		n.t.Fatalf("VPC %s has %d main route tables", vpc, len(out.RouteTables))
	}
	return awssdk.ToString(out.RouteTables[0].RouteTableId)
}

// table creates a route table associated with the subnet.
func (n *awsNet) table(vpc, subnet string) string {
	out, err := n.ec2.CreateRouteTable(n.ctx, &ec2.CreateRouteTableInput{VpcId: &vpc})
	n.must(err)
	id := awssdk.ToString(out.RouteTable.RouteTableId)
	_, err = n.ec2.AssociateRouteTable(n.ctx, &ec2.AssociateRouteTableInput{RouteTableId: &id, SubnetId: &subnet})
	n.must(err)
	return id
}

func (n *awsNet) routeIGW(table, igw string) {
	_, err := n.ec2.CreateRoute(n.ctx, &ec2.CreateRouteInput{RouteTableId: &table, DestinationCidrBlock: awssdk.String("0.0.0.0/0"), GatewayId: &igw})
	n.must(err)
}

func (n *awsNet) routeNAT(table, subnet string) {
	alloc, err := n.ec2.AllocateAddress(n.ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	n.must(err)
	nat, err := n.ec2.CreateNatGateway(n.ctx, &ec2.CreateNatGatewayInput{SubnetId: &subnet, AllocationId: alloc.AllocationId})
	n.must(err)
	_, err = n.ec2.CreateRoute(n.ctx, &ec2.CreateRouteInput{RouteTableId: &table, DestinationCidrBlock: awssdk.String("0.0.0.0/0"),
		NatGatewayId: nat.NatGateway.NatGatewayId})
	n.must(err)
}

func (n *awsNet) routePeering(table, vpc string) {
	other, err := n.ec2.CreateVpc(n.ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.2.0.0/16")})
	n.must(err)
	pcx, err := n.ec2.CreateVpcPeeringConnection(n.ctx, &ec2.CreateVpcPeeringConnectionInput{VpcId: &vpc, PeerVpcId: other.Vpc.VpcId})
	n.must(err)
	_, err = n.ec2.CreateRoute(n.ctx, &ec2.CreateRouteInput{RouteTableId: &table, DestinationCidrBlock: awssdk.String("0.0.0.0/0"),
		VpcPeeringConnectionId: pcx.VpcPeeringConnection.VpcPeeringConnectionId})
	n.must(err)
}

// deleteDefaultVPC leaves the region without a default VPC.
func (n *awsNet) deleteDefaultVPC() {
	vpcs, err := n.ec2.DescribeVpcs(n.ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: awssdk.String("isDefault"), Values: []string{"true"}}}})
	n.must(err)
	for _, v := range vpcs.Vpcs {
		subs, err := n.ec2.DescribeSubnets(n.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{*v.VpcId}}}})
		n.must(err)
		for _, s := range subs.Subnets {
			_, err := n.ec2.DeleteSubnet(n.ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId})
			n.must(err)
		}
		_, err = n.ec2.DeleteVpc(n.ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId})
		n.must(err)
	}
}

// lintAWS runs the live rules on a one-cluster spec against moto.
func lintAWS(t *testing.T, region, extra string) *Report {
	t.Helper()
	src := fmt.Sprintf(`
cloud "aws" {
  regions = [%q]
}
cluster "c" {
  cloud         = "aws"
  region        = %q
  instance_type = "m6i.large"
%s
}
`, region, region, extra)
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := providers.New(context.Background(), providers.Config{Cloud: cfg.Clouds["aws"], Workspace: "lint"})
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), cfg, Options{Providers: providers.SetOf(map[string]providers.Provider{"aws": p})})
}

func subnetFinding(t *testing.T, rep *Report) *Finding {
	t.Helper()
	for _, s := range rep.Skipped {
		if s.RuleID == "SP-AWS-001" {
			t.Fatalf("subnet rule skipped: %s", s.Reason)
		}
	}
	var found *Finding
	for i, f := range rep.Findings {
		if f.RuleID == "SP-AWS-001" {
			if found != nil {
				t.Fatalf("two subnet findings for one cluster: %+v", rep.Findings)
			}
			found = &rep.Findings[i]
		}
	}
	return found
}

func wantContains(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

func TestNoUsableSubnetAgainstMoto(t *testing.T) {
	emulator.MotoForTest(t)

	t.Run("default VPC without an internet gateway", func(t *testing.T) {
		n := newAWSNet(t, "us-west-1")
		f := subnetFinding(t, lintAWS(t, n.region, ""))
		if f == nil {
			t.Fatal("moto's default VPC has no internet gateway, yet no finding")
		}
		wantContains(t, "message", f.Message, "no usable subnet in us-west-1", "the VPC's main route table", "no 0.0.0.0/0 route to an internet gateway")
		wantContains(t, "fix", f.Fix, "aws ec2 create-internet-gateway", "aws ec2 create-route --region us-west-1 --route-table-id rtb-", "--destination-cidr-block 0.0.0.0/0 --gateway-id IGW_ID")
		if f.Range.Start.Line != 7 {
			t.Errorf("finding at line %d, want 7 (region)", f.Range.Start.Line)
		}
	})

	t.Run("fixed by an igw route in the main table", func(t *testing.T) {
		n := newAWSNet(t, "us-west-1")
		vpcs, err := n.ec2.DescribeVpcs(n.ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: awssdk.String("isDefault"), Values: []string{"true"}}}})
		n.must(err)
		vpc := *vpcs.Vpcs[0].VpcId
		n.routeIGW(n.mainTable(vpc), n.igw(vpc))
		if f := subnetFinding(t, lintAWS(t, n.region, "")); f != nil {
			t.Fatalf("usable default VPC reported: %s", f.Message)
		}
	})

	t.Run("no default VPC", func(t *testing.T) {
		n := newAWSNet(t, "eu-west-3")
		n.deleteDefaultVPC()
		f := subnetFinding(t, lintAWS(t, n.region, ""))
		if f == nil {
			t.Fatal("region without a default VPC and no VPCs: no finding")
		}
		wantContains(t, "message", f.Message, "has no default VPC")
		wantContains(t, "fix", f.Fix, "aws ec2 create-default-vpc --region eu-west-3")
	})

	t.Run("explicit association wins over the main table", func(t *testing.T) {
		n := newAWSNet(t, "ap-south-1")
		vpc := n.vpc()
		igw := n.igw(vpc)
		n.routeIGW(n.mainTable(vpc), igw)
		sub := n.subnet(vpc, "10.1.1.0/24", true)
		rtb := n.table(vpc, sub) // associated, no default route
		f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  subnet = %q", sub)))
		if f == nil {
			t.Fatal("subnet explicitly associated with a table without a default route: no finding")
		}
		wantContains(t, "message", f.Message, sub+" ("+rtb+")", "no 0.0.0.0/0 route")
		wantContains(t, "fix", f.Fix, "create-route --region ap-south-1 --route-table-id "+rtb+" --destination-cidr-block 0.0.0.0/0 --gateway-id "+igw)
		if f.Range.Start.Line != 9 {
			t.Errorf("finding at line %d, want 9 (subnet)", f.Range.Start.Line)
		}
		// The same subnet through the main table is fine.
		n2 := newAWSNet(t, "ap-south-1")
		sub2 := n2.subnet(vpc, "10.1.2.0/24", true)
		if f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  subnet = %q", sub2))); f != nil {
			t.Fatalf("subnet on the main table with an igw route reported: %s", f.Message)
		}
	})

	t.Run("default route to a NAT gateway or peering, not an igw", func(t *testing.T) {
		n := newAWSNet(t, "ca-central-1")
		vpc := n.vpc()
		igw := n.igw(vpc)
		natSub := n.subnet(vpc, "10.1.1.0/24", true)
		n.routeNAT(n.table(vpc, natSub), natSub)
		pcxSub := n.subnet(vpc, "10.1.2.0/24", true)
		n.routePeering(n.table(vpc, pcxSub), vpc)
		// The main table (used by no subnet here) routes to the igw so the fix can name it.
		n.routeIGW(n.mainTable(vpc), igw)
		f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  vpc = %q", vpc)))
		if f == nil {
			t.Fatal("VPC whose subnets route to NAT/peering: no finding")
		}
		wantContains(t, "message", f.Message, natSub, "goes to nat-", pcxSub, "goes to pcx-", "not an internet gateway")
		wantContains(t, "fix", f.Fix, "aws ec2 replace-route", "--gateway-id "+igw)
		if f.Range.Start.Line != 9 {
			t.Errorf("finding at line %d, want 9 (vpc)", f.Range.Start.Line)
		}
		// With use_internal_ips the NAT-routed subnet is usable.
		if f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  vpc = %q\n  use_internal_ips = true", vpc))); f != nil {
			t.Fatalf("NAT-routed subnet with use_internal_ips reported: %s", f.Message)
		}
	})

	t.Run("igw route but no public IP on launch", func(t *testing.T) {
		n := newAWSNet(t, "sa-east-1")
		vpc := n.vpc()
		sub := n.subnet(vpc, "10.1.1.0/24", false)
		n.routeIGW(n.table(vpc, sub), n.igw(vpc))
		f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  subnet = %q", sub)))
		if f == nil {
			t.Fatal("subnet that does not map public IPs: no finding")
		}
		wantContains(t, "message", f.Message, "does not map public IPs on launch")
		wantContains(t, "fix", f.Fix, "aws ec2 modify-subnet-attribute --region sa-east-1 --subnet-id "+sub+" --map-public-ip-on-launch")
		if strings.Contains(f.Fix, "create-route") {
			t.Errorf("fix adds a route that exists:\n%s", f.Fix)
		}
		// use_internal_ips drops the public-IP need but wants a NAT route.
		f = subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  subnet = %q\n  use_internal_ips = true", sub)))
		if f == nil || !strings.Contains(f.Message, "not a NAT or transit gateway") {
			t.Fatalf("use_internal_ips with only an igw route: %+v", f)
		}
	})

	t.Run("a vpc's subnets count only in the cluster's zone", func(t *testing.T) {
		n := newAWSNet(t, "ap-northeast-3")
		vpc := n.vpc()
		igw := n.igw(vpc)
		routed := n.subnetIn(vpc, "10.1.1.0/24", "ap-northeast-3a", true)
		n.routeIGW(n.table(vpc, routed), igw)
		isolated := n.subnetIn(vpc, "10.1.2.0/24", "ap-northeast-3b", true)
		n.table(vpc, isolated)
		if f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  vpc = %q\n  zone = \"ap-northeast-3a\"", vpc))); f != nil {
			t.Fatalf("zone with a routed subnet reported: %s", f.Message)
		}
		f := subnetFinding(t, lintAWS(t, n.region, fmt.Sprintf("  vpc = %q\n  zone = \"ap-northeast-3b\"", vpc)))
		if f == nil {
			t.Fatal("zone whose only subnet has no route: no finding, though the vpc's other zone has one")
		}
		wantContains(t, "message", f.Message, "VPC "+vpc+" in zone ap-northeast-3b", isolated)
		if strings.Contains(f.Message, routed) {
			t.Errorf("finding names %s, which is in another zone:\n%s", routed, f.Message)
		}
	})
}

func TestCapabilityDeniedIsLiveErrorAndSkipsDependentRules(t *testing.T) {
	emulator.MotoForTest(t)
	// Nothing listens: the checks of compute and storage get no verdict.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	rep := lintAWS(t, "us-east-1", "")
	var denied []Finding
	for _, f := range rep.Findings {
		if f.RuleID == "SP-CLOUD-002" {
			denied = append(denied, f)
		}
	}
	if len(denied) != 1 || !strings.Contains(denied[0].Message, "cluster.c needs compute on aws, which could not be checked: compute: endpoint http://127.0.0.1:1 unreachable") {
		t.Fatalf("capability findings: %+v", denied)
	}
	skipped := false
	for _, s := range rep.Skipped {
		skipped = skipped || (s.RuleID == "SP-AWS-001" && strings.Contains(s.Reason, "credentials fail"))
	}
	if !skipped {
		t.Fatalf("subnet rule not reported as skipped: %+v", rep.Skipped)
	}
}

func TestGPUNodeRulesAgainstK8sFake(t *testing.T) {
	nodes := []*corev1.Node{
		k8sfake.GPUNode("eks-p4d-1", "p4d.24xlarge", 8, nil),
		k8sfake.GPUNode("eks-p4d-2", "p4d.24xlarge", 8, nil),
		k8sfake.GPUNode("upper-1", "p4d.24xlarge", 8, map[string]string{"skypilot.co/accelerator": "A100"}),
		k8sfake.GPUNode("good-1", "p5.48xlarge", 8, map[string]string{"skypilot.co/accelerator": "h100"}),
		k8sfake.GPUNode("nogpu-1", "p5.48xlarge", 0, map[string]string{"skypilot.co/accelerator": "h100"}),
		k8sfake.CPUNode("cpu-1", "m6i.large"),
		k8sfake.GPUNode("custom-0", "p5.48xlarge", 0, map[string]string{"example.com/gpu": "h100"}),
	}
	srv, err := k8sfake.Start(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	kubeconfig := t.TempDir() + "/kubeconfig"
	if err := srv.WriteKubeconfig(kubeconfig, "fake"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	src := `
cloud "kubernetes" {
  context = "fake"
}
`
	cfg, diags := spec.LoadSources(map[string][]byte{"main.hcl": []byte(src)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p, err := providers.New(context.Background(), providers.Config{Cloud: cfg.Clouds["kubernetes"], Workspace: "lint"})
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), cfg, Options{Providers: providers.SetOf(map[string]providers.Provider{"kubernetes": p})})
	if len(rep.Skipped) != 0 {
		t.Fatalf("skipped: %+v", rep.Skipped)
	}
	got := map[string]Finding{}
	for _, f := range rep.Findings {
		got[f.RuleID] = f
	}
	if f := got["SP-K8S-001"]; !strings.Contains(f.Message, "2 GPU node(s)") || !strings.Contains(f.Message, "eks-p4d-1, eks-p4d-2") ||
		!strings.Contains(f.Fix, "skyplan k8s label-gpus --context fake") || f.Severity != Warning {
		t.Errorf("unlabelled nodes: %+v", f)
	}
	if f := got["SP-K8S-002"]; !strings.Contains(f.Message, "upper-1 (skypilot.co/accelerator=A100)") ||
		!strings.Contains(f.Fix, "kubectl label node upper-1 skypilot.co/accelerator=a100 --overwrite") {
		t.Errorf("invalid label: %+v", f)
	}
	if f := got["SP-K8S-003"]; !strings.Contains(f.Message, "nogpu-1") || strings.Contains(f.Message, "good-1") {
		t.Errorf("label without GPUs: %+v", f)
	}
	if rep.Errors() != 0 {
		t.Errorf("GPU node findings must be warnings; errors = %d", rep.Errors())
	}
	if strings.Contains(got["SP-K8S-003"].Message, "custom-0") {
		t.Errorf("a label under another key reported with the default key: %s", got["SP-K8S-003"].Message)
	}

	// A policy's own label key is the one checked.
	cfg, diags = spec.LoadSources(map[string][]byte{"main.hcl": []byte(src + `
gpu_label_policy "gpus" {
  cloud     = "kubernetes"
  label_key = "example.com/gpu"
}
`)}, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rep = Run(context.Background(), cfg, Options{Providers: providers.SetOf(map[string]providers.Provider{"kubernetes": p})})
	got = map[string]Finding{}
	for _, f := range rep.Findings {
		got[f.RuleID] = f
	}
	if f := got["SP-K8S-003"]; !strings.Contains(f.Message, "custom-0 (example.com/gpu=h100)") || f.Address != "gpu_label_policy.gpus" {
		t.Errorf("custom key without GPUs: %+v", f)
	}
	if f := got["SP-K8S-001"]; !strings.Contains(f.Message, "no example.com/gpu label") || !strings.Contains(f.Message, "gpu_label_policy.gpus labels them on apply") {
		t.Errorf("unlabelled under the policy's key: %+v", f)
	}
}
