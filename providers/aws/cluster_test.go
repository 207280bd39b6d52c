package aws

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func applyCluster(t *testing.T, p *Provider, ws, addr string, op providers.Operation, desired state.Attrs, prior *state.Resource) *state.Resource {
	t.Helper()
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: op, Workspace: ws, Address: addr, Type: spec.TypeCluster, Desired: desired, Prior: prior})
	if err != nil {
		t.Fatalf("%s %s: %v", op, addr, err)
	}
	return res
}

func observeAddr(t *testing.T, p *Provider, ws, addr string) *state.Resource {
	t.Helper()
	got, err := p.Observe(testCtx(t), providers.ObserveRequest{Workspace: ws})
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	for _, r := range got {
		if r.Address == addr {
			return r
		}
	}
	return nil
}

func TestClusterObservedAttributesAndTags(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	created := applyCluster(t, p, ws, "cluster.train", providers.OpCreate, clusterAttrs(2), nil)

	got := observeAddr(t, p, ws, "cluster.train")
	if got == nil {
		t.Fatal("cluster.train not observed")
	}
	if diff := cmp.Diff(created.IDs, got.IDs); diff != "" {
		t.Errorf("IDs (sorted by node index) differ between apply and observe:\n%s", diff)
	}
	first := describeByID(t, raw, got.IDs[0])
	want := state.Attrs{
		"cloud":         "aws",
		"region":        "us-east-1",
		"instance_type": "t3.micro",
		"nodes":         int64(2),
		"use_spot":      false,
		"labels":        map[string]string{"team": "research"},
		"image":         awssdk.ToString(first.ImageId),
		"zone":          awssdk.ToString(first.Placement.AvailabilityZone),
		"subnet":        awssdk.ToString(first.SubnetId),
		"vpc":           awssdk.ToString(first.VpcId),
	}
	if diff := cmp.Diff(want, got.Attrs); diff != "" {
		t.Errorf("observed attributes (-want +got):\n%s", diff)
	}
	if got.Type != spec.TypeCluster || got.Cloud != "aws" {
		t.Errorf("observed type/cloud = %q/%q", got.Type, got.Cloud)
	}
	// Apply returns desired attributes EC2 cannot report, so state keeps them.
	if created.Attrs["disk_tier"] != "medium" || created.Attrs["disk_size"] != int64(256) {
		t.Errorf("apply result lost disk attributes: %v", created.Attrs)
	}

	for i, id := range got.IDs {
		inst := describeByID(t, raw, id)
		tags := tagMap(inst.Tags)
		wantTags := map[string]string{
			providers.TagManaged: "true", providers.TagWorkspace: ws, providers.TagAddress: "cluster.train",
			tagNodeIndex: []string{"0", "1"}[i], "Name": []string{"train-0", "train-1"}[i], "team": "research",
		}
		if diff := cmp.Diff(wantTags, tags); diff != "" {
			t.Errorf("instance %s tags (-want +got):\n%s", id, diff)
		}
		vols := volumesOf(t, raw, inst)
		if len(vols) == 0 {
			t.Fatalf("instance %s has no volumes", id)
		}
		for _, v := range vols {
			if diff := cmp.Diff(wantTags, tagMap(v.Tags)); diff != "" {
				t.Errorf("volume %s tags (-want +got):\n%s", awssdk.ToString(v.VolumeId), diff)
			}
			if v.VolumeType != ec2types.VolumeTypeGp3 || awssdk.ToInt32(v.Size) != 256 {
				t.Errorf("volume %s is %s/%dGB, want gp3/256GB", awssdk.ToString(v.VolumeId), v.VolumeType, awssdk.ToInt32(v.Size))
			}
		}
	}
}

func volumesOf(t *testing.T, client *ec2.Client, inst ec2types.Instance) []ec2types.Volume {
	t.Helper()
	var ids []string
	for _, bd := range inst.BlockDeviceMappings {
		if bd.Ebs != nil {
			ids = append(ids, awssdk.ToString(bd.Ebs.VolumeId))
		}
	}
	out, err := client.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	return out.Volumes
}

