package spec

import (
	"github.com/zclconf/go-cty/cty"
)

// AttrType is the small set of value shapes a resource attribute can take.
// Keeping it this small lets every layer (planner diffs, state JSON, provider
// code) use plain Go values: string, int64, bool, []string, map[string]string.
type AttrType int

const (
	TypeString AttrType = iota
	TypeNumber
	TypeBool
	TypeStringList
	TypeStringMap
)

func (t AttrType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeBool:
		return "bool"
	case TypeStringList:
		return "list(string)"
	case TypeStringMap:
		return "map(string)"
	}
	return "unknown"
}

// CtyType is the HCL type a value is converted to before it becomes a Go value.
func (t AttrType) CtyType() cty.Type {
	switch t {
	case TypeNumber:
		return cty.Number
	case TypeBool:
		return cty.Bool
	case TypeStringList:
		return cty.List(cty.String)
	case TypeStringMap:
		return cty.Map(cty.String)
	}
	return cty.String
}

// AttrSchema describes one attribute of a resource block.
type AttrSchema struct {
	Name     string
	Type     AttrType
	Required bool
	// Default is filled in when the attribute is omitted (nil: stays absent).
	Default any
	// ForceNew means a change cannot be applied in place; Reason says what the
	// replacement costs the user and is printed in the plan.
	ForceNew bool
	Reason   string
	// StateOnly attributes only steer skyplan (e.g. force_destroy); a change
	// updates state without touching the cloud.
	StateOnly bool
	Doc       string
}

// Capability is what a resource needs from its cloud's credentials.
type Capability string

const (
	CapCompute Capability = "compute"
	CapStorage Capability = "storage"
)

// Capabilities lists every capability in display order.
var Capabilities = []Capability{CapCompute, CapStorage}

// ResourceSchema describes one resource block type.
type ResourceSchema struct {
	Type  string
	Attrs []AttrSchema
	// Needs is the cloud capability the resource requires.
	Needs Capability
	// Clouds restricts which clouds the resource may live on.
	Clouds []string
}

// Attr returns the schema of the named attribute.
func (s *ResourceSchema) Attr(name string) (AttrSchema, bool) {
	for _, a := range s.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return AttrSchema{}, false
}

const (
	TypeCluster        = "cluster"
	TypeBucket         = "bucket"
	TypeJobsController = "jobs_controller"
	TypeGPULabelPolicy = "gpu_label_policy"
)

