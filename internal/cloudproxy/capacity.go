package cloudproxy

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2 capacity and quota error codes.
const (
	InsufficientInstanceCapacity = "InsufficientInstanceCapacity"
	VcpuLimitExceeded            = "VcpuLimitExceeded"
	SpotMaxPriceTooLow           = "SpotMaxPriceTooLow"
)

// Markets a CapacityRule can select.
const (
	MarketSpot     = "spot"
	MarketOnDemand = "on-demand"
)

// CapacityRule refuses the RunInstances calls it matches, as EC2 does when
// a zone is out of an instance type or the account is out of quota. Real
// EC2 answers InsufficientInstanceCapacity with HTTP 500 (a server error,
// which the SDKs retry), VcpuLimitExceeded and SpotMaxPriceTooLow with 400
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
type CapacityRule struct {
	// Zone is the availability zone the launch lands in: the request's
	// Placement.AvailabilityZone, or its subnet's zone (SetSubnetZone, else
	// looked up upstream). Empty matches every launch.
	Zone string
	// Region is the region the launch is signed for ("us-west-2"); empty
	// matches every region.
	Region string
	// InstanceType ("p4d.24xlarge"); empty matches every type.
	InstanceType string
	// Market is MarketSpot, MarketOnDemand or empty for both.
	Market string
	// Code is InsufficientInstanceCapacity (the default), VcpuLimitExceeded
	// or SpotMaxPriceTooLow.
	Code string
	// Message replaces the EC2-like message.
	Message string
	// Times caps how many launches it refuses (0: no cap).
	Times int
}

type capacityRule struct {
	CapacityRule
	used int
}

// launch is what a RunInstances request asks for.
type launch struct {
	region, zone, instanceType, market, maxPrice string
	zoneGiven                                    bool
}