func TestClusterCreateLaunchesOnlyMissingNodes(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	first := applyCluster(t, p, ws, "cluster.a", providers.OpCreate, clusterAttrs(3), nil)
	if _, err := raw.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{first.IDs[1]}}); err != nil {
		t.Fatal(err)
	}
	log.reset()
	again := applyCluster(t, p, ws, "cluster.a", providers.OpCreate, clusterAttrs(3), nil)
	if n := len(log.inputs("RunInstances")); n != 1 {
		t.Fatalf("retried create made %d RunInstances calls, want 1 (only node 1 was missing)", n)
	}
	if again.IDs[0] != first.IDs[0] || again.IDs[2] != first.IDs[2] || again.IDs[1] == first.IDs[1] {
		t.Errorf("IDs after healing node 1: %v (before %v); want nodes 0 and 2 kept, node 1 new", again.IDs, first.IDs)
	}
	if idx := tagMap(describeByID(t, raw, again.IDs[1]).Tags)[tagNodeIndex]; idx != "1" {
		t.Errorf("relaunched node has %s=%q, want 1", tagNodeIndex, idx)
	}
}

func TestClusterClientTokens(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	tokens := func() []string {
		var out []string
		for _, in := range log.inputs("RunInstances") {
			out = append(out, awssdk.ToString(in.(*ec2.RunInstancesInput).ClientToken))
		}
		return out
	}
	res := applyCluster(t, p, ws, "cluster.tok", providers.OpCreate, clusterAttrs(2), nil)
	gen1 := tokens()
	if len(gen1) != 2 || gen1[0] == gen1[1] || gen1[0] == "" || len(gen1[0]) > 64 {
		t.Fatalf("tokens of the first create = %q; want two distinct non-empty tokens of at most 64 characters", gen1)
	}
	for i, id := range res.IDs {
		if got := awssdk.ToString(describeByID(t, raw, id).ClientToken); got != gen1[i] {
			t.Errorf("node %d launched with token %q, want %q", i, got, gen1[i])
		}
	}
	// A replace (delete, then create with the same attributes) must not
	// reuse the old tokens, or real EC2 would hand back the terminated nodes.
	applyCluster(t, p, ws, "cluster.tok", providers.OpDelete, nil, res)
	log.reset()
	applyCluster(t, p, ws, "cluster.tok", providers.OpCreate, clusterAttrs(2), nil)
	gen2 := tokens()
	if len(gen2) != 2 {
		t.Fatalf("second create made %d launches, want 2", len(gen2))
	}
	for i := range gen2 {
		if gen2[i] == gen1[i] {
			t.Errorf("node %d: replacement reused client token %q", i, gen2[i])
		}
	}
}

func TestClientTokenDeterministic(t *testing.T) {
	d := clusterAttrs(2)
	base := clientToken("ws", "cluster.a", 0, d, []string{"i-2", "i-1"})
	if again := clientToken("ws", "cluster.a", 0, clusterAttrs(2), []string{"i-1", "i-2"}); again != base {
		t.Errorf("same node, attributes and history gave tokens %q and %q", base, again)
	}
	other := clusterAttrs(2)
	other["instance_type"] = "t3.small"
	for name, tok := range map[string]string{
		"workspace":  clientToken("ws2", "cluster.a", 0, d, []string{"i-1", "i-2"}),
		"address":    clientToken("ws", "cluster.b", 0, d, []string{"i-1", "i-2"}),
		"index":      clientToken("ws", "cluster.a", 1, d, []string{"i-1", "i-2"}),
		"attributes": clientToken("ws", "cluster.a", 0, other, []string{"i-1", "i-2"}),
		"history":    clientToken("ws", "cluster.a", 0, d, []string{"i-1", "i-2", "i-3"}),
	} {
		if tok == base {
			t.Errorf("changing the %s kept the token %q", name, tok)
		}
	}
}

