// Command goproxy writes the repository's Go modules, at one version, as a module proxy in
// a directory: <module>/@v/list, <version>.info, <version>.mod and <version>.zip, the
// layout `GOPROXY=file://DIR` reads. It is what a published release looks like to the go
// command (the same files a VCS tag gives it), so a test can `go get` the SDK from it with
// no replace directive and no network.
//
//	go run ./scripts/goproxy -out /tmp/proxy -version v0.1.0 gen/go sdk/go   (from the root)
//
// Each module's zip holds the files git knows in its directory (tracked, or new and not
// ignored; as they are in the work tree), less those of nested modules, exactly as the go
// command would take them from a tag. It refuses a module that requires another module of
// the release at a version other than the release's own: the SDK's go.mod must follow
// VERSION, or the published SDK would pull a different gen/go.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "directory to write the proxy into (created)")
	version := flag.String("version", "", "the release's version, e.g. v0.1.0")
	root := flag.String("root", ".", "the repository root (module directories are relative to it)")
	flag.Parse()
	if *out == "" || *version == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: goproxy -out DIR -version vX.Y.Z [-root DIR] MODULE_DIR...")
		os.Exit(2)
	}
	if err := run(*root, *out, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "goproxy:", err)
		os.Exit(1)
	}
}

type release struct {
	dir  string
	file *modfile.File
	raw  []byte
}

func run(root, out, version string, dirs []string) error {
	if !strings.HasPrefix(version, "v") || module.CheckPathMajor(version, "") != nil {
		return fmt.Errorf("version %q: want vX.Y.Z with major version 0 or 1", version)
	}
	var mods []release
	paths := map[string]bool{}
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(root, dir, "go.mod"))
		if err != nil {
			return err
		}
		f, err := modfile.Parse(dir+"/go.mod", raw, nil)
		if err != nil {
			return err
		}
		mods = append(mods, release{dir: dir, file: f, raw: raw})
		paths[f.Module.Mod.Path] = true
	}
	for _, m := range mods {
		for _, r := range m.file.Require {
			if paths[r.Mod.Path] && r.Mod.Version != version {
				return fmt.Errorf("%s/go.mod requires %s %s, but the release is %s: update it to follow VERSION", m.dir, r.Mod.Path, r.Mod.Version, version)
			}
		}
		if err := write(root, out, version, m); err != nil {
			return fmt.Errorf("%s: %w", m.dir, err)
		}
	}
	return nil
}

func write(root, out, version string, m release) error {
	mv := module.Version{Path: m.file.Module.Mod.Path, Version: version}
	escaped, err := module.EscapePath(mv.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	files, err := moduleFiles(root, m.dir)
	if err != nil {
		return err
	}
	var zip bytes.Buffer
	if err := modzip.Create(&zip, mv, files); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":            []byte(version + "\n"),
		version + ".info": info,
		version + ".mod":  m.raw,
		version + ".zip":  zip.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// moduleFiles lists the files git knows under dir (tracked or untracked-but-not-ignored),
// leaving out those of nested modules and those deleted from the work tree.
func moduleFiles(root, dir string) ([]modzip.File, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", dir)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	listed, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var names []string
	nested := map[string]bool{}
	for _, name := range strings.Split(string(listed), "\x00") {
		if name == "" {
			continue
		}
		rel := strings.TrimPrefix(name, strings.TrimSuffix(dir, "/")+"/")
		if path.Base(rel) == "go.mod" && rel != "go.mod" {
			nested[path.Dir(rel)] = true
		}
		names = append(names, rel)
	}
	var files []modzip.File
	for _, rel := range names {
		if inNested(rel, nested) {
			continue
		}
		full := filepath.Join(root, dir, filepath.FromSlash(rel))
		if _, err := os.Lstat(full); err != nil {
			continue // deleted in the work tree, not yet in git's index
		}
		files = append(files, file{rel: rel, full: full})
	}
	return files, nil
}

func inNested(rel string, nested map[string]bool) bool {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if nested[d] {
			return true
		}
	}
	return false
}

// file is one file of a module zip (golang.org/x/mod/zip.File).
type file struct{ rel, full string }

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (fs.FileInfo, error)  { return os.Lstat(f.full) }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.full) }
