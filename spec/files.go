package spec

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hashicorp/hcl/v2"
)

// isSpecFileName reports whether a directory entry's name makes it a spec file.
func isSpecFileName(n string) bool {
	return strings.HasSuffix(n, SpecFileSuffix) && !strings.HasSuffix(n, VarFileSuffix) && !strings.HasPrefix(n, ".")
}

// readSpecDir reads the spec files of dir: regular files, or symbolic links
// to regular files inside dir, each at most MaxFileSize, MaxSpecSize in all.
// Anything else is an error that names the file and never shows its content.
func readSpecDir(ctx context.Context, dir string) (map[string][]byte, hcl.Diagnostics) {
	// Stat first: opening a FIFO given as the directory would block.
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory", Detail: dir + " is not a directory."}}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory", Detail: err.Error()}}
	}
	realDir, err := realPath(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read spec directory", Detail: err.Error()}}
	}
	var diags hcl.Diagnostics
	sources := map[string][]byte{}
	total := 0
	for _, e := range entries {
		if !isSpecFileName(e.Name()) || e.IsDir() {
			continue
		}
		if ctx.Err() != nil {
			return sources, append(diags, interrupted(ctx))
		}
		p := filepath.Join(dir, e.Name())
		b, _, err := readRegularFile(p, realDir)
		if err == nil && total+len(b) > MaxSpecSize {
			err = fmt.Errorf("the spec files of %s together pass the limit of %d MiB; split the spec", dir, MaxSpecSize>>20)
		}
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read spec file", Detail: err.Error(),
				Subject: &hcl.Range{Filename: p, Start: hcl.InitialPos, End: hcl.InitialPos}})
			continue
		}
		total += len(b)
		sources[p] = b
	}
	return sources, diags
}

// readVarFile reads a -var-file: a regular file (a symbolic link's target
// too) named *.hcl or *.json, at most MaxFileSize. shown reports whether it
// lies inside the spec directory, the only case where its lines may appear
// in diagnostics.
func readVarFile(path, specDir string) (b []byte, shown bool, err error) {
	if !hasVarFileExt(path) {
		return nil, false, fmt.Errorf("%s is not a variable file: its name must end in .hcl or .json", path)
	}
	realDir, err := realPath(specDir)
	if err != nil {
		return nil, false, err
	}
	b, target, err := readRegularFile(path, "")
	if err != nil {
		return nil, false, err
	}
	if !hasVarFileExt(target) {
		return nil, false, fmt.Errorf("%s is a link to a file whose name does not end in .hcl or .json", path)
	}
	return b, within(realDir, target), nil
}

func hasVarFileExt(p string) bool {
	return strings.HasSuffix(p, ".hcl") || strings.HasSuffix(p, ".json")
}

// readRegularFile reads a regular file of at most MaxFileSize without ever
// blocking: FIFOs, devices and sockets are refused before they are opened
// (and a file swapped for one in between is refused after opening it
// non-blocking). A symbolic link is followed; when inside is set, its target
// must lie in that directory. target is the file's real path.
func readRegularFile(path, inside string) (b []byte, target string, err error) {
	info, err := os.Lstat(path)
	if err != nil {
		return nil, "", err
	}
	target, err = realPath(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		if inside != "" && !within(inside, target) {
			return nil, "", fmt.Errorf("%s is a symbolic link to a file outside the spec directory; spec files must lie inside it", path)
		}
		if info, err = os.Stat(path); err != nil {
			return nil, "", err
		}
	}
	if err := checkRegular(path, info); err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, "", err
	}
	if err := checkRegular(path, info); err != nil {
		return nil, "", err
	}
	b, err = io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, "", err
	}
	if len(b) > MaxFileSize {
		return nil, "", tooLarge(path)
	}
	return b, target, nil
}

func checkRegular(path string, info fs.FileInfo) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s); only regular files are read", path, fileKind(info.Mode()))
	}
	if info.Size() > MaxFileSize {
		return tooLarge(path)
	}
	return nil
}

func tooLarge(path string) error {
	return fmt.Errorf("%s is larger than %d MiB, the limit for one file; split it", path, MaxFileSize>>20)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0, m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a plain file"
}

// realPath is p made absolute with every symbolic link resolved.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// within reports whether path lies in dir (both real paths).
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// interrupted is the diagnostic of a load stopped by its context.
func interrupted(ctx context.Context) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Loading interrupted", Detail: fmt.Sprintf("Loading the spec stopped: %v.", context.Cause(ctx))}
}
