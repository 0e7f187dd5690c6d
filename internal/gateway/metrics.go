package gateway

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus series. They always exist (updating
// an unregistered collector is cheap); Options.Metrics registers them and
// turns on GET /metrics.
type metrics struct {
	requests      *prometheus.CounterVec   // route, model, code
	duration      *prometheus.HistogramVec // route, model
	tokens        *prometheus.CounterVec   // model, kind
	cache         *prometheus.CounterVec   // result
	vouchers      *prometheus.CounterVec   // outcome
	voucherAmount *prometheus.CounterVec   // outcome
	settlements   *prometheus.CounterVec   // outcome
	settledAmount prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_requests_total",
			Help: "HTTP requests by route, model (empty when unknown) and status code."}, []string{"route", "model", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "deai_gateway_request_duration_seconds",
			Help: "Time to answer a request, by route and model.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"route", "model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_tokens_total",
			Help: "Tokens of receipted answers, by model and kind (prompt, completion); rate() gives tokens/s."}, []string{"model", "kind"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_cache_requests_total",
			Help: "Cache lookups of deterministic requests, by result (hit, miss)."}, []string{"result"}),
		vouchers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_vouchers_total",
			Help: "Checked payment-channel vouchers by outcome (kept: will be redeemed, dropped)."}, []string{"outcome"}),
		voucherAmount: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_voucher_amount_total",
			Help: "Base units the checked vouchers added, by outcome."}, []string{"outcome"}),
		settlements: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_gateway_settlements_total",
			Help: "Settlement txs paying miners, by outcome (ok, failed)."}, []string{"outcome"}),
		settledAmount: prometheus.NewCounter(prometheus.CounterOpts{Name: "deai_gateway_settled_amount_total",
			Help: "Base units paid to miners by committed settlement txs."}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.tokens, m.cache, m.vouchers, m.voucherAmount, m.settlements, m.settledAmount} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) voucher(kept bool, delta uint64) {
	outcome := "dropped"
	if kept {
		outcome = "kept"
	}
	m.vouchers.WithLabelValues(outcome).Inc()
	m.voucherAmount.WithLabelValues(outcome).Add(float64(delta))
}

func (m *metrics) answered(model string, prompt, completion uint32) {
	m.tokens.WithLabelValues(model, "prompt").Add(float64(prompt))
	m.tokens.WithLabelValues(model, "completion").Add(float64(completion))
}

// metricsHandler serves the registry's series in the Prometheus text
// format.
func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// reqLabels carries the model a handler resolved back to instrument.
type reqLabels struct{ model string }

type reqLabelsKey struct{}

// setModel names the request's model for its metrics; only a model the
// network serves is named, so the label set stays bounded.
func setModel(r *http.Request, model string) {
	if l, ok := r.Context().Value(reqLabelsKey{}).(*reqLabels); ok {
		l.model = model
	}
}

// instrument counts and times every request by its mux pattern.
func (m *metrics) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &reqLabels{}
		r = r.WithContext(context.WithValue(r.Context(), reqLabelsKey{}, l))
		sw := &statusWriter{ResponseWriter: w}
		mux.ServeHTTP(sw, r) // sets r.Pattern
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.requests.WithLabelValues(r.Pattern, l.model, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(r.Pattern, l.model).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status code sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController flush the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *metrics) cacheLookup(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(result).Inc()
}

func (m *metrics) settled(ok bool, amount uint64) {
	if !ok {
		m.settlements.WithLabelValues("failed").Inc()
		return
	}
	m.settlements.WithLabelValues("ok").Inc()
	m.settledAmount.Add(float64(amount))
}