func TestClusterScaleInRemovesHighestIndex(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	three := applyCluster(t, p, ws, "cluster.s", providers.OpCreate, clusterAttrs(3), nil)
	one := applyCluster(t, p, ws, "cluster.s", providers.OpUpdate, clusterAttrs(1), three)
	if diff := cmp.Diff(three.IDs[:1], one.IDs); diff != "" {
		t.Errorf("after scale in, IDs (-want +got):\n%s", diff)
	}
	for _, id := range three.IDs[1:] {
		if isLive(describeByID(t, raw, id)) {
			t.Errorf("node %s should have been terminated", id)
		}
	}
	if one.Attrs["nodes"] != int64(1) {
		t.Errorf("nodes = %v, want 1", one.Attrs["nodes"])
	}
}

func TestClusterLabelsUpdatedInPlace(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	d := clusterAttrs(2)
	d["labels"] = map[string]string{"team": "research", "old": "x"}
	created := applyCluster(t, p, ws, "cluster.l", providers.OpCreate, d, nil)
	d2 := clusterAttrs(2)
	d2["labels"] = map[string]string{"team": "ml", "env": "prod"}
	updated := applyCluster(t, p, ws, "cluster.l", providers.OpUpdate, d2, created)
	if diff := cmp.Diff(created.IDs, updated.IDs); diff != "" {
		t.Errorf("a label change replaced nodes:\n%s", diff)
	}
	want := map[string]string{"team": "ml", "env": "prod"}
	if diff := cmp.Diff(want, observeAddr(t, p, ws, "cluster.l").Attrs["labels"]); diff != "" {
		t.Errorf("observed labels (-want +got):\n%s", diff)
	}
	for _, id := range updated.IDs {
		inst := describeByID(t, raw, id)
		if diff := cmp.Diff(want, userLabels(tagMap(inst.Tags))); diff != "" {
			t.Errorf("instance %s labels (-want +got):\n%s", id, diff)
		}
		if tagMap(inst.Tags)[providers.TagAddress] != "cluster.l" {
			t.Errorf("label update removed ownership tags of %s", id)
		}
		for _, v := range volumesOf(t, raw, inst) {
			if diff := cmp.Diff(want, userLabels(tagMap(v.Tags))); diff != "" {
				t.Errorf("volume %s labels (-want +got):\n%s", awssdk.ToString(v.VolumeId), diff)
			}
		}
	}
}

func TestClusterLaunchOptions(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	raw := rawEC2(t, "us-east-1")
	subnets, err := raw.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{filter("default-for-az", "true"), filter("availability-zone", "us-east-1b")}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("default subnet in us-east-1b: %v", err)
	}
	subnet := awssdk.ToString(subnets.Subnets[0].SubnetId)
	d := clusterAttrs(1)
	d["use_spot"], d["use_internal_ips"], d["subnet"] = true, true, subnet
	d["disk_tier"], d["disk_size"] = "high", int64(100)
	res := applyCluster(t, p, ws, "cluster.opts", providers.OpCreate, d, nil)

	inst := describeByID(t, raw, res.IDs[0])
	if inst.InstanceLifecycle != ec2types.InstanceLifecycleTypeSpot {
		t.Errorf("use_spot: lifecycle = %q, want spot", inst.InstanceLifecycle)
	}
	if ip := awssdk.ToString(inst.PublicIpAddress); ip != "" {
		t.Errorf("use_internal_ips: instance got public IP %s", ip)
	}
	if got := awssdk.ToString(inst.SubnetId); got != subnet {
		t.Errorf("subnet = %s, want %s", got, subnet)
	}
	in := log.inputs("RunInstances")[0].(*ec2.RunInstancesInput)
	ebs := in.BlockDeviceMappings[0].Ebs
	if ebs.VolumeType != ec2types.VolumeTypeGp3 || awssdk.ToInt32(ebs.VolumeSize) != 100 ||
		awssdk.ToInt32(ebs.Iops) != 16000 || awssdk.ToInt32(ebs.Throughput) != 1000 {
		t.Errorf("root volume for disk_tier high = %s %dGB %d IOPS %d MB/s; want gp3 100GB 16000 IOPS 1000 MB/s",
			ebs.VolumeType, awssdk.ToInt32(ebs.VolumeSize), awssdk.ToInt32(ebs.Iops), awssdk.ToInt32(ebs.Throughput))
	}
	ni := in.NetworkInterfaces[0]
	if awssdk.ToBool(ni.AssociatePublicIpAddress) || awssdk.ToString(ni.SubnetId) != subnet {
		t.Errorf("network interface = public %v subnet %s; want no public IP in %s", awssdk.ToBool(ni.AssociatePublicIpAddress), awssdk.ToString(ni.SubnetId), subnet)
	}
	if in.InstanceMarketOptions == nil || in.InstanceMarketOptions.MarketType != ec2types.MarketTypeSpot {
		t.Errorf("spot market options missing: %+v", in.InstanceMarketOptions)
	}
	got := observeAddr(t, p, ws, "cluster.opts")
	if got.Attrs["use_spot"] != true || got.Attrs["subnet"] != subnet || got.Attrs["zone"] != "us-east-1b" {
		t.Errorf("observed use_spot/subnet/zone = %v/%v/%v", got.Attrs["use_spot"], got.Attrs["subnet"], got.Attrs["zone"])
	}

}

