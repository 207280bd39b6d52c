package spec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/skyplan/skyplan/internal/catalog"
)

// validateResource checks what the HCL schema cannot: clouds are declared and fit the
// resource type, locations are present, accelerators resolve to an instance
// type. Domain rules that a user may want to silence (disk tier per family,
// TPU Node, region offerings, bucket naming) are lint rules, not load errors.
//
// It runs on each resource as soon as it is decoded (its cloud blocks are
// decoded first), so references to it see the completed values.
func validateResource(cfg *Config, r *Resource) hcl.Diagnostics {
	var diags hcl.Diagnostics
	errAt := func(rng hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
	}
	s := r.Schema()
	cloudName := r.Cloud()
	cloud, declared := cfg.Clouds[cloudName]
	if !declared {
		errAt(r.Range("cloud"), "Reference to undeclared cloud",
			fmt.Sprintf("%s uses cloud %q, but there is no cloud %q block. Add one, e.g.:\n  cloud %q {\n    capabilities = [%q]\n  }",
				r.Address(), cloudName, cloudName, cloudName, s.Needs))
		return diags
	}
	if !contains(s.Clouds, cloudName) {
		errAt(r.Range("cloud"), "Unsupported cloud for "+r.Type,
			fmt.Sprintf("A %s can run on %s, not %q.", r.Type, strings.Join(s.Clouds, " or "), cloudName))
		return diags
	}
	if v, ok := r.Attrs["nodes"].(int64); ok && v < 0 {
		errAt(r.Range("nodes"), "Invalid nodes", "nodes must be 0 or more.")
	}
	if v, ok := r.Attrs["disk_size"].(int64); ok && v < 1 {
		errAt(r.Range("disk_size"), "Invalid disk_size", "disk_size is in GB and must be at least 1.")
	}
	if tier := r.String("disk_tier"); tier != "" && !contains(catalog.DiskTiers, tier) {
		errAt(r.Range("disk_tier"), "Invalid disk_tier",
			fmt.Sprintf("disk_tier %q is not one of %s.", tier, strings.Join(catalog.DiskTiers, ", ")))
	}
	switch r.Type {
	case TypeCluster, TypeJobsController:
		if d := prepareCandidates(r, cloudName); d.HasErrors() {
			return append(diags, d...)
		}
		diags = append(diags, validateCompute(cfg, r, cloud)...)
		if !diags.HasErrors() {
			diags = append(diags, finishCandidates(r, cloudName)...)
		}
	case TypeBucket:
		if rangeSet(r, "lifecycle.create_before_destroy") && !r.DestroyBeforeCreate {
			errAt(r.Range("lifecycle.create_before_destroy"), "create_before_destroy on a bucket",
				"A bucket's name is the bucket: a replacement must delete the old one before it can create the new one, so buckets are always replaced delete-then-create. Remove create_before_destroy.")
		}
		if cloudName == "aws" && r.String("region") == "" {
			if regions := cloud.StringList("regions"); len(regions) > 0 {
				r.Attrs["region"] = regions[0]
			} else {
				errAt(r.DeclRange, "Missing region", fmt.Sprintf("%s is on aws and needs region (or regions in the cloud \"aws\" block).", r.Address()))
			}
		}
		if cloudName == "gcp" && r.String("location") == "" {
			r.Attrs["location"] = "US"
		}
	}
	// Instances are listed per region: the cloud's regions (and those the
	// state records). A cluster or controller elsewhere would be invisible
	// once its state is lost. Every placement candidate counts. (Buckets
	// are listed globally.)
	if regions := cloud.StringList("regions"); len(regions) > 0 && r.Type != TypeBucket {
		for _, reg := range append([]string{r.String("region")}, r.StringList("regions")...) {
			if reg == "" || contains(regions, reg) {
				continue
			}
			attr := "region"
			for _, a := range []string{"regions", "zones", "region", "zone"} {
				if _, set := r.AttrRanges[a]; set {
					attr = a
					break
				}
			}
			errAt(r.Range(attr), "Region outside the cloud's regions",
				fmt.Sprintf("%s is in region %q, but cloud %q lists regions [%s]; skyplan looks for objects in those regions (and where state says they are), so one elsewhere would be lost with the state. Add %q to the cloud block's regions, or use one of them.",
					r.Address(), reg, cloudName, strings.Join(regions, ", "), reg))
			break
		}
	}
	if r.Type == TypeJobsController {
		for _, jc := range r.StringList("job_clouds") {
			if _, ok := cfg.Clouds[jc]; !ok {
				errAt(r.Range("job_clouds"), "Reference to undeclared cloud",
					fmt.Sprintf("job_clouds names %q, but there is no cloud %q block.", jc, jc))
			}
		}
	}
	return diags
}

