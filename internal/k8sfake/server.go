// Package k8sfake is a small Kubernetes API server for tests and demos: a real
// HTTPS server on 127.0.0.1 that speaks enough of the API for client-go to
// list (paginated, with label and field selectors), get, create, update,
// patch (merge, strategic merge and JSON patch) and delete Nodes, and to ask
// SelfSubjectAccessReviews. Unlike client-go's fake clientset it paginates,
// enforces resourceVersion preconditions and bearer-token auth, and denies
// requests that SetAccess forbids, so code is tested against the semantics of
// a real API server. It counts calls per verb for benchmarks.
package k8sfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Server is a running fake API server.
type Server struct {
	// URL is the server's base URL (https://127.0.0.1:PORT).
	URL string
	// Token is the bearer token requests must carry (change it with SetToken).
	Token string

	srv *httptest.Server

	mu      sync.Mutex
	nodes   map[string]*corev1.Node
	rv      int64
	denied  map[string]bool // "verb/resource"
	calls   map[string]int  // "VERB resource"
	latency time.Duration
}

var nodesResource = schema.GroupResource{Resource: "nodes"}

// Start serves the given nodes on a free loopback port.
func Start(nodes ...*corev1.Node) (*Server, error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	s := &Server{
		Token:  hex.EncodeToString(tok),
		nodes:  map[string]*corev1.Node{},
		denied: map[string]bool{},
		calls:  map[string]int{},
	}
	for _, n := range nodes {
		if err := s.AddNode(n); err != nil {
			return nil, err
		}
	}
	// TLS, because clientcmd sends credentials only over TLS.
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close are not news
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// WriteKubeconfig writes a kubeconfig whose context contextName (also the
// current context) points at this server.
func (s *Server) WriteKubeconfig(path, contextName string) error {
	cfg := clientcmdapi.NewConfig()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: ca}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{Token: s.Token}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	return clientcmd.WriteToFile(*cfg, path)
}

// AddNode stores a node (a copy) as if it had registered itself.
func (s *Server) AddNode(n *corev1.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.Name == "" {
		return fmt.Errorf("k8sfake: node without a name")
	}
	if _, ok := s.nodes[n.Name]; ok {
		return fmt.Errorf("k8sfake: node %s already exists", n.Name)
	}
	s.store(n.DeepCopy(), true)
	return nil
}

// Node returns a copy of a stored node, or nil.
func (s *Server) Node(name string) *corev1.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[name]; n != nil {
		return n.DeepCopy()
	}
	return nil
}

// Nodes returns copies of every stored node, sorted by name.
func (s *Server) Nodes() []*corev1.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*corev1.Node, 0, len(s.nodes))
	for _, name := range s.sortedNames() {
		out = append(out, s.nodes[name].DeepCopy())
	}
	return out
}

// SetNodeLabel sets (or, with value "", removes) a label behind any client's
// back, as a human with kubectl would.
func (s *Server) SetNodeLabel(node, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[node]
	if n == nil {
		return fmt.Errorf("k8sfake: no node %s", node)
	}
	n = n.DeepCopy()
	if value == "" {
		delete(n.Labels, key)
	} else {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[key] = value
	}
	s.store(n, false)
	return nil
}

// DeleteNode removes a node, as when it leaves the cluster.
func (s *Server) DeleteNode(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nodes, name)
}

// SetAccess allows or denies a verb on a resource ("patch", "nodes"), both in
// SelfSubjectAccessReviews and for the requests themselves (403). Everything
// is allowed by default.
func (s *Server) SetAccess(verb, resource string, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[verb+"/"+resource] = !allowed
}

// SetToken changes the bearer token requests must carry (kubeconfigs
// written before keep the old one: a way to test rejected credentials).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Token = token
}

// SetLatency delays every response, to model a remote API server.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Calls returns the number of requests served per "VERB resource" (e.g.
// "list nodes", "patch nodes", "create selfsubjectaccessreviews").
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// store saves n with a new resourceVersion; the caller holds mu.
func (s *Server) store(n *corev1.Node, created bool) {
	s.rv++
	n.ResourceVersion = strconv.FormatInt(s.rv, 10)
	if created {
		if n.UID == "" {
			n.UID = types.UID(fmt.Sprintf("00000000-0000-4000-8000-%012d", s.rv))
		}
		if n.CreationTimestamp.IsZero() {
			n.CreationTimestamp = metav1.NewTime(time.Now().UTC().Truncate(time.Second))
		}
	}
	n.APIVersion, n.Kind = "", ""
	s.nodes[n.Name] = n
}

