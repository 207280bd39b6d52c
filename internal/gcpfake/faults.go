package gcpfake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path"
	"strings"
)

// Fault is an error injected into matching requests.
type Fault struct {
	// Status answers the request with this HTTP error (403, 409, 429, ...).
	// Zero with OperationError set accepts the request instead.
	Status int
	// Reason is the legacy errors[].reason ("forbidden", "alreadyExists",
	// "rateLimitExceeded").
	Reason string
	// ErrorInfoReason adds a google.rpc.ErrorInfo detail ("SERVICE_DISABLED").
	ErrorInfoReason string
	Message         string
	// OperationError makes a mutating call succeed but its operation end in
	// this error: a compute error code (QUOTA_EXCEEDED,
	// ZONE_RESOURCE_POOL_EXHAUSTED) or, for TPU, RESOURCE_EXHAUSTED and the
	// like. The resource is not created.
	OperationError string
	// Times limits the fault to the first n matching requests (0: all).
	Times int
	// Fraction, between 0 and 1, gives each matching request that chance
	// of the fault, drawn from the seeded generator (SetSeed) in arrival
	// order; 0 means every matching request.
	Fraction float64
	// Drop serves the request (creating its operation, with
	// OperationError if set) and then resets the connection instead of
	// answering, as when a response is lost on the way back. Status must
	// be 0.
	Drop bool
}

// Forbidden is a 403 permission error.
func Forbidden() Fault {
	return Fault{Status: http.StatusForbidden, Reason: "forbidden",
		Message: "Required 'compute.zones.list' permission for 'projects/{project}'"}
}

// ServiceDisabled is the 403 an API answers when it is not enabled.
func ServiceDisabled(service string) Fault {
	return Fault{Status: http.StatusForbidden, Reason: "accessNotConfigured", ErrorInfoReason: "SERVICE_DISABLED",
		Message: fmt.Sprintf("%s API has not been used in project {project} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/%s/overview then retry.", service, service)}
}

// AlreadyExists is the 409 of an insert whose name is taken.
func AlreadyExists() Fault {
	return Fault{Status: http.StatusConflict, Reason: "alreadyExists", Message: "The resource already exists"}
}

// RateLimited is a 429.
func RateLimited(times int) Fault {
	return Fault{Status: http.StatusTooManyRequests, Reason: "rateLimitExceeded",
		Message: "Rate Limit Exceeded", Times: times}
}

// QuotaExceeded ends the operation with QUOTA_EXCEEDED (compute).
func QuotaExceeded(metric string) Fault {
	return Fault{OperationError: "QUOTA_EXCEEDED",
		Message: fmt.Sprintf("Quota '%s' exceeded.  Limit: 0.0 in region {region}.", metric)}
}

// ZoneExhausted ends the operation with ZONE_RESOURCE_POOL_EXHAUSTED (compute).
func ZoneExhausted() Fault {
	return Fault{OperationError: "ZONE_RESOURCE_POOL_EXHAUSTED",
		Message: "The zone '{zone}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later."}
}

// TPUQuotaExceeded ends a TPU operation with RESOURCE_EXHAUSTED.
func TPUQuotaExceeded() Fault {
	return Fault{OperationError: "RESOURCE_EXHAUSTED",
		Message: "There is no more capacity in the zone \"{zone}\"; you can try in another zone where Cloud TPU Nodes are offered (see https://cloud.google.com/tpu/docs/regions) [EID: 0x1]"}
}

// Unavailable is a 503.
func Unavailable() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Reason: "backendError", Message: "The service is currently unavailable."}
}

// Capacity paths: compute instance inserts and TPU node creates in one zone.
func insertPattern(zone string) string     { return "/compute/v1/projects/*/zones/" + zone + "/instances" }
func createNodePattern(zone string) string { return "/v2/projects/*/locations/" + zone + "/nodes" }

// ExhaustZone makes instance inserts and TPU node creates in zone fail as
// when the zone is out of capacity: the compute operation ends with
// ZONE_RESOURCE_POOL_EXHAUSTED, the TPU operation with RESOURCE_EXHAUSTED.
// Other zones are unaffected.
func (s *Server) ExhaustZone(zone string) {
	s.Inject(http.MethodPost, insertPattern(zone), ZoneExhausted())
	s.Inject(http.MethodPost, createNodePattern(zone), TPUQuotaExceeded())
}