// validateCompute fills the location default and resolves instance_type from
// accelerators through the catalog, so plans compare concrete machine types.
// gcpZonePattern is a GCP zone: region (area-location+digit) and a letter.
var gcpZonePattern = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+-[a-z]$`)

func validateCompute(cfg *Config, r *Resource, cloud *Cloud) hcl.Diagnostics {
	var diags hcl.Diagnostics
	errAt := func(rng hcl.Range, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
	}
	switch cloud.Name {
	case "aws":
		if r.String("region") == "" {
			if regions := cloud.StringList("regions"); len(regions) > 0 {
				r.Attrs["region"] = regions[0]
			} else {
				errAt(r.DeclRange, "Missing region", fmt.Sprintf("%s is on aws and needs region (or regions in the cloud \"aws\" block).", r.Address()))
			}
		}
		if r.String("zone") != "" && !strings.HasPrefix(r.String("zone"), r.String("region")) {
			errAt(r.Range("zone"), "Zone outside region", fmt.Sprintf("zone %q is not in region %q.", r.String("zone"), r.String("region")))
		}
	case "gcp":
		switch {
		case r.String("zone") == "" && len(r.StringList("regions")) > 0:
			// Candidate regions: finishCandidates picks their zones.
		case r.String("zone") == "":
			errAt(r.DeclRange, "Missing zone", fmt.Sprintf("%s is on gcp and needs zone, e.g. zone = \"us-central1-a\" (or zones, or regions, for candidates).", r.Address()))
		default:
			z := r.String("zone")
			i := strings.LastIndex(z, "-")
			switch region := r.String("region"); {
			case !gcpZonePattern.MatchString(z):
				errAt(r.Range("zone"), "Invalid zone", fmt.Sprintf("zone %q is not a GCP zone; zones are a region and a letter, e.g. \"us-central1-a\".", z))
			case region == "":
				r.Attrs["region"] = z[:i]
			case region != z[:i]:
				errAt(r.Range("zone"), "Zone outside region", fmt.Sprintf("zone %q is in region %q, not %q; drop region or make them agree.", z, z[:i], region))
			}
			if gcpZonePattern.MatchString(z) {
				if err := catalog.CheckZone(cloud.Name, z); err != nil {
					errAt(r.Range("zone"), "Unknown zone", catalogDetail(err))
				}
			}
		}
	}
	// AWS zones are checked by their region prefix only: the catalog names
	// AZ IDs (use1-az2), which map to AZ names differently per account.
	acc := r.String("accelerators")
	it := r.String("instance_type")
	if it != "" {
		if err := catalog.CheckInstanceType(cloud.Name, it); err != nil {
			errAt(r.Range("instance_type"), "Unknown instance type", catalogDetail(err))
			return diags
		}
	}
	if r.Type == TypeJobsController {
		if it == "" {
			r.Attrs["instance_type"] = map[string]string{"aws": "m6i.xlarge", "gcp": "n2-standard-4"}[cloud.Name]
		}
		return diags
	}
	if catalog.IsTPU(acc) {
		if cloud.Name != "gcp" {
			errAt(r.Range("accelerators"), "TPU on a cloud without TPUs", fmt.Sprintf("%s asks for %s, but TPUs exist only on gcp.", r.Address(), acc))
			return diags
		}
		t, err := catalog.ParseTPU(acc)
		var unknown *catalog.UnknownError
		switch {
		case errors.As(err, &unknown):
			errAt(r.Range("accelerators"), "Unknown TPU type", catalogDetail(err))
		case err != nil:
			errAt(r.Range("accelerators"), "Invalid TPU", err.Error()+".")
		}
		if r.String("runtime_version") == "" {
			errAt(r.DeclRange, "Missing runtime_version",
				fmt.Sprintf("%s is a TPU VM and needs runtime_version, the software image its hosts boot, e.g. runtime_version = %q.",
					r.Address(), catalog.RuntimeVersionExample(t.Generation)))
		}
		if _, set := r.Attrs["tpu_vm"]; !set {
			r.Attrs["tpu_vm"] = true
		}
		if it != "" {
			errAt(r.Range("instance_type"), "instance_type with a TPU", "A TPU VM's machine is chosen by its accelerator type; remove instance_type.")
		}
		return diags
	}
	if _, set := r.AttrRanges["tpu_vm"]; set {
		errAt(r.Range("tpu_vm"), "tpu_vm without a TPU", "tpu_vm only applies when accelerators names a TPU (e.g. tpu-v4-8).")
	}
	switch {
	case acc == "" && it == "":
		errAt(r.DeclRange, "Missing instance_type or accelerators",
			fmt.Sprintf("%s needs instance_type (e.g. %q) or accelerators (e.g. \"A100:8\").", r.Address(), map[string]string{"aws": "p4d.24xlarge", "gcp": "a2-highgpu-8g"}[cloud.Name]))
	case acc != "":
		parsed, err := catalog.ParseAccelerators(acc)
		if err != nil {
			errAt(r.Range("accelerators"), "Invalid accelerators", catalogDetail(err))
			return diags
		}
		// Store the canonical spelling so "a100:8" and "A100:8" plan the same.
		r.Attrs["accelerators"] = parsed.String()
		if it != "" {
			if catalog.AttachesGuestGPUs(cloud.Name, it) {
				if _, err := catalog.Attach(cloud.Name, it, parsed); err != nil {
					errAt(r.Range("accelerators"), "accelerators cannot be attached", err.Error()+".")
				}
				return diags
			}
			t, known := catalog.LookupInstanceType(cloud.Name, it)
			if known && (t.Accelerator != parsed.Name || t.Count != parsed.Count) {
				errAt(r.Range("accelerators"), "accelerators do not match instance_type",
					fmt.Sprintf("%s has %d× %s, not %s. Set only one of the two.", it, t.Count, t.Accelerator, parsed))
			}
			return diags
		}
		location := r.String("region")
		if cloud.Name == "gcp" && r.String("zone") != "" {
			location = r.String("zone")
		}
		t, err := catalog.ResolveInstanceTypeIn(cloud.Name, parsed, location)
		if err != nil {
			errAt(r.Range("accelerators"), "Accelerator not offered", err.Error()+".")
			return diags
		}
		r.Attrs["instance_type"] = t.Name
	case it != "":
		if t, ok := catalog.LookupInstanceType(cloud.Name, it); ok && t.Accelerator != "" {
			r.Attrs["accelerators"] = Accelerator(t)
		}
	}
	return diags
}

// catalogDetail explains a catalog lookup error; for unknown names it says
// how to refresh a catalog that predates them.
func catalogDetail(err error) string {
	msg := err.Error()
	if !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	var unknown *catalog.UnknownError
	if errors.As(err, &unknown) {
		msg += fmt.Sprintf("\nIf %s is newer than skyplan's catalog, `skyplan catalog update` refreshes the catalog.", unknown.Name)
	}
	return msg
}

// Accelerator renders a catalog type's accelerators as a spec value.
func Accelerator(t catalog.InstanceType) string {
	return catalog.Accelerator{Name: t.Accelerator, Count: t.Count}.String()
}
