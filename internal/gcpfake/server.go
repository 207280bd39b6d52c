// Package gcpfake is an in-process fake of the Compute Engine (compute/v1)
// and Cloud TPU (tpu/v2) REST APIs, and a label-aware front for
// fake-gcs-server. It speaks the APIs' own JSON (the generated Go types),
// on the paths the generated clients call, so providers are tested with the
// real client libraries:
//
//	compute: {URL}/compute/v1/projects/{project}/...
//	tpu:     {URL}/v2/projects/{project}/locations/{zone}/...
//
// Long-running operations advance one step per poll (PENDING → RUNNING →
// DONE), and errors can be injected per method and path: always, the first
// n times, for a seeded fraction of requests, or as a lost answer after the
// request took effect; ExhaustZone and ExceedQuota fail one zone's creates.
package gcpfake

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	compute "google.golang.org/api/compute/v1"
	tpu "google.golang.org/api/tpu/v2"
)

// DefaultZones are the zones the fake knows unless SetZones says otherwise.
var DefaultZones = []string{
	"asia-east1-a", "asia-northeast1-a", "asia-northeast1-b",
	"europe-west1-b", "europe-west4-a", "europe-west4-b",
	"us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f", "us-central2-b",
	"us-east1-b", "us-east1-c", "us-east1-d", "us-east4-a", "us-east4-b", "us-east5-a", "us-east5-b",
	"us-south1-a", "us-west1-a", "us-west1-b", "us-west1-c", "us-west4-a",
}

// selfLinkBase is what real resources' URLs start with; clients only parse them.
const selfLinkBase = "https://www.googleapis.com/compute/v1/"

// Server is the fake. Its zero value is not usable: call New or Start.
type Server struct {
	// URL is the base URL once started (http://127.0.0.1:PORT).
	URL string
	// MaxPageSize caps every list page (default 500, the API's maximum), so
	// tests can force pagination.
	MaxPageSize int
	// OperationPolls is how many polls an operation needs to be done
	// (default 2: PENDING, then RUNNING, then DONE).
	OperationPolls int
	// TPUUnreachable lists zones a TPU nodes.list across all locations
	// (locations/-) reports as unreachable and leaves out, as the API does
	// when a location does not answer.
	TPUUnreachable []string

	mu         sync.Mutex
	zones      []string
	instances  map[string]*compute.Instance // project/zone/name
	disks      map[string]*compute.Disk     // project/zone/name
	computeOps map[string]*computeOp        // project/zone/name
	nodes      map[string]*tpu.Node         // full node name
	tpuOps     map[string]*tpuOp            // full operation name
	faults     []*injected
	hooks      []hook
	rng        *rand.Rand
	requests   []Request
	nextID     uint64

	mux      *http.ServeMux
	listener net.Listener
	httpSrv  *http.Server
}

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
}

// New returns a fake that is not listening; use it as an http.Handler.
func New() *Server {
	s := &Server{
		MaxPageSize:    500,
		OperationPolls: 2,
		zones:          append([]string{}, DefaultZones...),
		instances:      map[string]*compute.Instance{},
		disks:          map[string]*compute.Disk{},
		computeOps:     map[string]*computeOp{},
		nodes:          map[string]*tpu.Node{},
		tpuOps:         map[string]*tpuOp{},
		nextID:         uint64(time.Now().UnixNano()%1e9) * 1000,
		rng:            rand.New(rand.NewPCG(1, 0)),
	}
	s.mux = http.NewServeMux()
	s.routeCompute()
	s.routeTPU()
	return s
}

// Start starts a fake on a free 127.0.0.1 port.
func Start() (*Server, error) {
	s := New()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gcpfake: listen on 127.0.0.1: %w", err)
	}
	s.listener = l
	s.URL = "http://" + l.Addr().String()
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.httpSrv.Serve(l) //nolint:errcheck // ends with Close
	return s, nil
}

// Close stops a started fake.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

// ComputeEndpoint is the compute/v1 base URL for option.WithEndpoint.
func (s *Server) ComputeEndpoint() string { return s.URL + "/compute/v1/" }

