package market

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

// Pricer prices one group for one provider, using the concrete resources
// the inventory reserved (a wildcard GPU request is priced as the model
// actually reserved: market spec §10, pain point 2). The result is udeai
// per block for the whole group; ErrNoBid means "do not bid".
type Pricer interface {
	Price(ctx context.Context, q PriceQuery) (uint64, error)
}

// ErrNoBid is returned by a Pricer that declines to bid.
var ErrNoBid = errors.New("no bid")

// PriceQuery is what a Pricer sees.
type PriceQuery struct {
	Owner    string             // the tenant's address
	Group    *lmarket.GroupSpec // what the order asks for
	MaxPrice uint64             // the order's ceiling, udeai per block
	Reserved *Reservation       // what the inventory set aside for it
}

// PriceTable is the linear pricing strategy (Akash's "scale"): a price
// per block for each resource, summed over every replica, rounded up to a
// whole udeai. Amounts are udeai per block and may be fractional.
type PriceTable struct {
	CPUCore   float64            // per 1000 millicores
	MemoryGiB float64            // per GiB of memory
	Storage   map[string]float64 // per GiB, by class ("default", "beta2", "ram", ...); missing = "default"
	Endpoint  float64            // per exposed global endpoint
	// GPU per device by model, keyed "h100", "a100.80Gi" (model.ram, the
	// most specific match wins) or "*" for any other model.
	GPU map[string]float64
}

// DefaultPriceTable is derived from the stock Akash price script targets
// (USD per month: CPU 1.60/thread, memory 0.80/GB, ephemeral storage
// 0.02/GB, SSD 0.03/GB, endpoint 0.05, GPU 100) at 1 DEAI = 1 USD and a
// 500 ms block (5,184,000 blocks a month), so that a devnet lease of one
// CPU and 512 MiB costs a few udeai per block.
var DefaultPriceTable = PriceTable{
	CPUCore:   0.31,
	MemoryGiB: 0.16,
	Storage:   map[string]float64{"default": 0.004, lmarket.StorageHDD: 0.002, lmarket.StorageSSD: 0.006, lmarket.StorageNVMe: 0.008, lmarket.StorageRAM: 0.16},
	Endpoint:  0.01,
	GPU:       map[string]float64{"*": 19.3, "h100": 38.6, "a100": 23.1, "t4": 15.4},
}

// Validate rejects negative, NaN or all-zero tables.
func (t *PriceTable) Validate() error {
	vals := []float64{t.CPUCore, t.MemoryGiB, t.Endpoint}
	for _, v := range t.Storage {
		vals = append(vals, v)
	}
	for _, v := range t.GPU {
		vals = append(vals, v)
	}
	nonzero := false
	for _, v := range vals {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("price table: %v: want a finite price >= 0", v)
		}
		nonzero = nonzero || v > 0
	}
	if !nonzero {
		return errors.New("price table: every price is zero")
	}
	return nil
}

// Price implements Pricer.
func (t *PriceTable) Price(_ context.Context, q PriceQuery) (uint64, error) {
	const gib = float64(1 << 30)
	total := 0.0
	for i := range q.Group.Units {
		u := &q.Group.Units[i]
		r := &u.Resources
		per := t.CPUCore*float64(r.CPUMilli)/1000 + t.MemoryGiB*float64(r.MemoryBytes)/gib
		for _, v := range r.Storage {
			class := v.Class
			if class == "" {
				class = lmarket.StorageDefault
			}
			p, ok := t.Storage[class]
			if !ok {
				p = t.Storage[lmarket.StorageDefault]
			}
			per += p * float64(v.SizeBytes) / gib
		}
		per += t.Endpoint * float64(len(r.Endpoints))
		total += per * float64(u.Count)
	}
	if q.Reserved != nil {
		for _, p := range q.Reserved.Placements {
			for _, d := range p.GPUs {
				total += t.gpuPrice(d)
			}
		}
	}
	if total <= 0 {
		return 0, fmt.Errorf("%w: the price table prices this group at zero", ErrNoBid)
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("%w: price overflows", ErrNoBid)
	}
	return uint64(math.Ceil(total)), nil
}

func (t *PriceTable) gpuPrice(d GPUDevice) float64 {
	m := strings.ToLower(d.Model)
	if p, ok := t.GPU[m+"."+d.RAM]; ok && d.RAM != "" {
		return p
	}
	if p, ok := t.GPU[m]; ok {
		return p
	}
	return t.GPU["*"]
}

// ScriptPricer runs an external pricing script per order (Akash's
// shellScript strategy, the same contract): one JSON document on stdin
// (ScriptInput), exactly one decimal number on stdout (udeai per block for
// the whole group, rounded up to a whole udeai). A non-zero exit, a
// timeout or unparsable output means no bid. The environment carries
// DEAI_OWNER and DEAI_DENOM, and AKASH_OWNER and AKASH_DENOM so stock
// Akash scripts run unchanged.
type ScriptPricer struct {
	Path    string
	Timeout time.Duration // default 10 s
	sem     chan struct{} // bounds concurrent scripts (32)
}

