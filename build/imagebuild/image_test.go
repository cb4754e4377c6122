package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"gopkg.in/yaml.v3"
)

// TestImage builds the real redoubt binary, packs it twice (the archives
// must be byte-identical), then reads the archive back as a consumer
// would: the OCI layout, the manifest, the config (user, entrypoint,
// labels), and the binary from the layer, which must run.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the redoubt binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "redoubt-static")
	const version = "v0.0.0-imagetest"
	// The flags of `make image` (which make test runs first), so the
	// packages come from the build cache and only the link is new.
	build := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/redoubt-proxy/redoubt/internal/cli.Version="+version,
		"-o", bin, "../../cmd/redoubt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := Options{Binary: bin, Version: version, Revision: "abc123", CABundle: "", Arch: runtime.GOARCH}
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	digest, err := WriteArchive(o, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteArchive(o, b); err != nil {
		t.Fatal(err)
	}
	if sumFile(t, a) != sumFile(t, b) {
		t.Fatal("two builds from the same inputs differ")
	}

	// Unpack the archive into an OCI layout and read it back.
	lay := filepath.Join(dir, "layout")
	untar(t, a, lay)
	idx, err := layout.ImageIndexFromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != digest ||
		im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != version {
		t.Fatalf("index: %+v, want one manifest %s tagged %s", im.Manifests, digest, version)
	}
	img, err := idx.Image(digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 1 {
		t.Fatalf("manifest: %s config %s, %d layers; want OCI, one layer", m.MediaType, m.Config.MediaType, len(m.Layers))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || strings.HasPrefix(c.User, "0") {
		t.Errorf("user %q, want the non-root 65532:65532", c.User)
	}
	if strings.Join(c.Entrypoint, " ") != BinaryPath || strings.Join(c.Cmd, " ") != "serve --config "+ConfigPath {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	if c.Labels["org.opencontainers.image.version"] != version || c.Labels["org.opencontainers.image.revision"] != "abc123" {
		t.Errorf("labels %v", c.Labels)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	// The flattened filesystem: the binary, executable, and nothing that
	// belongs to a base image we do not ship (no shell).
	files := map[string]*tar.Header{}
	var binary []byte
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		if "/"+h.Name == BinaryPath {
			if binary, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h := files[BinaryPath[1:]]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("no executable %s in the image: %v", BinaryPath, files)
	}
	if files["bin/sh"] != nil {
		t.Error("image has a shell")
	}
	if h := files["etc/passwd"]; h == nil {
		t.Error("no /etc/passwd for the non-root user")
	}
	run := filepath.Join(dir, "redoubt-from-image")
	if err := os.WriteFile(run, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(run, "version").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "redoubt "+version {
		t.Fatalf("redoubt version: %v %q", err, out)
	}
	// The example configuration shipped in the Kubernetes ConfigMap checks.
	cfgPath := filepath.Join(dir, "redoubt.yaml")
	if err := os.WriteFile(cfgPath, exampleConfig(t), 0o600); err != nil {
		t.Fatal(err)
	}
	chk := exec.Command(run, "check", "--config", cfgPath)
	chk.Env = append(os.Environ(), exampleEnv...)
	if out, err := chk.CombinedOutput(); err != nil {
		t.Fatalf("redoubt check on the example config: %v\n%s", err, out)
	}
}

// exampleEnv are the secrets the example config names (in Kubernetes they
// come from the redoubt-secrets Secret).
var exampleEnv = []string{
	"REDOUBT_TOKEN_KEY=0123456789abcdef0123456789abcdef",
	"REDOUBT_ADMIN_TOKEN=admin-token-for-the-test-only",
	"ALICE_SECRET=alice-secret-for-the-test-only",
}

func exampleConfig(t *testing.T) []byte {
	raw, err := os.ReadFile("../../deploy/kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	c := cm.Data["redoubt.yaml"]
	if c == "" {
		t.Fatal("configmap.yaml has no data.redoubt.yaml")
	}
	return []byte(c)
}

func sumFile(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func untar(t *testing.T, archive, dst string) {
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dst) {
			t.Fatalf("archive entry %q escapes", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		body, _ := io.ReadAll(tr)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
