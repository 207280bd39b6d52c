package cloudproxy

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/testenv"
)

var shared struct {
	once sync.Once
	moto *emulator.Moto
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.moto != nil {
		shared.moto.Stop()
	}
	os.Exit(code)
}

// sharedMotoProxy resets one moto_server shared by the package's tests (each
// start costs seconds) and puts a fresh proxy in front of it.
func sharedMotoProxy(t *testing.T) *Proxy {
	t.Helper()
	shared.once.Do(func() { shared.moto, shared.err = emulator.StartMoto() })
	var ni emulator.ErrNotInstalled
	if errors.As(shared.err, &ni) {
		testenv.Missing(t, "moto_server", shared.err.Error())
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	if err := shared.moto.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k, v := range shared.moto.Env() {
		t.Setenv(k, v)
	}
	p := ForTest(t, shared.moto.Endpoint)
	t.Setenv("AWS_ENDPOINT_URL", p.URL)
	return p
}

// noBackoff keeps the SDK's retry decisions but not its sleeps.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// clients returns real SDK clients configured from the environment that
// sharedMotoProxy or MotoForTest set (AWS_ENDPOINT_URL is the proxy), retrying up to attempts
// times without sleeping.
func clients(t *testing.T, attempts int) (*ec2.Client, *s3.Client) {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryer(func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = noBackoff{}
			o.RateLimiter = noRateLimit{}
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

// noRateLimit lets the retryer retry as often as the test needs.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

// amazonImage is any image moto ships.
func amazonImage(t *testing.T, c *ec2.Client) string {
	t.Helper()
	out, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("no image in moto: %v", err)
	}
	return awssdk.ToString(out.Images[0].ImageId)
}

func runOne(ctx context.Context, c *ec2.Client, image, instanceType string, mod func(*ec2.RunInstancesInput)) (*ec2.RunInstancesOutput, error) {
	in := &ec2.RunInstancesInput{ImageId: awssdk.String(image), InstanceType: ec2types.InstanceType(instanceType),
		MinCount: awssdk.Int32(1), MaxCount: awssdk.Int32(1)}
	if mod != nil {
		mod(in)
	}
	return c.RunInstances(ctx, in)
}

func countInstances(t *testing.T, c *ec2.Client) int {
	t.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range out.Reservations {
		n += len(r.Instances)
	}
	return n
}

func apiError(t *testing.T, err error) (code string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestCountsEveryOperation(t *testing.T) {
	_, p := MotoForTest(t)
	c, s := clients(t, 1)
	ctx := context.Background()
	image := amazonImage(t, c)
	if _, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := runOne(ctx, c, image, "m5.large", nil); err != nil {
			t.Fatal(err)
		}
	}
	countInstances(t, c)
	bucket := awssdk.String("counted")
	steps := []func() error{
		func() error { _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); return err },
		func() error {
			_, err := s.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: awssdk.String("k"), Value: awssdk.String("v")}}}})
			return err
		},
		func() error { _, err := s.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket}); return err },
		func() error { _, err := s.ListBuckets(ctx, &s3.ListBucketsInput{}); return err },
		func() error {
			_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: awssdk.String("state.json"), IfNoneMatch: awssdk.String("*"), Body: strings.NewReader("{}")})
			return err
		},
		func() error {
			_, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: awssdk.String("state.json")})
			return err
		},
		func() error {
			_, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: awssdk.String("state.json")})
			return err
		},
		func() error {
			_, err := s.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: awssdk.String("state.json")})
			return err
		},
		func() error { _, err := s.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("s3 step %d: %v", i, err)
		}
	}
	want := map[string]int{
		"ec2:DescribeImages": 1, "ec2:DescribeAvailabilityZones": 1, "ec2:RunInstances": 2, "ec2:DescribeInstances": 1,
		"s3:CreateBucket": 1, "s3:PutBucketTagging": 1, "s3:GetBucketTagging": 1, "s3:ListBuckets": 1,
		"s3:PutObject": 1, "s3:GetObject": 1, "s3:HeadObject": 1, "s3:DeleteObject": 1, "s3:DeleteBucket": 1,
	}
	snap := p.Snapshot()
	if diff := cmp.Diff(want, snap.Calls); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if snap.Total != 14 || snap.Mutating != 7 {
		t.Errorf("total %d mutating %d, want 14 and 7", snap.Total, snap.Mutating)
	}
	p.ResetCounts()
	countInstances(t, c)
	if diff := cmp.Diff(map[string]int{"ec2:DescribeInstances": 1}, p.Counts()); diff != "" {
		t.Errorf("counts after reset (-want +got):\n%s", diff)
	}
}

