package catalog

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upstream serves BASE/aws/vms.csv and BASE/gcp/vms.csv; a file missing
// from files is a 404, and truncate sends only half of gcp/vms.csv while
// announcing all of it.
type upstream struct {
	files    map[string][]byte
	truncate bool
}

func (u *upstream) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := u.files[strings.TrimPrefix(r.URL.Path, "/v7/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if u.truncate && strings.HasPrefix(r.URL.Path, "/v7/gcp/") {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b[:len(b)/2])
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v7/"
}

func validUpstream(t *testing.T) *upstream {
	return &upstream{files: map[string][]byte{
		"aws/vms.csv": embeddedMember(t, memberAWS),
		"gcp/vms.csv": embeddedMember(t, memberGCP),
	}}
}

func TestUpdateWritesACacheThatOpenPrefers(t *testing.T) {
	dir := t.TempDir()
	base := validUpstream(t).start(t)
	before := time.Now().UTC().Truncate(time.Second)
	c, err := Update(context.Background(), http.DefaultClient, base, dir)
	if err != nil {
		t.Fatal(err)
	}
	src := c.Source()
	if src.Origin != "cache" || src.URL != base || src.Path != filepath.Join(dir, CacheFile) || src.DownloadedAt.Before(before) {
		t.Errorf("source = %+v", src)
	}
	opened, warning := Open(dir)
	if warning != nil || opened.Source().Origin != "cache" || opened.Source().Path != src.Path {
		t.Fatalf("Open = %+v, %v; want the cache", opened.Source(), warning)
	}
	if p, ok := opened.PriceOf("aws", "p4d.24xlarge", "us-east-1", "use1-az1", false); !ok || p.PerHour != 32.7726 {
		t.Errorf("p4d.24xlarge from the cache = %+v, %v", p, ok)
	}
	if !strings.Contains(opened.Source().String(), "downloaded "+src.DownloadedAt.Format(time.RFC3339)+" from "+base) {
		t.Errorf("String() = %q", opened.Source())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("cache dir holds %v, want only %s (no temporary files)", entries, CacheFile)
	}
}

// A failed, partial or corrupt download never replaces what is in use: no
// cache (the embedded copy stays in use), or the previous cache.
func TestBadDownloadsLeaveTheCatalogInUse(t *testing.T) {
	corrupt := func(cloud string, edit func([]byte) []byte) func(*upstream) {
		return func(u *upstream) { u.files[cloud+"/vms.csv"] = edit(bytes.Clone(u.files[cloud+"/vms.csv"])) }
	}
	tests := []struct {
		name    string
		breakIt func(*upstream)
		want    string
	}{
		{"missing file", func(u *upstream) { delete(u.files, "gcp/vms.csv") }, "404 Not Found"},
		{"truncated transfer", func(u *upstream) { u.truncate = true }, "unexpected EOF"},
		{"row with a missing field", corrupt("gcp", func(b []byte) []byte {
			return bytes.Replace(b, []byte("us-central1,us-central1-a,0.38,0.0963"), []byte("us-central1,0.38,0.0963"), 1)
		}), "gcp/vms.csv: record on line"},
		{"price that is not a number", corrupt("aws", func(b []byte) []byte {
			return bytes.Replace(b, []byte(",32.7726,"), []byte(",32.77$,"), 1)
		}), `Price "32.77$" is not a number`},
		{"header without a column", corrupt("aws", func(b []byte) []byte {
			return bytes.Replace(b, []byte("SpotPrice"), []byte("Spot"), 1)
		}), "header has no SpotPrice column"},
		{"cut at a row boundary", corrupt("aws", func(b []byte) []byte {
			lines := bytes.SplitAfter(b, []byte("\n"))
			return bytes.Join(lines[:300], nil)
		}), "aws/vms.csv has only 299 usable rows"},
		{"an HTML error page", corrupt("gcp", func([]byte) []byte { return []byte("<html>rate limited</html>\n") }), "header has no InstanceType column"},
		{"empty file", corrupt("aws", func([]byte) []byte { return nil }), "aws/vms.csv: header: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name+", no cache yet", func(t *testing.T) {
			dir := t.TempDir()
			u := validUpstream(t)
			tt.breakIt(u)
			if _, err := Update(context.Background(), http.DefaultClient, u.start(t), dir); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Update = %v, want an error containing %q", err, tt.want)
			}
			c, warning := Open(dir)
			if warning != nil || c.Source().Origin != "embedded" {
				t.Errorf("after a failed update: %+v, %v; want the embedded catalog", c.Source(), warning)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("cache dir holds %v after a failed update", entries)
			}
		})
		t.Run(tt.name+", over a cache", func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Update(context.Background(), http.DefaultClient, validUpstream(t).start(t), dir); err != nil {
				t.Fatal(err)
			}
			good, err := os.ReadFile(filepath.Join(dir, CacheFile))
			if err != nil {
				t.Fatal(err)
			}
			u := validUpstream(t)
			tt.breakIt(u)
			if _, err := Update(context.Background(), http.DefaultClient, u.start(t), dir); err == nil {
				t.Fatal("Update succeeded")
			}
			if now, _ := os.ReadFile(filepath.Join(dir, CacheFile)); !bytes.Equal(now, good) {
				t.Error("a failed update changed the cache")
			}
			if c, warning := Open(dir); warning != nil || c.Source().Origin != "cache" {
				t.Errorf("after a failed update: %+v, %v; want the previous cache", c.Source(), warning)
			}
		})
	}
}

// A cache file that cannot be read is reported and the embedded copy used.
func TestCorruptCacheFallsBackToEmbedded(t *testing.T) {
	dir := t.TempDir()
	if _, err := Update(context.Background(), http.DefaultClient, validUpstream(t).start(t), dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, CacheFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/3] ^= 0xff // inside a compressed member: CRC or inflate error
	for name, content := range map[string][]byte{
		"garbage": []byte("not a zip"), "truncated": good[:len(good)/2], "flipped byte": flipped, "empty": nil,
	} {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		c, warning := Open(dir)
		if c.Source().Origin != "embedded" || warning == nil || !strings.Contains(warning.Error(), "using the embedded catalog") {
			t.Errorf("%s cache: %+v, %v; want the embedded catalog and a warning", name, c.Source(), warning)
		}
	}
}

// A cache older than the embedded copy (skyplan was upgraded) is not used.
func TestOlderCacheLosesToEmbedded(t *testing.T) {
	dir := t.TempDir()
	src := Source{Origin: "cache", Repository: upstreamRepository, URL: "http://example.invalid/",
		DownloadedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), License: upstreamLicense}
	archive, err := BuildArchive(embeddedMember(t, memberAWS), embeddedMember(t, memberGCP), src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CacheFile), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, warning := Open(dir); warning != nil || c.Source().Origin != "embedded" {
		t.Errorf("Open = %+v, %v; want the embedded catalog", c.Source(), warning)
	}
}

func TestCacheDir(t *testing.T) {
	env := map[string]string{"SKYPLAN_CATALOG_DIR": "/x/y"}
	if d, err := CacheDir(func(k string) string { return env[k] }); err != nil || d != "/x/y" {
		t.Errorf("CacheDir = %q, %v", d, err)
	}
	user, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no user cache directory here:", err)
	}
	if d, err := CacheDir(func(string) string { return "" }); err != nil || d != filepath.Join(user, "skyplan", "catalog") {
		t.Errorf("CacheDir = %q, %v", d, err)
	}
}
