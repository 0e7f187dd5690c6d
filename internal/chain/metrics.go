package chain

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics follows a node's committed blocks as Prometheus series:
// deai_block_height, deai_block_interval_seconds and deai_block_txs.
// Build it with NewMetrics and feed it with Run (or Observe).
type Metrics struct {
	height   prometheus.Gauge
	interval prometheus.Histogram
	txs      prometheus.Histogram
	last     time.Time // time of the last block observed; only Run's goroutine touches it
}

// NewMetrics registers the block series with r.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		height: prometheus.NewGauge(prometheus.GaugeOpts{Name: "deai_block_height",
			Help: "Height of the latest committed block."}),
		interval: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "deai_block_interval_seconds",
			Help: "Time between consecutive blocks (header times).", Buckets: prometheus.ExponentialBuckets(0.05, 2, 12)}),
		txs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "deai_block_txs",
			Help: "Transactions per block.", Buckets: []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}}),
	}
	for _, c := range []prometheus.Collector{m.height, m.interval, m.txs} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("register block metrics: %w", err)
		}
	}
	return m, nil
}

// Observe records one committed block.
func (m *Metrics) Observe(b *Block) {
	m.height.Set(float64(b.Height))
	m.txs.Observe(float64(len(b.Txs)))
	if !m.last.IsZero() && b.Time.After(m.last) {
		m.interval.Observe(b.Time.Sub(m.last).Seconds())
	}
	m.last = b.Time
}

// Run sets the height from c's status, then observes every new block until
// ctx ends; it returns nil then.
func (m *Metrics) Run(ctx context.Context, c Client) error {
	events, err := c.Subscribe(ctx, QueryNewBlock)
	if err != nil {
		return fmt.Errorf("block metrics: subscribe: %w", err)
	}
	if st, err := c.Status(ctx); err == nil {
		m.height.Set(float64(st.LatestHeight))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ev.Block != nil {
				m.Observe(ev.Block)
			}
		}
	}
}
