package gcp

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
)

var (
	labelKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
)

// maxLabels is GCP's per-resource limit.
const maxLabels = 64

// nodeName is the name of node i of a cluster: <name>-<workspace>-<i>, made
// a valid GCE instance / TPU node name ([a-z]([-a-z0-9]*[a-z0-9])?, ≤63).
// Long names are cut and suffixed with a hash so they stay distinct.
func nodeName(address, workspace string, i int) string {
	return generationNodeName(address, workspace, 0, i)
}

// generationNodeName is nodeName for a generation: generation g > 0 adds
// "-g<g>" before the index, so a replacement's nodes never take the names
// of the nodes they replace while both exist.
func generationNodeName(address, workspace string, gen, i int) string {
	base := sanitizeName(spec.AddressName(address)) + "-" + sanitizeName(workspace)
	base = strings.Trim(base, "-")
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "sky-" + base
	}
	suffix := "-" + strconv.Itoa(i)
	if gen > 0 {
		suffix = fmt.Sprintf("-g%d-%d", gen, i)
	}
	if len(base)+len(suffix) > 63 {
		h := fnv.New32a()
		h.Write([]byte(address + "/" + workspace))
		tag := fmt.Sprintf("%08x", h.Sum32())
		base = strings.TrimRight(base[:63-len(suffix)-len(tag)-1], "-") + "-" + tag
	}
	return base + suffix
}

// sanitizeName lowercases and turns every run of other characters into "-".
func sanitizeName(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return b.String()
}

// nodeIndex recovers i from a name made by generationNodeName, or -1.
func nodeIndex(name, address, workspace string) int {
	i := strings.LastIndex(name, "-")
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 {
		return -1
	}
	if nodeName(address, workspace, n) == name {
		return n
	}
	rest := name[:i]
	if j := strings.LastIndex(rest, "-"); j >= 0 && strings.HasPrefix(rest[j+1:], "g") {
		if g, err := strconv.Atoi(rest[j+2:]); err == nil && g > 0 && generationNodeName(address, workspace, g, n) == name {
			return n
		}
	}
	return -1
}

// suggestLabel proposes a valid spelling for an invalid key or value.
func suggestLabel(s string, key bool) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if key && (out == "" || out[0] < 'a' || out[0] > 'z') {
		out = "k" + out
	}
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// ownedLabels are the labels of a new object: the user's plus ownership.
func ownedLabels(owner providers.Owner, user map[string]string) map[string]string {
	out := owner.Labels()
	for k, v := range user {
		out[k] = v
	}
	return out
}

// userLabels drops skyplan's labels; never nil, so an object with no user
// labels compares equal to labels = {}.
func userLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !strings.HasPrefix(k, "skyplan-") {
			out[k] = v
		}
	}
	return out
}

// ownsLabels reports whether an object's labels make it the request's
// (providers.ApplyRequest.Owns: this state's, at the address or the one it
// moves from).
func ownsLabels(req providers.ApplyRequest, labels map[string]string) bool {
	o, ok := providers.OwnerOfLabels(labels, newAddressResolver([]string{req.Address, req.MovedFrom}).resolve)
	return ok && req.Owns(o)
}

// requestFilter is the list filter for a request's objects: its workspace
// and address (the workspace alone while moving, so both addresses match).
func requestFilter(req providers.ApplyRequest) string {
	if req.MovedFrom != "" {
		return ownershipFilter(req.Workspace, "")
	}
	return ownershipFilter(req.Workspace, req.Address)
}

// ownershipFilter is the compute list filter for the workspace's objects
// (and one address, when given).
func ownershipFilter(workspace, address string) string {
	f := fmt.Sprintf(`(labels.%s = "true") (labels.%s = "%s")`, providers.TagManaged, providers.TagWorkspace, providers.LabelValue(workspace))
	if address != "" {
		f += fmt.Sprintf(` (labels.%s = "%s")`, providers.TagAddress, providers.LabelValue(address))
	}
	return f
}

// addressResolver maps an address label back to the address: through the
// hints first (values cut to 63 characters cannot be decoded), else by decoding.
type addressResolver map[string]string

func newAddressResolver(addresses []string) addressResolver {
	r := addressResolver{}
	for _, a := range addresses {
		r[providers.LabelValue(a)] = a
	}
	return r
}

func (r addressResolver) resolve(label string) string {
	if a, ok := r[label]; ok {
		return a
	}
	return providers.DecodeLabelValue(label)
}
