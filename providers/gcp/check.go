package gcp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/api/iterator"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

// checkTimeout bounds each capability's probe.
const checkTimeout = 30 * time.Second

// Check probes each capability with a cheap read: compute with zones.list
// (and the TPU API with locations.list, reported alongside), storage with a
// bucket list. Each answers on its own, so storage-only credentials leave
// storage usable.
func (p *Provider) Check(ctx context.Context) []providers.CapabilityStatus {
	return []providers.CapabilityStatus{p.checkCompute(ctx), p.checkStorage(ctx)}
}

func (p *Provider) checkCompute(ctx context.Context) providers.CapabilityStatus {
	st := providers.CapabilityStatus{Capability: spec.CapCompute}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	svc, err := p.computeClient(ctx)
	if err == nil {
		_, err = svc.Zones.List(p.project).MaxResults(1).Context(ctx).Do()
	}
	if err != nil {
		st.Reason = fmt.Sprintf("Compute Engine in project %s: %s", p.project, describe(err, p.endpointFor("compute")))
		return st
	}
	st.OK = true
	st.Reason = fmt.Sprintf("Compute Engine zones.list in project %s works", p.project)
	tsvc, err := p.tpuClient(ctx)
	if err == nil {
		_, err = tsvc.Projects.Locations.List("projects/" + p.project).PageSize(1).Context(ctx).Do()
	}
	if err != nil {
		st.Reason += fmt.Sprintf("; Cloud TPU API fails, so TPU clusters cannot be created: %s", describe(err, p.endpointFor("tpu")))
	} else {
		st.Reason += "; Cloud TPU API works"
	}
	return st
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
		return st
	}
	st.OK = true
	st.Reason = fmt.Sprintf("Cloud Storage bucket list in project %s works", p.project)
	return st
}
