package catalog

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// UpstreamURL is the base of SkyPilot's published catalog CSVs
// (BASE/aws/vms.csv, BASE/gcp/vms.csv).
const UpstreamURL = "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v7/"

const (
	upstreamRepository = "github.com/skypilot-org/skypilot-catalog/catalogs/v7"
	upstreamLicense    = "Apache-2.0, © the SkyPilot authors"
	// minSelectedRows is the least a cloud's selection may have; a real
	// catalog has thousands, and so does the embedded copy.
	minSelectedRows = 1000
	// maxDownload bounds one CSV (the upstream files are a few MB).
	maxDownload = 256 << 20
)

// BuildArchive checks two upstream vms.csv files completely (header, field
// count, every row), keeps skyplan's selection of rows (see selected; exact
// duplicate rows once), checks the result is a sane size and indexes, and
// packs it with its provenance. It is how both the embedded copy and the
// cache are made.
func BuildArchive(awsCSV, gcpCSV []byte, src Source) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	modified := src.date()
	write := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified})
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	floor := map[string]int{}
	for _, cloud := range []string{"aws", "gcp"} {
		floor[cloud] = minSelectedRows
		if src.Origin == "cache" {
			// A download much smaller than the copy skyplan ships is partial.
			floor[cloud] = max(minSelectedRows, Embedded().rows[cloud]/2)
		}
	}
	for _, in := range []struct {
		cloud, member string
		data          []byte
	}{{"aws", memberAWS, awsCSV}, {"gcp", memberGCP, gcpCSV}} {
		var out bytes.Buffer
		seen := map[string]bool{}
		rows := 0
		header, err := readVMs(in.cloud, in.data, func(rec *record, raw []byte) error {
			if !selected(in.cloud, rec) || seen[string(raw)] {
				return nil
			}
			seen[string(raw)] = true
			rows++
			out.Write(raw)
			out.WriteByte('\n')
			return nil
		})
		if err != nil {
			return nil, err
		}
		if rows < floor[in.cloud] {
			return nil, fmt.Errorf("%s/vms.csv has only %d usable rows (at least %d expected); it looks partial", in.cloud, rows, floor[in.cloud])
		}
		if err := write(in.member, append(append(header, '\n'), out.Bytes()...)); err != nil {
			return nil, err
		}
	}
	meta, err := json.MarshalIndent(src, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := write(memberSource, append(meta, '\n')); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if _, err := readArchive(buf.Bytes(), src.Origin); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Update downloads BASE/aws/vms.csv and BASE/gcp/vms.csv, builds a catalog
// from them (BuildArchive) and only then replaces dir's cache file, by an
// atomic rename. Any failure leaves the cache as it was.
func Update(ctx context.Context, client *http.Client, base, dir string) (*Catalog, error) {
	base = strings.TrimSuffix(base, "/")
	var csvs [2][]byte
	for i, cloud := range []string{"aws", "gcp"} {
		b, err := download(ctx, client, base+"/"+cloud+"/vms.csv")
		if err != nil {
			return nil, err
		}
		csvs[i] = b
	}
	src := Source{Origin: "cache", Repository: upstreamRepository, URL: base + "/",
		DownloadedAt: time.Now().UTC().Truncate(time.Second), License: upstreamLicense}
	archive, err := BuildArchive(csvs[0], csvs[1], src)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, CacheFile)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A synced temporary file renamed over the cache: readers see the old
	// file or the new one, never a part.
	if err := renameio.WriteFile(path, archive, 0o644); err != nil {
		return nil, err
	}
	c, err := readArchive(archive, "cache")
	if err != nil {
		return nil, err
	}
	c.source.Path = path
	return c, nil
}

func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	// A body shorter than its Content-Length fails here (unexpected EOF).
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(b) > maxDownload {
		return nil, fmt.Errorf("GET %s: larger than %d MiB", url, maxDownload>>20)
	}
	return b, nil
}
