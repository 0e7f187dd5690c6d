package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// handleDeposit credits an on-chain transfer to the gateway: POST
// {"tx_hash": "…"} with the key of the account that sent it. The tx must
// be committed with code 0; every bank/send in it from the key's account
// to the gateway's address counts. Each hash is credited once.
func (g *Gateway) handleDeposit(w http.ResponseWriter, r *http.Request) {
	ks, err := g.auth(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if g.o.Chain == nil {
		writeError(w, newAPIError(http.StatusNotImplemented, "invalid_request_error", "deposits_disabled", "this gateway takes no deposits"))
		return
	}
	var in struct {
		TxHash string `json:"tx_hash"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, newAPIError(http.StatusBadRequest, "invalid_request_error", "invalid_json", "want {\"tx_hash\": \"…\"}"))
		return
	}
	h, err := tx.ParseHash(strings.TrimSpace(in.TxHash))
	if err != nil {
		writeError(w, paramError("tx_hash", "tx_hash is not a tx hash"))
		return
	}
	hash := h.String()
	if err := g.accts.beginDeposit(hash); err != nil {
		writeError(w, err)
		return
	}
	amt, err := g.verifyDeposit(r, hash, ks.addr)
	if err == nil {
		err = g.store.Append(Record{Kind: recordDeposit, TimeMs: g.o.Now().UnixMilli(), Account: ks.addr, Amount: amt, TxHash: hash})
	}
	g.accts.endDeposit(hash, ks.addr, amt, err == nil)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		TxHash   string    `json:"tx_hash"`
		Credited tx.Amount `json:"credited"`
		Usage
	}{hash, amt, g.accts.usage(ks.addr)})
}

func (g *Gateway) verifyDeposit(r *http.Request, hash string, from tx.Address) (tx.Amount, error) {
	q, err := g.o.Chain.Query(r.Context(), "/tx/"+hash, nil)
	if err != nil {
		g.log.WarnContext(r.Context(), "deposit: query tx", logKeyErr, err)
		return 0, newAPIError(http.StatusServiceUnavailable, "server_error", "chain_unavailable", "the chain cannot be read; try again")
	}
	if q.Code != 0 {
		return 0, newAPIError(http.StatusNotFound, "invalid_request_error", "deposit_not_found", "no committed tx with this hash")
	}
	var rec ledger.TxRecord
	if err := json.Unmarshal(q.Value, &rec); err != nil {
		return 0, fmt.Errorf("decode tx record: %w", err)
	}
	if rec.Code != 0 || rec.Tx == nil {
		return 0, paramError("tx_hash", "the tx failed on chain")
	}
	var sum tx.Amount
	for _, m := range rec.Tx.Msgs {
		if m.Type != "bank/send" {
			continue
		}
		var s tx.MsgSend
		if err := json.Unmarshal(m.Value, &s); err != nil {
			return 0, fmt.Errorf("decode bank/send: %w", err)
		}
		if s.From == from && s.To == g.self {
			sum += s.Amount
		}
	}
	if sum == 0 {
		return 0, paramError("tx_hash", fmt.Sprintf("the tx sends nothing from %s to the gateway %s", from, g.self))
	}
	return sum, nil
}
