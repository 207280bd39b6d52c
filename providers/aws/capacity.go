package aws

import (
	"regexp"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/skyplan/skyplan/providers"
)

// EC2 answers a launch it cannot place with these codes. Zone-level ones
// move apply to the next candidate; regional ones (quotas) skip the
// region's other candidates too.
var (
	zoneRefusals = map[string]bool{
		"InsufficientInstanceCapacity":         true, // HTTP 500: the SDK would retry it in place
		"InsufficientHostCapacity":             true,
		"InsufficientReservedInstanceCapacity": true,
		"InsufficientCapacityOnOutpost":        true,
		"SpotMaxPriceTooLow":                   true,
	}
	regionRefusals = map[string]bool{
		"VcpuLimitExceeded":            true,
		"InstanceLimitExceeded":        true,
		"MaxSpotInstanceCountExceeded": true,
	}
)

// capacityHint reads the zones EC2 names as having capacity: "… You can
// currently get p4d.24xlarge capacity by … choosing us-east-1b, us-east-1c."
var capacityHint = regexp.MustCompile(`choosing ([a-z0-9-]+(?:, [a-z0-9-]+)*)`)

// capacityRefusal classifies a launch error: nil unless EC2 refused the
// place (capacity, quota, or an instance type the zone does not offer).
func capacityRefusal(err error) *providers.Refusal {
	code := errorCode(err)
	msg := errorMessage(err)
	zoneUnsupported := code == "Unsupported" && strings.Contains(msg, "Availability Zone")
	if !zoneRefusals[code] && !regionRefusals[code] && !zoneUnsupported {
		return nil
	}
	r := &providers.Refusal{Code: code, Message: msg, Regional: regionRefusals[code]}
	if m := capacityHint.FindStringSubmatch(msg); m != nil {
		r.Suggest = strings.Split(m[1], ", ")
	}
	return r
}

// capacityNotRetried keeps the SDK from retrying refusals in place:
// InsufficientInstanceCapacity is a 500, which the standard retryer would
// retry for minutes; apply's failover decides instead (a bounded wait per
// candidate, then the next).
type capacityNotRetried struct{ awssdk.RetryerV2 }

func (r capacityNotRetried) IsErrorRetryable(err error) bool {
	return capacityRefusal(err) == nil && r.RetryerV2.IsErrorRetryable(err)
}

// withoutCapacityRetries is the EC2 client option that installs it.
func withoutCapacityRetries(o *ec2.Options) {
	if v2, ok := o.Retryer.(awssdk.RetryerV2); ok {
		o.Retryer = capacityNotRetried{v2}
	}
}