func (s *Server) sortedNames() []string {
	names := make([]string, 0, len(s.nodes))
	for name := range s.nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// serve routes one request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency, token := s.latency, s.Token
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		s.count("unauthorized", "")
		writeStatus(w, apierrors.NewUnauthorized("k8sfake: missing or wrong bearer token"))
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && path == "/version":
		s.count("get", "version")
		writeJSON(w, http.StatusOK, version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2-k8sfake", Platform: "linux/amd64"})
	case r.Method == http.MethodGet && path == "/api":
		s.count("get", "discovery")
		writeJSON(w, http.StatusOK, metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
		})
	case r.Method == http.MethodGet && path == "/apis":
		s.count("get", "discovery")
		gv := metav1.GroupVersionForDiscovery{GroupVersion: "authorization.k8s.io/v1", Version: "v1"}
		writeJSON(w, http.StatusOK, metav1.APIGroupList{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups:   []metav1.APIGroup{{Name: "authorization.k8s.io", Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}},
		})
	case r.Method == http.MethodGet && path == "/api/v1":
		s.count("get", "discovery")
		writeJSON(w, http.StatusOK, metav1.APIResourceList{
			TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "nodes", SingularName: "node", Kind: "Node", ShortNames: []string{"no"},
				Verbs: metav1.Verbs{"create", "delete", "get", "list", "patch", "update"}}},
		})
	case r.Method == http.MethodGet && path == "/apis/authorization.k8s.io/v1":
		s.count("get", "discovery")
		writeJSON(w, http.StatusOK, metav1.APIResourceList{
			TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "authorization.k8s.io/v1",
			APIResources: []metav1.APIResource{{Name: "selfsubjectaccessreviews", Kind: "SelfSubjectAccessReview", Verbs: metav1.Verbs{"create"}}},
		})
	case path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		if r.Method != http.MethodPost {
			writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, r.Method))
			return
		}
		s.count("create", "selfsubjectaccessreviews")
		s.accessReview(w, r)
	case path == "/api/v1/nodes":
		switch r.Method {
		case http.MethodGet:
			if r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1" {
				writeStatus(w, apierrors.NewMethodNotSupported(nodesResource, "watch"))
				return
			}
			if s.allow(w, "list") {
				s.list(w, r)
			}
		case http.MethodPost:
			if s.allow(w, "create") {
				s.create(w, r)
			}
		default:
			writeStatus(w, apierrors.NewMethodNotSupported(nodesResource, r.Method))
		}
	case strings.HasPrefix(path, "/api/v1/nodes/"):
		name := strings.TrimPrefix(path, "/api/v1/nodes/")
		if strings.Contains(name, "/") {
			writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes/" + strings.SplitN(name, "/", 2)[1]}, ""))
			return
		}
		switch r.Method {
		case http.MethodGet:
			if s.allow(w, "get") {
				s.get(w, name)
			}
		case http.MethodPut:
			if s.allow(w, "update") {
				s.update(w, r, name)
			}
		case http.MethodPatch:
			if s.allow(w, "patch") {
				s.patch(w, r, name)
			}
		case http.MethodDelete:
			if s.allow(w, "delete") {
				s.delete(w, name)
			}
		default:
			writeStatus(w, apierrors.NewMethodNotSupported(nodesResource, r.Method))
		}
	default:
		s.count("unknown", path)
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Resource: path}, ""))
	}
}

func (s *Server) count(verb, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[strings.TrimSpace(verb+" "+resource)]++
}

// allow counts a node request and answers 403 when its verb is denied.
func (s *Server) allow(w http.ResponseWriter, verb string) bool {
	s.count(verb, "nodes")
	s.mu.Lock()
	denied := s.denied[verb+"/nodes"]
	s.mu.Unlock()
	if denied {
		writeStatus(w, apierrors.NewForbidden(nodesResource, "", fmt.Errorf("k8sfake: %s on nodes is denied for this user", verb)))
		return false
	}
	return true
}

func (s *Server) accessReview(w http.ResponseWriter, r *http.Request) {
	var review authzv1.SelfSubjectAccessReview
	if err := decodeBody(r, &review); err != nil {
		writeStatus(w, apierrors.NewBadRequest("decoding SelfSubjectAccessReview: "+err.Error()))
		return
	}
	ra := review.Spec.ResourceAttributes
	if ra == nil {
		writeStatus(w, apierrors.NewBadRequest("k8sfake answers only resourceAttributes reviews"))
		return
	}
	s.mu.Lock()
	denied := s.denied[ra.Verb+"/"+ra.Resource]
	s.mu.Unlock()
	review.Status = authzv1.SubjectAccessReviewStatus{Allowed: !denied, Reason: "k8sfake: allowed"}
	if denied {
		review.Status.Reason = "k8sfake: denied by SetAccess"
	}
	review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
	writeJSON(w, http.StatusCreated, review)
}

