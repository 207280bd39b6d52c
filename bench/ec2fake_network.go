package main

import (
	"encoding/xml"
	"net/http"
	"net/url"
)

// The fake's network: in every region one default VPC whose subnets (one
// per zone) map public IPs on launch and whose main route table sends
// 0.0.0.0/0 to an attached internet gateway, so the network lint passes.
const (
	fakeVPC   = "vpc-0bench000000000001"
	fakeIGW   = "igw-0bench000000000001"
	fakeTable = "rtb-0bench000000000001"
)

var fakeZones = []string{"a", "b", "c"}

type xmlVPC struct {
	ID        string `xml:"vpcId"`
	State     string `xml:"state"`
	CIDR      string `xml:"cidrBlock"`
	IsDefault bool   `xml:"isDefault"`
}

type xmlSubnet struct {
	ID          string `xml:"subnetId"`
	VPC         string `xml:"vpcId"`
	State       string `xml:"state"`
	Zone        string `xml:"availabilityZone"`
	CIDR        string `xml:"cidrBlock"`
	DefaultAZ   bool   `xml:"defaultForAz"`
	MapPublicIP bool   `xml:"mapPublicIpOnLaunch"`
}

type xmlRoute struct {
	Destination string `xml:"destinationCidrBlock"`
	Gateway     string `xml:"gatewayId"`
	State       string `xml:"state"`
}

type xmlAssociation struct {
	ID    string `xml:"routeTableAssociationId"`
	Table string `xml:"routeTableId"`
	Main  bool   `xml:"main"`
}

type xmlRouteTable struct {
	ID           string           `xml:"routeTableId"`
	VPC          string           `xml:"vpcId"`
	Routes       []xmlRoute       `xml:"routeSet>item"`
	Associations []xmlAssociation `xml:"associationSet>item"`
}

type xmlAttachment struct {
	VPC   string `xml:"vpcId"`
	State string `xml:"state"`
}

type xmlGateway struct {
	ID          string          `xml:"internetGatewayId"`
	Attachments []xmlAttachment `xml:"attachmentSet>item"`
}

// describeNetwork answers the four network reads. Each object matches a
// filter by the fields listed with it; a filter the fake does not know is
// refused, so a new lint query shows up instead of being answered wrongly.
func (f *ec2Fake) describeNetwork(w http.ResponseWriter, action string, q url.Values, region string) {
	type object struct {
		fields map[string]string
		item   any
	}
	var objects []object
	var set string
	switch action {
	case "DescribeVpcs":
		set = "vpcSet"
		objects = []object{{map[string]string{"vpc-id": fakeVPC, "is-default": "true"},
			xmlVPC{fakeVPC, "available", "172.31.0.0/16", true}}}
	case "DescribeSubnets":
		set = "subnetSet"
		for i, z := range fakeZones {
			id := "subnet-0bench00000000000" + z
			objects = append(objects, object{map[string]string{"subnet-id": id, "vpc-id": fakeVPC, "availability-zone": region + z},
				xmlSubnet{id, fakeVPC, "available", region + z, "172.31." + string(rune('0'+i)) + ".0/24", true, true}})
		}
	case "DescribeRouteTables":
		set = "routeTableSet"
		objects = []object{{map[string]string{"vpc-id": fakeVPC, "route-table-id": fakeTable, "association.main": "true"},
			xmlRouteTable{fakeTable, fakeVPC,
				[]xmlRoute{{"172.31.0.0/16", "local", "active"}, {"0.0.0.0/0", fakeIGW, "active"}},
				[]xmlAssociation{{"rtbassoc-0bench0000000001", fakeTable, true}}}}}
	case "DescribeInternetGateways":
		set = "internetGatewaySet"
		objects = []object{{map[string]string{"internet-gateway-id": fakeIGW, "attachment.vpc-id": fakeVPC},
			xmlGateway{fakeIGW, []xmlAttachment{{fakeVPC, "available"}}}}}
	}
	flt := filters(q)
	var items []any
	for _, o := range objects {
		match := true
		for name, values := range flt {
			v, known := o.fields[name]
			if !known {
				f.fail(w, http.StatusBadRequest, "UnsupportedOperation", "the benchmark's EC2 fake does not filter "+action+" by "+name)
				return
			}
			match = match && matcher(values)(v)
		}
		if match {
			items = append(items, o.item)
		}
	}
	type itemSet struct {
		XMLName xml.Name
		Items   []any `xml:"item"`
	}
	f.answer(w, struct {
		XMLName   xml.Name
		RequestID string `xml:"requestId"`
		Set       itemSet
	}{XMLName: xml.Name{Local: action + "Response"}, RequestID: "bench", Set: itemSet{XMLName: xml.Name{Local: set}, Items: items}})
}
