package main

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ec2Fake is the least of the EC2 query API that skyplan's observation,
// network lint and cluster creates call, in memory: DescribeAvailabilityZones,
// DescribeImages, DescribeInstances (tag, state and instance-id filters,
// pages of 100 reservations unless MaxResults says otherwise, as moto),
// RunInstances (answered pending, described running, as moto), and the
// network reads of SP-AWS-001 (DescribeVpcs, DescribeSubnets,
// DescribeRouteTables, DescribeInternetGateways) over one default VPC that
// reaches the internet, as a real account's (and moto's once
// emulator.(*Moto).ConnectDefaultVPC ran). It exists because
// moto answers one call at a time at tens of milliseconds each, growing with
// the instances it holds, while an apply of 200 creates at parallelism 50
// needs hundreds of calls a second: against moto the benchmark would time
// moto. Anything else is answered 400 UnsupportedOperation, so a call the
// fake does not know shows up instead of being faked.
type ec2Fake struct {
	URL string

	listener net.Listener
	server   *http.Server

	mu           sync.Mutex
	instances    []*fakeInstance // launch order
	byID         map[string]*fakeInstance
	reservations int
}

type fakeInstance struct {
	id, reservation, image, instanceType, zone, state string
	tags                                              map[string]string
	launched                                          time.Time
}

// fakeImage is the one image the fake offers: an Ubuntu image from
// Canonical that is not 22.04, like moto's (so skyplan's image search takes
// the same two calls).
var fakeImage = struct{ ID, Name, Owner, Arch, Root, Created string }{
	"ami-0bench00000000001", "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20240101",
	"099720109477", "x86_64", "/dev/sda1", "2024-01-01T00:00:00.000Z",
}

func startEC2Fake() (*ec2Fake, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ec2 fake: listen on 127.0.0.1: %w", err)
	}
	f := &ec2Fake{URL: "http://" + l.Addr().String(), listener: l, byID: map[string]*fakeInstance{}}
	f.server = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go f.server.Serve(l) //nolint:errcheck // ends with Close
	return f, nil
}

func (f *ec2Fake) close() { f.server.Close() }

func (f *ec2Fake) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.instances, f.byID, f.reservations = nil, map[string]*fakeInstance{}, 0
}

// launch adds a running instance in its own reservation. Callers hold f.mu.
func (f *ec2Fake) launch(instanceType, zone, state string, tags map[string]string) *fakeInstance {
	f.reservations++
	inst := &fakeInstance{
		id: fmt.Sprintf("i-%017x", f.reservations), reservation: fmt.Sprintf("r-%017x", f.reservations),
		image: fakeImage.ID, instanceType: instanceType, zone: zone, state: state, tags: tags, launched: time.Now().UTC(),
	}
	f.instances = append(f.instances, inst)
	f.byID[inst.id] = inst
	return inst
}

// add precreates running instances without a call.
func (f *ec2Fake) add(instanceType, zone string, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launch(instanceType, zone, "running", tags)
}

// serviceTime is the fake's least answer time: aws-sdk-go-v2 can lose the
// connection when an answer arrives before it finished writing the request
// and then retries (aws/aws-sdk-go-v2#2737), which would add calls.
const serviceTime = 2 * time.Millisecond

func (f *ec2Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(serviceTime)
	if err := r.ParseForm(); err != nil {
		f.fail(w, http.StatusBadRequest, "InvalidParameterValue", err.Error())
		return
	}
	q := r.Form
	region := "us-east-1"
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(cred, "/"); len(parts) > 2 {
			region = parts[2]
		}
	}
	switch action := q.Get("Action"); action {
	case "DescribeAvailabilityZones":
		type zone struct {
			Name   string `xml:"zoneName"`
			State  string `xml:"zoneState"`
			Region string `xml:"regionName"`
		}
		var zones []zone
		for _, s := range []string{"a", "b", "c"} {
			zones = append(zones, zone{region + s, "available", region})
		}
		f.answer(w, struct {
			XMLName   xml.Name `xml:"DescribeAvailabilityZonesResponse"`
			RequestID string   `xml:"requestId"`
			Zones     []zone   `xml:"availabilityZoneInfo>item"`
		}{RequestID: "bench", Zones: zones})
	case "DescribeImages":
		f.describeImages(w, q)
	case "DescribeInstances":
		f.describeInstances(w, q)
	case "RunInstances":
		f.runInstances(w, q, region)
	case "DescribeVpcs", "DescribeSubnets", "DescribeRouteTables", "DescribeInternetGateways":
		f.describeNetwork(w, action, q, region)
	default:
		f.fail(w, http.StatusBadRequest, "UnsupportedOperation", "the benchmark's EC2 fake does not serve "+action)
	}
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlInstance struct {
	ID    string `xml:"instanceId"`
	Image string `xml:"imageId"`
	State struct {
		Code int    `xml:"code"`
		Name string `xml:"name"`
	} `xml:"instanceState"`
	Type       string   `xml:"instanceType"`
	LaunchTime string   `xml:"launchTime"`
	Zone       string   `xml:"placement>availabilityZone"`
	Tags       []xmlTag `xml:"tagSet>item"`
}

