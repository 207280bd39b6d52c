package gcpfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"google.golang.org/api/googleapi"
	tpu "google.golang.org/api/tpu/v2"
)

func (s *Server) routeTPU() {
	const loc = "/v2/projects/{project}/locations/{location}"
	s.mux.HandleFunc("GET /v2/projects/{project}/locations", s.listTPULocations)
	s.mux.HandleFunc("POST "+loc+"/nodes", s.createNode)
	s.mux.HandleFunc("GET "+loc+"/nodes", s.listNodes)
	s.mux.HandleFunc("GET "+loc+"/nodes/{node}", s.getNode)
	s.mux.HandleFunc("DELETE "+loc+"/nodes/{node}", s.deleteNode)
	s.mux.HandleFunc("PATCH "+loc+"/nodes/{node}", s.patchNode)
	s.mux.HandleFunc("GET "+loc+"/operations/{operation}", s.getTPUOperation)
}

type tpuOp struct {
	op     *tpu.Operation
	polls  int
	effect func() any // returns the operation's response
	fault  *injected
}

var (
	nodeIDRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// TPU VM accelerator types the fake accepts: GENERATION-CORES.
	acceleratorTypeRE = regexp.MustCompile(`^v(2|3|4|5litepod|5p|6e)-[0-9]+$`)
)

// tpuCodes are google.rpc.Code values for the fault names a TPU operation can end in.
var tpuCodes = map[string]int64{
	"CANCELLED": 1, "INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7,
	"RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9, "INTERNAL": 13, "UNAVAILABLE": 14,
}

func (s *Server) newTPUOp(project, location, verb, target string, fault *injected, effect func() any) *tpu.Operation {
	name := fmt.Sprintf("projects/%s/locations/%s/operations/operation-%d", project, location, s.newID())
	meta, _ := json.Marshal(map[string]any{
		"@type":      "type.googleapis.com/google.cloud.tpu.v2.OperationMetadata",
		"createTime": now(), "target": target, "verb": verb, "apiVersion": "v2",
	})
	o := &tpuOp{op: &tpu.Operation{Name: name, Metadata: googleapi.RawMessage(meta)}, effect: effect, fault: fault}
	s.tpuOps[name] = o
	if s.OperationPolls <= 0 {
		s.finishTPUOp(o)
	}
	return clone(o.op)
}

func (s *Server) advanceTPUOp(o *tpuOp) {
	if o.op.Done {
		return
	}
	o.polls++
	if o.polls >= s.OperationPolls {
		s.finishTPUOp(o)
	}
}

func (s *Server) finishTPUOp(o *tpuOp) {
	o.op.Done = true
	if o.fault != nil {
		o.op.Error = &tpu.Status{Code: tpuCodes[o.fault.OperationError], Message: expandMessage(o.fault.Message, o.op.Name)}
		if o.op.Error.Code == 0 {
			o.op.Error.Code = 2 // UNKNOWN
		}
		return
	}
	if o.effect != nil {
		if resp := o.effect(); resp != nil {
			b, _ := json.Marshal(resp)
			o.op.Response = googleapi.RawMessage(b)
		}
	}
}

// nodeResponse is a node as an operation's response: with its @type.
func nodeResponse(n *tpu.Node) any {
	b, _ := json.Marshal(n)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["@type"] = "type.googleapis.com/google.cloud.tpu.v2.Node"
	return m
}

func (s *Server) createNode(w http.ResponseWriter, r *http.Request) {
	project, location := r.PathValue("project"), r.PathValue("location")
	nodeID := r.URL.Query().Get("nodeId")
	var in tpu.Node
	if err := readJSON(r, &in); err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownZone(location) {
		notFound(w, fmt.Sprintf("projects/%s/locations/%s", project, location))
		return
	}
	switch {
	case !nodeIDRE.MatchString(nodeID):
		badRequest(w, "Invalid node ID %q: it must match [a-z]([-a-z0-9]*[a-z0-9])?", nodeID)
		return
	case in.AcceleratorType == "" && in.AcceleratorConfig == nil:
		badRequest(w, "Node must specify accelerator_type or accelerator_config")
		return
	case in.AcceleratorType != "" && !acceleratorTypeRE.MatchString(in.AcceleratorType):
		badRequest(w, "Invalid accelerator type %q", in.AcceleratorType)
		return
	case in.RuntimeVersion == "":
		badRequest(w, "Node must specify runtime_version")
		return
	}
	if err := validateLabels(in.Labels); err != nil {
		badRequest(w, "%v", err)
		return
	}
	name := fmt.Sprintf("projects/%s/locations/%s/nodes/%s", project, location, nodeID)
	if _, exists := s.nodes[name]; exists {
		writeError(w, http.StatusConflict, "", fmt.Sprintf("Resource '%s' already exists", name), "")
		return
	}
	fault := operationFault(r)
	var node *tpu.Node
	if fault == nil {
		node = clone(&in)
		node.Name = name
		node.Id = int64(s.newID())
		node.State = "CREATING"
		node.CreateTime = now()
		node.ApiVersion = "V2"
		if node.NetworkConfig == nil {
			node.NetworkConfig = &tpu.NetworkConfig{}
		}
		if node.NetworkConfig.Network == "" {
			node.NetworkConfig.Network = "projects/" + project + "/global/networks/default"
		}
		node.NetworkEndpoints = []*tpu.NetworkEndpoint{{IpAddress: fmt.Sprintf("10.130.0.%d", node.Id%250+2), Port: 8470}}
		s.nodes[name] = node
	}
	writeJSON(w, s.newTPUOp(project, location, "create", name, fault, func() any {
		node.State = "READY"
		node.Health = "HEALTHY"
		return nodeResponse(node)
	}))
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	name := fmt.Sprintf("projects/%s/locations/%s/nodes/%s", r.PathValue("project"), r.PathValue("location"), r.PathValue("node"))
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[name]
	if !ok {
		notFound(w, name)
		return
	}
	writeJSON(w, n)
}