// continueToken marks where the next page starts: after the last name sent.
type continueToken struct {
	After string `json:"after"`
	RV    string `json:"rv"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("invalid labelSelector: "+err.Error()))
		return
	}
	fsel, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("invalid fieldSelector: "+err.Error()))
		return
	}
	var limit int64
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 0 {
			writeStatus(w, apierrors.NewBadRequest("invalid limit "+l))
			return
		}
	}
	var after string
	if c := q.Get("continue"); c != "" {
		if q.Get("resourceVersion") != "" {
			writeStatus(w, apierrors.NewBadRequest("specifying resource version is not allowed when using continue"))
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(c)
		var tok continueToken
		if err == nil {
			err = json.Unmarshal(raw, &tok)
		}
		if err != nil || tok.After == "" {
			writeStatus(w, apierrors.NewBadRequest("invalid continue token"))
			return
		}
		after = tok.After
	}

	s.mu.Lock()
	list := corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}}
	list.ResourceVersion = strconv.FormatInt(s.rv, 10)
	var last string
	more := int64(0)
	for _, name := range s.sortedNames() {
		if after != "" && name <= after {
			continue
		}
		n := s.nodes[name]
		if !sel.Matches(labels.Set(n.Labels)) || !fsel.Matches(fields.Set{"metadata.name": n.Name}) {
			continue
		}
		if limit > 0 && int64(len(list.Items)) == limit {
			more++
			continue
		}
		list.Items = append(list.Items, *n.DeepCopy())
		last = name
	}
	s.mu.Unlock()
	if more > 0 {
		raw, _ := json.Marshal(continueToken{After: last, RV: list.ResourceVersion})
		list.Continue = base64.RawURLEncoding.EncodeToString(raw)
		list.RemainingItemCount = &more
	}
	for i := range list.Items {
		list.Items[i].APIVersion, list.Items[i].Kind = "", ""
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) get(w http.ResponseWriter, name string) {
	n := s.Node(name)
	if n == nil {
		writeStatus(w, apierrors.NewNotFound(nodesResource, name))
		return
	}
	writeNode(w, http.StatusOK, n)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var n corev1.Node
	if err := decodeBody(r, &n); err != nil {
		writeStatus(w, apierrors.NewBadRequest("decoding Node: "+err.Error()))
		return
	}
	if n.Name == "" {
		writeStatus(w, apierrors.NewBadRequest("metadata.name is required"))
		return
	}
	s.mu.Lock()
	if _, ok := s.nodes[n.Name]; ok {
		s.mu.Unlock()
		writeStatus(w, apierrors.NewAlreadyExists(nodesResource, n.Name))
		return
	}
	n.ResourceVersion = ""
	s.store(&n, true)
	out := n.DeepCopy()
	s.mu.Unlock()
	writeNode(w, http.StatusCreated, out)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, name string) {
	var n corev1.Node
	if err := decodeBody(r, &n); err != nil {
		writeStatus(w, apierrors.NewBadRequest("decoding Node: "+err.Error()))
		return
	}
	if n.Name != name {
		writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", n.Name, name)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.nodes[name]
	if cur == nil {
		writeStatus(w, apierrors.NewNotFound(nodesResource, name))
		return
	}
	if n.ResourceVersion != "" && n.ResourceVersion != cur.ResourceVersion {
		writeStatus(w, conflict(name))
		return
	}
	n.UID, n.CreationTimestamp = cur.UID, cur.CreationTimestamp
	s.store(&n, false)
	writeNode(w, http.StatusOK, n.DeepCopy())
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, name string) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("reading patch: "+err.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.nodes[name]
	if cur == nil {
		writeStatus(w, apierrors.NewNotFound(nodesResource, name))
		return
	}
	orig, err := json.Marshal(cur)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	var patched []byte
	switch ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); types.PatchType(ct) {
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(orig, body)
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(orig, body, corev1.Node{})
	case types.JSONPatchType:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(body); err == nil {
			patched, err = p.Apply(orig)
		}
	default:
		writeStatus(w, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
			Reason: metav1.StatusReasonUnsupportedMediaType, Message: fmt.Sprintf("k8sfake: patch type %q is not supported", ct)}})
		return
	}
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest("applying patch: "+err.Error()))
		return
	}
	var n corev1.Node
	if err := json.Unmarshal(patched, &n); err != nil {
		writeStatus(w, apierrors.NewBadRequest("patched node is invalid: "+err.Error()))
		return
	}
	if n.Name != name {
		writeStatus(w, apierrors.NewBadRequest("a patch cannot change metadata.name"))
		return
	}
	// A resourceVersion in the patch is a precondition, as on a real server.
	if n.ResourceVersion != cur.ResourceVersion {
		writeStatus(w, conflict(name))
		return
	}
	n.UID, n.CreationTimestamp = cur.UID, cur.CreationTimestamp
	s.store(&n, false)
	writeNode(w, http.StatusOK, n.DeepCopy())
}

func (s *Server) delete(w http.ResponseWriter, name string) {
	s.mu.Lock()
	n := s.nodes[name]
	delete(s.nodes, name)
	s.mu.Unlock()
	if n == nil {
		writeStatus(w, apierrors.NewNotFound(nodesResource, name))
		return
	}
	writeJSON(w, http.StatusOK, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
}

func conflict(name string) *apierrors.StatusError {
	return apierrors.NewConflict(nodesResource, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
}

// decodeBody decodes a request object in whatever encoding client-go chose
// (JSON or protobuf), through the client-go scheme.
func decodeBody(r *http.Request, into runtime.Object) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	_, _, err = scheme.Codecs.UniversalDeserializer().Decode(body, nil, into)
	return err
}

func writeNode(w http.ResponseWriter, code int, n *corev1.Node) {
	n.APIVersion, n.Kind = "v1", "Node"
	writeJSON(w, code, n)
}

func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	st := err.ErrStatus
	st.APIVersion, st.Kind = "v1", "Status"
	writeJSON(w, int(st.Code), st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
