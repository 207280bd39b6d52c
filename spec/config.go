package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Config is a loaded, validated spec directory.
type Config struct {
	Dir       string
	Workspace string
	Backend   Backend
	Clouds    map[string]*Cloud
	// Resources are sorted by address.
	Resources []*Resource
	Variables map[string]cty.Value
	// SensitiveVariables names the variables declared `sensitive = true`;
	// the CLI keeps their values out of everything it prints.
	SensitiveVariables map[string]bool
	// Sources holds the raw bytes of every loaded file, keyed by path, so
	// diagnostics can print snippets and lint can read comments.
	Sources map[string][]byte
	// Files are the parsed HCL files when loading failed, for diagnostics;
	// empty after a clean load, which frees the syntax trees (most of a
	// big spec's memory).
	Files map[string]*hcl.File
	// Hash identifies the spec and variable values a plan was made from.
	Hash string
	// Moved and Imports are the spec's moved and import blocks.
	Moved   []Moved
	Imports []Import
}

// Backend is the `backend "TYPE" {}` block of `skyplan {}`.
type Backend struct {
	Type  string
	Attrs map[string]string
	Range hcl.Range
}

// Cloud is a `cloud "NAME" {}` block.
type Cloud struct {
	Name       string
	Attrs      map[string]any
	DeclRange  hcl.Range
	AttrRanges map[string]hcl.Range
}

// Capabilities returns what the project needs from this cloud; when the block
// does not say, every capability that the cloud's resource types can use.
func (c *Cloud) Capabilities() []Capability {
	if list, ok := c.Attrs["capabilities"].([]string); ok {
		out := make([]Capability, len(list))
		for i, s := range list {
			out[i] = Capability(s)
		}
		return out
	}
	if c.Name == "kubernetes" {
		return []Capability{CapCompute}
	}
	return []Capability{CapCompute, CapStorage}
}

// HasCapability reports whether the cloud block declares the capability.
func (c *Cloud) HasCapability(cap Capability) bool {
	for _, have := range c.Capabilities() {
		if have == cap {
			return true
		}
	}
	return false
}

// String returns a string attribute of the cloud block, or "".
func (c *Cloud) String(name string) string { s, _ := c.Attrs[name].(string); return s }

// StringList returns a list attribute of the cloud block.
func (c *Cloud) StringList(name string) []string { l, _ := c.Attrs[name].([]string); return l }

// StringMap returns a map attribute of the cloud block.
func (c *Cloud) StringMap(name string) map[string]string {
	m, _ := c.Attrs[name].(map[string]string)
	return m
}

// Resource is one resource block with its attributes evaluated and defaults
// filled in. Attribute values are string, int64, bool, []string or
// map[string]string.
type Resource struct {
	Type       string
	Name       string
	Attrs      map[string]any
	DeclRange  hcl.Range
	AttrRanges map[string]hcl.Range
	// DependsOn lists the addresses this resource references, sorted.
	DependsOn []string
	// AllowReplace is `lifecycle { allow_replace = true }`.
	AllowReplace bool
	// DestroyBeforeCreate is `lifecycle { create_before_destroy = false }`:
	// a replacement deletes the old generation before creating the new.
	DestroyBeforeCreate bool
	// Sensitive marks attributes computed from a `sensitive = true`
	// variable: their values are never printed.
	Sensitive map[string]bool
}

// Address is TYPE.NAME, unique in a spec.
func (r *Resource) Address() string { return r.Type + "." + r.Name }

// Cloud is the cloud the resource lives on.
func (r *Resource) Cloud() string { return r.String("cloud") }

// Schema returns the resource's schema.
func (r *Resource) Schema() *ResourceSchema { return SchemaFor(r.Type) }

// Range returns the source range of an attribute, or of the block header.
func (r *Resource) Range(attr string) hcl.Range {
	if rng, ok := r.AttrRanges[attr]; ok {
		return rng
	}
	return r.DeclRange
}

// String returns a string attribute or "".
func (r *Resource) String(name string) string { s, _ := r.Attrs[name].(string); return s }

// Int returns a number attribute or 0.
func (r *Resource) Int(name string) int64 { n, _ := r.Attrs[name].(int64); return n }

// Bool returns a bool attribute or false.
func (r *Resource) Bool(name string) bool { b, _ := r.Attrs[name].(bool); return b }

// StringList returns a list attribute or nil.
func (r *Resource) StringList(name string) []string { l, _ := r.Attrs[name].([]string); return l }

// StringMap returns a map attribute or nil.
func (r *Resource) StringMap(name string) map[string]string {
	m, _ := r.Attrs[name].(map[string]string)
	return m
}

// Resource returns the resource with the given address, or nil.
func (c *Config) Resource(addr string) *Resource {
	i := sort.Search(len(c.Resources), func(i int) bool { return c.Resources[i].Address() >= addr })
	if i < len(c.Resources) && c.Resources[i].Address() == addr {
		return c.Resources[i]
	}
	return nil
}

// ResourcesOn returns the resources on a cloud, in address order.
func (c *Config) ResourcesOn(cloud string) []*Resource {
	var out []*Resource
	for _, r := range c.Resources {
		if r.Cloud() == cloud {
			out = append(out, r)
		}
	}
	return out
}

// AddressType is TYPE of an address TYPE.NAME.
func AddressType(addr string) string {
	t, _, _ := strings.Cut(addr, ".")
	return t
}

// AddressName is NAME of an address TYPE.NAME (the whole string when it has no dot).
func AddressName(addr string) string {
	if _, n, ok := strings.Cut(addr, "."); ok {
		return n
	}
	return addr
}

// ParseAddress splits TYPE.NAME.
func ParseAddress(addr string) (typ, name string, err error) {
	for i := 0; i < len(addr); i++ {
		if addr[i] == '.' {
			typ, name = addr[:i], addr[i+1:]
			if SchemaFor(typ) == nil || !hclsyntax.ValidIdentifier(name) {
				break
			}
			return typ, name, nil
		}
	}
	return "", "", fmt.Errorf("invalid resource address %q: want TYPE.NAME, e.g. cluster.train", addr)
}