// listNodes lists one location's nodes, or with location "-" every
// location's (AIP-159), leaving out and naming TPUUnreachable zones.
func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	project, location := r.PathValue("project"), r.PathValue("location")
	prefix := fmt.Sprintf("projects/%s/locations/%s/nodes/", project, location)
	s.mu.Lock()
	defer s.mu.Unlock()
	all := location == "-"
	if !all && !s.knownZone(location) {
		notFound(w, fmt.Sprintf("projects/%s/locations/%s", project, location))
		return
	}
	var names []string
	for n := range s.nodes {
		switch {
		case !all && strings.HasPrefix(n, prefix):
			names = append(names, n)
		case all && strings.HasPrefix(n, "projects/"+project+"/locations/"):
			if zone := strings.Split(n, "/")[3]; !slices.Contains(s.TPUUnreachable, zone) {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	start, end, next, err := s.page(r, len(names), "pageSize")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	resp := &tpu.ListNodesResponse{NextPageToken: next}
	if all {
		resp.Unreachable = append(resp.Unreachable, s.TPUUnreachable...)
	}
	for _, n := range names[start:end] {
		resp.Nodes = append(resp.Nodes, s.nodes[n])
	}
	writeJSON(w, resp)
}

func (s *Server) deleteNode(w http.ResponseWriter, r *http.Request) {
	project, location := r.PathValue("project"), r.PathValue("location")
	name := fmt.Sprintf("projects/%s/locations/%s/nodes/%s", project, location, r.PathValue("node"))
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[name]
	if !ok {
		notFound(w, name)
		return
	}
	n.State = "DELETING"
	writeJSON(w, s.newTPUOp(project, location, "delete", name, operationFault(r), func() any {
		delete(s.nodes, name)
		return map[string]any{"@type": "type.googleapis.com/google.protobuf.Empty"}
	}))
}

// patchNode supports updateMask=labels, what skyplan changes in place.
func (s *Server) patchNode(w http.ResponseWriter, r *http.Request) {
	project, location := r.PathValue("project"), r.PathValue("location")
	name := fmt.Sprintf("projects/%s/locations/%s/nodes/%s", project, location, r.PathValue("node"))
	var in tpu.Node
	if err := readJSON(r, &in); err != nil {
		badRequest(w, "%v", err)
		return
	}
	mask := r.URL.Query().Get("updateMask")
	if mask != "labels" {
		badRequest(w, "Unsupported update mask %q (the fake supports \"labels\")", mask)
		return
	}
	if err := validateLabels(in.Labels); err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[name]
	if !ok {
		notFound(w, name)
		return
	}
	writeJSON(w, s.newTPUOp(project, location, "update", name, operationFault(r), func() any {
		n.Labels = in.Labels
		return nodeResponse(n)
	}))
}

func (s *Server) getTPUOperation(w http.ResponseWriter, r *http.Request) {
	name := fmt.Sprintf("projects/%s/locations/%s/operations/%s", r.PathValue("project"), r.PathValue("location"), r.PathValue("operation"))
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.tpuOps[name]
	if !ok {
		notFound(w, name)
		return
	}
	s.advanceTPUOp(o)
	writeJSON(w, o.op)
}

func (s *Server) listTPULocations(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	s.mu.Lock()
	defer s.mu.Unlock()
	start, end, next, err := s.page(r, len(s.zones), "pageSize")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	resp := &tpu.ListLocationsResponse{NextPageToken: next}
	for _, z := range s.zones[start:end] {
		resp.Locations = append(resp.Locations, &tpu.Location{Name: "projects/" + project + "/locations/" + z, LocationId: z})
	}
	writeJSON(w, resp)
}

// --- direct access for tests and demos ---------------------------------------

// Node returns a copy of a TPU node by full name, or nil.
func (s *Server) Node(name string) *tpu.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.nodes[name])
}

// Nodes returns copies of every TPU node, sorted by name.
func (s *Server) Nodes() []*tpu.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*tpu.Node, len(names))
	for i, n := range names {
		out[i] = clone(s.nodes[n])
	}
	return out
}

// DeleteNode removes a TPU node at once, as if deleted outside skyplan.
func (s *Server) DeleteNode(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.nodes[name]
	delete(s.nodes, name)
	return ok
}

// AddNode creates a READY TPU node directly under parent
// (projects/P/locations/Z), bypassing the operation.
func (s *Server) AddNode(parent, id string, in *tpu.Node) (*tpu.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := parent + "/nodes/" + id
	if _, exists := s.nodes[name]; exists {
		return nil, fmt.Errorf("gcpfake: node %s already exists", name)
	}
	n := clone(in)
	n.Name, n.Id, n.State, n.CreateTime = name, int64(s.newID()), "READY", now()
	s.nodes[name] = n
	return clone(n), nil
}