func TestFaultAnswersTheServiceError(t *testing.T) {
	p := sharedMotoProxy(t)
	c, s := clients(t, 1)
	ctx := context.Background()
	p.AddFault(Fault{Ops: []string{"ec2:DescribeInstances"}, Fraction: 1, Error: &EC2RequestLimitExceeded})
	p.AddFault(Fault{Ops: []string{"s3:ListBuckets"}, Fraction: 1, Error: &S3SlowDown})
	p.AddFault(Fault{Ops: []string{"ec2:DescribeAvailabilityZones"}, Fraction: 1, Error: &EC2InternalError})

	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if code, status := apiError(t, err); code != "RequestLimitExceeded" || status != 503 {
		t.Errorf("DescribeInstances: %s %d, want RequestLimitExceeded 503 (%v)", code, status, err)
	}
	_, err = s.ListBuckets(ctx, &s3.ListBucketsInput{})
	if code, status := apiError(t, err); code != "SlowDown" || status != 503 {
		t.Errorf("ListBuckets: %s %d, want SlowDown 503 (%v)", code, status, err)
	}
	_, err = c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if code, status := apiError(t, err); code != "InternalError" || status != 500 {
		t.Errorf("DescribeAvailabilityZones: %s %d, want InternalError 500 (%v)", code, status, err)
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	p.AddFault(Fault{Ops: []string{"sts:GetCallerIdentity"}, Fraction: 1, Error: &APIError{500, "InternalFailure", "internal"}})
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code, status := apiError(t, err); code != "InternalFailure" || status != 500 {
		t.Errorf("GetCallerIdentity: %s %d, want InternalFailure 500 (%v)", code, status, err)
	}
	// Other operations pass.
	if _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String("fine")}); err != nil {
		t.Fatal(err)
	}
	// The SDK retries these errors: with three attempts the proxy sees three calls.
	c3, _ := clients(t, 3)
	var attempts []int
	p.OnCall(func(call Call) {
		if call.Op.Name == "DescribeInstances" {
			attempts = append(attempts, call.Attempt)
		}
	})
	if _, err := c3.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err == nil {
		t.Fatal("DescribeInstances succeeded through a fault of fraction 1")
	}
	if diff := cmp.Diff([]int{1, 2, 3}, attempts); diff != "" {
		t.Errorf("attempts seen (-want +got):\n%s", diff)
	}
	p.ClearFaults()
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestFaultTimesAndMutatingOnly(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	ctx := context.Background()
	image := amazonImage(t, c)
	p.AddFault(Fault{MutatingOnly: true, Fraction: 1, Times: 2, Error: &EC2Unavailable})
	var codes []string
	for range 3 {
		_, err := runOne(ctx, c, image, "m5.large", nil)
		code := ""
		if err != nil {
			code, _ = apiError(t, err)
		}
		codes = append(codes, code)
		countInstances(t, c) // reads are never hit
	}
	if diff := cmp.Diff([]string{"Unavailable", "Unavailable", ""}, codes); diff != "" {
		t.Errorf("RunInstances outcomes (-want +got):\n%s", diff)
	}
	if n := countInstances(t, c); n != 1 {
		t.Errorf("%d instances, want 1: refused calls must not reach moto", n)
	}
}

// TestDroppedResponseDuplicatesLaunch shows why skyplan cannot trust
// ClientToken against moto: the first RunInstances is processed, its answer
// lost; the SDK retries with the same token and moto launches again.
func TestDroppedResponseDuplicatesLaunch(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 3)
	ctx := context.Background()
	image := amazonImage(t, c)
	var calls []Call
	var mu sync.Mutex
	p.OnCall(func(call Call) {
		mu.Lock()
		defer mu.Unlock()
		if call.Op.Mutating {
			calls = append(calls, call)
		}
	})
	p.AddFault(Fault{Ops: []string{"ec2:RunInstances"}, Fraction: 1, Times: 1, Drop: true})
	out, err := runOne(ctx, c, image, "m5.large", func(in *ec2.RunInstancesInput) { in.ClientToken = awssdk.String("same-token") })
	if err != nil {
		t.Fatalf("RunInstances after a dropped answer: %v (the SDK should have retried)", err)
	}
	if len(out.Instances) != 1 {
		t.Fatalf("got %d instances in the answer", len(out.Instances))
	}
	got := []string{}
	for _, call := range calls {
		got = append(got, call.Op.Name+"/"+call.Injected)
	}
	if diff := cmp.Diff([]string{"RunInstances/dropped", "RunInstances/"}, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if calls[0].Attempt != 1 || calls[1].Attempt != 2 {
		t.Errorf("attempts %d, %d; want 1, 2", calls[0].Attempt, calls[1].Attempt)
	}
	if n := countInstances(t, c); n != 2 {
		t.Errorf("moto holds %d instances, want 2: the dropped call took effect and the retry launched again", n)
	}
}

