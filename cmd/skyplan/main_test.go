package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rogpeppe/go-internal/testscript"
	"google.golang.org/api/compute/v1"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/k8sfake"
	"github.com/skyplan/skyplan/internal/testenv"
)

// Emulators shared by every script of this package; scripts keep apart by
// using their own workspace, region or bucket names.
var (
	motoOnce sync.Once
	moto     *emulator.Moto
	motoErr  error
)

// stopAfterRun stops the shared emulators when the tests are done
// (testscript.Main exits the process itself).
type stopAfterRun struct{ m *testing.M }

func (s stopAfterRun) Run() int {
	code := s.m.Run()
	if moto != nil {
		moto.Stop()
	}
	stopExtraEmulators()
	return code
}

func TestMain(m *testing.M) {
	testscript.Main(stopAfterRun{m}, map[string]func(){
		"skyplan": func() { os.Exit(Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())) },
	})
}

func startMoto(t *testing.T) {
	motoOnce.Do(func() {
		if moto, motoErr = emulator.StartMoto(); motoErr == nil {
			// us-east-1 is connected like a real account's default VPC;
			// eu-south-1 keeps moto's unrouted one for the lint scripts.
			motoErr = moto.ConnectDefaultVPC(context.Background(), "us-east-1")
		}
	})
	var ni emulator.ErrNotInstalled
	if errors.As(motoErr, &ni) {
		testenv.Missing(t, "moto_server", motoErr.Error())
	} else if motoErr != nil {
		t.Fatal(motoErr)
	}
}

func TestScripts(t *testing.T) {
	startMoto(t)
	extra := startExtraEmulators(t)
	repoRoot, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			if moto != nil {
				for k, v := range moto.Env() {
					env.Setenv(k, v)
				}
			}
			for k, v := range extra {
				env.Setenv(k, v)
			}
			env.Setenv("REPO", repoRoot)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "moto":
				return moto != nil, nil
			case "jq":
				// jq runs the budget check docs/plan-json.md shows.
				_, err := exec.LookPath("jq")
				if err != nil && testenv.InCI() {
					return false, fmt.Errorf("jq is required under CI=true (make deps installs it): %v", err)
				}
				return err == nil, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"ec2count":    cmdEC2Count,
			"setlineage":  cmdSetLineage,
			"s3mk":        cmdS3Make,
			"ec2launch":   cmdEC2Launch,
			"gceadd":      cmdGCEAdd,
			"gcpexhaust":  cmdGCPExhaust,
			"gcelabel":    cmdGCELabel,
			"s3tag":       cmdS3Tag,
			"s3put":       cmdS3Put,
			"ec2stop":     cmdEC2Stop,
			"ec2kill":     cmdEC2Kill,
			"s3bucket":    cmdS3Bucket,
			"s3object":    cmdS3Object,
			"copyexample": cmdCopyExample,
			"startk8s":    cmdStartK8s,
			"catalogcsv":  cmdCatalogCSV,
			"catalogsrv":  cmdCatalogServer,
		},
		RequireExplicitExec: true,
	})
}

func awsConfig(ts *testscript.TestScript, region string) aws.Config {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region),
		config.WithBaseEndpoint(ts.Getenv("AWS_ENDPOINT_URL")),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ts.Getenv("AWS_ACCESS_KEY_ID"), ts.Getenv("AWS_SECRET_ACCESS_KEY"), "")))
	if err != nil {
		ts.Fatalf("aws config: %v", err)
	}
	return cfg
}

// cmdEC2Count checks, from outside skyplan, how many live instances carry a
// workspace's ownership tag (and, with LINEAGE, a state's):
// ec2count WORKSPACE REGION N [LINEAGE].
func cmdEC2Count(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 && len(args) != 4 {
		ts.Fatalf("usage: ec2count WORKSPACE REGION N [LINEAGE]")
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	client := ec2.NewFromConfig(awsConfig(ts, args[1]))
	filters := []ec2types.Filter{
		{Name: aws.String("tag:skyplan-workspace"), Values: []string{args[0]}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}
	if len(args) == 4 {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:skyplan-state"), Values: []string{args[3]}})
	}
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: filters})
	ts.Check(err)
	got := 0
	for _, r := range out.Reservations {
		got += len(r.Instances)
	}
	if (got == want) == neg {
		ts.Fatalf("workspace %s in %s has %d live instance(s); want %s%d", args[0], args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// cmdEC2Stop stops, from outside skyplan as a person would, the instance
// holding one node of a workspace: ec2stop WORKSPACE REGION NODE_INDEX.
func cmdEC2Stop(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: ec2stop WORKSPACE REGION NODE_INDEX")
	}
	client := ec2.NewFromConfig(awsConfig(ts, args[1]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:skyplan-workspace"), Values: []string{args[0]}},
		{Name: aws.String("tag:skyplan-node-index"), Values: []string{args[2]}},
		{Name: aws.String("instance-state-name"), Values: []string{"running"}},
	}})
	ts.Check(err)
	var ids []string
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			ids = append(ids, aws.ToString(inst.InstanceId))
		}
	}
	if len(ids) != 1 {
		ts.Fatalf("workspace %s has %d running instance(s) for node %s, want 1", args[0], len(ids), args[2])
	}
	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids})
	ts.Check(err)
	ts.Logf("stopped %s", ids[0])
}