// moto drops Iops from RunInstances block devices, so io2 launches fail
// there; the request itself is checked instead.
func TestUltraDiskIsIO2(t *testing.T) {
	p := newProvider(t, "ws", nil)
	d := clusterAttrs(1)
	d["disk_tier"], d["disk_size"] = "ultra", int64(50)
	s, err := p.parseClusterSpec(context.Background(), "cluster.io2", d)
	if err != nil {
		t.Fatal(err)
	}
	in := runInstancesInput(s, imageChoice{ID: "ami-1", RootDeviceName: "/dev/xvda"}, "", "tok", nil)
	ebs := in.BlockDeviceMappings[0].Ebs
	if ebs.VolumeType != ec2types.VolumeTypeIo2 || awssdk.ToInt32(ebs.Iops) != 25000 || ebs.Throughput != nil ||
		awssdk.ToString(in.BlockDeviceMappings[0].DeviceName) != "/dev/xvda" {
		t.Errorf("ultra disk = %s on %s, %d IOPS, throughput %v; want io2 on the image's root device, 25000 IOPS, no throughput",
			ebs.VolumeType, awssdk.ToString(in.BlockDeviceMappings[0].DeviceName), awssdk.ToInt32(ebs.Iops), ebs.Throughput)
	}
	if in.NetworkInterfaces != nil || in.InstanceMarketOptions != nil {
		t.Errorf("defaults should leave networking and market to EC2: %+v %+v", in.NetworkInterfaces, in.InstanceMarketOptions)
	}
}

func TestClusterDefaultImageIsCanonicalUbuntu(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	raw := rawEC2(t, "us-east-1")
	res := applyCluster(t, p, ws, "cluster.img", providers.OpCreate, clusterAttrs(1), nil)
	img := awssdk.ToString(describeByID(t, raw, res.IDs[0]).ImageId)
	out, err := raw.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{img}})
	if err != nil || len(out.Images) != 1 {
		t.Fatalf("DescribeImages %s: %v", img, err)
	}
	if owner, name := awssdk.ToString(out.Images[0].OwnerId), awssdk.ToString(out.Images[0].Name); owner != canonicalOwner || !strings.Contains(name, "ubuntu") {
		t.Errorf("default image %s is %q owned by %s; want a Canonical Ubuntu image", img, name, owner)
	}
	// Deterministic: a second provider picks the same image.
	other := newProvider(t, ws, nil)
	c, err := other.resolveImage(testCtx(t), "cluster.img", "us-east-1", "", "t3.micro")
	if err != nil || c.ID != img {
		t.Errorf("second resolve = %q, %v; want %q", c.ID, err, img)
	}
}

