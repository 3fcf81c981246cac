//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The images critest pulls, made here: each one busybox-based, as upstream
// builds them (cri-tools' images/ directory), from Debian's dynamically
// linked busybox (the static one runs applets such as ls as builtins, so a
// masked /bin/ls would prove nothing), plus the few tools the suite calls
// that Debian's busybox lacks (ipcs, pgrep: copied from the host with
// their libraries), and small stand-ins built from e2e/testimages: pause
// (the pod sandbox), a web server that looks like nginx or httpd to the
// suite, and nonewprivs (prints its effective uid; set-user-ID root). Pushed to the run's registry as Docker schema 2 images.

// ociLayer is a gzip'd tar and its two digests.
type ociLayer struct {
	blob   []byte
	digest string // of the gzip'd blob
	diffID string // of the tar
}

// imageConfig is the part of an image's configuration the suite reads.
type imageConfig struct {
	User         string              `json:"User,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

type criImage struct {
	repo   string // in the registry: "e2e-test-images/busybox"
	tags   []string
	layers []ociLayer
	config imageConfig
}

// treeTar builds a layer's tar in memory: parents before children, all
// owned by root.
type treeTar struct {
	buf  bytes.Buffer
	tw   *tar.Writer
	dirs map[string]bool
	err  error
}

func newTreeTar() *treeTar {
	t := &treeTar{dirs: map[string]bool{"": true, ".": true, "/": true}}
	t.tw = tar.NewWriter(&t.buf)
	return t
}

var epoch = time.Unix(0, 0)

func (t *treeTar) header(h *tar.Header) {
	if t.err != nil {
		return
	}
	h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime = 0, 0, "root", "root", epoch
	t.err = t.tw.WriteHeader(h)
}

// dir adds name and its missing parents.
func (t *treeTar) dir(name string, mode int64) {
	name = strings.Trim(name, "/")
	if t.dirs[name] {
		return
	}
	t.dir(path.Dir(name), 0o755)
	t.dirs[name] = true
	t.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode})
}

func (t *treeTar) file(name string, mode int64, data []byte) {
	name = strings.Trim(name, "/")
	t.dir(path.Dir(name), 0o755)
	t.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
	if t.err == nil {
		_, t.err = t.tw.Write(data)
	}
}

// hardlink adds name as a hard link to target (both inside the layer),
// with target's mode: an extractor may chmod the link, and so the file,
// to the header's mode (containerd's does).
func (t *treeTar) hardlink(name, target string, mode int64) {
	name = strings.Trim(name, "/")
	t.dir(path.Dir(name), 0o755)
	t.header(&tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: strings.Trim(target, "/"), Mode: mode})
}

func (t *treeTar) symlink(name, target string) {
	name = strings.Trim(name, "/")
	t.dir(path.Dir(name), 0o755)
	t.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// hostFile copies a host file (following symlinks) to the same path, or
// to name.
func (t *treeTar) hostFile(hostPath, name string) {
	b, err := os.ReadFile(hostPath)
	if err != nil {
		t.err = err
		return
	}
	fi, _ := os.Stat(hostPath)
	t.file(name, int64(fi.Mode().Perm()), b)
}

// hostBinary copies a dynamically linked host binary to name with every
// library ldd(1) resolves for it, at the same paths.
func (t *treeTar) hostBinary(hostPath, name string) {
	t.hostFile(hostPath, name)
	out, err := exec.Command("ldd", hostPath).Output()
	if err != nil {
		t.err = fmt.Errorf("ldd %s: %v", hostPath, err)
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		for _, w := range f {
			if strings.HasPrefix(w, "/") && !t.dirs["lib:"+w] {
				t.dirs["lib:"+w] = true
				t.hostFile(w, w)
			}
		}
	}
}

func (t *treeTar) layer() (ociLayer, error) {
	if t.err == nil {
		t.err = t.tw.Close()
	}
	if t.err != nil {
		return ociLayer{}, t.err
	}
	return gzipLayer(t.buf.Bytes())
}

func gzipLayer(tarball []byte) (ociLayer, error) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(tarball)
	if err := zw.Close(); err != nil {
		return ociLayer{}, err
	}
	return ociLayer{blob: gz.Bytes(), digest: sha256Digest(gz.Bytes()), diffID: sha256Digest(tarball)}, nil
}

func sha256Digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// dynamicBusybox is Debian's busybox package (not busybox-static),
// unpacked by e2e/deps.sh.
func dynamicBusybox() string {
	return filepath.Join(sb.repo, "bin", "e2e", "busybox", "bin", "busybox")
}

// baseLayer is busybox's root: the binary, a link per applet, its
// libraries, ipcs and pgrep, and the users upstream's busybox image has.
func baseLayer() (ociLayer, error) {
	t := newTreeTar()
	bb := dynamicBusybox()
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home", "dev", "proc", "sys", "run", "var/run", "var/log", "mnt"} {
		t.dir(d, 0o755)
	}
	t.dir("tmp", 0o1777)
	t.hostBinary(bb, "bin/busybox")
	out, err := exec.Command(bb, "--list-full").Output()
	if err != nil {
		return ociLayer{}, fmt.Errorf("%s --list-full: %v (make e2e unpacks Debian's busybox there)", bb, err)
	}
	// Hard links, as upstream's busybox image has them: a masked /bin/ls
	// (linux.maskedPaths) then hides ls alone, where a symlink would have
	// the mount follow it and hide busybox, and every applet with it.
	for _, a := range strings.Fields(string(out)) {
		if a != "bin/busybox" {
			t.hardlink(a, "bin/busybox", 0o755)
		}
	}
	t.hostBinary("/usr/bin/ipcs", "usr/bin/ipcs")
	t.hostBinary("/usr/bin/pgrep", "usr/bin/pgrep")
	t.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"))
	t.file("etc/group", 0o644, []byte("root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\n"))
	return t.layer()
}

// toolsLayer holds the stand-ins of e2e/testimages (built by the host stage
// into TMP/testimages): pause, the web server as nginx and as httpd, and
// nonewprivs, set-user-ID root.
func toolsLayer() (ociLayer, error) {
	t := newTreeTar()
	t.hostFile(sb.path("testimages", "pause"), "pause")
	t.hostFile(sb.path("testimages", "webserver"), "usr/sbin/nginx")
	t.hardlink("usr/local/apache2/bin/httpd", "usr/sbin/nginx", 0o755)
	b, err := os.ReadFile(sb.path("testimages", "nonewprivs"))
	if err != nil {
		return ociLayer{}, err
	}
	t.file("usr/local/bin/nnp", 0o4755, b)
	return t.layer()
}

// fileLayer holds one file, to tell images apart as upstream's Dockerfile
// does (ADD ${TEST} ${TEST}).
func fileLayer(name string, content string) (ociLayer, error) {
	t := newTreeTar()
	t.file(name, 0o644, []byte(content))
	return t.layer()
}

// criImages are the images the suite pulls, by repository in the mirror.
func criImages() ([]criImage, error) {
	base, err := baseLayer()
	if err != nil {
		return nil, err
	}
	tools, err := toolsLayer()
	if err != nil {
		return nil, err
	}
	sh := imageConfig{Cmd: []string{"sh"}}
	imgs := []criImage{
		{repo: "e2e-test-images/busybox", tags: []string{"1.29-2"}, layers: []ociLayer{base}, config: sh},
		{repo: "pause", tags: []string{"3.6"}, layers: []ociLayer{base, tools}, config: imageConfig{Entrypoint: []string{"/pause"}}},
		{repo: "e2e-test-images/nginx", tags: []string{"1.14-2"}, layers: []ociLayer{base, tools},
			config: imageConfig{Entrypoint: []string{"/usr/sbin/nginx"}, ExposedPorts: map[string]struct{}{"80/tcp": {}}}},
		{repo: "k8s-staging-cri-tools/hostnet-nginx-amd64", tags: []string{"latest"}, layers: []ociLayer{base, tools},
			config: imageConfig{Entrypoint: []string{"/usr/sbin/nginx"}, Env: []string{"PORT=12003"}, ExposedPorts: map[string]struct{}{"12003/tcp": {}}}},
		{repo: "e2e-test-images/httpd", tags: []string{"2.4.39-4"}, layers: []ociLayer{base, tools},
			config: imageConfig{Entrypoint: []string{"/usr/local/apache2/bin/httpd"}, ExposedPorts: map[string]struct{}{"80/tcp": {}}}},
		{repo: "e2e-test-images/nonewprivs", tags: []string{"1.3"}, layers: []ociLayer{base, tools},
			config: imageConfig{Entrypoint: []string{"/usr/local/bin/nnp"}}},
	}
	const staging = "k8s-staging-cri-tools/"
	withFile := func(repo string, tags []string, file string) error {
		l, err := fileLayer(file, file+"\n")
		if err != nil {
			return err
		}
		imgs = append(imgs, criImage{repo: staging + repo, tags: tags, layers: []ociLayer{base, l}, config: sh})
		return nil
	}
	for _, x := range []struct {
		repo string
		tags []string
		file string
	}{
		{"test-image-1", []string{"latest"}, "test-image-1"},
		{"test-image-2", []string{"latest"}, "test-image-2"},
		{"test-image-3", []string{"latest"}, "test-image-3"},
		{"test-image-latest", []string{"latest"}, "test-image-latest"},
		{"test-image-digest", []string{"latest"}, "test-image-digest"},
		{"test-image-tags", []string{"1", "2", "3"}, "same-image"},
		{"test-image-tag", []string{"test"}, "test"},
		{"test-image-tag", []string{"all"}, "all"},
	} {
		if err := withFile(x.repo, x.tags, x.file); err != nil {
			return nil, err
		}
	}
	for repo, user := range map[string]string{
		"test-image-user-uid":            "1002",
		"test-image-user-username":       "www-data",
		"test-image-user-uid-group":      "1003:1004",
		"test-image-user-username-group": "www-data:1004",
	} {
		imgs = append(imgs, criImage{repo: staging + repo, tags: []string{"latest"}, layers: []ociLayer{base}, config: imageConfig{User: user, Cmd: []string{"sh"}}})
	}
	// images/image-predefined-group: adduser -u 1000 default-user, addgroup
	// -g 50000 group-defined-in-image, default-user in it, USER 1000.
	t := newTreeTar()
	t.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\ndefault-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n"))
	t.file("etc/group", 0o644, []byte("root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\ndefault-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n"))
	t.dir("home/default-user", 0o755)
	group, err := t.layer()
	if err != nil {
		return nil, err
	}
	imgs = append(imgs, criImage{repo: staging + "test-image-predefined-group", tags: []string{"latest"}, layers: []ociLayer{base, group}, config: imageConfig{User: "1000", Cmd: []string{"sh"}}})
	return imgs, nil
}

// pushCRIImages builds the images and pushes them to the registry at reg.
func pushCRIImages(reg string) error {
	imgs, err := criImages()
	if err != nil {
		return err
	}
	for _, img := range imgs {
		if err := pushImage(reg, img); err != nil {
			return fmt.Errorf("pushing %s: %w", img.repo, err)
		}
	}
	return nil
}

// pushImage pushes an image by the registry API v2 (distribution's
// spec/api.md): each blob by a monolithic upload, then the manifest under
// each tag.
func pushImage(reg string, img criImage) error {
	var diffIDs []string
	for _, l := range img.layers {
		diffIDs = append(diffIDs, l.diffID)
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": epoch.UTC().Format(time.RFC3339),
		"config": img.config,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	type desc struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	manifest := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, "application/vnd.docker.distribution.manifest.v2+json",
		desc{"application/vnd.docker.container.image.v1+json", len(cfg), sha256Digest(cfg)}, nil}
	if err := pushBlob(reg, img.repo, cfg); err != nil {
		return err
	}
	for _, l := range img.layers {
		if err := pushBlob(reg, img.repo, l.blob); err != nil {
			return err
		}
		manifest.Layers = append(manifest.Layers, desc{"application/vnd.docker.image.rootfs.diff.tar.gzip", len(l.blob), l.digest})
	}
	mb, _ := json.Marshal(manifest)
	for _, tag := range img.tags {
		req, _ := http.NewRequest(http.MethodPut, reg+"/v2/"+img.repo+"/manifests/"+tag, bytes.NewReader(mb))
		req.Header.Set("Content-Type", manifest.MediaType)
		if err := do(req, http.StatusCreated); err != nil {
			return fmt.Errorf("manifest %s:%s: %w", img.repo, tag, err)
		}
	}
	return nil
}

func pushBlob(reg, repo string, blob []byte) error {
	dg := sha256Digest(blob)
	if resp, err := http.Head(reg + "/v2/" + repo + "/blobs/" + dg); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	resp, err := http.Post(reg+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST blobs/uploads: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	base, _ := url.Parse(reg)
	loc = base.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", dg)
	loc.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(blob))
	req.Header.Set("Content-Type", "application/octet-stream")
	return do(req, http.StatusCreated)
}

func do(req *http.Request, want int) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b)
	}
	return nil
}
