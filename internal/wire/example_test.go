package wire_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

type key struct{ ed25519.PrivateKey }

func (k key) PubKey() ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }
func (k key) Sign(msg []byte) []byte    { return ed25519.Sign(k.PrivateKey, msg) }
func keyOf(b byte) key                  { return key{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, 32))} }
func (k key) address() tx.Address       { return tx.AddressFromPubKey(k.PubKey()) }

// A validator signs a request for a miner; the miner's Verifier admits it
// once and signs a receipt for its answer.
func Example() {
	validator, miner := keyOf(1), keyOf(2)
	v := wire.NewVerifier(wire.VerifierOptions{Self: miner.address()})
	h := v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := wire.CallerFrom(r.Context())
		answer := []byte(`{"ok":true}`)
		rc := wire.Receipt{RequestHash: c.RequestHash, ResponseHash: sha(answer), TimeUnixMs: 1}
		rc.Sign(miner)
		hv, _ := rc.EncodeHeader()
		w.Header().Set(wire.HeaderReceipt, hv)
		w.Write(answer)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	body := []byte(`{"prompt":"Once upon a time"}`)
	send := func(req *http.Request) *http.Response {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		return resp
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/completions", bytes.NewReader(body))
	wire.Sign(req, body, validator, miner.address())
	resp := send(req)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, err := wire.CheckResponse(resp, body, got, miner.address())
	fmt.Println(resp.StatusCode, err)

	again, _ := http.NewRequest("POST", srv.URL+"/v1/completions", bytes.NewReader(body))
	again.Header = req.Header.Clone()
	resp = send(again)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 <nil>
	// 409
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }
