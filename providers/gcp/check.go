package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"google.golang.org/api/iterator"

	"github.com/skyplan/skyplan/internal/deadline"
	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// checkTimeout bounds each capability's probe.
const checkTimeout = 30 * time.Second

// Check probes each capability with a cheap read: compute with zones.list
// (and the TPU API with locations.list, reported alongside), storage with a
// bucket list. Each answers on its own, so storage-only credentials leave
// storage usable.
// The probes run concurrently, so a hanging endpoint costs one call timeout.
func (p *Provider) Check(ctx context.Context) []providers.CapabilityStatus {
	out := make([]providers.CapabilityStatus, 2)
	var wg sync.WaitGroup
	wg.Go(func() { out[0] = p.checkCompute(ctx) })
	wg.Go(func() { out[1] = p.checkStorage(ctx) })
	wg.Wait()
	return out
}

func (p *Provider) checkCompute(ctx context.Context) providers.CapabilityStatus {
	st := providers.CapabilityStatus{Capability: spec.CapCompute}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	var tpuErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		tsvc, err := p.tpuClient(ctx)
		if err == nil {
			err = p.retry(ctx, func(ctx context.Context) error {
				_, err := tsvc.Projects.Locations.List("projects/" + p.project).PageSize(1).Context(ctx).Do()
				return err
			})
		}
		tpuErr = err
	})
	svc, err := p.computeClient(ctx)
	if err == nil {
		err = p.retry(ctx, func(ctx context.Context) error {
			_, err := svc.Zones.List(p.project).MaxResults(1).Context(ctx).Do()
			return err
		})
	}
	wg.Wait()
	if err != nil {
		st.Reason = fmt.Sprintf("Compute Engine in project %s: %s", p.project, describe(err, p.endpointFor("compute")))
		st.Unverified = noVerdict(err)
		return st
	}
	st.OK = true
	st.Reason = fmt.Sprintf("Compute Engine zones.list in project %s works", p.project)
	if err := tpuErr; err != nil {
		st.Reason += fmt.Sprintf("; Cloud TPU API fails, so TPU clusters cannot be created: %s", describe(err, p.endpointFor("tpu")))
	} else {
		st.Reason += "; Cloud TPU API works"
	}
	return st
}

// noVerdict reports a failed call that says nothing about the
// credentials: no answer (a timeout, an unreachable endpoint, a lost
// connection), or 429 or 5xx after every retry.
func noVerdict(err error) bool {
	if code := httpCode(err); code != 0 {
		return code == http.StatusTooManyRequests || code >= 500
	}
	var uerr *url.Error
	return deadline.IsTimeout(err) || lostConnection(err) || errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded)
}

func (p *Provider) checkStorage(ctx context.Context) providers.CapabilityStatus {
	st := providers.CapabilityStatus{Capability: spec.CapStorage}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	client, err := p.storageClient(ctx)
	if err == nil {
		it := client.Buckets(ctx, p.project)
		it.PageInfo().MaxSize = 1
		if _, err = it.Next(); errors.Is(err, iterator.Done) {
			err = nil
		}
	}
	if err != nil {
		st.Reason = fmt.Sprintf("Cloud Storage in project %s: %s", p.project, describe(err, p.endpointFor("storage")))
		st.Unverified = noVerdict(err)
		return st
	}
	st.OK = true
	st.Reason = fmt.Sprintf("Cloud Storage bucket list in project %s works", p.project)
	return st
}
