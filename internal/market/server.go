package market

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/wire"
)

// MaxManifestBytes bounds a manifest upload.
const MaxManifestBytes = 1 << 20

// Handler returns the provider's HTTP API. Tenant calls are signed with
// the tenant's account key (wire's Epistula headers, receiver = the
// provider's address) and replay-protected; the lease owner on chain is
// the only caller allowed.
//
//	GET  /status                      provider address, runtime, free capacity (public)
//	POST /preflight                   {"owner":…, "group":GroupSpec} -> {"price":…} (public)
//	PUT  /deployment/{dseq}/manifest  Manifest JSON (signed) -> {"leases":[…]}
//	POST /lease/status                {"lease":ID} (signed) -> LeaseStatus
//	POST /lease/logs                  {"lease":ID,"service","follow","tail"} (signed) -> text
func (p *Provider) Handler() http.Handler {
	v := wire.NewVerifier(wire.VerifierOptions{Self: p.Address(), MaxBodyBytes: MaxManifestBytes, Logger: p.log})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", p.serveStatus)
	mux.HandleFunc("POST /preflight", p.servePreflight)
	mux.Handle("PUT /deployment/{dseq}/manifest", v.Wrap(http.HandlerFunc(p.serveManifest)))
	mux.Handle("POST /lease/status", v.Wrap(http.HandlerFunc(p.serveLeaseStatus)))
	mux.Handle("POST /lease/logs", v.Wrap(http.HandlerFunc(p.serveLeaseLogs)))
	if p.o.Metrics != nil {
		mux.Handle("GET /metrics", metricsHandler(p.o.Metrics))
	}
	return mux
}

// ProviderStatus is the public GET /status answer.
type ProviderStatus struct {
	Address string `json:"address"`
	Runtime string `json:"runtime"`
	Leases  int    `json:"leases"`
	Free    []Free `json:"free"`
}

func (p *Provider) serveStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ProviderStatus{Address: p.Address().String(), Runtime: p.o.Runtime.Name(), Leases: len(p.Leases()), Free: p.o.Inventory.Free()})
}

// PreflightRequest asks whether the provider would bid on a group.
type PreflightRequest struct {
	Owner string            `json:"owner"`
	Group lmarket.GroupSpec `json:"group"`
}

// PreflightResponse is the provider's answer.
type PreflightResponse struct {
	Provider string `json:"provider"`
	Price    uint64 `json:"price,omitempty"` // udeai per block for the group
	Bid      bool   `json:"bid"`
	Reason   string `json:"reason,omitempty"`
}

func (p *Provider) servePreflight(w http.ResponseWriter, r *http.Request) {
	var req PreflightRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxManifestBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "preflight body: "+err.Error())
		return
	}
	resp := PreflightResponse{Provider: p.Address().String()}
	price, err := p.Quote(r.Context(), req.Owner, req.Group)
	if err != nil {
		resp.Reason = err.Error()
	} else {
		resp.Price, resp.Bid = price, true
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) serveManifest(w http.ResponseWriter, r *http.Request) {
	c, _ := wire.CallerFrom(r.Context())
	dseq, err := strconv.ParseUint(r.PathValue("dseq"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_dseq", "deployment sequence must be a decimal number")
		return
	}
	var m manifest.Manifest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "manifest: "+err.Error())
		return
	}
	leases, err := p.AcceptManifest(r.Context(), c.Address, dseq, m)
	if err != nil {
		status, code := http.StatusInternalServerError, "deploy_failed"
		switch {
		case errors.Is(err, ErrNotOwner):
			status, code = http.StatusForbidden, "not_owner"
		case errors.Is(err, ErrNoLease):
			status, code = http.StatusNotFound, "no_lease"
		case errors.Is(err, ErrHashMismatch):
			status, code = http.StatusConflict, "hash_mismatch"
		case errors.Is(err, ErrBadManifest):
			status, code = http.StatusUnprocessableEntity, "manifest_mismatch"
		case errors.Is(err, runtime.ErrInvalid):
			status, code = http.StatusUnprocessableEntity, "invalid_workload"
		}
		writeError(w, status, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"leases": leases})
}

// LeaseRequest names a lease in a signed status or logs call.
type LeaseRequest struct {
	Lease string `json:"lease"`
	LogOptions
}

func (p *Provider) leaseRequest(w http.ResponseWriter, r *http.Request) (LeaseRequest, bool) {
	var req LeaseRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Lease == "" {
		writeError(w, http.StatusBadRequest, "invalid_json", "want {\"lease\": \"owner/dseq/gseq/oseq/provider\"}")
		return req, false
	}
	return req, true
}

func leaseErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotOwner):
		writeError(w, http.StatusForbidden, "not_owner", err.Error())
	case errors.Is(err, ErrNoLease):
		writeError(w, http.StatusNotFound, "no_lease", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "runtime_error", err.Error())
	}
}

func (p *Provider) serveLeaseStatus(w http.ResponseWriter, r *http.Request) {
	c, _ := wire.CallerFrom(r.Context())
	req, ok := p.leaseRequest(w, r)
	if !ok {
		return
	}
	st, err := p.Status(r.Context(), c.Address, req.Lease)
	if err != nil {
		leaseErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (p *Provider) serveLeaseLogs(w http.ResponseWriter, r *http.Request) {
	c, _ := wire.CallerFrom(r.Context())
	req, ok := p.leaseRequest(w, r)
	if !ok {
		return
	}
	rc, err := p.Logs(r.Context(), c.Address, req.Lease, req.LogOptions)
	if err != nil {
		leaseErr(w, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// APIError is the JSON error body of the provider API.
type APIError struct {
	Error struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e APIError
	e.Error.Message, e.Error.Code = msg, code
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"encode response","code":"internal"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // the client is gone
}

// the returned server is shut down.
