package gcpfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// GCS is fake-gcs-server behind a thin front that keeps the bucket metadata
// fake-gcs-server drops (labels, location, storage class), answers a
// non-empty bucket delete with 409 as GCS does, and injects faults. The
// storage client reaches it through STORAGE_EMULATOR_HOST.
type GCS struct {
	// URL is http://127.0.0.1:PORT.
	URL string
	// Inner is the fake-gcs-server itself (objects, buckets).
	Inner *fakestorage.Server

	mu       sync.Mutex
	meta     map[string]*bucketMeta
	faults   []*injected
	rng      *rand.Rand
	requests []Request
	httpSrv  *http.Server
}

type bucketMeta struct {
	Labels       map[string]string
	Location     string
	StorageClass string
}

// StartGCS starts the fake on a free 127.0.0.1 port.
func StartGCS() (*GCS, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gcpfake: listen on 127.0.0.1: %w", err)
	}
	addr := l.Addr().(*net.TCPAddr)
	base := "http://" + l.Addr().String()
	inner, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: uint16(addr.Port),
		// The front owns the listener; fake-gcs-server serves through it.
		NoListener:      true,
		ExternalURL:     base,
		PublicHost:      l.Addr().String(),
		BucketsLocation: "US",
	})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("gcpfake: fake-gcs-server: %w", err)
	}
	g := &GCS{URL: base, Inner: inner, meta: map[string]*bucketMeta{}, rng: rand.New(rand.NewPCG(1, 0))}
	g.httpSrv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go g.httpSrv.Serve(l) //nolint:errcheck // ends with Close
	return g, nil
}

// Close stops the fake.
func (g *GCS) Close() {
	g.httpSrv.Close()
	g.Inner.Stop()
}

// Host is the value for STORAGE_EMULATOR_HOST.
func (g *GCS) Host() string { return strings.TrimPrefix(g.URL, "http://") }

// Env points the storage client at this fake.
func (g *GCS) Env() map[string]string { return map[string]string{"STORAGE_EMULATOR_HOST": g.Host()} }

// Inject adds a fault, as Server.Inject does (paths such as "/storage/v1/b").
func (g *GCS) Inject(method, pattern string, f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = append(g.faults, &injected{method: method, pattern: pattern, Fault: f})
}

// ClearFaults removes every injected fault.
func (g *GCS) ClearFaults() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = nil
}

// Requests returns the requests received so far.
func (g *GCS) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request{}, g.requests...)
}

// CreateBucket makes a bucket directly (e.g. one skyplan does not own).
func (g *GCS) CreateBucket(name, location string, labels map[string]string) {
	g.Inner.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
	g.mu.Lock()
	defer g.mu.Unlock()
	g.meta[name] = &bucketMeta{Labels: labels, Location: strings.ToUpper(location), StorageClass: "STANDARD"}
}

// BucketExists reports whether a bucket exists.
func (g *GCS) BucketExists(name string) bool {
	_, err := g.Inner.Backend().GetBucket(name)
	return err == nil
}

// BucketLabels returns a bucket's labels as the front keeps them.
func (g *GCS) BucketLabels(name string) map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := g.meta[name]; m != nil {
		out := map[string]string{}
		for k, v := range m.Labels {
			out[k] = v
		}
		return out
	}
	return nil
}

// PutObject stores an object (to make a bucket non-empty).
func (g *GCS) PutObject(bucket, name string, content []byte) {
	g.Inner.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name}, Content: content})
}

func (g *GCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
	f := takeFault(g.faults, r.Method, r.URL.Path, g.rng)
	g.mu.Unlock()
	if f != nil && f.Status != 0 {
		writeError(w, f.Status, f.Reason, f.message(r), f.ErrorInfoReason)
		return
	}
	if f != nil && f.Drop {
		dropAnswer(w, r, http.HandlerFunc(g.route))
		return
	}
	g.route(w, r)
}

// SetSeed reseeds the generator of faults with a Fraction.
func (g *GCS) SetSeed(seed uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rng = rand.New(rand.NewPCG(seed, 0))
}

func (g *GCS) route(w http.ResponseWriter, r *http.Request) {
	// Responses are rewritten below, so ask the inner server for plain JSON.
	r.Header.Del("Accept-Encoding")
	p := r.URL.Path
	method := r.Method
	if method == http.MethodPost && r.Header.Get("X-HTTP-Method-Override") == "PATCH" {
		method = http.MethodPatch
	}
	switch {
	case p == "/storage/v1/b" || p == "/storage/v1/b/":
		switch method {
		case http.MethodPost:
			g.createBucket(w, r)
		case http.MethodGet:
			g.forwardDecorated(w, r, func(m map[string]any) {
				if items, ok := m["items"].([]any); ok {
					for _, it := range items {
						if b, ok := it.(map[string]any); ok {
							g.decorate(b)
						}
					}
				}
			})
		default:
			g.Inner.HTTPHandler().ServeHTTP(w, r)
		}
	case strings.HasPrefix(p, "/storage/v1/b/") && !strings.Contains(strings.TrimPrefix(p, "/storage/v1/b/"), "/"):
		name, _ := url.PathUnescape(strings.TrimPrefix(p, "/storage/v1/b/"))
		switch method {
		case http.MethodGet:
			g.forwardDecorated(w, r, g.decorate)
		case http.MethodPatch:
			g.patchBucket(w, r, name)
		case http.MethodDelete:
			g.deleteBucket(w, r, name)
		default:
			g.Inner.HTTPHandler().ServeHTTP(w, r)
		}
	default:
		g.Inner.HTTPHandler().ServeHTTP(w, r)
	}
}