// ExceedQuota makes instance inserts and TPU node creates in zone fail on
// a quota: QUOTA_EXCEEDED naming metric (compute), RESOURCE_EXHAUSTED (TPU).
func (s *Server) ExceedQuota(zone, metric string) {
	s.Inject(http.MethodPost, insertPattern(zone), QuotaExceeded(metric))
	s.Inject(http.MethodPost, createNodePattern(zone), Fault{OperationError: "RESOURCE_EXHAUSTED",
		Message: fmt.Sprintf("Quota limit '%s' has been exceeded. Limit: 0 in zone {zone}.", metric)})
}

// SetSeed reseeds the generator that decides which requests a Fault with a
// Fraction hits: the same seed and request order give the same faults.
func (s *Server) SetSeed(seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rng = rand.New(rand.NewPCG(seed, 0))
}

// Hook runs before matching requests are served, outside the fake's lock
// (it may call the fake's methods, e.g. AddInstance to stage a race, but
// must not read the body). A non-nil Fault it returns applies to that request.
type Hook func(r *http.Request) *Fault

type hook struct {
	method, pattern string
	fn              Hook
}

// OnRequest adds a hook for requests with this method ("" for any) whose
// path matches pattern.
func (s *Server) OnRequest(method, pattern string, fn Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, hook{method: method, pattern: pattern, fn: fn})
}

// runHooks returns the fault of the first hook that answers with one.
func runHooks(hooks []hook, r *http.Request) *injected {
	for _, h := range hooks {
		if h.method != "" && h.method != r.Method {
			continue
		}
		if !matchPath(h.pattern, r.URL.Path) {
			continue
		}
		if f := h.fn(r); f != nil {
			return &injected{method: r.Method, pattern: h.pattern, Fault: *f}
		}
	}
	return nil
}

type injected struct {
	method, pattern string
	Fault
	used int
}

// message fills {project}, {zone} and {region} from the request path.
func (f *injected) message(r *http.Request) string {
	return expandMessage(f.Message, r.URL.Path)
}

func expandMessage(msg, p string) string {
	parts := strings.Split(p, "/")
	vars := map[string]string{}
	for i := 0; i+1 < len(parts); i++ {
		switch parts[i] {
		case "projects":
			vars["{project}"] = parts[i+1]
		case "zones", "locations":
			vars["{zone}"] = parts[i+1]
			vars["{region}"] = regionOf(parts[i+1])
		}
	}
	for k, v := range vars {
		msg = strings.ReplaceAll(msg, k, v)
	}
	return msg
}

// Inject adds a fault for requests with this method ("" for any) whose path
// matches pattern (path.Match syntax, e.g.
// "/compute/v1/projects/*/zones/*/instances", or a trailing "/**" for a
// whole subtree). Later faults win.
func (s *Server) Inject(method, pattern string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &injected{method: method, pattern: pattern, Fault: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.hooks = nil
}

// takeFault returns the newest live fault matching the request and counts it.
func (s *Server) takeFault(method, p string) *injected {
	return takeFault(s.faults, method, p, s.rng)
}

func takeFault(faults []*injected, method, p string, rng *rand.Rand) *injected {
	for i := len(faults) - 1; i >= 0; i-- {
		f := faults[i]
		if f.method != "" && f.method != method {
			continue
		}
		if !matchPath(f.pattern, p) {
			continue
		}
		if f.Times > 0 && f.used >= f.Times {
			continue
		}
		if f.Fraction > 0 && f.Fraction < 1 && rng.Float64() >= f.Fraction {
			continue
		}
		f.used++
		return f
	}
	return nil
}

// matchPath matches path.Match patterns, where a trailing "/**" also
// matches everything below (e.g. "/compute/v1/**").
func matchPath(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/**"); ok {
		return strings.HasPrefix(p, prefix+"/")
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

type faultKey struct{}

func withFault(ctx context.Context, f *injected) context.Context {
	return context.WithValue(ctx, faultKey{}, f)
}

// operationFault is the fault that should end this request's operation.
func operationFault(r *http.Request) *injected {
	f, _ := r.Context().Value(faultKey{}).(*injected)
	if f == nil || f.OperationError == "" {
		return nil
	}
	return f
}

// dropAnswer serves the request into nothing, then resets the client's
// connection (SO_LINGER 0: the client reads "connection reset by peer").
func dropAnswer(w http.ResponseWriter, r *http.Request, serve http.Handler) {
	serve.ServeHTTP(discardWriter{header: http.Header{}}, r)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // not HTTP/1: abort the stream instead
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
