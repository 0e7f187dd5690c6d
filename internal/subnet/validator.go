package subnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// Defaults for ValidatorOptions fields left zero.
const (
	DefaultQueryTimeout       = 12 * time.Second // one block, as Bittensor's dendrite
	DefaultChallengesPerTempo = 2
	DefaultAlpha              = 0.3
	DefaultLatencyWeight      = 0.2
	DefaultPollInterval       = time.Second
	maxAnswerBytes            = 8 << 20
)

// ValidatorOptions configure a Validator.
type ValidatorOptions struct {
	Netuid uint16
	Key    Key   // the validator's hotkey, registered with stake
	Chain  Chain // bound to Key
	// Reference answers challenges with the validator's own model: the
	// engine's OpenAI-compatible handler, adapted in internal/node.
	Reference http.Handler
	// Tasks grade each task type; nil means DefaultTasks.
	Tasks map[string]Task
	// Client sends the queries; nil is a plain http.Client.
	Client             *http.Client
	QueryTimeout       time.Duration // per challenge; default DefaultQueryTimeout
	ChallengesPerTempo int           // default DefaultChallengesPerTempo
	// Alpha is the weight of the newest round in each UID's moving
	// average: ema = alpha·score + (1−alpha)·ema.
	Alpha float64
	// LatencyWeight is the share of a correct answer's score that depends
	// on speed: score = quality · (1 − w + w·(1 − latency/timeout)).
	LatencyWeight float64
	PollInterval  time.Duration // how often Run looks at the chain head
	Logger        *slog.Logger
	// OnReceipt, when set, is handed every miner receipt a challenge
	// got, with the challenge body (internal/node passes them to a
	// verify.Auditor, which disputes the wrong ones); it must not block.
	OnReceipt func(r wire.Receipt, request []byte)
	// Metrics, when set, gets the validator's series (deai_validator_*,
	// labelled with netuid and hotkey); the caller serves them.
	Metrics prometheus.Registerer
}

// Validator grades a subnet's miners and sets weights. Build it with
// NewValidator; Run loops over Step.
type Validator struct {
	o   ValidatorOptions
	log *slog.Logger
	m   *validatorMetrics

	mu        sync.Mutex // guards the fields below
	lastEpoch int64      // last epoch graded; -1 before the first
	ema       map[uint16]score
	pending   *commit // committed, not yet revealed
}

type score struct {
	hotkey tx.Address // a new hotkey on the UID resets the average
	ema    float64
}

type commit struct {
	w        Weights
	salt     []byte
	revealAt int64 // epoch count at which the reveal is due
}

