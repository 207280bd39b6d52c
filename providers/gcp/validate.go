package gcp

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/state"
)

func init() { providers.RegisterValidator(CloudName, Validate) }

// Validate is GCP's rulebook (see providers.Validator): GCS bucket names and
// the label rules every GCE instance, TPU VM and bucket follows.
func Validate(typ string, attrs state.Attrs) []providers.Problem {
	out := providers.BucketNameProblems(CloudName, typ, attrs, gcsNameProblem)
	labels := attrs.StringMap("labels")
	if len(labels)+3 > maxLabels {
		out = append(out, providers.Problem{Rule: providers.RuleLabels, Attr: "labels",
			Message: fmt.Sprintf("%d labels, but GCP allows %d per resource and skyplan adds 3", len(labels), maxLabels)})
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		p := providers.Problem{Rule: providers.RuleLabels, Attr: "labels"}
		switch {
		case strings.HasPrefix(k, "skyplan-"):
			p.Message = fmt.Sprintf("label %q uses the reserved prefix \"skyplan-\"; skyplan sets its ownership labels itself", k)
		case !labelKeyRE.MatchString(k):
			p.Message = fmt.Sprintf("label key %q is not valid on GCP: keys start with a lowercase letter and use only lowercase letters, digits, '_' and '-' (at most 63 characters)", k)
			p.Fix = fmt.Sprintf("labels = { %q = %q }", suggestLabel(k, true), v)
		case !labelValueRE.MatchString(v):
			p.Message = fmt.Sprintf("label %s = %q: the value is not valid on GCP: values use only lowercase letters, digits, '_' and '-' (at most 63 characters)", k, v)
			p.Fix = fmt.Sprintf("labels = { %q = %q }", k, suggestLabel(v, false))
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

var (
	gcsChars = regexp.MustCompile(`^[a-z0-9._-]+$`)
	alnum    = regexp.MustCompile(`^[a-z0-9]$`)
)

// gcsNameProblem checks the Cloud Storage bucket naming rules. Dotted names
// up to 222 characters pass: GCS accepts them once the domain is verified,
// which only its own answer can tell.
func gcsNameProblem(n string) string {
	switch {
	case len(n) < 3 || len(n) > 222:
		return fmt.Sprintf("GCS names are 3 to 222 characters (this one has %d)", len(n))
	case !gcsChars.MatchString(n):
		return "GCS names use only lowercase letters, digits, dashes, underscores and dots"
	case !alnum.MatchString(n[:1]) || !alnum.MatchString(n[len(n)-1:]):
		return "GCS names start and end with a letter or digit"
	case !strings.Contains(n, ".") && len(n) > 63:
		return "GCS names without dots are at most 63 characters"
	case strings.HasPrefix(n, "goog"):
		return `GCS names must not start with "goog"`
	case strings.Contains(n, "google") || strings.Contains(n, "g00gle"):
		return `GCS names must not contain "google" or close misspellings`
	case net.ParseIP(n) != nil:
		return "GCS names must not be an IP address"
	}
	for _, part := range strings.Split(n, ".") {
		if len(part) > 63 || part == "" {
			return "each dot-separated part of a GCS name is 1 to 63 characters"
		}
	}
	return ""
}