func TestClusterErrorsNameAddressRegionAndCode(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	d := clusterAttrs(1)
	d["image"] = "ami-12345678"
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.bad", Type: spec.TypeCluster, Desired: d})
	if err == nil {
		t.Fatal("create with a missing image succeeded")
	}
	if res != nil {
		t.Errorf("failed create with nothing launched returned %+v; want nil", res)
	}
	for _, want := range []string{"cluster.bad", "us-east-1", "InvalidAMIID.NotFound"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if code := errorCode(err); code != "InvalidAMIID.NotFound" {
		t.Errorf("wrapped error lost its AWS code: %q", code)
	}

	d = clusterAttrs(1)
	d["subnet"] = "subnet-00000000"
	_, err = p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.nosubnet", Type: spec.TypeCluster, Desired: d})
	if err == nil || !strings.Contains(err.Error(), "cluster.nosubnet") || !strings.Contains(err.Error(), "subnet-00000000") {
		t.Errorf("missing subnet: err = %v; want it to name the address and subnet", err)
	}
}

func TestApplyRejectsBadInput(t *testing.T) {
	p := newProvider(t, "ws", nil)
	with := func(k string, v any) map[string]any {
		d := clusterAttrs(1)
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
		return d
	}
	cases := []struct {
		name string
		req  providers.ApplyRequest
		want string
	}{
		{"no instance type", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("instance_type", nil)}, "instance_type is not set"},
		{"negative nodes", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("nodes", int64(-1))}, "nodes = -1"},
		{"bad disk tier", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("disk_tier", "fastest")}, `unknown disk_tier "fastest"`},
		{"disk too small", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("disk_size", int64(0))}, "disk_size = 0"},
		{"reserved label", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("labels", map[string]string{"skyplan-address": "x"})}, `key "skyplan-address" is reserved`},
		{"aws label", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("labels", map[string]string{"aws:foo": "x"})}, `key "aws:foo" is reserved`},
		{"zone outside region", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("zone", "eu-west-1a")}, `zone "eu-west-1a" is not in region "us-east-1"`},
		{"other cloud", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster", Desired: with("cloud", "gcp")}, `cloud is "gcp", not aws`},
		{"unknown type", providers.ApplyRequest{Op: providers.OpCreate, Type: "gpu_label_policy", Desired: map[string]any{}}, `does not manage resources of type "gpu_label_policy"`},
		{"unknown op", providers.ApplyRequest{Op: "import", Type: "cluster", Desired: clusterAttrs(1)}, `unknown operation "import"`},
		{"create without desired", providers.ApplyRequest{Op: providers.OpCreate, Type: "cluster"}, "create needs desired attributes"},
		{"bucket without name", providers.ApplyRequest{Op: providers.OpCreate, Type: "bucket", Desired: map[string]any{"cloud": "aws", "region": "us-east-1"}}, "name is not set"},
		{"bucket bad name", providers.ApplyRequest{Op: providers.OpCreate, Type: "bucket", Desired: map[string]any{"cloud": "aws", "region": "us-east-1", "name": "My_Bucket"}}, `bucket name "My_Bucket" is invalid`},
		{"bucket ip name", providers.ApplyRequest{Op: providers.OpCreate, Type: "bucket", Desired: map[string]any{"cloud": "aws", "region": "us-east-1", "name": "192.168.1.1"}}, "IP address"},
		{"bucket delete without prior", providers.ApplyRequest{Op: providers.OpDelete, Type: "bucket"}, "needs the prior state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Workspace, c.req.Address = "ws", c.req.Type+".x"
			_, err := p.Apply(context.Background(), c.req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), c.req.Address) {
				t.Errorf("err %q does not name the address %s", err, c.req.Address)
			}
		})
	}
}

func TestArchFor(t *testing.T) {
	for typ, want := range map[string]string{
		"t3.micro": "x86_64", "g5.xlarge": "x86_64", "p4d.24xlarge": "x86_64", "g6e.xlarge": "x86_64",
		"m6i.large": "x86_64", "g4dn.xlarge": "x86_64", "inf2.xlarge": "x86_64",
		"t4g.micro": "arm64", "m6g.large": "arm64", "c7gn.large": "arm64", "g5g.xlarge": "arm64", "is4gen.large": "arm64",
	} {
		if got := archFor(typ); got != want {
			t.Errorf("archFor(%s) = %s, want %s", typ, got, want)
		}
	}
}

