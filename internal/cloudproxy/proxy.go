// Package cloudproxy is an HTTP reverse proxy for tests and benchmarks that
// sits between a cloud SDK and a local emulator (moto_server, the in-repo
// fakes) on 127.0.0.1. It names every request's API operation and counts
// them, adds latency, and injects the failures real clouds produce: error
// answers (500, 503, throttling), responses lost after the call took effect,
// and EC2 capacity errors for chosen zones. Hooks see each call after the
// upstream processed it, before the client gets the answer, so a test can
// kill a client at its N-th mutating call.
//
// Point the AWS SDK at it with AWS_ENDPOINT_URL; S3 must use path-style
// addressing (skyplan does whenever an endpoint is set).
package cloudproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proxy forwards to one upstream. All its settings may change while it
// serves; it is safe for concurrent use.
type Proxy struct {
	// URL is where it listens once started (http://127.0.0.1:PORT).
	URL string

	target    *url.URL
	transport *http.Transport
	listener  net.Listener
	server    *http.Server

	mu       sync.Mutex
	latency  time.Duration
	rng      *rand.Rand
	faults   []*fault
	capacity []*capacityRule
	hooks    []func(Call)
	seq      int64
	mutSeq   int64
	counts   map[string]int
	mutating int
	retries  int
	upstream time.Duration
	// busy is the wall time with at least one request at the upstream.
	busy      time.Duration
	busySince time.Time
	inflight  int
	replay    bool
	cache     map[string]*recorded
	// cacheGen changes around every forwarded mutation, so a read that
	// raced with one is not cached.
	cacheGen uint64

	zones zoneDirectory
}

// Call is one request, as hooks see it.
type Call struct {
	// Seq numbers requests from 1 in arrival order; MutatingSeq numbers
	// mutating ones (0 for reads).
	Seq, MutatingSeq int64
	Op               Op
	// Attempt is the SDK's attempt number (amz-sdk-request), 0 when unknown.
	Attempt int
	// Status is what the upstream or the proxy answered.
	Status int
	// Injected says what the proxy did instead of relaying: an error code,
	// "dropped" (processed upstream, connection reset), "replayed", or "".
	Injected string
}

// New returns a proxy to target (the emulator's base URL) that is not
// listening; it is an http.Handler.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("cloudproxy: target %q is not an absolute URL", target)
	}
	p := &Proxy{
		target: u,
		// Many connections: the point is to let parallel clients through.
		transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true, IdleConnTimeout: 30 * time.Second},
		rng:       rand.New(rand.NewPCG(1, 0)),
		counts:    map[string]int{},
		cache:     map[string]*recorded{},
	}
	p.zones = zoneDirectory{upstream: u, transport: p.transport, subnets: map[string]string{}, regions: map[string][]string{}}
	return p, nil
}

// Start starts a proxy to target on a free 127.0.0.1 port.
func Start(target string) (*Proxy, error) {
	p, err := New(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cloudproxy: listen on 127.0.0.1: %w", err)
	}
	p.listener = l
	p.URL = "http://" + l.Addr().String()
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go p.server.Serve(l) //nolint:errcheck // ends with Close
	return p, nil
}

// Close stops a started proxy.
func (p *Proxy) Close() {
	if p.server != nil {
		p.server.Close()
	}
	p.transport.CloseIdleConnections()
}

// SetLatency delays every request by d before it is forwarded or answered.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// SetSeed reseeds the generator that decides which requests a Fault with a
// Fraction hits: the same seed and request order give the same faults.
func (p *Proxy) SetSeed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng = rand.New(rand.NewPCG(seed, 0))
}

// OnCall adds a hook run for every request after it was processed (by the
// upstream or by an injected fault) and before its answer is relayed.
// Hooks run on the request's goroutine, so concurrent requests call them
// concurrently; a slow hook delays that answer.
func (p *Proxy) OnCall(fn func(Call)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks = append(p.hooks, fn)
}

// SetReplayReads makes identical reads (same operation, URL and body) be
// answered from the first answer, until the next mutating request passes
// through: the benchmark times the client, not the emulator (moto takes
// seconds to list 1,000 instances). Replayed calls still count and wait
// the latency.
func (p *Proxy) SetReplayReads(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replay = on
	p.cache = map[string]*recorded{}
}

// Snapshot is what the proxy counted.
type Snapshot struct {
	// Calls counts requests per operation ("ec2:DescribeInstances").
	Calls    map[string]int
	Total    int
	Mutating int
	// Retries counts calls an AWS SDK marked as a retry (attempt > 1).
	Retries int
	// Upstream is the time spent waiting on the upstream, summed over calls
	// (not counting the injected latency).
	Upstream time.Duration
	// UpstreamBusy is the wall time during which the upstream had at least
	// one request in hand: near the client's wall time, the upstream, not
	// the client, set the pace.
	UpstreamBusy time.Duration
}

// Snapshot returns the counts so far.
func (p *Proxy) Snapshot() Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Snapshot{Calls: make(map[string]int, len(p.counts)), Mutating: p.mutating, Retries: p.retries, Upstream: p.upstream, UpstreamBusy: p.busy}
	if p.inflight > 0 {
		s.UpstreamBusy += time.Since(p.busySince)
	}
	for k, v := range p.counts {
		s.Calls[k] = v
		s.Total += v
	}
	return s
}

// Counts is Snapshot().Calls.
func (p *Proxy) Counts() map[string]int { return p.Snapshot().Calls }

// ResetCounts zeroes the counts (not the sequence numbers hooks see).
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = map[string]int{}
	p.mutating, p.retries = 0, 0
	p.upstream, p.busy = 0, 0
	p.busySince = time.Now()
}