func validBucketLabels(labels map[string]*string) error {
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("Invalid argument: label key %q must start with a lowercase letter and contain only lowercase letters, digits, '_' and '-'", k)
		}
		if v != nil && !labelValueRE.MatchString(*v) {
			return fmt.Errorf("Invalid argument: label value %q of %q may contain only lowercase letters, digits, '_' and '-'", *v, k)
		}
	}
	return nil
}

func (g *GCS) createBucket(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Name         string             `json:"name"`
		Labels       map[string]*string `json:"labels"`
		Location     string             `json:"location"`
		StorageClass string             `json:"storageClass"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		badRequest(w, "invalid JSON payload: %v", err)
		return
	}
	if err := validBucketLabels(in.Labels); err != nil {
		badRequest(w, "%v", err)
		return
	}
	switch strings.ToUpper(in.StorageClass) {
	case "", "STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE":
	default:
		badRequest(w, "Invalid argument: unknown storage class %q", in.StorageClass)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	g.Inner.HTTPHandler().ServeHTTP(rec, r)
	if rec.Code/100 == 2 {
		meta := &bucketMeta{Labels: map[string]string{}, Location: strings.ToUpper(in.Location), StorageClass: strings.ToUpper(in.StorageClass)}
		if meta.Location == "" {
			meta.Location = "US"
		}
		if meta.StorageClass == "" {
			meta.StorageClass = "STANDARD"
		}
		for k, v := range in.Labels {
			if v != nil {
				meta.Labels[k] = *v
			}
		}
		g.mu.Lock()
		g.meta[in.Name] = meta
		g.mu.Unlock()
	}
	g.writeDecorated(w, rec, g.decorate)
}

func (g *GCS) patchBucket(w http.ResponseWriter, r *http.Request, name string) {
	body, _ := io.ReadAll(r.Body)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		badRequest(w, "invalid JSON payload: %v", err)
		return
	}
	var labels map[string]*string
	if raw, ok := fields["labels"]; ok {
		if err := json.Unmarshal(raw, &labels); err != nil {
			badRequest(w, "invalid labels: %v", err)
			return
		}
		if err := validBucketLabels(labels); err != nil {
			badRequest(w, "%v", err)
			return
		}
	}
	var storageClass string
	if raw, ok := fields["storageClass"]; ok {
		json.Unmarshal(raw, &storageClass)
	}
	// fake-gcs-server resets fields a patch leaves out; GCS keeps them.
	if _, ok := fields["versioning"]; !ok {
		if b, err := g.Inner.Backend().GetBucket(name); err == nil {
			fields["versioning"], _ = json.Marshal(map[string]bool{"enabled": b.VersioningEnabled})
			body, _ = json.Marshal(fields)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	g.Inner.HTTPHandler().ServeHTTP(rec, r)
	if rec.Code/100 == 2 {
		g.mu.Lock()
		meta := g.metaFor(name)
		for k, v := range labels {
			if v == nil {
				delete(meta.Labels, k)
			} else {
				meta.Labels[k] = *v
			}
		}
		if storageClass != "" {
			meta.StorageClass = strings.ToUpper(storageClass)
		}
		g.mu.Unlock()
	}
	g.writeDecorated(w, rec, g.decorate)
}

func (g *GCS) deleteBucket(w http.ResponseWriter, r *http.Request, name string) {
	rec := httptest.NewRecorder()
	g.Inner.HTTPHandler().ServeHTTP(rec, r)
	switch {
	case rec.Code/100 == 2:
		g.mu.Lock()
		delete(g.meta, name)
		g.mu.Unlock()
	case rec.Code == http.StatusPreconditionFailed:
		writeError(w, http.StatusConflict, "conflict", "The bucket you tried to delete is not empty.", "")
		return
	}
	copyResponse(w, rec, rec.Body.Bytes())
}

// metaFor returns a bucket's metadata, creating defaults. Callers hold g.mu.
func (g *GCS) metaFor(name string) *bucketMeta {
	m := g.meta[name]
	if m == nil {
		m = &bucketMeta{Labels: map[string]string{}, Location: "US", StorageClass: "STANDARD"}
		g.meta[name] = m
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	return m
}

// decorate adds the kept metadata to one bucket resource.
func (g *GCS) decorate(b map[string]any) {
	name, _ := b["name"].(string)
	g.mu.Lock()
	meta := g.metaFor(name)
	labels := map[string]string{}
	for k, v := range meta.Labels {
		labels[k] = v
	}
	location, class := meta.Location, meta.StorageClass
	g.mu.Unlock()
	if len(labels) > 0 {
		b["labels"] = labels
	}
	b["location"] = location
	b["storageClass"] = class
	b["locationType"] = "region"
	switch location {
	case "US", "EU", "ASIA":
		b["locationType"] = "multi-region"
	}
}

func (g *GCS) forwardDecorated(w http.ResponseWriter, r *http.Request, edit func(map[string]any)) {
	rec := httptest.NewRecorder()
	g.Inner.HTTPHandler().ServeHTTP(rec, r)
	g.writeDecorated(w, rec, edit)
}

func (g *GCS) writeDecorated(w http.ResponseWriter, rec *httptest.ResponseRecorder, edit func(map[string]any)) {
	body := rec.Body.Bytes()
	if rec.Code/100 == 2 {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err == nil {
			edit(m)
			body, _ = json.Marshal(m)
		}
	}
	copyResponse(w, rec, body)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder, body []byte) {
	for k, vs := range rec.Header() {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}
