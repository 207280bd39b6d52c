package main

import (
	"archive/zip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdCatalogCSV writes one cloud's CSV of the embedded catalog, the
// upstream format, for a script to serve: catalogcsv aws|gcp FILE.
func cmdCatalogCSV(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: catalogcsv aws|gcp FILE")
	}
	zr, err := zip.OpenReader(filepath.Join(ts.Getenv("REPO"), "internal", "catalog", "data", "catalog.zip"))
	ts.Check(err)
	defer zr.Close()
	f, err := zr.Open(args[0] + "/vms.csv")
	ts.Check(err)
	defer f.Close()
	b, err := io.ReadAll(f)
	ts.Check(err)
	out := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(out), 0o755))
	ts.Check(os.WriteFile(out, b, 0o644))
}

// cmdCatalogServer serves a directory on 127.0.0.1 as the upstream catalog
// and points SKYPLAN_CATALOG_URL at it: catalogsrv [-truncate] DIR.
// With -truncate, responses announce their full length but stop halfway.
func cmdCatalogServer(ts *testscript.TestScript, neg bool, args []string) {
	truncate := len(args) == 2 && args[0] == "-truncate"
	if truncate {
		args = args[1:]
	}
	if len(args) != 1 || neg {
		ts.Fatalf("usage: catalogsrv [-truncate] DIR")
	}
	dir := ts.MkAbs(args[0])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if truncate {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			b = b[:len(b)/2]
		}
		w.Write(b)
	}))
	ts.Defer(srv.Close)
	ts.Setenv("SKYPLAN_CATALOG_URL", srv.URL+"/")
}