// recorded is an upstream answer kept for replay.
type recorded struct {
	status int
	header http.Header
	body   []byte
}

// decision is what the proxy does with one request, fixed on arrival.
type decision struct {
	call     Call
	latency  time.Duration
	fault    *fault
	refusal  *APIError // a capacity rule's answer
	replay   bool
	cacheKey string
	cacheGen uint64
	hooks    []func(Call)
}

// minAnswer is the least time the proxy takes to answer a request itself
// (injected errors, replays). aws-sdk-go-v2 can lose the connection when an
// answer arrives before it has finished writing the request, and retries
// (aws/aws-sdk-go-v2#2737): an instant answer would add calls no real
// cloud causes. A millisecond avoids it here; two leave a margin.
const minAnswer = 2 * time.Millisecond

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cloudproxy: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	op := Classify(r, body)
	// Capacity rules may look zones up upstream: decide before taking the lock.
	refusal := p.capacityRefusal(r.Context(), op, r, body)
	d := p.decide(op, r, body, refusal)

	if err := sleep(r.Context(), d.latency); err != nil {
		return // the client gave up
	}
	var replayed *recorded
	if d.replay {
		replayed = p.lookup(d.cacheKey)
	}
	if d.refusal != nil || (d.fault != nil && d.fault.Error != nil) || replayed != nil {
		if err := sleep(r.Context(), minAnswer-time.Since(arrived)); err != nil {
			return
		}
	}
	switch {
	case d.refusal != nil:
		p.answerError(w, d, *d.refusal)
		return
	case d.fault != nil && d.fault.Error != nil:
		p.answerError(w, d, *d.fault.Error)
		return
	case replayed != nil:
		d.call.Status, d.call.Injected = replayed.status, "replayed"
		p.runHooks(d)
		writeRecorded(w, r, replayed)
		return
	}
	if op.Mutating {
		p.bumpCacheGen()
		defer p.bumpCacheGen()
	}
	p.upstreamStarts()
	rec, took, err := p.forward(r, body)
	p.upstreamEnds(took)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		d.call.Status = http.StatusBadGateway
		p.runHooks(d)
		http.Error(w, "cloudproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	d.call.Status = rec.status
	if d.replay && rec.status < 300 {
		p.store(d, rec)
	}
	if d.fault != nil && d.fault.Drop {
		d.call.Injected = "dropped"
		p.runHooks(d)
		resetConnection(w)
		return
	}
	p.runHooks(d)
	writeRecorded(w, r, rec)
}

func (p *Proxy) upstreamStarts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inflight == 0 {
		p.busySince = time.Now()
	}
	p.inflight++
}

func (p *Proxy) upstreamEnds(took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upstream += took
	p.inflight--
	if p.inflight == 0 {
		p.busy += time.Since(p.busySince)
	}
}

// decide counts the request and fixes its fate under one lock, so the
// seeded generator is drawn in arrival order.
func (p *Proxy) decide(op Op, r *http.Request, body []byte, refusal *APIError) decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	d := decision{call: Call{Seq: p.seq, Op: op, Attempt: sdkAttempt(r.Header)}, latency: p.latency, refusal: refusal}
	p.counts[op.String()]++
	if d.call.Attempt > 1 {
		p.retries++
	}
	if op.Mutating {
		p.mutSeq++
		p.mutating++
		d.call.MutatingSeq = p.mutSeq
	}
	if refusal == nil {
		d.fault = p.pickFault(op)
	}
	if p.replay && !op.Mutating {
		d.replay = true
		d.cacheKey = op.String() + "\x00" + r.Method + "\x00" + r.URL.RequestURI() + "\x00" + string(body)
		d.cacheGen = p.cacheGen
	}
	d.hooks = append([]func(Call){}, p.hooks...)
	return d
}

func (p *Proxy) answerError(w http.ResponseWriter, d decision, e APIError) {
	d.call.Status, d.call.Injected = e.Status, e.Code
	p.runHooks(d)
	writeAPIError(w, d.call.Op.Service, e, requestID(d.call.Seq))
}

func (p *Proxy) runHooks(d decision) {
	for _, h := range d.hooks {
		h(d.call)
	}
}

func (p *Proxy) lookup(key string) *recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cache[key]
}

func (p *Proxy) store(d decision, rec *recorded) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.replay && p.cacheGen == d.cacheGen {
		p.cache[d.cacheKey] = rec
	}
}

func (p *Proxy) bumpCacheGen() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cacheGen++
	clear(p.cache)
}

// hopHeaders are connection-level headers a proxy must not pass on.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends the request upstream and reads the whole answer.
func (p *Proxy) forward(r *http.Request, body []byte) (*recorded, time.Duration, error) {
	u := *p.target
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Host = r.Host // signatures cover it
	start := time.Now()
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, time.Since(start), err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, took, err
	}
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	return &recorded{status: resp.StatusCode, header: resp.Header, body: respBody}, took, nil
}

func writeRecorded(w http.ResponseWriter, r *http.Request, rec *recorded) {
	for k, vs := range rec.header {
		w.Header()[k] = append([]string(nil), vs...)
	}
	if r.Method != http.MethodHead && rec.status != http.StatusNoContent && rec.status != http.StatusNotModified {
		w.Header().Set("Content-Length", strconv.Itoa(len(rec.body)))
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body)
}

// resetConnection drops the client's connection without an answer; with
// SO_LINGER 0 the client reads "connection reset by peer", which SDKs retry.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// sdkAttempt reads "attempt=2; max=3" from the AWS SDKs' amz-sdk-request header.
func sdkAttempt(h http.Header) int {
	for _, part := range strings.Split(h.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
