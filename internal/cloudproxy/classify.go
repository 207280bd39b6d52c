package cloudproxy

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Op is the API operation a request calls.
type Op struct {
	// Service is the SigV4 signing name ("ec2", "s3", "sts"), "compute" or
	// "tpu" for the Google REST APIs, or "http" when unknown.
	Service string
	// Name is the API's operation name: RunInstances, PutBucketTagging,
	// instances.insert.
	Name string
	// Mutating is false for reads (Describe*, Get*, List*, HEAD, GET).
	Mutating bool
}

// String is the key counts use: "ec2:RunInstances".
func (o Op) String() string { return o.Service + ":" + o.Name }

// Classify names the operation of a request; body is the request body
// (the query APIs carry Action= there).
func Classify(r *http.Request, body []byte) Op {
	service := signingService(r.Header.Get("Authorization"))
	switch {
	case service == "s3":
		return classifyS3(r)
	case service != "":
		return classifyQuery(service, r, body)
	}
	if op, ok := classifyGoogle(r); ok {
		return op
	}
	return Op{Service: "http", Name: r.Method + " " + r.URL.Path, Mutating: !isRead(r.Method)}
}

// signingService reads the service out of a SigV4 credential scope:
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, ...".
func signingService(auth string) string {
	_, scope := credentialScope(auth)
	return scope
}

// signingRegion is the region of a SigV4 credential scope.
func signingRegion(auth string) string {
	region, _ := credentialScope(auth)
	return region
}

func credentialScope(auth string) (region, service string) {
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "", ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 5 {
		return "", ""
	}
	return parts[2], parts[3]
}

// classifyQuery handles the query protocols (EC2, STS, IAM): Action= in the
// form body, or in the URL for GET requests.
func classifyQuery(service string, r *http.Request, body []byte) Op {
	action := r.URL.Query().Get("Action")
	if action == "" {
		form, _ := url.ParseQuery(string(body))
		action = form.Get("Action")
	}
	if action == "" {
		return Op{Service: service, Name: r.Method + " " + r.URL.Path, Mutating: !isRead(r.Method)}
	}
	return Op{Service: service, Name: action, Mutating: !isReadAction(action)}
}

func isReadAction(action string) bool {
	for _, prefix := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(action, prefix) {
			return true
		}
	}
	return false
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// s3Subresources names the bucket-level operations by their query
// subresource; the method picks Get/Put/Delete.
var s3Subresources = []string{
	"tagging", "versioning", "policy", "acl", "lifecycle", "encryption", "cors",
	"publicAccessBlock", "ownershipControls", "location", "logging", "notification",
	"replication", "website", "accelerate", "requestPayment", "object-lock",
}

// classifyS3 names S3 REST operations in path-style addressing
// (/bucket/key), which skyplan uses with an endpoint override.
func classifyS3(r *http.Request) Op {
	q := r.URL.Query()
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	verb := map[string]string{http.MethodGet: "Get", http.MethodPut: "Put", http.MethodDelete: "Delete", http.MethodHead: "Head"}[r.Method]
	op := func(name string) Op { return Op{Service: "s3", Name: name, Mutating: !isRead(r.Method)} }
	switch {
	case bucket == "":
		return op("ListBuckets")
	case key == "":
		for _, sub := range s3Subresources {
			if q.Has(sub) {
				return op(verb + "Bucket" + s3Name(sub))
			}
		}
		switch {
		case r.Method == http.MethodPost && q.Has("delete"):
			return op("DeleteObjects")
		case r.Method == http.MethodGet && q.Has("uploads"):
			return op("ListMultipartUploads")
		case r.Method == http.MethodGet && q.Has("versions"):
			return op("ListObjectVersions")
		case r.Method == http.MethodGet && q.Get("list-type") == "2":
			return op("ListObjectsV2")
		case r.Method == http.MethodGet:
			return op("ListObjects")
		case r.Method == http.MethodPut:
			return op("CreateBucket")
		case verb != "":
			return op(verb + "Bucket")
		}
	default:
		switch {
		case q.Has("tagging") && verb != "":
			return op(verb + "ObjectTagging")
		case r.Method == http.MethodPost && q.Has("uploads"):
			return op("CreateMultipartUpload")
		case r.Method == http.MethodPost && q.Has("uploadId"):
			return op("CompleteMultipartUpload")
		case r.Method == http.MethodPut && q.Has("partNumber"):
			return op("UploadPart")
		case r.Method == http.MethodDelete && q.Has("uploadId"):
			return op("AbortMultipartUpload")
		case r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "":
			return op("CopyObject")
		case verb != "":
			return op(verb + "Object")
		}
	}
	return op(r.Method + " " + r.URL.Path)
}

