package market

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// ProviderClient is a tenant's client of one provider's HTTP API; every
// call is signed with the tenant's account key.
type ProviderClient struct {
	BaseURL  string     // the provider's host URI from its on-chain record
	Provider tx.Address // the provider's account (the signature's receiver)
	Key      wire.Signer
	HTTP     *http.Client // nil = a client with a 30 s timeout (none for logs)
	// RetryFor bounds retries of manifest delivery while the provider has
	// not yet seen the lease or is unreachable; default 30 s.
	RetryFor time.Duration
}

// ProviderError is a non-2xx answer of a provider.
type ProviderError struct {
	Status  int
	Code    string
	Message string
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider: %s (%d %s)", e.Message, e.Status, e.Code)
}

func (c *ProviderClient) httpClient(stream bool) *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	if stream {
		return &http.Client{}
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *ProviderClient) do(ctx context.Context, method, path string, body any, stream bool) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, b, c.Key, c.Provider)
	resp, err := c.httpClient(stream).Do(req)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", c.BaseURL, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readProviderError(resp)
	}
	return resp, nil
}

func readProviderError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e APIError
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		return &ProviderError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	var we wire.ErrorBody
	if json.Unmarshal(raw, &we) == nil && we.Error.Message != "" {
		return &ProviderError{Status: resp.StatusCode, Code: we.Error.Code, Message: we.Error.Message}
	}
	return &ProviderError{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
}

// SendManifest delivers the deployment's manifest. It retries while the
// provider is unreachable, answers 5xx, or has not yet seen the lease
// (404), for up to RetryFor; a hash mismatch or a manifest that does not
// fit the lease fails at once.
func (c *ProviderClient) SendManifest(ctx context.Context, dseq uint64, m manifest.Manifest) ([]string, error) {
	limit := c.RetryFor
	if limit <= 0 {
		limit = 30 * time.Second
	}
	deadline := time.Now().Add(limit)
	wait := 200 * time.Millisecond
	for {
		resp, err := c.do(ctx, http.MethodPut, "/deployment/"+strconv.FormatUint(dseq, 10)+"/manifest", m, false)
		if err == nil {
			defer resp.Body.Close()
			var out struct {
				Leases []string `json:"leases"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return nil, fmt.Errorf("provider manifest answer: %w", err)
			}
			return out.Leases, nil
		}
		var pe *ProviderError
		retry := !errors.As(err, &pe) || pe.Status >= 500 || pe.Code == "no_lease"
		if !retry || time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// LeaseStatus asks for a lease's workload status.
func (c *ProviderClient) LeaseStatus(ctx context.Context, lease string) (LeaseStatus, error) {
	var st LeaseStatus
	resp, err := c.do(ctx, http.MethodPost, "/lease/status", LeaseRequest{Lease: lease}, false)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// Logs streams a lease's logs; the caller closes the reader.
func (c *ProviderClient) Logs(ctx context.Context, lease string, opts LogOptions) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodPost, "/lease/logs", LeaseRequest{Lease: lease, LogOptions: opts}, true)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Preflight asks the provider at baseURL whether it would bid on g.
func Preflight(ctx context.Context, hc *http.Client, baseURL, owner string, g lmarket.GroupSpec) (PreflightResponse, error) {
	var out PreflightResponse
	b, _ := json.Marshal(PreflightRequest{Owner: owner, Group: g})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/preflight", bytes.NewReader(b))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, fmt.Errorf("provider %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, readProviderError(resp)
	}
	return out, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
}