type xmlReservation struct {
	ID        string        `xml:"reservationId"`
	Owner     string        `xml:"ownerId"`
	Instances []xmlInstance `xml:"instancesSet>item"`
}

const fakeOwner = "123456789012"

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

func (inst *fakeInstance) render() xmlInstance {
	x := xmlInstance{ID: inst.id, Image: inst.image, Type: inst.instanceType, Zone: inst.zone,
		LaunchTime: inst.launched.Format("2006-01-02T15:04:05.000Z")}
	x.State.Name, x.State.Code = inst.state, stateCodes[inst.state]
	for _, k := range sortedKeys(inst.tags) {
		x.Tags = append(x.Tags, xmlTag{k, inst.tags[k]})
	}
	return x
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// indexed reads "Prefix.1", "Prefix.2", ... until one is missing.
func indexed(q url.Values, prefix string) []string {
	var out []string
	for i := 1; q.Has(prefix + "." + strconv.Itoa(i)); i++ {
		out = append(out, q.Get(prefix+"."+strconv.Itoa(i)))
	}
	return out
}

// filters reads Filter.N.Name and Filter.N.Value.M.
func filters(q url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; q.Has("Filter." + strconv.Itoa(i) + ".Name"); i++ {
		p := "Filter." + strconv.Itoa(i)
		out[q.Get(p+".Name")] = indexed(q, p+".Value")
	}
	return out
}

// matcher matches any of a filter's values, with EC2's wildcards (* any
// run of characters, ? one), compiled once per request: the fake must stay
// fast next to the latency the benchmark adds.
func matcher(patterns []string) func(string) bool {
	exact := map[string]bool{}
	var globs []*regexp.Regexp
	for _, p := range patterns {
		if !strings.ContainsAny(p, "*?") {
			exact[p] = true
			continue
		}
		globs = append(globs, regexp.MustCompile("^"+strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p))+"$"))
	}
	return func(s string) bool {
		return exact[s] || slices.ContainsFunc(globs, func(re *regexp.Regexp) bool { return re.MatchString(s) })
	}
}

func (f *ec2Fake) describeImages(w http.ResponseWriter, q url.Values) {
	img := fakeImage
	fields := map[string]string{"name": img.Name, "architecture": img.Arch, "state": "available", "image-id": img.ID, "owner-id": img.Owner}
	match := true
	if owners := indexed(q, "Owner"); len(owners) > 0 && !slices.Contains(owners, img.Owner) {
		match = false
	}
	if ids := indexed(q, "ImageId"); len(ids) > 0 && !slices.Contains(ids, img.ID) {
		match = false
	}
	for name, values := range filters(q) {
		v, known := fields[name]
		if !known {
			f.fail(w, http.StatusBadRequest, "UnsupportedOperation", "the benchmark's EC2 fake does not filter images by "+name)
			return
		}
		match = match && matcher(values)(v)
	}
	type xmlImage struct {
		ID      string `xml:"imageId"`
		State   string `xml:"imageState"`
		Owner   string `xml:"imageOwnerId"`
		Arch    string `xml:"architecture"`
		Name    string `xml:"name"`
		Root    string `xml:"rootDeviceName"`
		Type    string `xml:"rootDeviceType"`
		Created string `xml:"creationDate"`
	}
	var images []xmlImage
	if match {
		images = append(images, xmlImage{img.ID, "available", img.Owner, img.Arch, img.Name, img.Root, "ebs", img.Created})
	}
	f.answer(w, struct {
		XMLName   xml.Name   `xml:"DescribeImagesResponse"`
		RequestID string     `xml:"requestId"`
		Images    []xmlImage `xml:"imagesSet>item"`
	}{RequestID: "bench", Images: images})
}

