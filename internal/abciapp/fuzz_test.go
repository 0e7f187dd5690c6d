package abciapp_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/deai-network/deai/internal/abciapp"
)

// FuzzCheckTx feeds arbitrary bytes to CheckTx (new and recheck) and to the
// proposal handlers: they must never panic or return a Go error, and a
// rejected tx must carry a known code.
func FuzzCheckTx(f *testing.F) {
	valid := transfer(f, 0, 0, fee, addr(1), 1)
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(append(append([]byte{}, valid...), 0))
	f.Add([]byte{})
	f.Add([]byte{1, 9})
	f.Add(transfer(f, 0, 3, fee, addr(1), 1))
	nd := started(f, 2)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []abci.CheckTxType{abci.CheckTxType_New, abci.CheckTxType_Recheck} {
			r, err := nd.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: b, Type: typ})
			if err != nil {
				t.Fatalf("Go error: %v", err)
			}
			if r.Code == abciapp.CodeInternal {
				t.Fatalf("code %d %q", r.Code, r.Log)
			}
			if r.Code != 0 && r.Log == "" {
				t.Fatalf("code %d without a log", r.Code)
			}
		}
		if _, err := nd.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{b}, MaxTxBytes: 1 << 20}); err != nil {
			t.Fatal(err)
		}
		if _, err := nd.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{b}}); err != nil {
			t.Fatal(err)
		}
	})
}
