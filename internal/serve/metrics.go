package serve

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are deai serve's Prometheus series, registered (and GET /metrics
// served) when Options.Metrics is set.
type metrics struct {
	requests   *prometheus.CounterVec   // route, code
	duration   *prometheus.HistogramVec // route
	tokens     *prometheus.CounterVec   // model, kind
	generation *prometheus.HistogramVec // model: completion tokens per second of one generation
}

func newMetrics(r prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_serve_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "deai_serve_request_duration_seconds",
			Help: "Time to answer a request, by route.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_serve_tokens_total",
			Help: "Tokens processed, by model and kind (prompt, completion, embedding); rate() gives tokens/s."}, []string{"model", "kind"}),
		generation: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "deai_serve_generation_tokens_per_second",
			Help: "Completion tokens per second of each generation, by model.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}, []string{"model"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.tokens, m.generation} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// instrument counts each request by its mux pattern (bounded labels).
func (m *metrics) instrument(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		_, route := mux.Handler(r)
		if route == "" {
			route = "other"
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// countingBackend counts the tokens a Backend processes.
type countingBackend struct {
	Backend
	m *metrics
}

func (b countingBackend) Complete(ctx context.Context, req CompletionRequest, emit func(text string) error) (Completion, error) {
	start := time.Now()
	c, err := b.Backend.Complete(ctx, req, emit)
	if err == nil {
		id := b.Info().ID
		b.m.tokens.WithLabelValues(id, "prompt").Add(float64(c.PromptTokens))
		b.m.tokens.WithLabelValues(id, "completion").Add(float64(c.CompletionTokens))
		if d := time.Since(start).Seconds(); d > 0 && c.CompletionTokens > 0 {
			b.m.generation.WithLabelValues(id).Observe(float64(c.CompletionTokens) / d)
		}
	}
	return c, err
}

func (b countingBackend) Embed(ctx context.Context, inputs []string) (Embeddings, error) {
	e, err := b.Backend.Embed(ctx, inputs)
	if err == nil {
		b.m.tokens.WithLabelValues(b.Info().ID, "embedding").Add(float64(e.PromptTokens))
	}
	return e, err
}

func metricsHandler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
