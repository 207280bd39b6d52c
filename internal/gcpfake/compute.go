package gcpfake

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	compute "google.golang.org/api/compute/v1"
)

func (s *Server) routeCompute() {
	const p = "/compute/v1/projects/{project}"
	s.mux.HandleFunc("GET "+p+"/zones", s.listZones)
	s.mux.HandleFunc("GET "+p+"/zones/{zone}", s.getZone)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances", s.insertInstance)
	s.mux.HandleFunc("GET "+p+"/zones/{zone}/instances", s.listInstances)
	s.mux.HandleFunc("GET "+p+"/zones/{zone}/instances/{instance}", s.getInstance)
	s.mux.HandleFunc("DELETE "+p+"/zones/{zone}/instances/{instance}", s.deleteInstance)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/setLabels", s.setInstanceLabels)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/setMetadata", s.setInstanceMetadata)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/stop", s.stopInstance)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/start", s.startInstance)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/suspend", s.suspendInstance)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/instances/{instance}/resume", s.resumeInstance)
	s.mux.HandleFunc("GET "+p+"/aggregated/instances", s.aggregatedInstances)
	s.mux.HandleFunc("GET "+p+"/zones/{zone}/disks", s.listDisks)
	s.mux.HandleFunc("GET "+p+"/aggregated/disks", s.aggregatedDisks)
	s.mux.HandleFunc("GET "+p+"/zones/{zone}/operations/{operation}", s.getZoneOperation)
	s.mux.HandleFunc("POST "+p+"/zones/{zone}/operations/{operation}/wait", s.getZoneOperation)
}

type computeOp struct {
	op     *compute.Operation
	polls  int
	effect func()
	fault  *injected
}