// cmdSetLineage puts the lineage of a local state file in an environment
// variable: setlineage VAR [STATE_FILE] (default .skyplan/state.json).
func cmdSetLineage(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 || neg {
		ts.Fatalf("usage: setlineage VAR [STATE_FILE]")
	}
	path := ".skyplan/state.json"
	if len(args) == 2 {
		path = args[1]
	}
	b, err := os.ReadFile(ts.MkAbs(path))
	ts.Check(err)
	var st struct{ Lineage string }
	ts.Check(json.Unmarshal(b, &st))
	ts.Setenv(args[0], st.Lineage)
}

// cmdS3Tag checks a bucket's tag from outside: s3tag BUCKET KEY [VALUE];
// with !, that the key is absent.
func cmdS3Tag(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: s3tag BUCKET KEY [VALUE]")
	}
	client := s3Client(ts)
	tags := map[string]string{}
	out, err := client.GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String(args[0])})
	if err == nil {
		for _, t := range out.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	checkLabel(ts, neg, "bucket "+args[0], "tag", tags, args[1:])
}

// s3Client is an S3 client of the script's moto, path-style as moto needs.
func s3Client(ts *testscript.TestScript) *s3.Client {
	return s3.NewFromConfig(awsConfig(ts, "us-east-1"), func(o *s3.Options) { o.UsePathStyle = true })
}

// checkLabel checks that obj's labels (tags) hold keyValue[0], with the
// value keyValue[1] when given; with neg, that the key is absent.
func checkLabel(ts *testscript.TestScript, neg bool, obj, kind string, labels map[string]string, keyValue []string) {
	v, has := labels[keyValue[0]]
	switch {
	case neg && has:
		ts.Fatalf("%s has %s %s=%s", obj, kind, keyValue[0], v)
	case !neg && !has:
		ts.Fatalf("%s has no %s %s (%ss %v)", obj, kind, keyValue[0], kind, labels)
	case !neg && len(keyValue) == 2 && v != keyValue[1]:
		ts.Fatalf("%s: %s %s=%s, want %s", obj, kind, keyValue[0], v, keyValue[1])
	}
}

// cmdS3Make creates a bucket outside skyplan: s3mk NAME.
func cmdS3Make(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: s3mk NAME")
	}
	client := s3Client(ts)
	_, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(args[0])})
	ts.Check(err)
}

// cmdEC2Launch launches instances by hand, as someone did before skyplan,
// and puts their IDs (comma-separated) in VAR: ec2launch REGION N VAR [TAG=VALUE].
func cmdEC2Launch(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || len(args) > 4 || neg {
		ts.Fatalf("usage: ec2launch REGION N VAR [TAG=VALUE]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	client := ec2.NewFromConfig(awsConfig(ts, args[0]))
	images, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	ts.Check(err)
	if len(images.Images) == 0 {
		ts.Fatalf("no images in %s", args[0])
	}
	in := &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(int32(n)), MaxCount: aws.Int32(int32(n))}
	if len(args) == 4 {
		k, v, _ := strings.Cut(args[3], "=")
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: []ec2types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}}
	}
	out, err := client.RunInstances(context.Background(), in)
	ts.Check(err)
	var ids []string
	for _, inst := range out.Instances {
		ids = append(ids, aws.ToString(inst.InstanceId))
	}
	ts.Setenv(args[2], strings.Join(ids, ","))
}

// cmdGCEAdd creates a GCE instance outside skyplan in the shared fake:
// gceadd PROJECT ZONE NAME [KEY=VALUE labels…].
func cmdGCEAdd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: gceadd PROJECT ZONE NAME [KEY=VALUE…]")
	}
	labels := map[string]string{}
	for _, kv := range args[3:] {
		k, v, _ := strings.Cut(kv, "=")
		labels[k] = v
	}
	_, err := extraGCE.AddInstance(args[0], args[1], &compute.Instance{Name: args[2], Labels: labels})
	ts.Check(err)
}