// s3Name turns a subresource into its operation suffix ("publicAccessBlock"
// → "PublicAccessBlock", "object-lock" → "ObjectLockConfiguration").
func s3Name(sub string) string {
	switch sub {
	case "object-lock":
		return "ObjectLockConfiguration"
	case "lifecycle":
		return "LifecycleConfiguration"
	case "notification":
		return "NotificationConfiguration"
	case "accelerate":
		return "AccelerateConfiguration"
	}
	return strings.ToUpper(sub[:1]) + sub[1:]
}

// googleRoutes name the Compute Engine and Cloud TPU REST calls the fakes
// serve (path.Match patterns; the first match wins).
var googleRoutes = []struct {
	method, pattern string
	op              Op
}{
	{"GET", "/compute/v1/projects/*/zones", Op{"compute", "zones.list", false}},
	{"GET", "/compute/v1/projects/*/zones/*", Op{"compute", "zones.get", false}},
	{"POST", "/compute/v1/projects/*/zones/*/instances", Op{"compute", "instances.insert", true}},
	{"GET", "/compute/v1/projects/*/zones/*/instances", Op{"compute", "instances.list", false}},
	{"GET", "/compute/v1/projects/*/zones/*/instances/*", Op{"compute", "instances.get", false}},
	{"DELETE", "/compute/v1/projects/*/zones/*/instances/*", Op{"compute", "instances.delete", true}},
	{"POST", "/compute/v1/projects/*/zones/*/instances/*/*", Op{"compute", "instances.", true}},
	{"GET", "/compute/v1/projects/*/aggregated/*", Op{"compute", "aggregatedList", false}},
	{"GET", "/compute/v1/projects/*/zones/*/disks", Op{"compute", "disks.list", false}},
	{"GET", "/compute/v1/projects/*/zones/*/operations/*", Op{"compute", "zoneOperations.get", false}},
	{"POST", "/compute/v1/projects/*/zones/*/operations/*/wait", Op{"compute", "zoneOperations.wait", false}},
	{"GET", "/v2/projects/*/locations", Op{"tpu", "locations.list", false}},
	{"POST", "/v2/projects/*/locations/*/nodes", Op{"tpu", "nodes.create", true}},
	{"GET", "/v2/projects/*/locations/*/nodes", Op{"tpu", "nodes.list", false}},
	{"GET", "/v2/projects/*/locations/*/nodes/*", Op{"tpu", "nodes.get", false}},
	{"DELETE", "/v2/projects/*/locations/*/nodes/*", Op{"tpu", "nodes.delete", true}},
	{"PATCH", "/v2/projects/*/locations/*/nodes/*", Op{"tpu", "nodes.patch", true}},
	{"GET", "/v2/projects/*/locations/*/operations/*", Op{"tpu", "operations.get", false}},
}

func classifyGoogle(r *http.Request) (Op, bool) {
	for _, rt := range googleRoutes {
		if rt.method != r.Method {
			continue
		}
		if ok, _ := path.Match(rt.pattern, r.URL.Path); !ok {
			continue
		}
		op := rt.op
		switch op.Name {
		case "instances.": // instances.setLabels, instances.stop, ...
			op.Name += path.Base(r.URL.Path)
		case "aggregatedList": // instances.aggregatedList, disks.aggregatedList
			op.Name = path.Base(r.URL.Path) + ".aggregatedList"
		}
		return op, true
	}
	return Op{}, false
}
