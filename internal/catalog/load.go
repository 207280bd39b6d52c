package catalog

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Source says where a catalog's data came from.
type Source struct {
	// Origin is "embedded" (the copy built into skyplan) or "cache" (a
	// `skyplan catalog update` download).
	Origin string `json:"-"`
	// Path is the cache file, for Origin "cache".
	Path       string `json:"-"`
	Repository string `json:"repository"`
	// URL is the base the CSVs were downloaded from (cache).
	URL       string `json:"url,omitempty"`
	AWSCommit string `json:"aws_commit,omitempty"`
	GCPCommit string `json:"gcp_commit,omitempty"`
	// ReadOn is the day the embedded extract was read (YYYY-MM-DD); the
	// upstream files carry no date of their own.
	ReadOn       string    `json:"read_on,omitempty"`
	DownloadedAt time.Time `json:"downloaded_at,omitzero"`
	License      string    `json:"license"`
}

func (s Source) String() string {
	if s.Origin == "cache" {
		return fmt.Sprintf("downloaded %s from %s (cache %s)", s.DownloadedAt.UTC().Format(time.RFC3339), s.URL, s.Path)
	}
	return fmt.Sprintf("embedded, read %s from %s (aws@%.7s gcp@%.7s; %s)",
		s.ReadOn, s.Repository, s.AWSCommit, s.GCPCommit, s.License)
}

// date is when the data was taken: a newer cache wins over the embedded copy.
func (s Source) date() time.Time {
	if !s.DownloadedAt.IsZero() {
		return s.DownloadedAt
	}
	t, _ := time.Parse(time.DateOnly, s.ReadOn)
	return t
}

// Archive members: the two clouds' CSVs (upstream format and columns,
// skyplan's selection of rows) and the provenance.
const (
	memberAWS    = "aws/vms.csv"
	memberGCP    = "gcp/vms.csv"
	memberSource = "source.json"
	// CacheFile is the cache's file name in the cache directory.
	CacheFile = "catalog.zip"
)

//go:embed data/catalog.zip
var embeddedZip []byte

// Embedded returns the copy built into skyplan, parsed once. The tests
// check it, so failing to parse it is a build defect.
var Embedded = sync.OnceValue(func() *Catalog {
	c, err := readArchive(embeddedZip, "embedded")
	if err != nil {
		panic("catalog: embedded data: " + err.Error())
	}
	return c
})

// readArchive parses an archive; zip's CRC checks catch corrupt members.
func readArchive(b []byte, origin string) (*Catalog, error) {
	members, err := readMembers(b, memberAWS, memberGCP, memberSource)
	if err != nil {
		return nil, err
	}
	src, err := parseSource(members[memberSource], origin)
	if err != nil {
		return nil, err
	}
	return build(src, members[memberAWS], members[memberGCP])
}

func parseSource(b []byte, origin string) (Source, error) {
	var src Source
	if err := json.Unmarshal(b, &src); err != nil {
		return Source{}, fmt.Errorf("%s: %w", memberSource, err)
	}
	src.Origin = origin
	return src, nil
}

// embeddedSource is the embedded copy's provenance, read without parsing
// its data (a valid cache makes that unnecessary).
var embeddedSource = sync.OnceValue(func() Source {
	members, err := readMembers(embeddedZip, memberSource)
	if err != nil {
		panic("catalog: embedded data: " + err.Error())
	}
	src, err := parseSource(members[memberSource], "embedded")
	if err != nil {
		panic("catalog: embedded data: " + err.Error())
	}
	return src
})

// readMembers reads whole files of an archive.
func readMembers(b []byte, names ...string) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	members := map[string][]byte{}
	for _, name := range names {
		f, err := zr.Open(name)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err == nil && st.Size() > maxDownload {
			err = fmt.Errorf("%d bytes, more than a catalog has", st.Size())
		}
		if err == nil {
			buf := bytes.NewBuffer(make([]byte, 0, st.Size()+1))
			_, err = buf.ReadFrom(f)
			members[name] = buf.Bytes()
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return members, nil
}

// CacheDir is where `skyplan catalog update` keeps its download:
// $SKYPLAN_CATALOG_DIR, else skyplan/catalog in the user's cache directory.
func CacheDir(getenv func(string) string) (string, error) {
	if d := getenv("SKYPLAN_CATALOG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "skyplan", "catalog"), nil
}

// Open returns the catalog to use with a cache directory: the cache when it
// holds a valid download newer than the embedded copy, else the embedded
// copy. warning is set when a cache exists but cannot be used.
func Open(dir string) (c *Catalog, warning error) {
	path := filepath.Join(dir, CacheFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Embedded(), nil
	}
	if err == nil {
		c, err = readArchive(b, "cache")
	}
	if err != nil {
		return Embedded(), fmt.Errorf("catalog cache %s is unusable (%v); using the embedded catalog. Run `skyplan catalog update` to replace it", path, err)
	}
	c.source.Path = path
	if !c.source.date().After(embeddedSource().date()) {
		return Embedded(), nil // skyplan was upgraded with newer data
	}
	return c, nil
}

// Default is the catalog skyplan uses: Open(CacheDir) once per process,
// warning once on stderr about an unusable cache. Test binaries use the
// embedded copy unless SKYPLAN_CATALOG_DIR names a cache, so a developer's
// own cache never changes test results.
var Default = sync.OnceValue(func() *Catalog {
	if testing.Testing() && os.Getenv("SKYPLAN_CATALOG_DIR") == "" {
		return Embedded()
	}
	dir, err := CacheDir(os.Getenv)
	if err != nil {
		return Embedded()
	}
	c, warning := Open(dir)
	if warning != nil {
		fmt.Fprintln(os.Stderr, "Warning:", warning)
	}
	return c
})
