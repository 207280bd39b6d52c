package cloudproxy

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// APIError is an error the proxy answers instead of the upstream, encoded
// as the service does (EC2's <Response><Errors>, S3's <Error>, the query
// APIs' <ErrorResponse>, Google's JSON), so SDKs parse its code.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Errors real AWS answers when it is unwell. The SDKs retry every one of
// them (5xx, or a throttling code).
var (
	EC2InternalError        = APIError{http.StatusInternalServerError, "InternalError", "An internal error has occurred."}
	EC2Unavailable          = APIError{http.StatusServiceUnavailable, "Unavailable", "The server is overloaded and can't handle the request."}
	EC2RequestLimitExceeded = APIError{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}
	S3InternalError         = APIError{http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."}
	S3SlowDown              = APIError{http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."}
)

// Fault makes a share of matching requests fail.
type Fault struct {
	// Ops limits the fault to these operations ("ec2:RunInstances",
	// "s3:PutObject"); empty matches every operation.
	Ops []string
	// MutatingOnly limits the fault to operations that change something.
	MutatingOnly bool
	// Fraction of matching requests that get the fault, drawn from the
	// proxy's seeded generator in arrival order (1 = every one).
	Fraction float64
	// Times caps how many requests get the fault (0: no cap).
	Times int

	// Error answers with this error without forwarding the request.
	Error *APIError
	// Drop forwards the request, lets the upstream process it, then resets
	// the client's connection instead of answering: the client sees
	// "connection reset" and retries a call that already took effect.
	Drop bool
}

func (f *Fault) matches(op Op) bool {
	if f.MutatingOnly && !op.Mutating {
		return false
	}
	return len(f.Ops) == 0 || slices.Contains(f.Ops, op.String())
}

// fault is a Fault in use, with its count.
type fault struct {
	Fault
	used int
}

// AddFault adds a fault; faults are tried in the order added, and the
// first that fires applies.
func (p *Proxy) AddFault(f Fault) {
	if f.Error == nil && !f.Drop {
		panic("cloudproxy: a Fault needs Error or Drop")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, &fault{Fault: f})
}

// ClearFaults removes every fault and capacity rule.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.capacity = nil, nil
}

// pickFault draws for each matching fault in order and returns the first
// that fires. Callers hold p.mu.
func (p *Proxy) pickFault(op Op) *fault {
	for _, f := range p.faults {
		if !f.matches(op) || (f.Times > 0 && f.used >= f.Times) {
			continue
		}
		if f.Fraction < 1 && p.rng.Float64() >= f.Fraction {
			continue
		}
		f.used++
		return f
	}
	return nil
}

// writeAPIError answers in the service's own error format.
func writeAPIError(w http.ResponseWriter, service string, e APIError, requestID string) {
	var body []byte
	contentType := "text/xml;charset=UTF-8"
	switch service {
	case "ec2":
		type ec2Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name   `xml:"Response"`
			Errors    []ec2Error `xml:"Errors>Error"`
			RequestID string     `xml:"RequestID"`
		}{Errors: []ec2Error{{e.Code, e.Message}}, RequestID: requestID})
	case "s3":
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			Message   string   `xml:"Message"`
			RequestID string   `xml:"RequestId"`
			HostID    string   `xml:"HostId"`
		}{Code: e.Code, Message: e.Message, RequestID: requestID, HostID: "cloudproxy"})
		w.Header().Set("X-Amz-Request-Id", requestID)
	case "compute", "tpu", "http":
		body, _ = json.Marshal(map[string]any{"error": map[string]any{
			"code": e.Status, "message": e.Message, "status": e.Code,
			"errors": []map[string]string{{"message": e.Message, "domain": "global", "reason": e.Code}},
		}})
	default: // the other query APIs (STS, IAM)
		qe := queryError{Type: "Sender", Code: e.Code, Message: e.Message}
		if e.Status >= 500 {
			qe.Type = "Receiver"
		}
		body, _ = xml.Marshal(struct {
			XMLName   xml.Name   `xml:"ErrorResponse"`
			Error     queryError `xml:"Error"`
			RequestID string     `xml:"RequestId"`
		}{Error: qe, RequestID: requestID})
	}
	if body[0] == '{' {
		contentType = "application/json; charset=UTF-8"
	} else {
		body = append([]byte(xml.Header), body...)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

type queryError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func requestID(seq int64) string { return fmt.Sprintf("cloudproxy-%08d", seq) }
