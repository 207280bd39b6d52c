package aws

import (
	"context"
	"errors"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/skyplan/skyplan/providers"
)

// noSDKRetries is the per-call option of RunInstances, which the SDK must
// not retry: a retry after a lost answer launches a second node wherever
// ClientToken is not honoured (moto never does; EC2 forgets a token after
// a while). createBucket does the same for CreateBucket.
func noSDKRetries(o *ec2.Options) { o.RetryMaxAttempts = 1 }

// createOnce runs create, and retries it as the client's retryer would
// (the same errors, attempts and backoff), except that after an error that
// may hide a success (no answer, 5xx, throttling) it first waits the
// backoff and asks found whether the object exists, and takes it if so,
// also after the last attempt. found reports the object, or ok = false
// when there is none; its error ends the retries.
func createOnce[T any](ctx context.Context, retryer awssdk.Retryer, create func(context.Context) (T, error), found func(context.Context) (T, bool, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		got, err := create(ctx)
		if err == nil || !retryer.IsErrorRetryable(err) {
			return got, err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			delay = 0
		}
		if serr := sleep(ctx, delay); serr != nil {
			return got, errors.Join(err, serr)
		}
		got, ok, ferr := found(ctx)
		switch {
		case ferr != nil:
			return got, errors.Join(err, ferr)
		case ok:
			return got, nil
		case attempt >= retryer.MaxAttempts():
			return got, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// runInstance launches one node. RunInstances is not retried by the SDK:
// after an error that may hide a launch, the node is looked up by its
// tags (this state's, the address, the node index) and adopted if it runs,
// else launched again with the same client token.
func (p *Provider) runInstance(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, region string, index int, in *ec2.RunInstancesInput) (ec2types.Instance, error) {
	launch := func(ctx context.Context) (ec2types.Instance, error) {
		out, err := client.RunInstances(ctx, in, noSDKRetries)
		if err != nil {
			return ec2types.Instance{}, err
		}
		if len(out.Instances) != 1 {
			return ec2types.Instance{}, errors.New("RunInstances returned " + strconv.Itoa(len(out.Instances)) + " instances, want 1")
		}
		return out.Instances[0], nil
	}
	found := func(ctx context.Context) (ec2types.Instance, bool, error) {
		inst, ok, err := p.launchedNode(ctx, client, req, index)
		if ok {
			req.Report("%s: the answer to launching node %d was lost, but it was launched: %s", req.Address, index, awssdk.ToString(inst.InstanceId))
		}
		return inst, ok, err
	}
	inst, err := createOnce(ctx, client.Options().Retryer, launch, found)
	return inst, wrapErr(req.Address, "RunInstances", region, err)
}

// launchedNode finds the live node a launch for index made: the oldest
// pending or running instance with this request's ownership tags and index.
func (p *Provider) launchedNode(ctx context.Context, client *ec2.Client, req providers.ApplyRequest, index int) (ec2types.Instance, bool, error) {
	var filters []ec2types.Filter
	for k, v := range req.Owner().Tags() {
		filters = append(filters, filter("tag:"+k, v))
	}
	filters = append(filters, filter("tag:"+tagNodeIndex, strconv.Itoa(index)), filter("instance-state-name", runningStates...))
	all, err := describeAll(ctx, client, &ec2.DescribeInstancesInput{Filters: filters})
	if err != nil || len(all) == 0 {
		return ec2types.Instance{}, false, err
	}
	keep, _, _ := planNodes(all, int64(index)+1)
	inst, ok := keep[index]
	return inst, ok, nil
}