// AddCapacityRule adds a rule; the first matching rule applies.
func (p *Proxy) AddCapacityRule(r CapacityRule) {
	if r.Code == "" {
		r.Code = InsufficientInstanceCapacity
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.capacity = append(p.capacity, &capacityRule{CapacityRule: r})
}

// SetSubnetZone tells capacity rules a subnet's zone, sparing a lookup.
func (p *Proxy) SetSubnetZone(subnet, zone string) {
	p.zones.mu.Lock()
	defer p.zones.mu.Unlock()
	p.zones.subnets[subnet] = zone
}

// capacityRefusal returns the error a matching rule answers with, if any.
func (p *Proxy) capacityRefusal(ctx context.Context, op Op, r *http.Request, body []byte) *APIError {
	if op.String() != "ec2:RunInstances" {
		return nil
	}
	p.mu.Lock()
	rules := slices.Clone(p.capacity)
	p.mu.Unlock()
	if len(rules) == 0 {
		return nil
	}
	form, _ := url.ParseQuery(string(body))
	l := launch{
		region:       signingRegion(r.Header.Get("Authorization")),
		instanceType: form.Get("InstanceType"),
		market:       MarketOnDemand,
		zone:         form.Get("Placement.AvailabilityZone"),
		maxPrice:     form.Get("InstanceMarketOptions.SpotOptions.MaxPrice"),
	}
	if strings.EqualFold(form.Get("InstanceMarketOptions.MarketType"), "spot") {
		l.market = MarketSpot
	}
	subnet := cmp.Or(form.Get("SubnetId"), form.Get("NetworkInterface.1.SubnetId"))
	if l.zone == "" && subnet != "" {
		l.zone = p.zones.subnetZone(ctx, l.region, subnet)
	}
	l.zoneGiven = l.zone != ""

	p.mu.Lock()
	var hit *capacityRule
	for _, rule := range p.capacity {
		if rule.matches(l) && (rule.Times == 0 || rule.used < rule.Times) {
			rule.used++
			hit = rule
			break
		}
	}
	var exhausted []string // zones refused for this type and market
	for _, rule := range p.capacity {
		if rule.Zone != "" && rule.Code == InsufficientInstanceCapacity && rule.matches(launch{region: l.region, zone: rule.Zone, instanceType: l.instanceType, market: l.market}) {
			exhausted = append(exhausted, rule.Zone)
		}
	}
	p.mu.Unlock()
	if hit == nil {
		return nil
	}
	e := APIError{Status: http.StatusBadRequest, Code: hit.Code, Message: hit.Message}
	if hit.Code == InsufficientInstanceCapacity {
		e.Status = http.StatusInternalServerError
	}
	if e.Message == "" {
		var others []string
		if hit.Code == InsufficientInstanceCapacity && l.market == MarketOnDemand && l.zoneGiven {
			for _, z := range p.zones.regionZones(ctx, l.region) {
				if z != l.zone && !slices.Contains(exhausted, z) {
					others = append(others, z)
				}
			}
		}
		e.Message = capacityMessage(hit.Code, l, others)
	}
	return &e
}

func (r *capacityRule) matches(l launch) bool {
	return (r.Zone == "" || r.Zone == l.zone) && (r.Region == "" || r.Region == l.region) &&
		(r.InstanceType == "" || r.InstanceType == l.instanceType) &&
		(r.Market == "" || r.Market == l.market)
}

// capacityMessage words the error as EC2 does.
func capacityMessage(code string, l launch, otherZones []string) string {
	switch code {
	case VcpuLimitExceeded:
		return "You have requested more vCPU capacity than your current vCPU limit of 0 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
	case SpotMaxPriceTooLow:
		return fmt.Sprintf("Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of 99.0.", cmp.Or(l.maxPrice, "0.0"))
	case InsufficientInstanceCapacity:
		if l.market == MarketSpot {
			return "There is no Spot capacity available that matches your request."
		}
		if !l.zoneGiven {
			return fmt.Sprintf("We currently do not have sufficient %s capacity. Our system will be working on provisioning additional capacity.", l.instanceType)
		}
		msg := fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity.", l.instanceType, l.zone)
		if len(otherZones) > 0 {
			msg += fmt.Sprintf(" You can currently get %s capacity by not specifying an Availability Zone in your request or choosing %s.", l.instanceType, strings.Join(otherZones, ", "))
		}
		return msg
	}
	return code
}

// zoneDirectory answers subnet→zone and region→zones from the upstream
// (through the real EC2 client), once each.
type zoneDirectory struct {
	upstream  *url.URL
	transport http.RoundTripper

	mu      sync.Mutex
	subnets map[string]string
	regions map[string][]string
}

func (z *zoneDirectory) client(region string) *ec2.Client {
	return ec2.NewFromConfig(awssdk.Config{
		Region:       cmp.Or(region, "us-east-1"),
		BaseEndpoint: awssdk.String(z.upstream.String()),
		Credentials:  credentials.NewStaticCredentialsProvider("cloudproxy", "cloudproxy", ""),
		HTTPClient:   &http.Client{Transport: z.transport},
	})
}

func (z *zoneDirectory) subnetZone(ctx context.Context, region, subnet string) string {
	z.mu.Lock()
	zone, ok := z.subnets[subnet]
	z.mu.Unlock()
	if ok {
		return zone
	}
	out, err := z.client(region).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
	if err != nil || len(out.Subnets) == 0 {
		return "" // EC2 itself will refuse the unknown subnet
	}
	zone = awssdk.ToString(out.Subnets[0].AvailabilityZone)
	z.mu.Lock()
	z.subnets[subnet] = zone
	z.mu.Unlock()
	return zone
}

func (z *zoneDirectory) regionZones(ctx context.Context, region string) []string {
	z.mu.Lock()
	zones, ok := z.regions[region]
	z.mu.Unlock()
	if ok {
		return zones
	}
	out, err := z.client(region).DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return nil
	}
	for _, az := range out.AvailabilityZones {
		zones = append(zones, awssdk.ToString(az.ZoneName))
	}
	slices.Sort(zones)
	z.mu.Lock()
	z.regions[region] = zones
	z.mu.Unlock()
	return zones
}
