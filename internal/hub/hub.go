package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/errs"
)

// DefaultBaseURL is where Hugging Face serves repository files.
const DefaultBaseURL = "https://huggingface.co"

// Log attribute keys.
const (
	logKeyURL    = "url"
	logKeyOffset = "offset"
	logKeyStatus = "status"
)

// Options configure a Client. The zero value is usable.
type Options struct {
	// HTTPClient does the requests; nil means a client without an overall
	// timeout (model files are large; cancel through the context instead).
	HTTPClient *http.Client
	// BaseURL replaces DefaultBaseURL, for mirrors and tests.
	BaseURL string
	// Token, when set, is sent as a bearer token (gated or private repos).
	// Go drops it on redirects to another host, such as Hugging Face's CDN.
	Token string
	// Progress, when set, is called as bytes arrive.
	Progress func(Progress)
	// Logger receives debug events; nil discards them.
	Logger *slog.Logger
}

// Progress describes a download in flight.
type Progress struct {
	Done    int64 // bytes on disk, including a resumed prefix
	Total   int64 // expected size, or -1 when the server did not say
	Resumed int64 // bytes that were already on disk when this request began
}

// Request names one file to download.
type Request struct {
	Repo     string // Hugging Face repository, "owner/name"
	File     string // path of the file inside the repository
	Revision string // branch, tag or commit; "" means main
	URL      string // when set, download from here instead of Hugging Face
	SHA256   string // expected digest in hex; "" means take it from the server, if it sends one
	Dir      string // destination directory; "" means the current directory
}

