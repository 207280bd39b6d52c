package providers

import (
	"fmt"
	"strings"
	"sync"

	"github.com/skyplan/skyplan/spec"
	"github.com/skyplan/skyplan/state"
)

// The lint rules that report providers' problems (see planner/lint).
const (
	RuleBucketName = "SP-BKT-001"
	RuleLabels     = "SP-LBL-001"
)

// Problem is a desired value a cloud would refuse, found without calling it.
type Problem struct {
	// Rule is the lint rule ID the problem is reported under.
	Rule string
	// Attr is the attribute at fault.
	Attr    string
	Message string
	// Fix is the spec change that resolves it, when one can be named.
	Fix string
}

// Validator checks a resource's desired attributes against one cloud's
// rules, with no network call. It is that cloud's one rulebook: lint reports
// its problems before anything runs, and the provider's Apply refuses the
// same ones, so lint never passes what apply would refuse.
type Validator func(typ string, attrs state.Attrs) []Problem

var (
	validatorsMu sync.RWMutex
	validators   = map[string]Validator{}
)

// RegisterValidator makes a cloud's rulebook available to lint.
func RegisterValidator(cloud string, v Validator) {
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	validators[cloud] = v
}

// Validate runs a cloud's rulebook on a resource (nil when the cloud has none).
func Validate(cloud, typ string, attrs state.Attrs) []Problem {
	validatorsMu.RLock()
	v := validators[cloud]
	validatorsMu.RUnlock()
	if v == nil {
		return nil
	}
	return v(typ, attrs)
}

// Refuse is a provider's error for a resource its rulebook rejects.
func Refuse(addr string, problems []Problem) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
		if p.Fix != "" {
			msgs[i] += " (fix: " + p.Fix + ")"
		}
	}
	return Refused(fmt.Errorf("%s: %s", addr, strings.Join(msgs, "; ")))
}

// BucketNameProblems checks a bucket's name against a cloud's naming rule
// (which says what is wrong, or ""), with a name valid on both clouds as the
// fix. Other types and unset names have none.
func BucketNameProblems(cloud, typ string, attrs state.Attrs, rule func(name string) string) []Problem {
	name := attrs.String("name")
	if typ != spec.TypeBucket || name == "" {
		return nil
	}
	msg := rule(name)
	if msg == "" {
		return nil
	}
	return []Problem{{Rule: RuleBucketName, Attr: "name", Message: fmt.Sprintf("bucket name %q is invalid on %s: %s", name, cloud, msg),
		Fix: fmt.Sprintf("name = %q", SuggestBucketName(name))}}
}

// SuggestBucketName proposes a name valid on both S3 and GCS.
func SuggestBucketName(n string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(n) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	s := b.String()
	for _, bad := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		s = strings.TrimPrefix(s, bad)
	}
	for _, bad := range []string{"-s3alias", "--ol-s3", "--x-s3"} {
		s = strings.TrimSuffix(s, bad)
	}
	s = strings.Trim(s, "-")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "google", "gcs"), "goog", "gcs")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	for len(s) < 3 {
		s += "-bucket"
		s = strings.TrimLeft(s, "-")
	}
	return s
}
