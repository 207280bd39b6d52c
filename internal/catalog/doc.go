// Package catalog is skyplan's knowledge of GPU/TPU offerings: which
// instance types carry which accelerators, where they are offered, at what
// hourly price, and which disk types each machine family supports. The spec
// loader, lint, the providers and the CLI ask it, so they agree on one
// answer; it never touches the network except in Update.
//
// # Data
//
// Offerings and prices come from SkyPilot's public catalog (Apache-2.0): an
// extract of catalogs/v7 aws/vms.csv and gcp/vms.csv, embedded as
// data/catalog.zip with its provenance (data/README.md; gen rebuilds it).
// `skyplan catalog update` (Update) downloads the upstream CSVs, checks
// them completely, keeps the same selection of rows (selected: accelerator
// rows, the GPU families whole, a few CPU types) and atomically replaces
// the user cache (CacheDir). Default loads once per process (a few ms) and
// prefers a valid cache newer than the embedded copy; an unusable cache is
// reported once and the embedded copy used. Lookups are map-based; repeated
// resolutions are memoised. Disk tiers are hand data (disk.go): the CSVs
// carry no disk information.
//
// # Reading the data
//
//   - AWS zones are AZ IDs (use1-az2), not AZ names (us-east-1a): names map
//     to IDs differently per account. AWS zones are therefore validated by
//     their region prefix only, Offerings on AWS are per AZ ID, and a price
//     asked for an AZ name is the region's.
//   - GCP prices GPU machine types (a2, a3, a4, g2) in two rows: the host
//     (vCPUs and memory) and the GPUs (an accelerator row with an empty
//     InstanceType). A type's GPUs come from its name (gceBuiltInGPUs); it
//     is offered in the zones that have both rows, at their sum. GPUs that
//     GCE attaches to N1 hosts (T4, V100, P100, P4) are priced the same way
//     with the host chosen (Attach); `accelerators = "T4:1"` alone resolves
//     to the cheapest N1 type with at least 8 vCPUs.
//   - An empty price cell is no price. GCP rows whose on-demand and spot
//     prices are equal are placeholders (tpu-v6e lists 700.0 for both where
//     it has no price): no price either, though the zone still offers the
//     type. Duplicate zone rows (AWS p4de) merge, keeping the highest price
//     each row supports. No price is ever derived from a row that lacks it.
//   - A price for a region without a zone is the highest supported price
//     among the region's zones (conservative) and an estimate when the zones
//     differ or some lack a price; spot prices are always estimates.
//
// # Validation
//
// The catalog lists every size of the accelerator families it keeps but
// only a few CPU types. CheckInstanceType therefore rejects unknown sizes
// of covered families (p4d.24xl, a2-highgpu-3g) and AWS names that are not
// family.size, with the nearest names (UnknownError), and accepts other
// names (m6i.4xlarge, n2-highmem-16) it cannot judge. Accelerator names,
// TPU types and GCP zones must be in the catalog. ResolveInstanceTypeIn
// turns `accelerators = "A100:8"` into the cheapest type with exactly that,
// preferring types offered where the resource runs.
package catalog