// DefaultScriptTimeout and MaxScriptProcs are Akash's defaults.
const (
	DefaultScriptTimeout = 10 * time.Second
	MaxScriptProcs       = 32
	maxScriptOutput      = 4 << 10
)

// NewScriptPricer returns a pricer for the executable at path.
func NewScriptPricer(path string, timeout time.Duration) (*ScriptPricer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("pricing script: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("pricing script %s: not an executable file", path)
	}
	if timeout <= 0 {
		timeout = DefaultScriptTimeout
	}
	return &ScriptPricer{Path: path, Timeout: timeout, sem: make(chan struct{}, MaxScriptProcs)}, nil
}

// ScriptInput is the JSON a pricing script reads (Akash's shape; memory
// and storage in bytes, cpu in millicores, GPU with the reserved model).
type ScriptInput struct {
	Resources      []ScriptResource `json:"resources"`
	Price          ScriptPrice      `json:"price"`
	PricePrecision int              `json:"price_precision"`
}

// ScriptResource is one resource unit in ScriptInput.
type ScriptResource struct {
	CPU              uint64          `json:"cpu"`
	Memory           uint64          `json:"memory"`
	GPU              ScriptGPU       `json:"gpu"`
	Storage          []ScriptStorage `json:"storage"`
	Count            uint32          `json:"count"`
	EndpointQuantity int             `json:"endpoint_quantity"`
	IPLeaseQuantity  int             `json:"ip_lease_quantity"`
}

// ScriptGPU is the GPU of a ScriptResource.
type ScriptGPU struct {
	Units      uint32                                  `json:"units"`
	Attributes map[string]map[string]map[string]string `json:"attributes,omitempty"` // vendor -> nvidia -> {model, ram, interface}
}

// ScriptStorage is one volume of a ScriptResource.
type ScriptStorage struct {
	Class string `json:"class"`
	Size  uint64 `json:"size"`
}

// ScriptPrice is the order's ceiling.
type ScriptPrice struct {
	Denom  string `json:"denom"`
	Amount string `json:"amount"`
}

// Input builds the script's stdin document for q.
func (q PriceQuery) Input() ScriptInput {
	in := ScriptInput{Price: ScriptPrice{Denom: "udeai", Amount: strconv.FormatUint(q.MaxPrice, 10)}, PricePrecision: 0}
	for i := range q.Group.Units {
		u := &q.Group.Units[i]
		r := ScriptResource{CPU: u.Resources.CPUMilli, Memory: u.Resources.MemoryBytes, Count: u.Count, GPU: ScriptGPU{Units: u.Resources.GPU.Units}}
		for _, v := range u.Resources.Storage {
			class := v.Class
			if class == "" {
				class = "ephemeral"
			}
			r.Storage = append(r.Storage, ScriptStorage{Class: class, Size: v.SizeBytes})
		}
		for _, e := range u.Resources.Endpoints {
			if e.Kind == lmarket.EndpointLeasedIP {
				r.IPLeaseQuantity++
			} else {
				r.EndpointQuantity++
			}
		}
		if q.Reserved != nil {
			for _, p := range q.Reserved.Placements {
				if p.Unit == u.ID && len(p.GPUs) > 0 {
					d := p.GPUs[0]
					m := map[string]string{"model": d.Model}
					if d.RAM != "" {
						m["ram"] = d.RAM
					}
					if d.Interface != "" {
						m["interface"] = d.Interface
					}
					r.GPU.Attributes = map[string]map[string]map[string]string{"vendor": {d.Vendor: m}}
					break
				}
			}
		}
		in.Resources = append(in.Resources, r)
	}
	return in
}

// Price implements Pricer.
func (s *ScriptPricer) Price(ctx context.Context, q PriceQuery) (uint64, error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	in, err := json.Marshal(q.Input())
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.Path)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "DEAI_OWNER="+q.Owner, "DEAI_DENOM=udeai", "AKASH_OWNER="+q.Owner, "AKASH_DENOM=udeai")
	var out, stderr limitedBuffer
	out.max, stderr.max = maxScriptOutput, maxScriptOutput
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return 0, fmt.Errorf("%w: pricing script %s timed out after %s", ErrNoBid, s.Path, s.Timeout)
		}
		return 0, fmt.Errorf("%w: pricing script %s: %v: %s", ErrNoBid, s.Path, err, strings.TrimSpace(stderr.String()))
	}
	txt := strings.TrimSpace(out.String())
	v, err := strconv.ParseFloat(txt, 64)
	if err != nil || strings.ContainsAny(txt, " \n\t") || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: pricing script %s printed %q: want one non-negative decimal number", ErrNoBid, s.Path, truncate(txt, 64))
	}
	if v == 0 {
		return 0, fmt.Errorf("%w: pricing script %s priced the order at zero", ErrNoBid, s.Path)
	}
	return uint64(math.Ceil(v)), nil
}

// limitedBuffer keeps the first max bytes written and drops the rest, so a
// runaway script cannot exhaust memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