// Schemas holds every resource type, in the order their blocks are documented.
var Schemas = []*ResourceSchema{
	{
		Type:   TypeCluster,
		Needs:  CapCompute,
		Clouds: []string{"aws", "gcp"},
		Attrs: []AttrSchema{
			{Name: "cloud", Type: TypeString, Required: true, ForceNew: true, Reason: "a cluster cannot move between clouds; its nodes are recreated"},
			{Name: "region", Type: TypeString, ForceNew: true, Reason: "nodes cannot move between regions"},
			{Name: "zone", Type: TypeString, ForceNew: true, Reason: "nodes cannot move between zones"},
			{Name: "zones", Type: TypeStringList, StateOnly: true, Doc: placementDoc("zones")},
			{Name: "regions", Type: TypeStringList, StateOnly: true, Doc: placementDoc("regions")},
			{Name: "placement_order", Type: TypeString, StateOnly: true, Doc: placementOrderDoc},
			{Name: "instance_type", Type: TypeString, ForceNew: true, Reason: "the machine type of running nodes cannot change in place"},
			{Name: "accelerators", Type: TypeString, ForceNew: true, Reason: "accelerators are fixed when a node is created"},
			{Name: "image", Type: TypeString, ForceNew: true, Reason: "the boot image of running nodes cannot change"},
			{Name: "nodes", Type: TypeNumber, Default: int64(1), Doc: "scaled in place"},
			{Name: "disk_size", Type: TypeNumber, Default: int64(256), ForceNew: true, Reason: "boot disks are sized at creation"},
			{Name: "disk_tier", Type: TypeString, Default: "medium", ForceNew: true, Reason: "the boot disk type is fixed at creation"},
			{Name: "use_spot", Type: TypeBool, Default: false, ForceNew: true, Reason: "spot vs on-demand is fixed at creation"},
			{Name: "use_internal_ips", Type: TypeBool, Default: false, ForceNew: true, Reason: "public IP assignment is fixed at creation"},
			{Name: "subnet", Type: TypeString, ForceNew: true, Reason: "nodes cannot move between subnets"},
			{Name: "vpc", Type: TypeString, ForceNew: true, Reason: "nodes cannot move between networks"},
			{Name: "tpu_vm", Type: TypeBool, ForceNew: true, Reason: "the TPU architecture is fixed at creation"},
			{Name: "runtime_version", Type: TypeString, ForceNew: true, Reason: "a TPU VM's runtime is fixed at creation"},
			{Name: "labels", Type: TypeStringMap, Doc: "updated in place"},
		},
	},
	{
		Type:   TypeBucket,
		Needs:  CapStorage,
		Clouds: []string{"aws", "gcp"},
		Attrs: []AttrSchema{
			{Name: "cloud", Type: TypeString, Required: true, ForceNew: true, Reason: "a bucket cannot move between clouds; its objects are not copied"},
			{Name: "name", Type: TypeString, Required: true, ForceNew: true, Reason: "bucket names cannot be changed; its objects are not copied"},
			{Name: "region", Type: TypeString, ForceNew: true, Reason: "a bucket cannot move between regions"},
			{Name: "location", Type: TypeString, ForceNew: true, Reason: "a bucket cannot move between locations"},
			{Name: "storage_class", Type: TypeString},
			{Name: "versioning", Type: TypeBool, Default: false},
			{Name: "force_destroy", Type: TypeBool, Default: false, StateOnly: true, Doc: "allow destroy to delete a non-empty bucket"},
			{Name: "labels", Type: TypeStringMap},
		},
	},
	{
		Type:   TypeJobsController,
		Needs:  CapCompute,
		Clouds: []string{"aws", "gcp"},
		Attrs: []AttrSchema{
			{Name: "cloud", Type: TypeString, Required: true, ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "region", Type: TypeString, ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "zone", Type: TypeString, ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "zones", Type: TypeStringList, StateOnly: true, Doc: placementDoc("zones")},
			{Name: "regions", Type: TypeStringList, StateOnly: true, Doc: placementDoc("regions")},
			{Name: "placement_order", Type: TypeString, StateOnly: true, Doc: placementOrderDoc},
			{Name: "instance_type", Type: TypeString, ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "image", Type: TypeString, ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "disk_size", Type: TypeNumber, Default: int64(50), ForceNew: true, Reason: "managed jobs running on the old controller are not migrated"},
			{Name: "bucket", Type: TypeString, Required: true, Doc: "delivered as configuration; updated in place"},
			{Name: "job_clouds", Type: TypeStringList, Doc: "delivered as configuration; updated in place"},
			{Name: "labels", Type: TypeStringMap},
		},
	},
	{
		Type:   TypeGPULabelPolicy,
		Needs:  CapCompute,
		Clouds: []string{"kubernetes"},
		Attrs: []AttrSchema{
			{Name: "cloud", Type: TypeString, Required: true, ForceNew: true, Reason: "a policy cannot move between clusters"},
			{Name: "label_key", Type: TypeString, Default: "skypilot.co/accelerator"},
			{Name: "overrides", Type: TypeStringMap, Doc: "instance type or node name → accelerator"},
			{Name: "overwrite", Type: TypeBool, Default: false},
			{Name: "node_selector", Type: TypeStringMap},
		},
	},
}

// Placement candidates (zones, regions) only steer where apply launches: the
// place a resource landed in satisfies the spec as long as it is one of them
// (see Placements), so changing the list never touches the cloud.
func placementDoc(attr string) string {
	return "placement candidates: " + attr + " tried in order on capacity and quota errors"
}

const placementOrderDoc = `order of the candidates: "price" (cheapest first, the default) or "listed"`

// Placement orders (placement_order).
const (
	OrderPrice  = "price"
	OrderListed = "listed"
)

// SchemaFor returns the schema of a resource type, or nil.
func SchemaFor(typ string) *ResourceSchema {
	for _, s := range Schemas {
		if s.Type == typ {
			return s
		}
	}
	return nil
}

// CloudNames are the clouds skyplan knows.
var CloudNames = []string{"aws", "gcp", "kubernetes"}

// cloudAttrs is the schema of a `cloud "NAME"` block.
var cloudAttrs = []AttrSchema{
	{Name: "regions", Type: TypeStringList},
	{Name: "project", Type: TypeString},
	{Name: "capabilities", Type: TypeStringList},
	{Name: "profile", Type: TypeString},
	{Name: "context", Type: TypeString},
	{Name: "kubeconfig", Type: TypeString},
	{Name: "endpoints", Type: TypeStringMap},
}
