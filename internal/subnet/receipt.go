package subnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"hash"
	"net/http"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/wire"
)

// HeaderTokensDigest is the response header (a trailer on streams) in which
// the built-in engine's server reports the digest of the generated token
// ids; the miner copies it into the receipt.
const HeaderTokensDigest = "X-Deai-Tokens-Digest"

// receiptWriter wraps a backend's ResponseWriter and signs a receipt over
// exactly the bytes sent. A plain response is buffered so the receipt can
// go in a header; a stream (text/event-stream) is passed through, flushed
// as the backend flushes, and its receipt goes in a trailer.
type receiptWriter struct {
	w       http.ResponseWriter
	status  int
	started bool
	stream  bool
	buf     bytes.Buffer // plain responses
	sum     hash.Hash    // streams
	usage   usageScanner
}

func newReceiptWriter(w http.ResponseWriter) *receiptWriter {
	return &receiptWriter{w: w, sum: sha256.New()}
}

func (rw *receiptWriter) Header() http.Header { return rw.w.Header() }

func (rw *receiptWriter) WriteHeader(code int) {
	if rw.started {
		return
	}
	rw.started, rw.status = true, code
	h := rw.w.Header()
	if strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		rw.stream = true
		h.Add("Trailer", wire.HeaderReceipt)
		h.Del("Content-Length")
		rw.w.WriteHeader(code)
	}
}

func (rw *receiptWriter) Write(p []byte) (int, error) {
	if !rw.started {
		rw.WriteHeader(http.StatusOK)
	}
	if !rw.stream {
		return rw.buf.Write(p)
	}
	rw.sum.Write(p)
	rw.usage.Write(p)
	return rw.w.Write(p)
}

// Flush passes flushes through for streams only.
func (rw *receiptWriter) Flush() {
	if rw.stream {
		http.NewResponseController(rw.w).Flush() //nolint:errcheck // a failed flush surfaces on the next write
	}
}

// Unwrap lets http.ResponseController reach deadlines of the connection.
func (rw *receiptWriter) Unwrap() http.ResponseWriter { return rw.w }

// finish signs the receipt and sends what is still held back.
func (rw *receiptWriter) finish(r wire.Receipt, key wire.Signer) error {
	if !rw.started {
		rw.WriteHeader(http.StatusOK)
	}
	h := rw.w.Header()
	if rw.stream {
		copy(r.ResponseHash[:], rw.sum.Sum(nil))
	} else {
		r.ResponseHash = sha256.Sum256(rw.buf.Bytes())
		rw.usage.parseJSON(rw.buf.Bytes())
	}
	r.PromptTokens, r.CompletionTokens = rw.usage.prompt, rw.usage.completion
	r.TokensDigest = h.Get(HeaderTokensDigest)
	if len(r.TokensDigest) > wire.MaxTokensDigestLen {
		r.TokensDigest = ""
	}
	if err := r.Sign(key); err != nil {
		return err
	}
	v, err := r.EncodeHeader()
	if err != nil {
		return err
	}
	h.Set(wire.HeaderReceipt, v)
	if rw.stream {
		return nil // set after the body: sent as a trailer
	}
	h.Set("Content-Length", strconv.Itoa(rw.buf.Len()))
	rw.w.WriteHeader(rw.status)
	_, err = rw.w.Write(rw.buf.Bytes())
	return err
}

// usageScanner finds the OpenAI "usage" object of a JSON response or of
// the events of a stream (sent when stream_options.include_usage is set).
type usageScanner struct {
	line       []byte
	prompt     uint32
	completion uint32
}

// maxEventLine bounds the bytes kept of one stream line.
const maxEventLine = 64 << 10

func (u *usageScanner) Write(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(u.line)+len(p) <= maxEventLine {
				u.line = append(u.line, p...)
			}
			return
		}
		if len(u.line)+i <= maxEventLine {
			u.line = append(u.line, p[:i]...)
			if data, ok := bytes.CutPrefix(bytes.TrimSpace(u.line), []byte("data:")); ok && bytes.Contains(data, []byte(`"usage"`)) {
				u.parseJSON(bytes.TrimSpace(data))
			}
		}
		u.line = u.line[:0]
		p = p[i+1:]
	}
}

func (u *usageScanner) parseJSON(b []byte) {
	var v struct {
		Usage *struct {
			PromptTokens     uint32 `json:"prompt_tokens"`
			CompletionTokens uint32 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(b, &v) == nil && v.Usage != nil {
		u.prompt, u.completion = v.Usage.PromptTokens, v.Usage.CompletionTokens
	}
}
