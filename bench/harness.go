package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/skyplan/skyplan/internal/cloudproxy"
	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/providers"
)

// emulatorKind is the EC2 a scenario runs against.
type emulatorKind string

const (
	// onMoto is moto_server, the reference emulator.
	onMoto emulatorKind = "moto"
	// onFake is ec2Fake, for call rates moto cannot serve.
	onFake emulatorKind = "EC2 fake"
)

// harness runs the skyplan binary against an emulator through a counting
// proxy: moto_server, or the benchmark's EC2 fake.
type harness struct {
	skyplan string // binary
	work    string // scratch directory: specs, HOME
	moto    *emulator.Moto
	fake    *ec2Fake
	proxies map[emulatorKind]*cloudproxy.Proxy
	// on is the emulator in use, proxy its proxy.
	on    emulatorKind
	proxy *cloudproxy.Proxy
	// replayed counts calls the proxies answered from their read caches.
	replayed atomic.Int64
	// direct is an EC2 client straight to moto: setup calls are not counted.
	direct *ec2.Client
	image  string
	// paths are the measured critical paths of a create, per emulator.
	paths map[emulatorKind]criticalPath
}

// startHarness starts moto_server, the EC2 fake and a proxy in front of each.
func startHarness(skyplanBin, work string) (*harness, error) {
	h := &harness{skyplan: skyplanBin, work: work, proxies: map[emulatorKind]*cloudproxy.Proxy{}, paths: map[emulatorKind]criticalPath{}}
	var err error
	if h.moto, err = emulator.StartMoto(); err != nil {
		return nil, err
	}
	if h.fake, err = startEC2Fake(); err != nil {
		h.close()
		return nil, err
	}
	for kind, target := range map[emulatorKind]string{onMoto: h.moto.Endpoint, onFake: h.fake.URL} {
		p, err := cloudproxy.Start(target)
		if err != nil {
			h.close()
			return nil, err
		}
		p.OnCall(func(c cloudproxy.Call) {
			if c.Injected == "replayed" {
				h.replayed.Add(1)
			}
		})
		h.proxies[kind] = p
	}
	h.direct = ec2.NewFromConfig(awssdk.Config{
		Region:       benchRegion,
		BaseEndpoint: awssdk.String(h.moto.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
	return h, nil
}

func (h *harness) close() {
	for _, p := range h.proxies {
		p.Close()
	}
	if h.fake != nil {
		h.fake.close()
	}
	h.moto.Stop()
}

// use empties the emulator and selects it, its proxy counting only.
func (h *harness) use(ctx context.Context, on emulatorKind) error {
	h.on, h.proxy = on, h.proxies[on]
	h.proxy.SetLatency(0)
	h.proxy.SetReplayReads(false)
	h.proxy.ClearFaults()
	h.proxy.ResetCounts()
	if on == onFake {
		h.fake.reset()
		return nil
	}
	h.image = ""
	if err := h.moto.Reset(ctx); err != nil {
		return err
	}
	// moto builds its EC2 backend on the first call after a reset, which
	// takes a second or more: not skyplan's time. Its default VPC then gets
	// the internet gateway a real account's has, so the network lint passes
	// (the fake's VPC is born connected).
	return h.moto.ConnectDefaultVPC(ctx, benchRegion)
}

// env is skyplan's whole environment: moto's credentials, the proxy as
// AWS_ENDPOINT_URL, a scratch HOME, and nothing of the caller's clouds.
func (h *harness) env() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Join(h.work, "home"), "NO_COLOR=1"}
	// Profiles of a bench run (each skyplan run overwrites the last's).
	for _, k := range []string{"SKYPLAN_CPUPROFILE", "SKYPLAN_MEMPROFILE", "GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range h.moto.Env() {
		if k == "AWS_ENDPOINT_URL" {
			v = h.proxy.URL
		}
		env = append(env, k+"="+v)
	}
	return env
}

// run is one skyplan process.
type run struct {
	Wall    time.Duration
	PeakRSS int64 // bytes
	Exit    int
	Stdout  string
	Stderr  string
}

// runSkyplan runs skyplan in dir and measures its wall time and peak RSS.
func (h *harness) runSkyplan(ctx context.Context, dir string, args ...string) (run, error) {
	var stdout, stderr bytes.Buffer
	l, err := runMeasured(ctx, dir, h.env(), &stdout, &stderr, h.skyplan, args...)
	r := run{Wall: l.Wall, PeakRSS: l.MaxRSSK * 1024, Exit: l.Exit, Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		return r, fmt.Errorf("running %s: %w\n%s", h.skyplan, err, tail(r.Stderr, 2000))
	}
	return r, nil
}

// expect checks a run's exit code and explains a mismatch with its output.
func (r run) expect(codes ...int) error {
	for _, c := range codes {
		if r.Exit == c {
			return nil
		}
	}
	return fmt.Errorf("skyplan exited %d, want %v\nstdout (end):\n%s\nstderr:\n%s", r.Exit, codes, tail(r.Stdout, 2000), tail(r.Stderr, 4000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// ownershipTags are the tags of node 0 of the i-th cluster, as skyplan
// sets them (providers/aws: managed, workspace, address, state, node index, Name).
func ownershipTags(i int) map[string]string {
	tags := providers.Owner{Workspace: benchWorkspace, Address: "cluster." + clusterName(i), StateID: benchLineage}.Tags()
	tags["skyplan-node-index"] = "0"
	tags["Name"] = clusterName(i) + "-0"
	return tags
}

// precreate launches n one-node clusters as skyplan would have: in moto,
// one RunInstances per node (one reservation each).
func (h *harness) precreate(ctx context.Context, n int) error {
	if h.on == onFake {
		for i := range n {
			h.fake.add(benchInstanceType, benchRegion+"a", ownershipTags(i))
		}
		return nil
	}
	if h.image == "" {
		out, err := h.direct.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
		if err != nil || len(out.Images) == 0 {
			return fmt.Errorf("finding an image in moto: %v", err)
		}
		h.image = awssdk.ToString(out.Images[0].ImageId)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			var ec2Tags []ec2types.Tag
			for k, v := range ownershipTags(i) {
				ec2Tags = append(ec2Tags, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
			}
			_, err := h.direct.RunInstances(gctx, &ec2.RunInstancesInput{
				ImageId: awssdk.String(h.image), InstanceType: benchInstanceType,
				MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: ec2Tags}},
			})
			if err != nil {
				return fmt.Errorf("precreating %s: %w", clusterName(i), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// specDir writes a fresh spec of n clusters and returns its directory.
func (h *harness) specDir(name string, n int) (string, error) {
	dir := filepath.Join(h.work, name+"-"+strconv.Itoa(n))
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, writeSpec(dir, n)
}

// buildSkyplan builds cmd/skyplan from the module at root into out.
func buildSkyplan(root, out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/skyplan")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building skyplan: %w", err)
	}
	return nil
}
