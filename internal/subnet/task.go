package subnet

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/wire"
)

// Challenge is one request a validator sends to every miner.
type Challenge struct {
	Method string // default POST
	Path   string // e.g. /v1/completions
	Body   []byte
}

// Response is an answer to a Challenge: a miner's, or the validator's own
// reference answer.
type Response struct {
	Status  int
	Header  http.Header // headers, and trailers of streams
	Body    []byte
	Latency time.Duration
	// Receipt is the miner's verified receipt (nil for the reference).
	Receipt *wire.Receipt
	// Err is a transport failure, timeout or invalid receipt; the answer
	// then scores 0.
	Err error
}

// Task challenges and grades one task type. Implementations must be safe
// for concurrent use.
type Task interface {
	// Challenges returns n challenges derived only from seed.
	Challenges(seed [32]byte, n int) []Challenge
	// Quality grades got against ref, the validator's own answer to ch, in
	// [0,1]. The validator handles availability (errors, non-200 status)
	// and latency itself.
	Quality(ch Challenge, ref, got Response) float64
}

// DefaultTasks returns the built-in tasks by task type.
func DefaultTasks() map[string]Task {
	return map[string]Task{TaskTextGeneration: TextGeneration{}, TaskEmbedding: Embedding{}}
}

// ChallengeSeed derives the seed of a validator's challenges for a block:
// sha256(domain ‖ block hash ‖ validator public key). Miners cannot know
// it before the block exists, and two validators ask different questions.
func ChallengeSeed(blockHash []byte, validator []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("deai/subnet/challenge/v1\x00"))
	h.Write(blockHash)
	h.Write(validator)
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

func rng(seed [32]byte, i int) *rand.Rand {
	var s [32]byte
	copy(s[:], seed[:])
	binary.BigEndian.PutUint32(s[28:], binary.BigEndian.Uint32(s[28:])^uint32(i))
	return rand.New(rand.NewChaCha8(s))
}

var (
	names    = []string{"Lily", "Tim", "Ben", "Sue", "Max", "Anna", "Tom", "Mia", "Sam", "Lucy"}
	animals  = []string{"dog", "cat", "bird", "bunny", "frog", "duck", "bear", "fish"}
	places   = []string{"park", "garden", "forest", "house", "beach", "school", "farm", "lake"}
	things   = []string{"ball", "kite", "box", "toy", "flower", "hat", "cake", "book"}
	openings = []string{
		"Once upon a time, there was a little %[3]s named %[1]s. %[1]s liked to",
		"One day, %[1]s went to the %[2]s. There was a big",
		"%[1]s had a red %[4]s. Every day, %[1]s",
		"In a small %[2]s lived a %[3]s. The %[3]s wanted to",
		"%[1]s and the %[3]s found a %[4]s in the %[2]s. They",
	}
)

// prompt builds a short story opening from r.
func prompt(r *rand.Rand) string {
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	return fmt.Sprintf(pick(openings), pick(names), pick(places), pick(animals), pick(things))
}

// TextGeneration grades deterministic text generation: greedy (temperature
// 0) completions with a fixed seed, re-executed by the validator on the
// same model; an answer counts only if its text and token digest are
// identical to the validator's.
type TextGeneration struct {
	// MaxTokens per challenge; 0 means 16.
	MaxTokens int
}

// Challenges implements Task.
func (t TextGeneration) Challenges(seed [32]byte, n int) []Challenge {
	max := t.MaxTokens
	if max <= 0 {
		max = 16
	}
	out := make([]Challenge, n)
	for i := range out {
		r := rng(seed, i)
		body, _ := json.Marshal(map[string]any{
			"prompt": prompt(r), "max_tokens": max, "temperature": 0, "seed": r.Int64N(1 << 53),
		})
		out[i] = Challenge{Method: http.MethodPost, Path: "/v1/completions", Body: body}
	}
	return out
}

// Quality implements Task: 1 for an exact match, else 0.
func (TextGeneration) Quality(_ Challenge, ref, got Response) float64 {
	rt, ok1 := completionText(ref.Body)
	gt, ok2 := completionText(got.Body)
	if !ok1 || !ok2 || rt != gt {
		return 0
	}
	want := ref.Header.Get(HeaderTokensDigest)
	if got.Receipt != nil && got.Receipt.TokensDigest != "" && want != "" && got.Receipt.TokensDigest != want {
		return 0 // same text from different tokens: not the same computation
	}
	return 1
}

// completionText returns the text of a /v1/completions or chat answer.
func completionText(b []byte) (string, bool) {
	var v struct {
		Choices []struct {
			Text    *string `json:"text"`
			Message *struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(b, &v) != nil || len(v.Choices) == 0 {
		return "", false
	}
	var sb strings.Builder
	for _, c := range v.Choices {
		switch {
		case c.Text != nil:
			sb.WriteString(*c.Text)
		case c.Message != nil:
			sb.WriteString(c.Message.Content)
		}
		sb.WriteByte(0)
	}
	return sb.String(), true
}

// Embedding grades embeddings by cosine similarity to the validator's own.
type Embedding struct{}

// Challenges implements Task.
func (Embedding) Challenges(seed [32]byte, n int) []Challenge {
	out := make([]Challenge, n)
	for i := range out {
		body, _ := json.Marshal(map[string]any{"input": prompt(rng(seed, i))})
		out[i] = Challenge{Method: http.MethodPost, Path: "/v1/embeddings", Body: body}
	}
	return out
}

// Quality implements Task: the cosine similarity, clipped to [0,1].
func (Embedding) Quality(_ Challenge, ref, got Response) float64 {
	a, ok1 := firstEmbedding(ref.Body)
	b, ok2 := firstEmbedding(got.Body)
	if !ok1 || !ok2 {
		return 0
	}
	return math.Max(0, Cosine(a, b))
}

func firstEmbedding(b []byte) ([]float64, bool) {
	var v struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &v) != nil || len(v.Data) == 0 || len(v.Data[0].Embedding) == 0 {
		return nil, false
	}
	return v.Data[0].Embedding, true
}

// Cosine returns the cosine similarity of a and b, 0 when their lengths
// differ or either is zero.
func Cosine(a, b []float64) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	c := dot / math.Sqrt(na*nb)
	if math.IsNaN(c) {
		return 0
	}
	return math.Min(1, c)
}
