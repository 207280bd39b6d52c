// Package providers defines what a cloud provider implements and keeps the
// registry of them. Providers are the only code that talks to clouds: they
// observe (in batches, by ownership tags) and act on one resource at a time;
// the planner in between is pure.
//
// Providers import spec (resource schemas) and state (the Resource value they
// return); nothing else of skyplan's.
package providers

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// Ownership tags on every object skyplan creates (see Owner). GCE/GCS
// labels cannot hold '.', '/' or upper case, so LabelValue encodes addresses
// for them.
const (
	TagManaged   = "skyplan-managed"
	TagWorkspace = "skyplan-workspace"
	TagAddress   = "skyplan-address"
	// TagState is the lineage of the state that made the object.
	TagState = "skyplan-state"
	// TagGeneration numbers the generations of a replaced resource (see
	// state.Resource.Generation); absent on generation 0.
	TagGeneration = "skyplan-generation"
)

// CapabilityStatus is the result of checking one capability's credentials.
type CapabilityStatus struct {
	Capability spec.Capability `json:"capability"`
	OK         bool            `json:"ok"`
	// Reason says why not (or, when OK, what proved it).
	Reason string `json:"reason,omitempty"`
	// Unverified (with OK false) says the check got no verdict: the
	// endpoint did not answer, or answered 5xx or throttling after retries.
	// The credentials may well work; nobody knows what exists there.
	Unverified bool `json:"unverified,omitempty"`
}

// Checker reports, per capability, whether the credentials work.
type Checker interface {
	Check(ctx context.Context) []CapabilityStatus
}

// ObserveRequest says what to look for.
type ObserveRequest struct {
	// Workspace scopes the search: every object with the workspace's tags is
	// reported, with its owner's StateID in state.Resource.StateID, so the
	// caller can tell this state's objects from another state's.
	Workspace string
	// StateID is the observing state's lineage.
	StateID string
	// Resources are the desired and previously-known resources on this cloud;
	// providers use them only to know where to look (regions, zones, types).
	Resources []ResourceHint
	// Skip lists capabilities whose credentials failed Check: observe
	// nothing that needs them (e.g. storage-only GCP: no instance listing).
	Skip map[spec.Capability]bool
}

// ResourceHint is enough of a resource to know where it would live.
type ResourceHint struct {
	Address string
	Type    string
	Attrs   state.Attrs
}

// Observer lists the objects this workspace owns on the cloud, grouped into
// resources by their ownership tags. It must batch: one filtered, paginated
// list per (service, region), not one call per resource.
type Observer interface {
	Observe(ctx context.Context, req ObserveRequest) ([]*state.Resource, error)
}

// Operation is what Apply is asked to do to one resource. Replace is carried
// out by the executor as Create of the next generation then Delete of the
// old one (create-before-destroy), or Delete then Create where the name must
// be reused, with state saved in between.
type Operation string

const (
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
	// OpRelease removes skyplan's ownership tags from a resource's objects
	// and leaves them running (`skyplan state rm`); Apply returns nil.
	OpRelease Operation = "release"
)

// ApplyRequest is one action on one resource.
type ApplyRequest struct {
	Op        Operation
	Workspace string
	// StateID is the lineage of the state applying; every object created or
	// touched carries it (see Owner).
	StateID string
	// ClaimLegacy says the plan found objects at this address without a
	// state tag that this state records: they are its own, and apply tags them.
	ClaimLegacy bool
	// MovedFrom is the address the resource's objects are tagged with before
	// a move (a moved block or state mv): apply re-tags them to Address.
	MovedFrom string
	// ImportID names an object made outside skyplan that this update takes
	// ownership of (an import block): apply tags it.
	ImportID string
	Address  string
	Type     string
	// Generation is the generation of the objects this action creates or
	// acts on; objects of other generations at the address are not its own.
	Generation int
	// Desired holds the spec attributes (nil for delete).
	Desired state.Attrs
	// Prior is what state/observation knew before (nil for create).
	Prior *state.Resource
	// Progress reports a human line while a long step runs (may be nil).
	Progress func(msg string)
}

// Validate checks what every provider's Apply needs, and fills the workspace
// from the provider's own when the request has none.
func (r *ApplyRequest) Validate(cloud, workspace string) error {
	if r.Workspace == "" {
		r.Workspace = workspace
	}
	if r.Address == "" {
		return fmt.Errorf("%s: apply %s: empty resource address", cloud, r.Op)
	}
	if c, ok := r.Desired["cloud"].(string); ok && c != cloud {
		return fmt.Errorf("%s: cloud is %q, not %s", r.Address, c, cloud)
	}
	switch r.Op {
	case OpCreate, OpUpdate:
		if r.Desired == nil {
			return fmt.Errorf("%s: %s needs desired attributes", r.Address, r.Op)
		}
	case OpDelete, OpRelease:
	default:
		return fmt.Errorf("%s: unknown operation %q", r.Address, r.Op)
	}
	return nil
}