func TestRegistered(t *testing.T) {
	p, err := providers.New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "aws"}, Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(providers.NetworkInspector); !ok || p.Name() != "aws" {
		t.Errorf("registered provider %T (%s) is not the AWS NetworkInspector", p, p.Name())
	}
	if _, err := New(context.Background(), providers.Config{Cloud: &spec.Cloud{Name: "aws", Attrs: map[string]any{"regions": []string{""}}}}); err == nil {
		t.Error("an empty region in the cloud block was accepted")
	}
}

func TestClusterInVPCPicksItsSubnet(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil)
	ctx := testCtx(t)
	b := netBuilder{t: t, ec2: rawEC2(t, "us-east-1"), ctx: ctx}
	vpc := b.vpc("10.42.0.0/16")
	// The choice goes by zone, then subnet ID: create them out of that order.
	var ids []string
	for _, sn := range []struct{ cidr, zone string }{{"10.42.3.0/24", "us-east-1b"}, {"10.42.2.0/24", "us-east-1a"}, {"10.42.1.0/24", "us-east-1a"}} {
		out, err := b.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: &sn.cidr, AvailabilityZone: &sn.zone})
		b.must(err)
		ids = append(ids, awssdk.ToString(out.Subnet.SubnetId))
	}
	wantSubnet := min(ids[1], ids[2])
	d := clusterAttrs(1)
	d["vpc"] = vpc
	res := applyCluster(t, p, ws, "cluster.invpc", providers.OpCreate, d, nil)
	if res.Attrs["vpc"] != vpc || res.Attrs["subnet"] != wantSubnet {
		t.Errorf("cluster in vpc %s landed in vpc %v subnet %v; want subnet %s", vpc, res.Attrs["vpc"], res.Attrs["subnet"], wantSubnet)
	}

	d["vpc"] = "vpc-00000000"
	_, err := p.Apply(ctx, providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.novpc", Type: spec.TypeCluster, Desired: d})
	if err == nil || !strings.Contains(err.Error(), "vpc-00000000") || !strings.Contains(err.Error(), "cluster.novpc") {
		t.Errorf("unknown vpc: err = %v; want it to name the address and vpc", err)
	}
	d["vpc"], d["subnet"] = vpc, awssdk.ToString(defaultSubnet(t, b))
	_, err = p.Apply(ctx, providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.mismatch", Type: spec.TypeCluster, Desired: d})
	if err == nil || !strings.Contains(err.Error(), "not vpc "+vpc) {
		t.Errorf("subnet outside the vpc: err = %v", err)
	}
}

// In a vpc, launch prefers the first subnet that reaches the internet the
// way lint's SP-AWS-001 checks: through an internet gateway with public IPs
// mapped on launch, or with use_internal_ips through a NAT gateway.
func TestClusterInVPCPrefersARoutedSubnet(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	log := &callLog{}
	p := newProvider(t, ws, nil, log.option())
	ctx := testCtx(t)
	b := netBuilder{t: t, ec2: rawEC2(t, "us-east-1"), ctx: ctx}
	vpc := b.vpc("10.43.0.0/16")
	igw := b.igw(vpc)
	var subnets []string
	for _, cidr := range []string{"10.43.1.0/24", "10.43.2.0/24", "10.43.3.0/24", "10.43.4.0/24"} {
		out, err := b.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &vpc, CidrBlock: awssdk.String(cidr), AvailabilityZone: awssdk.String("us-east-1a")})
		b.must(err)
		subnets = append(subnets, awssdk.ToString(out.Subnet.SubnetId))
	}
	slices.Sort(subnets)
	isolated, noPublicIPs, public, private := subnets[0], subnets[1], subnets[2], subnets[3]
	b.table(vpc, isolated, nil)
	b.table(vpc, noPublicIPs, func(in *ec2.CreateRouteInput) { in.GatewayId = &igw })
	for id, mapPublic := range map[string]bool{noPublicIPs: false, public: true} {
		_, err := b.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: &id,
			MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: awssdk.Bool(mapPublic)}})
		b.must(err)
	}
	b.table(vpc, public, func(in *ec2.CreateRouteInput) { in.GatewayId = &igw })
	nat, err := b.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: &public})
	b.must(err)
	b.table(vpc, private, func(in *ec2.CreateRouteInput) { in.NatGatewayId = nat.NatGateway.NatGatewayId })

	d := clusterAttrs(1)
	d["vpc"], d["zone"] = vpc, "us-east-1a"
	res := applyCluster(t, p, ws, "cluster.routed", providers.OpCreate, d, nil)
	if res.Attrs["subnet"] != public {
		t.Errorf("public launch landed in %v; want %s, routed to %s and mapping public IPs (not %s: no route; not %s: no public IPs)",
			res.Attrs["subnet"], public, igw, isolated, noPublicIPs)
	}
	// The subnet's MapPublicIpOnLaunch decides, as lint assumes: no override.
	if ni := log.inputs("RunInstances")[0].(*ec2.RunInstancesInput).NetworkInterfaces[0]; ni.AssociatePublicIpAddress != nil {
		t.Errorf("launch in a named subnet sets AssociatePublicIpAddress = %v; want the subnet's own setting", *ni.AssociatePublicIpAddress)
	}
	d = clusterAttrs(1)
	d["vpc"], d["zone"], d["use_internal_ips"] = vpc, "us-east-1a", true
	res = applyCluster(t, p, ws, "cluster.natted", providers.OpCreate, d, nil)
	if res.Attrs["subnet"] != private {
		t.Errorf("internal-IP launch landed in %v; want %s, the subnet routed through a NAT gateway", res.Attrs["subnet"], private)
	}
}

