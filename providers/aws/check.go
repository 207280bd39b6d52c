package aws

import (
	"context"
	"errors"
	"fmt"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// Check proves each declared capability with a call that needs it: compute
// with the first page of the default region's observation (DescribeInstances,
// kept for Observe: proveCompute), storage with ListBuckets.
func (p *Provider) Check(ctx context.Context) []providers.CapabilityStatus {
	caps := p.cloud.Capabilities()
	out := make([]providers.CapabilityStatus, 0, len(caps))
	fail := func(reason string) []providers.CapabilityStatus {
		for _, c := range caps {
			out = append(out, providers.CapabilityStatus{Capability: c, Reason: reason})
		}
		return out
	}
	cfg, err := p.awsConfig(ctx)
	if err != nil {
		return fail(err.Error())
	}
	if cfg.Credentials == nil {
		return fail("no AWS credentials found" + p.profileNote())
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fail(fmt.Sprintf("no AWS credentials found%s (checked the environment, shared config and credentials files, SSO and instance roles): %v",
			p.profileNote(), err))
	}
	// Concurrently, so a hanging endpoint costs one call timeout, not one per capability.
	region := p.defaultRegion(ctx)
	out = make([]providers.CapabilityStatus, len(caps))
	var wg sync.WaitGroup
	for i, c := range caps {
		wg.Go(func() { out[i] = p.checkCapability(ctx, c, region) })
	}
	wg.Wait()
	return out
}

func (p *Provider) checkCapability(ctx context.Context, c spec.Capability, region string) providers.CapabilityStatus {
	st := providers.CapabilityStatus{Capability: c}
	switch c {
	case spec.CapCompute:
		op := "DescribeInstances"
		client, err := p.ec2Client(ctx, region)
		if err == nil {
			op, err = p.proveCompute(ctx, client, region)
		}
		if err != nil {
			st.Reason = "compute: " + p.explain(ctx, err, "ec2", region, op)
			st.Unverified = noVerdict(err)
			return st
		}
		st.OK, st.Reason = true, op+" in "+region+" succeeded"
	case spec.CapStorage:
		client, err := p.s3Client(ctx, region)
		if err == nil {
			_, err = client.ListBuckets(ctx, &s3.ListBucketsInput{MaxBuckets: awssdk.Int32(1)})
		}
		if err != nil {
			st.Reason = "storage: " + p.explain(ctx, err, "s3", region, "ListBuckets")
			st.Unverified = noVerdict(err)
			return st
		}
		st.OK, st.Reason = true, "ListBuckets succeeded"
	default:
		st.Reason = fmt.Sprintf("capability %q does not apply to AWS (use compute or storage)", c)
	}
	return st
}

// noVerdict reports a failed call that says nothing about the
// credentials: no answer (a timeout, an unreachable endpoint, a lost
// connection), or 5xx or throttling after every retry.
func noVerdict(err error) bool {
	var te *deadline.TimeoutError
	var send *smithyhttp.RequestSendError
	var resp *smithyhttp.ResponseError
	switch {
	case errors.As(err, &te), errors.As(err, &send), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &resp) && resp.HTTPStatusCode() >= 500:
		return true
	}
	_, throttled := retry.DefaultThrottleErrorCodes[errorCode(err)]
	return throttled
}

// explain turns a failed check call into a reason a person can act on.
func (p *Provider) explain(ctx context.Context, err error, service, region, op string) string {
	var te *deadline.TimeoutError
	if errors.As(err, &te) {
		return te.Error()
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return fmt.Sprintf("endpoint %s unreachable: %v", p.endpointName(ctx, service, region), send.Err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("endpoint %s did not answer in time", p.endpointName(ctx, service, region))
	}
	switch code := errorCode(err); code {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "AllAccessDisabled":
		return fmt.Sprintf("access denied (%s): the credentials may not call %s", code, op)
	case "AuthFailure", "InvalidClientTokenId", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"ExpiredToken", "RequestExpired", "UnrecognizedClientException", "InvalidToken", "TokenRefreshRequired":
		return fmt.Sprintf("credentials rejected (%s)", code)
	case "OptInRequired":
		return fmt.Sprintf("region %s is not enabled for this account (OptInRequired)", region)
	case "":
		return fmt.Sprintf("%s failed: %v", op, err)
	}
	return fmt.Sprintf("%s failed: %s", op, describeErr(err))
}
