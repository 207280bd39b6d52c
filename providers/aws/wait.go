package aws

import (
	"context"
	"time"

	"github.com/skyplan/skyplan/providers"
)

// waitFor runs an EC2 waiter within the wait timeout and the run's
// StopWaiting (providers.BeginWait); the error names what was awaited and
// the time really waited. The waiter itself gets a minute more than the
// wait, so the wait's context, which knows why it ended, always ends it.
func (p *Provider) waitFor(ctx context.Context, addr, region, what string, wait func(ctx context.Context, maxWait time.Duration) error) error {
	w, wctx := providers.BeginWait(ctx, p.waitTimeout)
	defer w.End()
	if err := wait(wctx, p.waitTimeout+time.Minute); err != nil {
		return wrapErr(addr, what, region, w.Err("", err))
	}
	return nil
}