func defaultSubnet(t *testing.T, b netBuilder) *string {
	t.Helper()
	out, err := b.ec2.DescribeSubnets(b.ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("default-for-az", "true")}})
	if err != nil || len(out.Subnets) == 0 {
		t.Fatalf("default subnets: %v", err)
	}
	return out.Subnets[0].SubnetId
}

// failNthRunInstances makes the nth RunInstances call fail before it is sent,
// as a subnet out of addresses would: fault injection on the real client.
// (A capacity refusal is not this: a new cluster moves on whole, see
// placement_test.go.)
func failNthRunInstances(n int) func(*config.LoadOptions) error {
	var seen atomic.Int64
	return config.WithAPIOptions([]func(*middleware.Stack) error{func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("skyplan-test-fail",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == "RunInstances" && seen.Add(1) == int64(n) {
					return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "InsufficientFreeAddressesInSubnet", Message: "no free addresses"}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}})
}

func TestClusterPartialCreateReturnsWhatExists(t *testing.T) {
	needMoto(t)
	ws := unique("ws")
	p := newProvider(t, ws, nil, failNthRunInstances(2))
	res, err := p.Apply(testCtx(t), providers.ApplyRequest{Op: providers.OpCreate, Workspace: ws, Address: "cluster.half", Type: spec.TypeCluster, Desired: clusterAttrs(3)})
	if err == nil || !strings.Contains(err.Error(), "cluster.half: RunInstances in us-east-1: InsufficientFreeAddressesInSubnet") {
		t.Fatalf("err = %v; want the launch error with address, call and region", err)
	}
	if res == nil || len(res.IDs) != 1 || res.Attrs["nodes"] != int64(1) {
		t.Fatalf("partial create returned %+v; want the one node that was launched", res)
	}
	// The retry launches only the missing nodes 1 and 2.
	log := &callLog{}
	retry := newProvider(t, ws, nil, log.option())
	again := applyCluster(t, retry, ws, "cluster.half", providers.OpCreate, clusterAttrs(3), nil)
	if len(again.IDs) != 3 || again.IDs[0] != res.IDs[0] || len(log.inputs("RunInstances")) != 2 {
		t.Errorf("retry: IDs %v after %d launches; want node 0 %s kept and 2 launches", again.IDs, len(log.inputs("RunInstances")), res.IDs[0])
	}
}