// NewValidator checks o and returns a Validator.
func NewValidator(o ValidatorOptions) (*Validator, error) {
	switch {
	case o.Key == nil:
		return nil, errors.New("new validator: no hotkey")
	case o.Chain == nil:
		return nil, errors.New("new validator: no chain")
	case o.Reference == nil:
		return nil, errors.New("new validator: no reference model")
	}
	if o.Tasks == nil {
		o.Tasks = DefaultTasks()
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.ChallengesPerTempo <= 0 {
		o.ChallengesPerTempo = DefaultChallengesPerTempo
	}
	if o.Alpha <= 0 || o.Alpha > 1 {
		o.Alpha = DefaultAlpha
	}
	if o.LatencyWeight <= 0 || o.LatencyWeight > 1 {
		o.LatencyWeight = DefaultLatencyWeight
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := newValidatorMetrics()
	if o.Metrics != nil {
		if err := registerAll(registerer(o.Metrics, o.Netuid, o.Key.Address()), m.epochs, m.challenges, m.weights, m.epochTime); err != nil {
			return nil, fmt.Errorf("new validator: register metrics: %w", err)
		}
	}
	return &Validator{
		o:         o,
		log:       log.With(logKeyComponent, "validator", logKeyNetuid, o.Netuid, logKeyHotkey, o.Key.Address().String()),
		m:         m,
		lastEpoch: -1,
		ema:       map[uint16]score{},
	}, nil
}

// Run checks that the hotkey is registered, then calls Step every
// PollInterval until ctx ends. Step errors are logged and retried at the
// next poll (a chain hiccup must not stop grading); Run returns nil when
// ctx ends.
func (v *Validator) Run(ctx context.Context) error {
	mg, err := v.o.Chain.Metagraph(ctx, v.o.Netuid)
	if err != nil {
		return fmt.Errorf("validator: read metagraph: %w", err)
	}
	if _, ok := mg.Neuron(v.o.Key.Address()); !ok {
		return fmt.Errorf("validator: hotkey %s is not registered on subnet %d", v.o.Key.Address(), v.o.Netuid)
	}
	t := time.NewTicker(v.o.PollInterval)
	defer t.Stop()
	for {
		if _, err := v.Step(ctx); err != nil && ctx.Err() == nil {
			v.log.WarnContext(ctx, "validator step failed", logKeyErr, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// StepResult says what one Step did.
type StepResult struct {
	Tempo    int64              // the subnet's epoch count at this step
	Graded   bool               // a new tempo began: miners were queried
	Scores   map[uint16]float64 // this round's scores, by UID
	Weights  *Weights           // weights set or committed this step
	Revealed *Weights           // weights revealed this step
}

// Step looks at the chain head once: it reveals a pending commit whose
// reveal is due, and when a new tempo has begun it grades the miners and
// sets (or commits) weights.
func (v *Validator) Step(ctx context.Context) (StepResult, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var res StepResult
	head, err := v.o.Chain.Head(ctx)
	if err != nil {
		return res, fmt.Errorf("read chain head: %w", err)
	}
	mg, err := v.o.Chain.Metagraph(ctx, v.o.Netuid)
	if err != nil {
		return res, fmt.Errorf("read metagraph: %w", err)
	}
	res.Tempo = mg.Epoch
	if p := v.pending; p != nil && res.Tempo >= p.revealAt {
		if err := v.o.Chain.RevealWeights(ctx, v.o.Netuid, p.w, p.salt); err != nil {
			return res, fmt.Errorf("reveal weights: %w", err)
		}
		v.pending, res.Revealed = nil, &p.w
		v.m.weights.WithLabelValues("reveal").Inc()
		v.log.InfoContext(ctx, "weights revealed", logKeyTempo, res.Tempo)
	}
	if res.Tempo <= v.lastEpoch {
		return res, nil
	}
	task, ok := v.o.Tasks[mg.TaskType]
	if !ok {
		return res, fmt.Errorf("subnet %d has task type %q, which this validator cannot grade", v.o.Netuid, mg.TaskType)
	}
	res.Graded = true
	start := time.Now()
	defer func() { v.m.epochTime.Observe(time.Since(start).Seconds()) }()
	v.m.epochs.Inc()
	res.Scores = v.grade(ctx, task, head, mg)
	v.lastEpoch = res.Tempo
	w := v.weightsLocked(mg)
	if len(w.UIDs) == 0 {
		v.log.InfoContext(ctx, "no miner earned weight this tempo", logKeyTempo, res.Tempo)
		return res, nil
	}
	switch {
	case !mg.CommitReveal:
		if err := v.o.Chain.SetWeights(ctx, v.o.Netuid, w); err != nil {
			return res, fmt.Errorf("set weights: %w", err)
		}
		v.m.weights.WithLabelValues("set").Inc()
	case v.pending != nil:
		return res, nil // the previous commit is still waiting for its reveal
	default:
		salt := make([]byte, 16)
		rand.Read(salt)
		if err := v.o.Chain.CommitWeights(ctx, v.o.Netuid, w, salt); err != nil {
			return res, fmt.Errorf("commit weights: %w", err)
		}
		v.m.weights.WithLabelValues("commit").Inc()
		delay := max(mg.RevealDelay, 1)
		v.pending = &commit{w: w, salt: salt, revealAt: res.Tempo + delay}
	}
	res.Weights = &w
	v.log.InfoContext(ctx, "weights set", logKeyTempo, res.Tempo, logKeyMiners, len(w.UIDs), "commit_reveal", mg.CommitReveal)
	return res, nil
}

// grade queries every serving miner with the round's challenges and folds
// the scores into the moving averages. Miners that do not serve (or no
// longer hold their UID) score 0.
func (v *Validator) grade(ctx context.Context, task Task, head Head, mg Metagraph) map[uint16]float64 {
	seed := ChallengeSeed(head.Hash, v.o.Key.PubKey())
	chs := task.Challenges(seed, v.o.ChallengesPerTempo)
	refs := make([]Response, len(chs))
	for i, ch := range chs {
		refs[i] = v.reference(ctx, ch)
	}
	scores := map[uint16]float64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range mg.Neurons {
		if n.Hotkey == v.o.Key.Address() || n.Serving.Endpoint == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sum float64
			for i, ch := range chs {
				got := v.query(ctx, n, ch)
				sc := v.score(task, ch, refs[i], got)
				v.m.challenge(got, sc)
				sum += sc
				if got.Receipt != nil && v.o.OnReceipt != nil {
					v.o.OnReceipt(*got.Receipt, ch.Body)
				}
			}
			mu.Lock()
			scores[n.UID] = sum / float64(len(chs))
			mu.Unlock()
		}()
	}
	wg.Wait()
	live := map[uint16]bool{}
	for _, n := range mg.Neurons {
		if n.Hotkey == v.o.Key.Address() {
			continue
		}
		live[n.UID] = true
		s := scores[n.UID]
		old, ok := v.ema[n.UID]
		if !ok || old.hotkey != n.Hotkey {
			old = score{hotkey: n.Hotkey} // new miner: start from 0, earn trust
		}
		old.ema = v.o.Alpha*s + (1-v.o.Alpha)*old.ema
		v.ema[n.UID] = old
		scores[n.UID] = s
	}
	for uid := range v.ema {
		if !live[uid] {
			delete(v.ema, uid)
		}
	}
	v.log.InfoContext(ctx, "graded miners", logKeyMiners, len(scores))
	return scores
}

// score combines availability, quality and latency into [0,1].
func (v *Validator) score(task Task, ch Challenge, ref, got Response) float64 {
	if got.Err != nil || got.Status != http.StatusOK || ref.Status != http.StatusOK {
		return 0
	}
	q := task.Quality(ch, ref, got)
	speed := 1 - math.Min(1, float64(got.Latency)/float64(v.o.QueryTimeout))
	w := v.o.LatencyWeight
	return q * (1 - w + w*speed)
}

// weightsLocked turns the moving averages into u16 weights, max-upscaled
// so the best miner gets 65535; zero averages get no weight.
func (v *Validator) weightsLocked(mg Metagraph) Weights {
	var best float64
	for _, s := range v.ema {
		best = math.Max(best, s.ema)
	}
	var w Weights
	if best <= 0 {
		return w
	}
	uids := make([]uint16, 0, len(v.ema))
	for uid := range v.ema {
		uids = append(uids, uid)
	}
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	for _, uid := range uids {
		val := math.Round(v.ema[uid].ema / best * math.MaxUint16)
		if val < 1 {
			continue
		}
		w.UIDs = append(w.UIDs, uid)
		w.Values = append(w.Values, uint16(val))
	}
	return w
}

// EMA returns the moving average of each UID (for status output and tests).
func (v *Validator) EMA() map[uint16]float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[uint16]float64, len(v.ema))
	for uid, s := range v.ema {
		out[uid] = s.ema
	}
	return out
}

// reference answers ch with the validator's own model, in process.
func (v *Validator) reference(ctx context.Context, ch Challenge) Response {
	req, err := http.NewRequestWithContext(ctx, methodOf(ch), "http://reference"+ch.Path, bytes.NewReader(ch.Body))
	if err != nil {
		return Response{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	start := time.Now()
	v.o.Reference.ServeHTTP(rec, req)
	return Response{Status: rec.statusOr200(), Header: rec.header, Body: rec.body.Bytes(), Latency: time.Since(start)}
}

func methodOf(ch Challenge) string {
	if ch.Method == "" {
		return http.MethodPost
	}
	return ch.Method
}

// query sends ch to miner n, signed, and checks its receipt.
func (v *Validator) query(ctx context.Context, n Neuron, ch Challenge) Response {
	ctx, cancel := context.WithTimeout(ctx, v.o.QueryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, methodOf(ch), n.Serving.Endpoint+ch.Path, bytes.NewReader(ch.Body))
	if err != nil {
		return Response{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, ch.Body, v.o.Key, n.Hotkey)
	start := time.Now()
	resp, err := v.o.Client.Do(req)
	if err != nil {
		return Response{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	lat := time.Since(start)
	if err != nil {
		return Response{Status: resp.StatusCode, Err: err, Latency: lat}
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Latency: lat}
	rc, err := wire.CheckResponse(resp, ch.Body, body, n.Hotkey)
	if err != nil {
		out.Err = fmt.Errorf("miner %d receipt: %w", n.UID, err)
		return out
	}
	out.Receipt = &rc
	return out
}

// recorder is an in-memory ResponseWriter for the reference model.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
func (r *recorder) Flush() {}
func (r *recorder) statusOr200() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
