package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// record is one parsed row of an upstream vms.csv.
type record struct {
	line          int
	instanceType  string
	accelerator   string  // "" on CPU and GCP host rows
	count         float64 // 0 when accelerator is ""
	vcpus, memGiB float64 // 0 on GCP accelerator and TPU rows
	price, spot   float64 // noPrice when the cell is empty
	region, zone  string
}

// noPrice marks an empty price cell.
const noPrice = -1.0

// columns names the upstream columns skyplan reads; each cloud orders them
// differently, so they are found by name in the header.
var columns = []string{"InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "Price", "SpotPrice", "Region", "AvailabilityZone"}

const (
	colType = iota
	colAccName
	colAccCount
	colVCPUs
	colMem
	colPrice
	colSpot
	colRegion
	colZone
)

// readVMs parses one cloud's vms.csv strictly: a header naming every column
// skyplan reads, the same number of fields on every row, and every number
// and required cell valid. each receives every row with its exact bytes
// (without the line end), so a selection can be written back unchanged.
func readVMs(cloud string, data []byte, each func(rec *record, raw []byte) error) (header []byte, err error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	hdr, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s/vms.csv: header: %w", cloud, err)
	}
	idx := make([]int, len(columns))
	for i, name := range columns {
		idx[i] = -1
		for j, h := range hdr {
			if strings.TrimSpace(h) == name {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("%s/vms.csv: header has no %s column (got %s)", cloud, name, strings.Join(hdr, ","))
		}
	}
	header = bytes.TrimRight(data[:r.InputOffset()], "\r\n")
	var rec record
	for {
		start := r.InputOffset()
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return header, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s/vms.csv: %w", cloud, err)
		}
		line, _ := r.FieldPos(0)
		rec = record{line: line}
		if err := rec.parse(cloud, fields, idx); err != nil {
			return nil, fmt.Errorf("%s/vms.csv line %d: %w", cloud, line, err)
		}
		if err := each(&rec, bytes.TrimRight(data[start:r.InputOffset()], "\r\n")); err != nil {
			return nil, err
		}
	}
}

func (rec *record) parse(cloud string, f []string, idx []int) error {
	get := func(c int) string { return strings.TrimSpace(f[idx[c]]) }
	rec.instanceType, rec.accelerator = get(colType), get(colAccName)
	rec.region, rec.zone = get(colRegion), get(colZone)
	switch {
	case rec.region == "" || rec.zone == "":
		return fmt.Errorf("empty Region or AvailabilityZone")
	case rec.instanceType == "" && (cloud == "aws" || rec.accelerator == ""):
		return fmt.Errorf("empty InstanceType")
	}
	var err error
	num := func(c int, required bool) float64 {
		s := get(c)
		if s == "" {
			if required && err == nil {
				err = fmt.Errorf("empty %s", columns[c])
			}
			return 0
		}
		v, perr := strconv.ParseFloat(s, 64)
		if (perr != nil || v < 0 || v != v) && err == nil {
			err = fmt.Errorf("%s %q is not a number ≥ 0", columns[c], s)
		}
		return v
	}
	rec.count = num(colAccCount, rec.accelerator != "")
	rec.vcpus = num(colVCPUs, rec.instanceType != "")
	rec.memGiB = num(colMem, rec.instanceType != "")
	rec.price, rec.spot = noPrice, noPrice
	if get(colPrice) != "" {
		rec.price = num(colPrice, false)
	}
	if get(colSpot) != "" {
		rec.spot = num(colSpot, false)
	}
	if err == nil && rec.accelerator != "" && rec.count <= 0 {
		err = fmt.Errorf("AcceleratorCount must be positive")
	}
	return err
}
