package market

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the provider daemon's Prometheus series; they always exist
// (updating unregistered collectors is cheap) and ProviderOptions.Metrics
// registers them and turns on GET /metrics on the provider's API.
type metrics struct {
	bids      *prometheus.CounterVec // outcome: placed, timed_out
	leases    *prometheus.CounterVec // event: won, deployed, torn_down
	running   prometheus.GaugeFunc
	usage     *prometheus.CounterVec // outcome: ok, failed
	withdraws *prometheus.CounterVec // outcome: ok, failed
}

func newMetrics(p *Provider) *metrics {
	return &metrics{
		bids: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_provider_bids_total",
			Help: "Bids by outcome (placed, timed_out)."}, []string{"outcome"}),
		leases: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_provider_leases_total",
			Help: "Lease events (won, deployed, torn_down)."}, []string{"event"}),
		running: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "deai_provider_leases_running",
			Help: "Leases whose workload runs here."}, func() float64 {
			p.mu.Lock()
			defer p.mu.Unlock()
			n := 0
			for _, l := range p.leases {
				if l.deployed {
					n++
				}
			}
			return float64(n)
		}),
		usage: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_provider_usage_reports_total",
			Help: "Usage reports of usage-billed leases, by outcome."}, []string{"outcome"}),
		withdraws: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_provider_withdrawals_total",
			Help: "Escrow withdrawals, by outcome."}, []string{"outcome"}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.bids, m.leases, m.running, m.usage, m.withdraws} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