var (
	nameRE       = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[a-z0-9_-]{0,63}$`)
	// Disk types an instance can boot from; the Hyperdisk variants that
	// cannot boot are refused with the API's message.
	bootDiskTypes    = map[string]bool{"pd-standard": true, "pd-balanced": true, "pd-ssd": true, "pd-extreme": true, "hyperdisk-balanced": true}
	nonBootDiskTypes = map[string]bool{"hyperdisk-extreme": true, "hyperdisk-throughput": true, "hyperdisk-ml": true}
	// Machine series with built-in GPUs.
	gpuSeries = []string{"a2-", "a3-", "a4-", "g2-"}
)

func link(format string, args ...any) string { return selfLinkBase + fmt.Sprintf(format, args...) }

// lastSegment returns the name at the end of a resource URL or partial path.
func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// zonalName parses "zones/Z/COLLECTION/NAME" in any of its URL forms.
func zonalName(u, collection string) (zone, name string, ok bool) {
	parts := strings.Split(u, "/")
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] == "zones" && parts[i+2] == collection {
			return parts[i+1], parts[i+3], parts[i+3] != ""
		}
	}
	return "", "", false
}

func fingerprint(v any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(v)))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func validateLabels(labels map[string]string) error {
	if len(labels) > 64 {
		return fmt.Errorf("Invalid value for field 'resource.labels': a resource can have at most 64 labels")
	}
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("Invalid value for field 'resource.labels': label key '%s' must start with a lowercase letter and contain only lowercase letters, digits, '_' and '-' (at most 63)", k)
		}
		if !labelValueRE.MatchString(v) {
			return fmt.Errorf("Invalid value for field 'resource.labels': label value '%s' of '%s' may contain only lowercase letters, digits, '_' and '-' (at most 63)", v, k)
		}
	}
	return nil
}

// validateInstance applies the API's own checks that catch provider bugs.
func validateInstance(zone string, in *compute.Instance) error {
	if !nameRE.MatchString(in.Name) {
		return fmt.Errorf("Invalid value for field 'resource.name': '%s'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'", in.Name)
	}
	mtZone, mt, ok := zonalName(in.MachineType, "machineTypes")
	if !ok {
		return fmt.Errorf("Invalid value for field 'resource.machineType': '%s'. Must be a zonal machine type URL such as zones/%s/machineTypes/n2-standard-4", in.MachineType, zone)
	}
	if mtZone != zone {
		return fmt.Errorf("Invalid value for field 'resource.machineType': '%s'. Machine type must be in zone %s", in.MachineType, zone)
	}
	if err := validateLabels(in.Labels); err != nil {
		return err
	}
	boots := 0
	for i, d := range in.Disks {
		if !d.Boot {
			continue
		}
		boots++
		p := d.InitializeParams
		if p == nil {
			if d.Source == "" {
				return fmt.Errorf("Invalid value for field 'resource.disks[%d]': a boot disk needs initializeParams or source", i)
			}
			continue
		}
		if p.SourceImage == "" && p.SourceSnapshot == "" {
			return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.sourceImage': a new boot disk needs a source image", i)
		}
		if p.DiskType != "" {
			dz, dt, ok := zonalName(p.DiskType, "diskTypes")
			switch {
			case !ok || dz != zone:
				return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.diskType': '%s'", i, p.DiskType)
			case nonBootDiskTypes[dt]:
				return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.diskType': '%s'. %s cannot be used as a boot disk", i, p.DiskType, dt)
			case !bootDiskTypes[dt]:
				return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.diskType': '%s'. The referenced diskType resource cannot be found", i, p.DiskType)
			case dt == "hyperdisk-balanced":
				size := max(p.DiskSizeGb, 10)
				if p.ProvisionedIops != 0 && (p.ProvisionedIops < 3000 || p.ProvisionedIops > 160000 || p.ProvisionedIops > 500*size) {
					return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.provisionedIops': '%d'. Hyperdisk Balanced IOPS must be between 3000 and min(160000, 500 per GiB)", i, p.ProvisionedIops)
				}
				if p.ProvisionedThroughput != 0 && (p.ProvisionedThroughput < 140 || p.ProvisionedThroughput > 2400 || (p.ProvisionedIops != 0 && p.ProvisionedThroughput > p.ProvisionedIops/4)) {
					return fmt.Errorf("Invalid value for field 'resource.disks[%d].initializeParams.provisionedThroughput': '%d'", i, p.ProvisionedThroughput)
				}
			}
		}
		if err := validateLabels(p.Labels); err != nil {
			return err
		}
	}
	if boots != 1 {
		return fmt.Errorf("Invalid value for field 'resource.disks': an instance needs exactly one boot disk, got %d", boots)
	}
	if len(in.NetworkInterfaces) == 0 {
		return fmt.Errorf("Invalid value for field 'resource.networkInterfaces': at least one network interface is required")
	}
	sched := in.Scheduling
	if sched == nil {
		sched = &compute.Scheduling{}
	}
	hasGPU := len(in.GuestAccelerators) > 0
	for _, prefix := range gpuSeries {
		hasGPU = hasGPU || strings.HasPrefix(mt, prefix)
		if strings.HasPrefix(mt, prefix) && len(in.GuestAccelerators) > 0 {
			return fmt.Errorf("Invalid value for field 'resource.guestAccelerators': %s machine types have built-in accelerators; guestAccelerators are for N1", mt)
		}
	}
	for i, a := range in.GuestAccelerators {
		az, _, ok := zonalName(a.AcceleratorType, "acceleratorTypes")
		if !ok || az != zone || a.AcceleratorCount < 1 {
			return fmt.Errorf("Invalid value for field 'resource.guestAccelerators[%d]': '%s' x %d", i, a.AcceleratorType, a.AcceleratorCount)
		}
	}
	if hasGPU && sched.OnHostMaintenance != "TERMINATE" {
		return fmt.Errorf("Invalid value for field 'resource.scheduling.onHostMaintenance': '%s'. Instances with guest accelerators do not support live migration.", sched.OnHostMaintenance)
	}
	if sched.ProvisioningModel == "SPOT" {
		if sched.AutomaticRestart == nil || *sched.AutomaticRestart {
			return fmt.Errorf("Invalid value for field 'resource.scheduling.automaticRestart': 'true'. Spot VMs cannot be restarted automatically.")
		}
		if sched.OnHostMaintenance != "TERMINATE" {
			return fmt.Errorf("Invalid value for field 'resource.scheduling.onHostMaintenance': '%s'. Spot VMs must terminate on host maintenance.", sched.OnHostMaintenance)
		}
	}
	return nil
}

// createInstance stores an instance and its boot disk as the API would.
// Callers hold s.mu.
func (s *Server) createInstance(project, zone string, in *compute.Instance, status string) *compute.Instance {
	inst := clone(in)
	inst.Kind = "compute#instance"
	inst.Id = s.newID()
	inst.Zone = link("projects/%s/zones/%s", project, zone)
	inst.SelfLink = link("projects/%s/zones/%s/instances/%s", project, zone, inst.Name)
	if _, mt, ok := zonalName(inst.MachineType, "machineTypes"); ok {
		inst.MachineType = link("projects/%s/zones/%s/machineTypes/%s", project, zone, mt)
	}
	inst.Status = status
	inst.CreationTimestamp = now()
	inst.LabelFingerprint = fingerprint(inst.Labels)
	inst.Fingerprint = fingerprint(inst.Id)
	if inst.Metadata == nil {
		inst.Metadata = &compute.Metadata{}
	}
	inst.Metadata.Kind = "compute#metadata"
	inst.Metadata.Fingerprint = fingerprint(inst.Metadata.Items)
	if inst.Scheduling == nil {
		inst.Scheduling = &compute.Scheduling{}
	}
	if inst.Scheduling.OnHostMaintenance == "" {
		inst.Scheduling.OnHostMaintenance = "MIGRATE"
	}
	if inst.Scheduling.AutomaticRestart == nil {
		t := true
		inst.Scheduling.AutomaticRestart = &t
	}
	if inst.Scheduling.ProvisioningModel == "" {
		inst.Scheduling.ProvisioningModel = "STANDARD"
	}
	for _, a := range inst.GuestAccelerators {
		a.AcceleratorType = link("projects/%s/zones/%s/acceleratorTypes/%s", project, zone, lastSegment(a.AcceleratorType))
	}
	for i, nic := range inst.NetworkInterfaces {
		nic.Kind = "compute#networkInterface"
		nic.Name = fmt.Sprintf("nic%d", i)
		if nic.Network == "" {
			nic.Network = "global/networks/default"
		}
		nic.Network = link("projects/%s/global/networks/%s", project, lastSegment(nic.Network))
		if nic.Subnetwork != "" {
			nic.Subnetwork = link("projects/%s/regions/%s/subnetworks/%s", project, regionOf(zone), lastSegment(nic.Subnetwork))
		} else {
			nic.Subnetwork = link("projects/%s/regions/%s/subnetworks/default", project, regionOf(zone))
		}
		nic.NetworkIP = fmt.Sprintf("10.128.%d.%d", (inst.Id/250)%250, inst.Id%250+2)
		for _, ac := range nic.AccessConfigs {
			ac.Kind = "compute#accessConfig"
			if ac.Type == "" {
				ac.Type = "ONE_TO_ONE_NAT"
			}
			if ac.Name == "" {
				ac.Name = "External NAT"
			}
			ac.NatIP = fmt.Sprintf("203.0.113.%d", inst.Id%250+2)
		}
	}
	for i, d := range inst.Disks {
		d.Kind = "compute#attachedDisk"
		d.Index = int64(i)
		d.Type = "PERSISTENT"
		d.Mode = "READ_WRITE"
		if d.DeviceName == "" {
			d.DeviceName = fmt.Sprintf("persistent-disk-%d", i)
		}
		p := d.InitializeParams
		if p == nil {
			continue
		}
		name := p.DiskName
		if name == "" {
			name = inst.Name
			if i > 0 {
				name = fmt.Sprintf("%s-%d", inst.Name, i)
			}
		}
		diskType := "pd-standard"
		if p.DiskType != "" {
			diskType = lastSegment(p.DiskType)
		}
		disk := &compute.Disk{
			Kind:                  "compute#disk",
			Id:                    s.newID(),
			Name:                  name,
			Zone:                  inst.Zone,
			SelfLink:              link("projects/%s/zones/%s/disks/%s", project, zone, name),
			SizeGb:                max(p.DiskSizeGb, 10),
			Type:                  link("projects/%s/zones/%s/diskTypes/%s", project, zone, diskType),
			SourceImage:           p.SourceImage,
			Labels:                p.Labels,
			LabelFingerprint:      fingerprint(p.Labels),
			ProvisionedIops:       p.ProvisionedIops,
			ProvisionedThroughput: p.ProvisionedThroughput,
			Status:                "READY",
			Users:                 []string{inst.SelfLink},
			CreationTimestamp:     inst.CreationTimestamp,
		}
		if disk.ProvisionedIops == 0 && strings.HasPrefix(diskType, "hyperdisk-balanced") {
			disk.ProvisionedIops = 3000
		}
		if disk.ProvisionedThroughput == 0 && strings.HasPrefix(diskType, "hyperdisk-balanced") {
			disk.ProvisionedThroughput = 140
		}
		s.disks[project+"/"+zone+"/"+name] = disk
		d.Source = disk.SelfLink
		d.DiskSizeGb = disk.SizeGb
		d.InitializeParams = nil
	}
	s.instances[project+"/"+zone+"/"+inst.Name] = inst
	return inst
}

// removeInstance deletes an instance and its auto-delete disks. Callers hold s.mu.
func (s *Server) removeInstance(project, zone, name string) bool {
	key := project + "/" + zone + "/" + name
	inst, ok := s.instances[key]
	if !ok {
		return false
	}
	for _, d := range inst.Disks {
		if d.AutoDelete {
			delete(s.disks, project+"/"+zone+"/"+lastSegment(d.Source))
		}
	}
	delete(s.instances, key)
	return true
}

// newComputeOp records a zonal operation; effect runs when it is done
// without error.
func (s *Server) newComputeOp(project, zone, opType, target string, targetID uint64, fault *injected, effect func()) *compute.Operation {
	name := fmt.Sprintf("operation-%d-%s", s.newID(), opType)
	op := &compute.Operation{
		Kind:          "compute#operation",
		Id:            s.newID(),
		Name:          name,
		OperationType: opType,
		Status:        "PENDING",
		TargetLink:    target,
		TargetId:      targetID,
		Zone:          link("projects/%s/zones/%s", project, zone),
		SelfLink:      link("projects/%s/zones/%s/operations/%s", project, zone, name),
		InsertTime:    now(),
		User:          "fake@example.com",
	}
	o := &computeOp{op: op, effect: effect, fault: fault}
	s.computeOps[project+"/"+zone+"/"+name] = o
	if s.OperationPolls <= 0 {
		s.finishComputeOp(o)
	}
	return clone(op)
}

func (s *Server) advanceComputeOp(o *computeOp) {
	if o.op.Status == "DONE" {
		return
	}
	o.polls++
	if o.polls >= s.OperationPolls {
		s.finishComputeOp(o)
		return
	}
	o.op.Status = "RUNNING"
	o.op.StartTime = now()
	o.op.Progress = int64(100 * o.polls / s.OperationPolls)
}

func (s *Server) finishComputeOp(o *computeOp) {
	o.op.Status = "DONE"
	o.op.Progress = 100
	o.op.EndTime = now()
	if o.fault != nil {
		status, msg := 403, "FORBIDDEN"
		if o.fault.OperationError == "ZONE_RESOURCE_POOL_EXHAUSTED" {
			status, msg = 503, "SERVICE UNAVAILABLE"
		}
		o.op.HttpErrorStatusCode, o.op.HttpErrorMessage = int64(status), msg
		o.op.Error = &compute.OperationError{Errors: []*compute.OperationErrorErrors{{
			Code:    o.fault.OperationError,
			Message: expandMessage(o.fault.Message, strings.TrimPrefix(o.op.TargetLink, selfLinkBase)),
		}}}
		return
	}
	if o.effect != nil {
		o.effect()
	}
}

func (s *Server) insertInstance(w http.ResponseWriter, r *http.Request) {
	project, zone := r.PathValue("project"), r.PathValue("zone")
	var in compute.Instance
	if err := readJSON(r, &in); err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownZone(zone) {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s", project, zone))
		return
	}
	if err := validateInstance(zone, &in); err != nil {
		badRequest(w, "%v", err)
		return
	}
	target := link("projects/%s/zones/%s/instances/%s", project, zone, in.Name)
	if _, exists := s.instances[project+"/"+zone+"/"+in.Name]; exists {
		writeError(w, http.StatusConflict, "alreadyExists",
			fmt.Sprintf("The resource 'projects/%s/zones/%s/instances/%s' already exists", project, zone, in.Name), "")
		return
	}
	fault := operationFault(r)
	var id uint64
	var inst *compute.Instance
	if fault == nil {
		inst = s.createInstance(project, zone, &in, "PROVISIONING")
		id = inst.Id
	}
	writeJSON(w, s.newComputeOp(project, zone, "insert", target, id, fault, func() {
		inst.Status = "RUNNING"
		inst.LastStartTimestamp = now()
	}))
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name))
		return
	}
	writeJSON(w, inst)
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name))
		return
	}
	inst.Status = "STOPPING"
	writeJSON(w, s.newComputeOp(project, zone, "delete", inst.SelfLink, inst.Id, operationFault(r), func() {
		s.removeInstance(project, zone, name)
	}))
}

func (s *Server) setInstanceLabels(w http.ResponseWriter, r *http.Request) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	var req compute.InstancesSetLabelsRequest
	if err := readJSON(r, &req); err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name))
		return
	}
	if req.LabelFingerprint != inst.LabelFingerprint {
		writeError(w, http.StatusPreconditionFailed, "conditionNotMet",
			"Labels fingerprint either invalid or resource labels have changed", "")
		return
	}
	if err := validateLabels(req.Labels); err != nil {
		badRequest(w, "%v", err)
		return
	}
	writeJSON(w, s.newComputeOp(project, zone, "setLabels", inst.SelfLink, inst.Id, operationFault(r), func() {
		inst.Labels = req.Labels
		inst.LabelFingerprint = fingerprint(req.Labels)
	}))
}

// setInstanceMetadata replaces an instance's metadata items, guarded by the
// metadata fingerprint as the real API does.
func (s *Server) setInstanceMetadata(w http.ResponseWriter, r *http.Request) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	var req compute.Metadata
	if err := readJSON(r, &req); err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name))
		return
	}
	if req.Fingerprint != inst.Metadata.Fingerprint {
		writeError(w, http.StatusPreconditionFailed, "conditionNotMet",
			"Supplied fingerprint does not match current metadata fingerprint.", "")
		return
	}
	writeJSON(w, s.newComputeOp(project, zone, "setMetadata", inst.SelfLink, inst.Id, operationFault(r), func() {
		inst.Metadata = &compute.Metadata{Kind: "compute#metadata", Items: req.Items, Fingerprint: fingerprint(req.Items)}
	}))
}

// Power operations follow the instance life cycle: stop (RUNNING → STOPPING
// → TERMINATED), start (TERMINATED → STAGING → RUNNING), suspend (RUNNING →
// SUSPENDING → SUSPENDED) and resume (SUSPENDED → STAGING → RUNNING). The
// transitional status shows until the operation is done. Stopping a stopped
// instance or starting a running one is a no-op, as on the real API; an
// instance in transition is not ready.

func (s *Server) stopInstance(w http.ResponseWriter, r *http.Request) {
	s.powerOp(w, r, "stop", func(inst *compute.Instance) (string, error) {
		switch inst.Status {
		case "TERMINATED":
			return "", nil
		case "RUNNING", "SUSPENDED":
			return "STOPPING", nil
		}
		return "", errNotReady
	}, func(inst *compute.Instance) {
		inst.Status = "TERMINATED"
		inst.LastStopTimestamp = now()
		setNatIPs(inst, false)
	})
}

func (s *Server) startInstance(w http.ResponseWriter, r *http.Request) {
	s.powerOp(w, r, "start", func(inst *compute.Instance) (string, error) {
		switch inst.Status {
		case "RUNNING":
			return "", nil
		case "TERMINATED":
			return "STAGING", nil
		case "SUSPENDED":
			return "", fmt.Errorf("Instance '%s' is suspended; use resume to start it again.", inst.Name)
		}
		return "", errNotReady
	}, func(inst *compute.Instance) {
		inst.Status = "RUNNING"
		inst.LastStartTimestamp = now()
		setNatIPs(inst, true)
	})
}

func (s *Server) suspendInstance(w http.ResponseWriter, r *http.Request) {
	s.powerOp(w, r, "suspend", func(inst *compute.Instance) (string, error) {
		switch inst.Status {
		case "SUSPENDED":
			return "", nil
		case "RUNNING":
			return "SUSPENDING", nil
		}
		return "", fmt.Errorf("Instance '%s' cannot be suspended: it is %s.", inst.Name, inst.Status)
	}, func(inst *compute.Instance) {
		inst.Status = "SUSPENDED"
		inst.LastSuspendedTimestamp = now()
		setNatIPs(inst, false)
	})
}

func (s *Server) resumeInstance(w http.ResponseWriter, r *http.Request) {
	s.powerOp(w, r, "resume", func(inst *compute.Instance) (string, error) {
		if inst.Status == "SUSPENDED" {
			return "STAGING", nil
		}
		return "", fmt.Errorf("Instance '%s' cannot be resumed: it is %s, not SUSPENDED.", inst.Name, inst.Status)
	}, func(inst *compute.Instance) {
		inst.Status = "RUNNING"
		inst.LastStartTimestamp = now()
		setNatIPs(inst, true)
	})
}

// errNotReady is the API's answer to a power operation on an instance in transition.
var errNotReady = errors.New("resourceNotReady")

// powerOp checks the instance's status with check, which returns the status
// to show while the operation runs ("" for a no-op) or why it is refused;
// done runs when the operation finishes.
func (s *Server) powerOp(w http.ResponseWriter, r *http.Request, opType string, check func(*compute.Instance) (string, error), done func(*compute.Instance)) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("instance")
	s.mu.Lock()
	defer s.mu.Unlock()
	resource := fmt.Sprintf("projects/%s/zones/%s/instances/%s", project, zone, name)
	inst, ok := s.instances[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, resource)
		return
	}
	next, err := check(inst)
	switch {
	case errors.Is(err, errNotReady):
		writeError(w, http.StatusBadRequest, "resourceNotReady", fmt.Sprintf("The resource '%s' is not ready", resource), "")
		return
	case err != nil:
		badRequest(w, "%v", err)
		return
	}
	fault := operationFault(r)
	effect := func() {}
	if next != "" {
		if fault == nil { // a failing operation leaves the instance as it was
			inst.Status = next
		}
		effect = func() { done(inst) }
	}
	writeJSON(w, s.newComputeOp(project, zone, opType, inst.SelfLink, inst.Id, fault, effect))
}

// setNatIPs releases (stopped, suspended) or assigns again (running) the
// ephemeral external IPs of an instance's access configs.
func setNatIPs(inst *compute.Instance, assign bool) {
	for _, nic := range inst.NetworkInterfaces {
		for _, ac := range nic.AccessConfigs {
			ac.NatIP = ""
			if assign {
				ac.NatIP = fmt.Sprintf("203.0.113.%d", inst.Id%250+2)
			}
		}
	}
}

// filtered returns the project's instances (one zone, or all when zone is
// "") matching the request's filter, sorted by zone then name.
func filterZonal[T any](r *http.Request, items map[string]*T, project, zone string) ([]*T, []string, error) {
	conds, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	for k, v := range items {
		parts := strings.SplitN(k, "/", 3)
		if parts[0] != project || (zone != "" && parts[1] != zone) || !matches(conds, v) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*T, len(keys))
	zones := make([]string, len(keys))
	for i, k := range keys {
		out[i] = items[k]
		zones[i] = strings.SplitN(k, "/", 3)[1]
	}
	return out, zones, nil
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	project, zone := r.PathValue("project"), r.PathValue("zone")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownZone(zone) {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s", project, zone))
		return
	}
	items, _, err := filterZonal(r, s.instances, project, zone)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	start, end, next, err := s.page(r, len(items), "maxResults")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	writeJSON(w, &compute.InstanceList{Kind: "compute#instanceList", Id: "projects/" + project + "/zones/" + zone + "/instances",
		Items: items[start:end], NextPageToken: next, SelfLink: link("projects/%s/zones/%s/instances", project, zone)})
}

func (s *Server) aggregatedInstances(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	s.mu.Lock()
	defer s.mu.Unlock()
	items, zones, err := filterZonal(r, s.instances, project, "")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	start, end, next, err := s.page(r, len(items), "maxResults")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	scoped := map[string]compute.InstancesScopedList{}
	for i := start; i < end; i++ {
		key := "zones/" + zones[i]
		l := scoped[key]
		l.Instances = append(l.Instances, items[i])
		scoped[key] = l
	}
	for _, z := range s.zones {
		if _, ok := scoped["zones/"+z]; !ok {
			scoped["zones/"+z] = compute.InstancesScopedList{Warning: &compute.InstancesScopedListWarning{
				Code: "NO_RESULTS_ON_PAGE", Message: fmt.Sprintf("There are no results for scope 'zones/%s' on this page.", z)}}
		}
	}
	writeJSON(w, &compute.InstanceAggregatedList{Kind: "compute#instanceAggregatedList", Id: "projects/" + project + "/aggregated/instances",
		Items: scoped, NextPageToken: next, SelfLink: link("projects/%s/aggregated/instances", project)})
}

func (s *Server) listDisks(w http.ResponseWriter, r *http.Request) {
	project, zone := r.PathValue("project"), r.PathValue("zone")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownZone(zone) {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s", project, zone))
		return
	}
	items, _, err := filterZonal(r, s.disks, project, zone)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	start, end, next, err := s.page(r, len(items), "maxResults")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	writeJSON(w, &compute.DiskList{Kind: "compute#diskList", Items: items[start:end], NextPageToken: next,
		SelfLink: link("projects/%s/zones/%s/disks", project, zone)})
}

func (s *Server) aggregatedDisks(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	s.mu.Lock()
	defer s.mu.Unlock()
	items, zones, err := filterZonal(r, s.disks, project, "")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	start, end, next, err := s.page(r, len(items), "maxResults")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	scoped := map[string]compute.DisksScopedList{}
	for i := start; i < end; i++ {
		key := "zones/" + zones[i]
		l := scoped[key]
		l.Disks = append(l.Disks, items[i])
		scoped[key] = l
	}
	for _, z := range s.zones {
		if _, ok := scoped["zones/"+z]; !ok {
			scoped["zones/"+z] = compute.DisksScopedList{Warning: &compute.DisksScopedListWarning{
				Code: "NO_RESULTS_ON_PAGE", Message: fmt.Sprintf("There are no results for scope 'zones/%s' on this page.", z)}}
		}
	}
	writeJSON(w, &compute.DiskAggregatedList{Kind: "compute#diskAggregatedList", Items: scoped, NextPageToken: next,
		SelfLink: link("projects/%s/aggregated/disks", project)})
}

func (s *Server) zone(project, name string, i int) *compute.Zone {
	return &compute.Zone{
		Kind: "compute#zone", Id: uint64(2000 + i), Name: name, Description: name, Status: "UP",
		Region:   link("projects/%s/regions/%s", project, regionOf(name)),
		SelfLink: link("projects/%s/zones/%s", project, name),
	}
}

func (s *Server) listZones(w http.ResponseWriter, r *http.Request) {
	project := r.PathValue("project")
	conds, err := parseFilter(r.URL.Query().Get("filter"))
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var zones []*compute.Zone
	for i, z := range s.zones {
		if zz := s.zone(project, z, i); matches(conds, zz) {
			zones = append(zones, zz)
		}
	}
	start, end, next, err := s.page(r, len(zones), "maxResults")
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	writeJSON(w, &compute.ZoneList{Kind: "compute#zoneList", Id: "projects/" + project + "/zones",
		Items: zones[start:end], NextPageToken: next, SelfLink: link("projects/%s/zones", project)})
}

func (s *Server) getZone(w http.ResponseWriter, r *http.Request) {
	project, zone := r.PathValue("project"), r.PathValue("zone")
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, z := range s.zones {
		if z == zone {
			writeJSON(w, s.zone(project, z, i))
			return
		}
	}
	notFound(w, fmt.Sprintf("projects/%s/zones/%s", project, zone))
}

// getZoneOperation serves both get and wait: each call is one poll.
func (s *Server) getZoneOperation(w http.ResponseWriter, r *http.Request) {
	project, zone, name := r.PathValue("project"), r.PathValue("zone"), r.PathValue("operation")
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.computeOps[project+"/"+zone+"/"+name]
	if !ok {
		notFound(w, fmt.Sprintf("projects/%s/zones/%s/operations/%s", project, zone, name))
		return
	}
	s.advanceComputeOp(o)
	writeJSON(w, o.op)
}

// --- direct access for tests and demos ---------------------------------------

// AddInstance creates a RUNNING instance directly, bypassing the API's
// operation (e.g. an instance skyplan does not own). Labels are kept as given.
func (s *Server) AddInstance(project, zone string, in *compute.Instance) (*compute.Instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.knownZone(zone) {
		return nil, fmt.Errorf("gcpfake: unknown zone %q", zone)
	}
	in = clone(in)
	if in.MachineType == "" {
		in.MachineType = "zones/" + zone + "/machineTypes/n2-standard-4"
	}
	if len(in.Disks) == 0 {
		in.Disks = []*compute.AttachedDisk{{Boot: true, AutoDelete: true, InitializeParams: &compute.AttachedDiskInitializeParams{
			SourceImage: "projects/debian-cloud/global/images/family/debian-12"}}}
	}
	if len(in.NetworkInterfaces) == 0 {
		in.NetworkInterfaces = []*compute.NetworkInterface{{}}
	}
	if err := validateInstance(zone, in); err != nil {
		return nil, fmt.Errorf("gcpfake: %v", err)
	}
	if _, exists := s.instances[project+"/"+zone+"/"+in.Name]; exists {
		return nil, fmt.Errorf("gcpfake: instance %s already exists in %s", in.Name, zone)
	}
	return clone(s.createInstance(project, zone, in, "RUNNING")), nil
}

// DeleteInstance removes an instance at once, as if deleted outside skyplan.
func (s *Server) DeleteInstance(project, zone, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removeInstance(project, zone, name)
}

// Instance returns a copy of an instance, or nil.
func (s *Server) Instance(project, zone, name string) *compute.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.instances[project+"/"+zone+"/"+name])
}

// Instances returns copies of every instance, sorted by zone and name.
func (s *Server) Instances() []*compute.Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.instances {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*compute.Instance, len(keys))
	for i, k := range keys {
		out[i] = clone(s.instances[k])
	}
	return out
}

// Disks returns copies of every disk, sorted by zone and name.
func (s *Server) Disks() []*compute.Disk {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.disks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*compute.Disk, len(keys))
	for i, k := range keys {
		out[i] = clone(s.disks[k])
	}
	return out
}
