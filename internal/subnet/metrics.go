package subnet

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deai-network/deai/internal/tx"
)

// registerer labels every series of one miner or validator with its subnet
// and hotkey, so several can share a process's registry.
func registerer(r prometheus.Registerer, netuid uint16, hotkey tx.Address) prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"netuid": strconv.Itoa(int(netuid)), "hotkey": hotkey.String()}, r)
}

func registerAll(r prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// minerMetrics are a miner's series; Options.Metrics registers them.
type minerMetrics struct {
	requests *prometheus.CounterVec // code
	duration prometheus.Histogram
	tokens   *prometheus.CounterVec // kind
}

func newMinerMetrics() *minerMetrics {
	return &minerMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_miner_requests_total",
			Help: "Requests to the miner by status code (rejected callers and busy answers included)."}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "deai_miner_request_duration_seconds",
			Help: "Time to answer a request.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_miner_tokens_total",
			Help: "Tokens of receipted answers by kind (prompt, completion); rate() gives tokens/s."}, []string{"kind"}),
	}
}

// instrument counts and times every request h serves.
func (m *minerMetrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		m.requests.WithLabelValues(strconv.Itoa(sw.status)).Inc()
		m.duration.Observe(time.Since(start).Seconds())
	})
}

// withMetrics serves GET /metrics from g and everything else with h.
func withMetrics(h http.Handler, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.Handle("/", h)
	return mux
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

// validatorMetrics are a validator's series; Options.Metrics registers
// them.
type validatorMetrics struct {
	epochs     prometheus.Counter
	challenges *prometheus.CounterVec // outcome
	weights    *prometheus.CounterVec // action
	epochTime  prometheus.Histogram
}

func newValidatorMetrics() *validatorMetrics {
	return &validatorMetrics{
		epochs: prometheus.NewCounter(prometheus.CounterOpts{Name: "deai_validator_epochs_graded_total",
			Help: "Tempos in which the validator graded the miners."}),
		challenges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_validator_challenges_total",
			Help: "Challenge queries by outcome: scored (above 0), zero (answered, scored 0), status (not 200), error (no answer)."}, []string{"outcome"}),
		weights: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "deai_validator_weight_sets_total",
			Help: "Weight txs by action (set, commit, reveal)."}, []string{"action"}),
		epochTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "deai_validator_epoch_duration_seconds",
			Help: "Time to grade a tempo and set its weights.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
}

func (m *validatorMetrics) challenge(got Response, score float64) {
	outcome := "zero"
	switch {
	case got.Err != nil:
		outcome = "error"
	case got.Status != http.StatusOK:
		outcome = "status"
	case score > 0:
		outcome = "scored"
	}
	m.challenges.WithLabelValues(outcome).Inc()
}