func TestSeededFaultsAreReproducible(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	ctx := context.Background()
	pattern := func(seed uint64) string {
		p.ClearFaults()
		p.SetSeed(seed)
		p.AddFault(Fault{Ops: []string{"ec2:DescribeAvailabilityZones"}, Fraction: 0.5, Error: &EC2InternalError})
		var b strings.Builder
		for range 24 {
			if _, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, again, other := pattern(42), pattern(42), pattern(43)
	if a != again {
		t.Errorf("seed 42 gave %s, then %s", a, again)
	}
	if a == other {
		t.Errorf("seeds 42 and 43 gave the same pattern %s", a)
	}
	if n := strings.Count(a, "x"); n == 0 || n == len(a) {
		t.Errorf("fraction 0.5 failed %d of %d calls: %s", n, len(a), a)
	}
}

func TestCapacityRulesRefuseChosenZoneOnly(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	ctx := context.Background()
	image := amazonImage(t, c)
	azs, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, az := range azs.AvailabilityZones {
		zones = append(zones, awssdk.ToString(az.ZoneName))
	}
	slices.Sort(zones)
	if len(zones) < 3 || zones[0] != "us-east-1a" || zones[2] != "us-east-1c" {
		t.Fatalf("moto's us-east-1 zones: %v", zones)
	}
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	subnet := func(cidr, zone string) string {
		out, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: awssdk.String(cidr), AvailabilityZone: awssdk.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		return awssdk.ToString(out.Subnet.SubnetId)
	}
	subnetA, subnetB := subnet("10.0.1.0/24", "us-east-1a"), subnet("10.0.2.0/24", "us-east-1b")

	p.AddCapacityRule(CapacityRule{Zone: "us-east-1a", InstanceType: "p4d.24xlarge"})
	p.AddCapacityRule(CapacityRule{Zone: "us-east-1c", InstanceType: "p4d.24xlarge"})
	p.AddCapacityRule(CapacityRule{InstanceType: "p5.48xlarge", Code: VcpuLimitExceeded})
	p.AddCapacityRule(CapacityRule{InstanceType: "g5.xlarge", Market: MarketSpot})
	p.AddCapacityRule(CapacityRule{InstanceType: "g6.xlarge", Market: MarketSpot, Code: SpotMaxPriceTooLow})

	var others []string
	for _, z := range zones {
		if z != "us-east-1a" && z != "us-east-1c" {
			others = append(others, z)
		}
	}
	wantICE := "We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you requested (us-east-1a). " +
		"Our system will be working on provisioning additional capacity. You can currently get p4d.24xlarge capacity by not " +
		"specifying an Availability Zone in your request or choosing " + strings.Join(others, ", ") + "."
	placement := func(zone string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			in.Placement = &ec2types.Placement{AvailabilityZone: awssdk.String(zone)}
		}
	}
	inSubnet := func(id string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			in.NetworkInterfaces = []ec2types.InstanceNetworkInterfaceSpecification{{DeviceIndex: awssdk.Int32(0), SubnetId: awssdk.String(id)}}
		}
	}
	spot := func(maxPrice string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			in.InstanceMarketOptions = &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot}
			if maxPrice != "" {
				in.InstanceMarketOptions.SpotOptions = &ec2types.SpotMarketOptions{MaxPrice: awssdk.String(maxPrice)}
			}
		}
	}
	tests := []struct {
		name, instanceType string
		mod                func(*ec2.RunInstancesInput)
		code               string
		status             int
		message            string
	}{
		{"placement in the exhausted zone", "p4d.24xlarge", placement("us-east-1a"), InsufficientInstanceCapacity, 500, wantICE},
		{"subnet in the exhausted zone", "p4d.24xlarge", inSubnet(subnetA), InsufficientInstanceCapacity, 500, wantICE},
		{"subnet in another zone", "p4d.24xlarge", inSubnet(subnetB), "", 200, ""},
		{"placement in another zone", "p4d.24xlarge", placement("us-east-1b"), "", 200, ""},
		{"another type in the exhausted zone", "m5.large", placement("us-east-1a"), "", 200, ""},
		{"vcpu quota", "p5.48xlarge", nil, VcpuLimitExceeded, 400, ""},
		{"spot capacity", "g5.xlarge", spot(""), InsufficientInstanceCapacity, 500, "There is no Spot capacity available that matches your request."},
		{"on-demand of the spot-exhausted type", "g5.xlarge", nil, "", 200, ""},
		{"spot price", "g6.xlarge", spot("0.05"), SpotMaxPriceTooLow, 400, "Your Spot request price of 0.05 is lower than the minimum required Spot request fulfillment price of 99.0."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runOne(ctx, c, image, tt.instanceType, tt.mod)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("launch refused: %v", err)
				}
				return
			}
			code, status := apiError(t, err)
			if code != tt.code || status != tt.status {
				t.Fatalf("got %s %d, want %s %d (%v)", code, status, tt.code, tt.status, err)
			}
			var ae smithy.APIError
			errors.As(err, &ae)
			if tt.message != "" && ae.ErrorMessage() != tt.message {
				t.Errorf("message:\n got %s\nwant %s", ae.ErrorMessage(), tt.message)
			}
		})
	}
}