// Result describes a completed download.
type Result struct {
	Path         string `json:"path"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	Verified     bool   `json:"verified"`      // the digest matched an expected value
	DigestSource string `json:"digest_source"` // "flag", "header" or "" when nothing was checked
	Existing     bool   `json:"existing"`      // the file was already there; nothing was downloaded
	Resumed      int64  `json:"resumed"`       // bytes reused from a partial download
}

// Client downloads model files.
type Client struct {
	http     *http.Client
	base     string
	token    string
	progress func(Progress)
	log      *slog.Logger
}

// New returns a Client.
func New(opts Options) *Client {
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Client{http: hc, base: base, token: opts.Token, progress: opts.Progress, log: lg.With("component", "hub")}
}

// ResolveURL returns the download URL of file in a Hugging Face repository
// at revision ("" means main): <base>/<repo>/resolve/<revision>/<file>.
func ResolveURL(base, repo, revision, file string) (string, error) {
	const op = "resolve url"
	if revision == "" {
		revision = "main"
	}
	if err := checkRepoPath("repository", repo); err != nil {
		return "", errs.Wrap(op, errs.Invalid, err)
	}
	if strings.Count(repo, "/") != 1 {
		return "", errs.E(op, errs.Invalid, "repository %q: want owner/name", repo)
	}
	if err := checkRepoPath("file", file); err != nil {
		return "", errs.Wrap(op, errs.Invalid, err)
	}
	if err := checkRepoPath("revision", revision); err != nil {
		return "", errs.Wrap(op, errs.Invalid, err)
	}
	return strings.TrimRight(base, "/") + "/" + escapePath(repo) + "/resolve/" + url.PathEscape(revision) + "/" + escapePath(file), nil
}

func checkRepoPath(what, p string) error {
	if p == "" {
		return fmt.Errorf("empty %s", what)
	}
	if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "\\") {
		return fmt.Errorf("%s %q: not a clean relative path", what, p)
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%s %q: contains %q", what, p, seg)
		}
	}
	return nil
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Pull downloads the requested file into req.Dir and returns where it is.
// A partial download from an earlier attempt (<name>.part) is resumed. The
// file gets its final name only after the whole content has arrived and its
// digest matched the expected one (when one is known).
func (c *Client) Pull(ctx context.Context, req Request) (Result, error) {
	const op = "pull model"
	src := req.URL
	name := req.File
	if src == "" {
		var err error
		if src, err = ResolveURL(c.base, req.Repo, req.Revision, req.File); err != nil {
			return Result{}, err
		}
	} else {
		u, err := url.Parse(src)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Result{}, errs.E(op, errs.Invalid, "url %q: want an http or https URL", src)
		}
		if name == "" {
			name = path.Base(u.Path)
		}
	}
	name = path.Base(name)
	if name == "" || name == "." || name == ".." || name == "/" {
		return Result{}, errs.E(op, errs.Invalid, "cannot derive a file name from %q", src)
	}
	want := ""
	if req.SHA256 != "" {
		var ok bool
		if want, ok = normalizeDigest(req.SHA256); !ok {
			return Result{}, errs.E(op, errs.Invalid, "sha256 %q: want 64 hex digits", req.SHA256)
		}
	}
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	final := filepath.Join(dir, name)

	if fi, err := os.Stat(final); err == nil {
		got, err := hashFile(final)
		if err != nil {
			return Result{}, errs.Wrap(op, errs.Other, err)
		}
		if want != "" && got != want {
			return Result{}, errs.E(op, errs.Exist, "%s already exists with sha256 %s, want %s; remove it to download again", final, got, want)
		}
		return Result{Path: final, Size: fi.Size(), SHA256: got, Verified: want != "", DigestSource: sourceIf(want != "", "flag"), Existing: true}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, errs.Wrap(op, errs.Other, fmt.Errorf("create directory: %w", err))
	}
	res, err := c.download(ctx, src, final, want)
	if err != nil {
		// An empty partial file holds nothing worth resuming.
		if fi, serr := os.Stat(final + ".part"); serr == nil && fi.Size() == 0 {
			os.Remove(final + ".part")
		}
		return Result{}, fmt.Errorf("%s %s: %w", op, src, err)
	}
	return res, nil
}

func sourceIf(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func (c *Client) download(ctx context.Context, src, final, want string) (Result, error) {
	part := final + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Result{}, errs.Wrap("open partial file", errs.Other, err)
	}
	defer f.Close()

	// Hash what an earlier attempt left; the file offset ends at its end,
	// which is where new bytes go.
	h := sha256.New()
	off, err := io.Copy(h, f)
	if err != nil {
		return Result{}, errs.Wrap("read partial file", errs.Other, err)
	}
	restart := func() error {
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err := f.Seek(0, io.SeekStart)
		h.Reset()
		off = 0
		return err
	}

	var (
		resp    *http.Response
		total   int64         = -1
		headers []http.Header // the redirect chain's headers, then the final one
	)
	for attempt := 0; ; attempt++ {
		headers = headers[:0]
		resp, err = c.get(ctx, src, off, &headers)
		if err != nil {
			return Result{}, errs.Wrap("request", errs.Transient, err)
		}
		c.log.DebugContext(ctx, "response", logKeyURL, src, logKeyOffset, off, logKeyStatus, resp.StatusCode)
		switch resp.StatusCode {
		case http.StatusPartialContent:
			start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if ok && start == off {
				total = size
			} else {
				// A range we did not ask for: start over without one.
				resp.Body.Close()
				if attempt > 0 {
					return Result{}, errs.E("request", errs.Other, "server sent an unexpected range %q", resp.Header.Get("Content-Range"))
				}
				if err := restart(); err != nil {
					return Result{}, errs.Wrap("truncate partial file", errs.Other, err)
				}
				continue
			}
		case http.StatusOK:
			if off > 0 {
				// The server ignored Range and sends everything: discard the prefix.
				c.log.DebugContext(ctx, "server ignored range; restarting", logKeyURL, src, logKeyOffset, off)
				if err := restart(); err != nil {
					resp.Body.Close()
					return Result{}, errs.Wrap("truncate partial file", errs.Other, err)
				}
			}
			total = resp.ContentLength
		case http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close()
			if _, size, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && off > 0 && size == off {
				// The partial file is already complete.
				total = off
				resp = nil
			} else if off > 0 && attempt == 0 {
				if err := restart(); err != nil {
					return Result{}, errs.Wrap("truncate partial file", errs.Other, err)
				}
				continue
			} else {
				return Result{}, errs.E("request", errs.Other, "HTTP %s", resp.Status)
			}
		default:
			resp.Body.Close()
			return Result{}, statusError(resp)
		}
		break
	}
	if total < 0 {
		total = linkedSize(headers)
	}
	resumed := off

	if resp != nil {
		err := c.copyBody(ctx, f, h, resp.Body, &off, total, resumed)
		resp.Body.Close()
		if err != nil {
			return Result{}, errs.Wrap(fmt.Sprintf("download interrupted at %d of %s bytes; run again to resume", off, sizeText(total)), errs.Transient, err)
		}
	}
	if total >= 0 && off != total {
		return Result{}, errs.E("download", errs.Transient, "got %d of %d bytes; run again to resume", off, total)
	}
	if err := f.Sync(); err != nil {
		return Result{}, errs.Wrap("sync partial file", errs.Other, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	source := "flag"
	if want == "" {
		want, source = headerDigest(headers), "header"
		if want == "" {
			source = ""
		}
	}
	if want != "" && got != want {
		// The bytes are wrong; resuming from them would stay wrong.
		f.Close()
		os.Remove(part)
		return Result{}, errs.E("verify", errs.Invalid, "sha256 mismatch: got %s, want %s (from %s); the partial file was removed", got, want, source)
	}
	if err := f.Close(); err != nil {
		return Result{}, errs.Wrap("close partial file", errs.Other, err)
	}
	if err := os.Rename(part, final); err != nil {
		return Result{}, errs.Wrap("rename", errs.Other, err)
	}
	return Result{Path: final, Size: off, SHA256: got, Verified: want != "", DigestSource: source, Resumed: resumed}, nil
}

func sizeText(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatInt(n, 10)
}

func (c *Client) copyBody(ctx context.Context, w io.Writer, h io.Writer, body io.Reader, off *int64, total, resumed int64) error {
	buf := make([]byte, 256<<10)
	if c.progress != nil {
		c.progress(Progress{Done: *off, Total: total, Resumed: resumed})
	}
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("write partial file: %w", err)
			}
			h.Write(buf[:n])
			*off += int64(n)
			if c.progress != nil {
				c.progress(Progress{Done: *off, Total: total, Resumed: resumed})
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return rerr
		}
	}
}

// get requests src from byte off, recording the headers of every response
// in the redirect chain: Hugging Face puts the LFS digest (X-Linked-Etag) on
// the redirect, not on the CDN's final response.
func (c *Client) get(ctx context.Context, src string, off int64, headers *[]http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// Identity encoding: a transparently decompressed body would not match
	// byte offsets or Content-Length.
	req.Header.Set("Accept-Encoding", "identity")
	hc := *c.http
	orig := c.http.CheckRedirect
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.Response != nil {
			*headers = append(*headers, r.Response.Header)
		}
		if orig != nil {
			return orig(r, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	*headers = append(*headers, resp.Header)
	return resp, nil
}

func statusError(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusNotFound:
		return errs.E("request", errs.NotExist, "HTTP %s: no such repository, revision or file", resp.Status)
	case http.StatusUnauthorized, http.StatusForbidden:
		return errs.E("request", errs.Permission, "HTTP %s: the repository is gated or private; accept its terms and set HF_TOKEN", resp.Status)
	case http.StatusTooManyRequests:
		return errs.E("request", errs.Transient, "HTTP %s: rate limited; try again later", resp.Status)
	}
	if resp.StatusCode >= 500 {
		return errs.E("request", errs.Transient, "HTTP %s", resp.Status)
	}
	return errs.E("request", errs.Other, "HTTP %s", resp.Status)
}

// parseContentRange parses "bytes START-END/SIZE" and "bytes */SIZE".
// start is -1 for the second form; size is -1 when given as "*".
func parseContentRange(s string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		n, err := strconv.ParseInt(sz, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		size = n
	}
	if rng == "*" {
		return -1, size, size >= 0
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first || (size >= 0 && last >= size) {
		return 0, 0, false
	}
	return first, size, true
}

// headerDigest returns the sha256 announced by the server: X-Linked-Etag
// (Hugging Face LFS files, on the redirect) or an ETag that is a sha256.
// Git blob ETags (40 hex digits) are not sha256 digests and are ignored.
func headerDigest(headers []http.Header) string {
	for _, key := range []string{"X-Linked-Etag", "Etag"} {
		for _, h := range headers {
			if d, ok := normalizeDigest(h.Get(key)); ok {
				return d
			}
		}
	}
	return ""
}

func linkedSize(headers []http.Header) int64 {
	for _, h := range headers {
		if n, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil && n >= 0 {
			return n
		}
	}
	return -1
}

// normalizeDigest accepts a hex sha256, optionally quoted or weak-tagged
// (W/"…"), and returns it in lower case.
func normalizeDigest(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	if len(s) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", false
	}
	return s, true
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