func (f *ec2Fake) describeInstances(w http.ResponseWriter, q url.Values) {
	ids := indexed(q, "InstanceId")
	flt := map[string]func(string) bool{}
	for name, values := range filters(q) {
		if name != "instance-id" && name != "instance-state-name" && !strings.HasPrefix(name, "tag:") {
			f.fail(w, http.StatusBadRequest, "UnsupportedOperation", "the benchmark's EC2 fake does not filter instances by "+name)
			return
		}
		flt[name] = matcher(values)
	}
	pageSize := 100
	if v := q.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 1000 {
			f.fail(w, http.StatusBadRequest, "InvalidParameterValue", "MaxResults must be between 5 and 1000")
			return
		}
		pageSize = n
	}
	start, _ := strconv.Atoi(q.Get("NextToken"))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.byID[id] == nil {
			f.fail(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", id))
			return
		}
	}
	var matched []*fakeInstance
	for _, inst := range f.instances {
		if (len(ids) == 0 || slices.Contains(ids, inst.id)) && inst.matches(flt) {
			matched = append(matched, inst)
		}
	}
	out := struct {
		XMLName      xml.Name         `xml:"DescribeInstancesResponse"`
		RequestID    string           `xml:"requestId"`
		Reservations []xmlReservation `xml:"reservationSet>item"`
		NextToken    string           `xml:"nextToken,omitempty"`
	}{RequestID: "bench"}
	end := min(start+pageSize, len(matched))
	for _, inst := range matched[min(start, end):end] {
		if inst.state == "pending" {
			inst.state = "running" // as moto: RunInstances answers pending, a describe running
		}
		out.Reservations = append(out.Reservations, xmlReservation{ID: inst.reservation, Owner: fakeOwner, Instances: []xmlInstance{inst.render()}})
	}
	if end < len(matched) {
		out.NextToken = strconv.Itoa(end)
	}
	f.answer(w, out)
}

func (inst *fakeInstance) matches(flt map[string]func(string) bool) bool {
	for name, match := range flt {
		var v string
		switch {
		case name == "instance-id":
			v = inst.id
		case name == "instance-state-name":
			v = inst.state
		default:
			tv, ok := inst.tags[strings.TrimPrefix(name, "tag:")]
			if !ok {
				return false
			}
			v = tv
		}
		if !match(v) {
			return false
		}
	}
	return true
}

func (f *ec2Fake) runInstances(w http.ResponseWriter, q url.Values, region string) {
	if n := q.Get("MaxCount"); n != "1" {
		f.fail(w, http.StatusBadRequest, "UnsupportedOperation", "the benchmark's EC2 fake launches one instance per call, not "+n)
		return
	}
	if q.Get("ImageId") != fakeImage.ID {
		f.fail(w, http.StatusBadRequest, "InvalidAMIID.NotFound", fmt.Sprintf("The image id '[%s]' does not exist", q.Get("ImageId")))
		return
	}
	zone := q.Get("Placement.AvailabilityZone")
	if zone == "" {
		zone = region + "a"
	}
	tags := map[string]string{}
	for i := 1; q.Has("TagSpecification." + strconv.Itoa(i) + ".ResourceType"); i++ {
		p := "TagSpecification." + strconv.Itoa(i)
		if q.Get(p+".ResourceType") != "instance" {
			continue
		}
		for j := 1; q.Has(p + ".Tag." + strconv.Itoa(j) + ".Key"); j++ {
			tp := p + ".Tag." + strconv.Itoa(j)
			tags[q.Get(tp+".Key")] = q.Get(tp + ".Value")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	inst := f.launch(q.Get("InstanceType"), zone, "pending", tags)
	f.answer(w, struct {
		XMLName   xml.Name `xml:"RunInstancesResponse"`
		RequestID string   `xml:"requestId"`
		xmlReservation
	}{RequestID: "bench", xmlReservation: xmlReservation{ID: inst.reservation, Owner: fakeOwner, Instances: []xmlInstance{inst.render()}}})
}

// answer writes an EC2 query response (an <ActionResponse> element).
func (f *ec2Fake) answer(w http.ResponseWriter, body any) {
	b, err := xml.Marshal(body)
	if err != nil {
		f.fail(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Write([]byte(xml.Header))
	w.Write(b)
}

func (f *ec2Fake) fail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	b, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Response"`
		Code    string   `xml:"Errors>Error>Code"`
		Message string   `xml:"Errors>Error>Message"`
		ID      string   `xml:"RequestID"`
	}{Code: code, Message: message, ID: "bench"})
	w.Write(b)
}