// TestHooksSeeCallsBeforeTheClient kills (cancels) a client at its second
// mutating call: the upstream has processed the call, the client never
// learns it, as when a process dies between a cloud call and its state save.
func TestHooksSeeCallsBeforeTheClient(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	image := amazonImage(t, c)
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	var seen []int64
	p.OnCall(func(call Call) {
		if call.MutatingSeq > 0 {
			seen = append(seen, call.MutatingSeq)
		}
		if call.MutatingSeq == 2 {
			kill()
		}
	})
	if _, err := runOne(ctx, c, image, "m5.large", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := runOne(ctx, c, image, "m5.large", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("second launch: %v, want the client killed before its answer", err)
	}
	if diff := cmp.Diff([]int64{1, 2}, seen); diff != "" {
		t.Errorf("mutating sequence numbers (-want +got):\n%s", diff)
	}
	if n := countInstances(t, c); n != 2 {
		t.Errorf("moto holds %d instances, want 2", n)
	}
}

func TestReplayReadsUntilAMutation(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	ctx := context.Background()
	image := amazonImage(t, c)
	p.SetReplayReads(true)
	var injected []string
	p.OnCall(func(call Call) {
		if call.Op.Name == "DescribeInstances" {
			injected = append(injected, call.Injected)
		}
	})
	counts := []int{countInstances(t, c), countInstances(t, c)}
	if _, err := runOne(ctx, c, image, "m5.large", nil); err != nil {
		t.Fatal(err)
	}
	counts = append(counts, countInstances(t, c), countInstances(t, c))
	if diff := cmp.Diff([]int{0, 0, 1, 1}, counts); diff != "" {
		t.Errorf("instances seen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"", "replayed", "", "replayed"}, injected); diff != "" {
		t.Errorf("replays (-want +got):\n%s", diff)
	}
	if n := p.Counts()["ec2:DescribeInstances"]; n != 4 {
		t.Errorf("counted %d DescribeInstances, want 4: replayed calls count", n)
	}
}

func TestLatencyDelaysEveryCall(t *testing.T) {
	p := sharedMotoProxy(t)
	c, _ := clients(t, 1)
	p.SetLatency(150 * time.Millisecond)
	start := time.Now()
	countInstances(t, c)
	// A lower bound only: the delay is a sleep, so this cannot flake.
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("call took %s, less than the 150ms latency", took)
	}
}

func TestHangingEndpointNeverAnswers(t *testing.T) {
	h, err := Hang()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	client := &http.Client{Timeout: 200 * time.Millisecond}
	_, err = client.Get(h.URL + "/")
	var timeout interface{ Timeout() bool }
	if !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("GET on a hanging endpoint: %v, want a timeout", err)
	}
	if h.Accepted() != 1 {
		t.Errorf("accepted %d connections, want 1", h.Accepted())
	}
}
