// Package runtimetest holds helpers for tests that run real workloads: a
// tiny static HTTP server (testdata/echo) built as a host binary for the
// exec runtime or as a FROM-scratch Docker image, a Docker client that
// skips only when no Docker Engine is there, and unique names. It is
// imported by tests only, never by the provider.
package runtimetest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

//go:embed testdata/echo/main.go
var echoSource []byte

// EchoBinary compiles the echo server (CGO_ENABLED=0, static) into a
// temporary directory of t and returns its absolute path. The server
// listens on -listen, else :$PORT, else :8080, prints "echo listening on
// ADDR" at start, and answers GET / with a line holding $ECHO_MESSAGE,
// $DEAI_LEASE_ID, $DEAI_SERVICE and $DEAI_REPLICA; see testdata/echo.
func EchoBinary(t testing.TB) string {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), echoSource, 0o600); err != nil {
		t.Fatalf("echo binary: %v", err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module echo\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatalf("echo binary: %v", err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(goruntime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(t.TempDir(), "echo")
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("echo binary: go build: %v\n%s", err, b)
	}
	return out
}

// DockerSocket is where Docker's socket is looked for when DOCKER_HOST is
// unset.
const DockerSocket = "/var/run/docker.sock"

// Docker returns a client of the local Docker Engine (DOCKER_HOST or the
// default socket, API version negotiated). It skips the test, saying so,
// only when there is no socket and DOCKER_HOST is unset, and
// DEAI_REQUIRE_DOCKER is not set; a socket that does not answer fails it.
func Docker(t testing.TB) *client.Client {
	t.Helper()
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat(DockerSocket); err != nil {
			if os.Getenv("DEAI_REQUIRE_DOCKER") != "" {
				t.Fatalf("docker: DEAI_REQUIRE_DOCKER is set but %s is absent: %v", DockerSocket, err)
			}
			t.Skipf("docker: no Docker Engine here (%s absent, DOCKER_HOST unset); this test needs one", DockerSocket)
		}
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("docker: ping %s: %v", cli.DaemonHost(), err)
	}
	return cli
}

// UniqueName returns prefix-<test name>-<random>, lower case, usable for
// Docker containers, images and networks, so parallel tests and packages
// never share resources.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 24 {
		name = strings.Trim(name[:24], "-")
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	return prefix + "-" + name + "-" + hex.EncodeToString(rnd)
}

// BuildEchoImage builds the echo server into a FROM-scratch image through
// the Engine's build API (no registry involved) and returns its reference,
// a tag unique to the test ("deai-echo-<test>-<random>:test"); the tag is
// removed when the test ends. The image's entrypoint is /echo and it
// exposes 8080.
func BuildEchoImage(ctx context.Context, t testing.TB, cli *client.Client) string {
	t.Helper()
	bin, err := os.ReadFile(EchoBinary(t))
	if err != nil {
		t.Fatalf("echo image: %v", err)
	}
	dockerfile := "FROM scratch\nCOPY echo /echo\nEXPOSE 8080\nENTRYPOINT [\"/echo\"]\n"
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"echo", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatalf("echo image: tar: %v", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatalf("echo image: tar: %v", err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("echo image: tar: %v", err)
	}
	ref := UniqueName(t, "deai-echo") + ":test"
	t.Cleanup(func() { RemoveImage(t, cli, ref) })
	if err := BuildImage(ctx, cli, &ctxTar, ref); err != nil {
		t.Fatalf("echo image: %v", err)
	}
	return ref
}

// BuildImage builds a tar build context (with a Dockerfile at its root)
// into an image tagged ref and reports the build's error, if any.
func BuildImage(ctx context.Context, cli *client.Client, buildContext io.Reader, ref string) error {
	resp, err := cli.ImageBuild(ctx, buildContext, build.ImageBuildOptions{
		Tags: []string{ref}, Remove: true, ForceRemove: true, Dockerfile: "Dockerfile",
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", ref, err)
	}
	defer resp.Body.Close()
	var log strings.Builder
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("build image %s: read progress: %w", ref, err)
		}
		log.WriteString(msg.Stream)
		if msg.Error != "" {
			return fmt.Errorf("build image %s: %s\n%s", ref, msg.Error, log.String())
		}
	}
	if _, err := cli.ImageInspect(ctx, ref); err != nil {
		return fmt.Errorf("build image %s: not there after the build: %w\n%s", ref, err, log.String())
	}
	return nil
}

// RemoveImage removes the tag ref (and the image, when no other tag holds
// it), reporting failures other than "not found" on t.
func RemoveImage(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		t.Errorf("remove image %s: %v", ref, err)
	}
}

// WaitHTTP polls GET url until the body contains want or ctx ends, and
// returns the last body.
func WaitHTTP(ctx context.Context, t testing.TB, url, want string) string {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	var last string
	var lastErr error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last, lastErr = string(b), nil
			if resp.StatusCode == http.StatusOK && strings.Contains(last, want) {
				return last
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: no body containing %q before %v: last body %q, last error %v", url, want, ctx.Err(), last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