// Report calls Progress when set.
func (r ApplyRequest) Report(format string, args ...any) {
	if r.Progress != nil {
		r.Progress(fmt.Sprintf(format, args...))
	}
}

// Applier carries out one action and returns the resource as it now is
// (nil after a delete). On error it returns what exists so far, if anything,
// so state never forgets an object that was created.
type Applier interface {
	Apply(ctx context.Context, req ApplyRequest) (*state.Resource, error)
}

// Provider is a whole cloud provider.
type Provider interface {
	Name() string
	Checker
	Observer
	Applier
}

// Expander is optional: a provider whose desired attributes depend on what it
// observes (e.g. per-node labels of a gpu_label_policy) fills them in here,
// before the pure planner diffs. Extra keys beyond the schema are diffed like
// any attribute (a map diffs per key, so per-node changes show in the plan).
// Notes are shown with the resource's plan entry (e.g. label conflicts that
// will not be overwritten).
type Expander interface {
	Expand(ctx context.Context, r *spec.Resource, observed *state.Resource) (attrs map[string]any, notes []string, err error)
}

// Config is what a provider is built from: its cloud block, the workspace
// and how long it may wait on the cloud.
type Config struct {
	Cloud     *spec.Cloud
	Workspace string
	Limits    Limits
}

// Factory builds a provider; it must not make network calls (Check does).
type Factory func(ctx context.Context, cfg Config) (Provider, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a provider available under a cloud name.
func Register(cloud string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	factories[cloud] = f
}

// New builds the provider for a cloud block.
func New(ctx context.Context, cfg Config) (Provider, error) {
	mu.RLock()
	f, ok := factories[cfg.Cloud.Name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no provider for cloud %q (available: %s)", cfg.Cloud.Name, strings.Join(Registered(), ", "))
	}
	return f(ctx, cfg)
}

// Registered lists registered cloud names.
func Registered() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LabelValue encodes a value for GCP labels: lowercase [a-z0-9_-], at most 63
// characters. '.' becomes "--" (addresses are TYPE.NAME with NAME free of
// "--" in practice); upper case letters become "_" + letter. Longer values are
// cut and suffixed with a short hash so distinct addresses stay distinct.
func LabelValue(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case c == '_':
			b.WriteString("__")
		case c == '.':
			b.WriteString("--")
		case c >= 'A' && c <= 'Z':
			b.WriteByte('_')
			b.WriteRune(c + ('a' - 'A'))
		default:
			fmt.Fprintf(&b, "_x%02x", c)
		}
	}
	out := b.String()
	if len(out) > 63 {
		out = out[:54] + "-" + shortHash(s)
	}
	return out
}

// DecodeLabelValue reverses LabelValue for values that were not cut.
func DecodeLabelValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '-' && i+1 < len(v) && v[i+1] == '-':
			b.WriteByte('.')
			i++
		case c == '_' && i+1 < len(v) && v[i+1] == '_':
			b.WriteByte('_')
			i++
		case c == '_' && i+3 < len(v) && v[i+1] == 'x':
			var x int
			fmt.Sscanf(v[i+2:i+4], "%02x", &x)
			b.WriteByte(byte(x))
			i += 3
		case c == '_' && i+1 < len(v):
			b.WriteByte(v[i+1] - ('a' - 'A'))
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func shortHash(s string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return fmt.Sprintf("%08x", h)
}

// Importer is optional: a provider that can read an object made outside
// skyplan, so an import block (or `skyplan import`) can adopt it. Import
// only reads; the plan shows the import, and apply (an update with
// ApplyRequest.ImportID) tags the object and records it.
type Importer interface {
	Import(ctx context.Context, req ImportRequest) (*state.Resource, error)
}

// ImportRequest names the object to adopt.
type ImportRequest struct {
	Address, Type, Workspace, StateID string
	// ID names the object: a bucket name; instance IDs (comma-separated) or
	// skypilot:CLUSTER on AWS; ZONE/NAME[,NAME…] of GCE instances or a TPU VM.
	ID string
	// Hint holds the spec's attributes (region, zone) to know where to look.
	Hint state.Attrs
}