// TPUEndpoint is the tpu/v2 base URL for option.WithEndpoint.
func (s *Server) TPUEndpoint() string { return s.URL + "/" }

// Env points skyplan's GCP provider at this fake.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"SKYPLAN_GCP_COMPUTE_ENDPOINT": s.ComputeEndpoint(),
		"SKYPLAN_GCP_TPU_ENDPOINT":     s.TPUEndpoint(),
	}
}

// SetZones replaces the zones the fake knows.
func (s *Server) SetZones(zones []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones = append([]string{}, zones...)
	sort.Strings(s.zones)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
	hooks := append([]hook{}, s.hooks...)
	s.mu.Unlock()
	f := runHooks(hooks, r)
	if f == nil {
		s.mu.Lock()
		f = s.takeFault(r.Method, r.URL.Path)
		s.mu.Unlock()
	}
	if f != nil && f.Status != 0 {
		writeError(w, f.Status, f.Reason, f.message(r), f.ErrorInfoReason)
		return
	}
	if f != nil {
		r = r.WithContext(withFault(r.Context(), f))
	}
	if f != nil && f.Drop {
		dropAnswer(w, r, s.mux)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request{}, s.requests...)
}

// CountRequests counts requests whose method matches and whose path matches
// the pattern as Inject matches it (e.g. "/compute/v1/projects/*/aggregated/instances").
func (s *Server) CountRequests(method, pattern string) int {
	n := 0
	for _, r := range s.Requests() {
		if matchPath(pattern, r.Path) && (method == "" || method == r.Method) {
			n++
		}
	}
	return n
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

func (s *Server) newID() uint64 {
	s.nextID++
	return s.nextID
}

func (s *Server) knownZone(zone string) bool {
	for _, z := range s.zones {
		if z == zone {
			return true
		}
	}
	return false
}

func regionOf(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// --- JSON and errors -------------------------------------------------------

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "backendError", err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(b)
}

func readJSON(r *http.Request, v any) error {
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return fmt.Errorf("invalid JSON payload received: %v", err)
	}
	return nil
}

// statusNames are google.rpc.Code names by HTTP status, as both APIs report.
var statusNames = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
	500: "INTERNAL", 503: "UNAVAILABLE",
}

// writeError answers in the Google API error shape: the legacy errors[]
// (compute reasons such as "alreadyExists") and, where given, an ErrorInfo
// detail (reasons such as "SERVICE_DISABLED").
func writeError(w http.ResponseWriter, status int, reason, message, infoReason string) {
	body := map[string]any{
		"code":    status,
		"message": message,
		"status":  statusNames[status],
	}
	if reason != "" {
		body["errors"] = []map[string]string{{"message": message, "domain": "global", "reason": reason}}
	}
	if infoReason != "" {
		body["details"] = []map[string]any{{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": infoReason,
			"domain": "googleapis.com",
		}}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": body})
}

func notFound(w http.ResponseWriter, resource string) {
	writeError(w, http.StatusNotFound, "notFound", fmt.Sprintf("The resource '%s' was not found", resource), "")
}

func badRequest(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf(format, args...), "")
}

// --- pagination ------------------------------------------------------------

// page cuts one page out of n items from the request's pageToken and
// maxResults/pageSize, capped by MaxPageSize.
func (s *Server) page(r *http.Request, n int, sizeParam string) (start, end int, next string, err error) {
	size := s.MaxPageSize
	if v := r.URL.Query().Get(sizeParam); v != "" {
		m, convErr := strconv.Atoi(v)
		if convErr != nil || m < 0 || m > 500 {
			return 0, 0, "", fmt.Errorf("Invalid value for field '%s': '%s'. Must be in the range [0, 500].", sizeParam, v)
		}
		if m > 0 && m < size {
			size = m
		}
	}
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		b, decErr := base64.RawURLEncoding.DecodeString(tok)
		if decErr != nil {
			return 0, 0, "", errors.New("Invalid value for field 'pageToken'")
		}
		start, err = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || start < 0 {
			return 0, 0, "", errors.New("Invalid value for field 'pageToken'")
		}
	}
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return start, end, next, nil
}

// clone deep-copies an API object through its JSON form.
func clone[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}