// cmdGCELabel checks an instance's label in the shared fake:
// gcelabel PROJECT ZONE NAME KEY [VALUE]; with !, that it is absent.
func cmdGCELabel(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 4 || len(args) > 5 {
		ts.Fatalf("usage: gcelabel PROJECT ZONE NAME KEY [VALUE]")
	}
	inst := extraGCE.Instance(args[0], args[1], args[2])
	if inst == nil {
		ts.Fatalf("no instance %s in %s", args[2], args[1])
	}
	checkLabel(ts, neg, args[2], "label", inst.Labels, args[3:])
}

// cmdS3Put writes an object from outside skyplan: s3put BUCKET KEY CONTENT.
func cmdS3Put(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: s3put BUCKET KEY CONTENT")
	}
	client := s3Client(ts)
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(args[0]), Key: aws.String(args[1]), Body: strings.NewReader(args[2])})
	ts.Check(err)
}

// cmdEC2Kill terminates, from outside skyplan, the instance holding one
// node of a workspace: ec2kill WORKSPACE REGION NODE_INDEX.
func cmdEC2Kill(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: ec2kill WORKSPACE REGION NODE_INDEX")
	}
	client := ec2.NewFromConfig(awsConfig(ts, args[1]))
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:skyplan-workspace"), Values: []string{args[0]}},
		{Name: aws.String("tag:skyplan-node-index"), Values: []string{args[2]}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	}})
	ts.Check(err)
	var ids []string
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			ids = append(ids, aws.ToString(inst.InstanceId))
		}
	}
	if len(ids) != 1 {
		ts.Fatalf("workspace %s has %d live instance(s) for node %s, want 1", args[0], len(ids), args[2])
	}
	_, err = client.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: ids})
	ts.Check(err)
}

// cmdS3Bucket checks a bucket's existence from outside: s3bucket NAME.
func cmdS3Bucket(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: s3bucket NAME")
	}
	client := s3Client(ts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(args[0])})
	exists := err == nil
	if exists == neg {
		ts.Fatalf("bucket %s exists = %v", args[0], exists)
	}
}

// cmdS3Object asserts that an S3 object exists and contains a substring
// (with !, that it does not exist).
func cmdS3Object(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: s3object BUCKET KEY SUBSTRING")
	}
	client := s3Client(ts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(args[0]), Key: aws.String(args[1])})
	if neg {
		if err == nil {
			out.Body.Close()
			ts.Fatalf("s3://%s/%s exists", args[0], args[1])
		}
		return
	}
	if err != nil {
		ts.Fatalf("s3://%s/%s: %v", args[0], args[1], err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	ts.Check(err)
	if !strings.Contains(string(body), args[2]) {
		ts.Fatalf("s3://%s/%s does not contain %q:\n%s", args[0], args[1], args[2], body)
	}
}

// cmdStartK8s starts a Kubernetes fake of the script's own, with GPU nodes
// that trip each node rule, and points KUBECONFIG (context "fake") at it:
// unlabelled GPU nodes, an upper-case label, a label on a node without GPUs.
func cmdStartK8s(ts *testscript.TestScript, neg bool, args []string) {
	srv, err := k8sfake.Start(
		k8sfake.GPUNode("eks-p4d-1", "p4d.24xlarge", 8, nil),
		k8sfake.GPUNode("eks-g5-1", "g5.xlarge", 1, nil),
		k8sfake.GPUNode("upper-1", "p4d.24xlarge", 8, map[string]string{"skypilot.co/accelerator": "A100"}),
		k8sfake.GPUNode("nogpu-1", "p5.48xlarge", 0, map[string]string{"skypilot.co/accelerator": "h100"}),
		k8sfake.CPUNode("cpu-1", "m6i.large"),
	)
	ts.Check(err)
	ts.Defer(srv.Close)
	path := ts.MkAbs("kubeconfig")
	ts.Check(srv.WriteKubeconfig(path, "fake"))
	ts.Setenv("KUBECONFIG", path)
}

// cmdCopyExample copies examples/NAME/*.hcl into the script's work directory.
func cmdCopyExample(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: copyexample NAME")
	}
	files, err := filepath.Glob(filepath.Join(ts.Getenv("REPO"), "examples", args[0], "*.hcl"))
	ts.Check(err)
	if len(files) == 0 {
		ts.Fatalf("examples/%s has no .hcl files", args[0])
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(filepath.Base(f)), b, 0o644))
	}
}
