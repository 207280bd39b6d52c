package aws

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/skyplan/skyplan/internal/emulator"
	"github.com/skyplan/skyplan/internal/testenv"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// One moto_server serves the whole package; tests keep apart by workspace
// and bucket name.
var (
	moto    *emulator.Moto
	motoErr error
)

func TestMain(m *testing.M) {
	moto, motoErr = emulator.StartMoto()
	if motoErr == nil {
		for k, v := range moto.Env() {
			os.Setenv(k, v)
		}
		for _, k := range []string{"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_EC2"} {
			os.Unsetenv(k)
		}
	}
	code := m.Run()
	if moto != nil {
		moto.Stop()
	}
	os.Exit(code)
}

// needMoto skips (locally) or fails (CI=true) when moto_server is missing.
func needMoto(t *testing.T) {
	t.Helper()
	var ni emulator.ErrNotInstalled
	if errors.As(motoErr, &ni) {
		testenv.Missing(t, "moto_server", motoErr.Error())
	}
	if motoErr != nil {
		t.Fatal(motoErr)
	}
}

var uniq atomic.Int64

// unique returns a name no other test in this run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000, uniq.Add(1))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newProvider builds a provider the way the CLI does, through the registry.
func newProvider(t *testing.T, workspace string, cloudAttrs map[string]any, opts ...func(*config.LoadOptions) error) *Provider {
	t.Helper()
	if cloudAttrs == nil {
		cloudAttrs = map[string]any{"regions": []string{"us-east-1"}}
	}
	prov, err := providers.New(context.Background(), providers.Config{
		Cloud: &spec.Cloud{Name: "aws", Attrs: cloudAttrs}, Workspace: workspace})
	if err != nil {
		t.Fatal(err)
	}
	p := prov.(*Provider)
	p.waitTimeout = 2 * time.Minute
	p.capacityWait = time.Millisecond // a refused place is not retried in place
	p.extraLoadOptions = opts
	return p
}

func rawEC2(t *testing.T, region string) *ec2.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

func rawS3(t *testing.T, region string) *s3.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
}

func describeByID(t *testing.T, client *ec2.Client, id string) ec2types.Instance {
	t.Helper()
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances %s: %v", id, err)
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			return inst
		}
	}
	t.Fatalf("instance %s not found", id)
	return ec2types.Instance{}
}

// anyImage returns an image moto offers, for launches made behind skyplan's back.
func anyImage(t *testing.T, client *ec2.Client) string {
	t.Helper()
	out, err := client.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{canonicalOwner}})
	if err != nil || len(out.Images) == 0 {
		t.Fatalf("DescribeImages: %v (%d images)", err, len(out.Images))
	}
	return awssdk.ToString(out.Images[0].ImageId)
}

// callLog records every SDK operation (service, operation, region, input)
// through a smithy middleware: an instrument on the real client, not a mock.
type callLog struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	Service, Op, Region string
	Input               any
}

func (l *callLog) option() func(*config.LoadOptions) error {
	return config.WithAPIOptions([]func(*middleware.Stack) error{func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("skyplan-test-calllog",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				l.mu.Lock()
				l.calls = append(l.calls, call{
					Service: awsmiddleware.GetServiceID(ctx),
					Op:      awsmiddleware.GetOperationName(ctx),
					Region:  awsmiddleware.GetRegion(ctx),
					Input:   in.Parameters,
				})
				l.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}})
}

func (l *callLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// count returns how often op ran, per region.
func (l *callLog) count(op string) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, c := range l.calls {
		if c.Op == op {
			out[c.Region]++
		}
	}
	return out
}

func (l *callLog) inputs(op string) []any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []any
	for _, c := range l.calls {
		if c.Op == op {
			out = append(out, c.Input)
		}
	}
	return out
}
