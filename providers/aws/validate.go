package aws

import (
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/skyplan/skyplan/providers"
	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

func init() { providers.RegisterValidator(CloudName, Validate) }

// maxBucketLabels is S3's 50 tags less skyplan's 3 ownership tags.
const maxBucketLabels = 50 - 3

// Validate is AWS's rulebook (see providers.Validator): S3 bucket names and
// the tags that labels become.
func Validate(typ string, attrs state.Attrs) []providers.Problem {
	out := providers.BucketNameProblems(CloudName, typ, attrs, s3NameProblem)
	labels := attrs.StringMap("labels")
	if typ == spec.TypeBucket && len(labels) > maxBucketLabels {
		out = append(out, providers.Problem{Rule: providers.RuleLabels, Attr: "labels",
			Message: fmt.Sprintf("%d labels; S3 allows 50 tags per bucket and skyplan uses 3", len(labels))})
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		var msg string
		switch {
		case reservedTag(k):
			msg = fmt.Sprintf("labels: key %q is reserved (skyplan ownership tags, Name and aws: keys are set by skyplan/AWS)", k)
		case len(k) == 0 || len(k) > 128:
			msg = fmt.Sprintf("labels: key %q must be 1 to 128 characters", k)
		case len(labels[k]) > 256:
			msg = fmt.Sprintf("labels: value of %q is longer than 256 characters", k)
		default:
			continue
		}
		out = append(out, providers.Problem{Rule: providers.RuleLabels, Attr: "labels", Message: msg})
	}
	return out
}

var (
	s3Chars = regexp.MustCompile(`^[a-z0-9.-]+$`)
	alnum   = regexp.MustCompile(`^[a-z0-9]$`)
)

// s3NameProblem checks the S3 general-purpose bucket naming rules.
func s3NameProblem(n string) string {
	switch {
	case len(n) < 3 || len(n) > 63:
		return fmt.Sprintf("S3 names are 3 to 63 characters (this one has %d)", len(n))
	case !s3Chars.MatchString(n):
		return "S3 names use only lowercase letters, digits, dots and hyphens"
	case !alnum.MatchString(n[:1]) || !alnum.MatchString(n[len(n)-1:]):
		return "S3 names start and end with a letter or digit"
	case strings.Contains(n, ".."):
		return "S3 names must not contain two adjacent dots"
	case net.ParseIP(n) != nil:
		return "S3 names must not look like an IP address"
	case strings.HasPrefix(n, "xn--") || strings.HasPrefix(n, "sthree-") || strings.HasPrefix(n, "amzn-s3-demo-"):
		return "S3 names must not start with xn--, sthree- or amzn-s3-demo-"
	case strings.HasSuffix(n, "-s3alias") || strings.HasSuffix(n, "--ol-s3") || strings.HasSuffix(n, ".mrap") || strings.HasSuffix(n, "--x-s3"):
		return "S3 names must not end with -s3alias, --ol-s3, .mrap or --x-s3"
	}
	return ""
}
