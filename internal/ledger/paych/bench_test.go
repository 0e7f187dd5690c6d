package paych_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// benchVouchers returns n valid vouchers from 8 payers on 8 channels, as
// a payee serving many clients sees them.
func benchVouchers(b *testing.B, n int) []paych.SignedVoucher {
	vs := make([]paych.SignedVoucher, n)
	for i := range vs {
		payer := i % 8
		vs[i] = voucher(b, payer, paych.ChannelIDFor(addr(payer), addr(100), 0), uint32(i%16), uint64(i+1), tx.Amount(1000*(i+1)))
	}
	return vs
}

func report(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp*b.N)/b.Elapsed().Seconds(), "vouchers/s")
}

// BenchmarkVerify checks one voucher at a time (SignedVoucher.Verify).
func BenchmarkVerify(b *testing.B) {
	vs := benchVouchers(b, 64)
	b.ResetTimer()
	for i := range b.N {
		if !vs[i%len(vs)].Verify() {
			b.Fatal("invalid")
		}
	}
	report(b, 1)
}

// BenchmarkVerifyBatch checks batches with VerifyBatch on one goroutine.
func BenchmarkVerifyBatch(b *testing.B) {
	for _, n := range []int{16, 64, 256} {
		b.Run(itoa(n), func(b *testing.B) {
			vs := benchVouchers(b, n)
			b.ResetTimer()
			for range b.N {
				for _, ok := range paych.VerifyBatch(vs) {
					if !ok {
						b.Fatal("invalid")
					}
				}
			}
			report(b, n)
		})
	}
}

// BenchmarkVerifyBatchParallel checks batches of 64 with VerifyBatch on
// GOMAXPROCS goroutines at once, as a payee does on every core.
func BenchmarkVerifyBatchParallel(b *testing.B) {
	const n = 64
	vs := benchVouchers(b, n)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, ok := range paych.VerifyBatch(vs) {
				if !ok {
					b.Error("invalid")
					return
				}
			}
		}
	})
	report(b, n)
}

// BenchmarkRedeemBlock times redemption through the whole ledger
// (FinalizeBlock with tx signature checks, Commit, applying the write
// set): a block of 16 redeems of 64 vouchers each, every voucher the
// next one of its own lane on one of 16 channels. One op is one block.
// Signing is not timed.
func BenchmarkRedeemBlock(b *testing.B) {
	const payees, per = 16, 64
	p := testParams()
	p.MaxLanes = 1024
	h := newHarness(b, genesis(b, 2*payees, &p))
	h.NoCheck = true
	ids := make([]paych.ChannelID, payees)
	var txs [][]byte
	for i := range payees {
		ids[i] = paych.ChannelIDFor(addr(payees+i), addr(i), 0)
		txs = append(txs, h.Sign(payees+i, &paych.MsgOpenChannel{From: addr(payees + i), To: addr(i), Deposit: 1000 * tx.UnitsPerDEAI, SettleDelay: 10}))
	}
	h.Block(txs...)
	nonce := uint64(0)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		nonce++
		txs = txs[:0]
		for i := range payees {
			m := &paych.MsgRedeem{Payee: addr(i)}
			for l := range per {
				m.Vouchers = append(m.Vouchers, voucher(b, payees+i, ids[i], uint32(l), nonce, tx.Amount(nonce)))
			}
			txs = append(txs, h.Sign(i, m))
		}
		b.StartTimer()
		res := h.Block(txs...)
		b.StopTimer()
		for i, r := range res.TxResults {
			if !r.OK() {
				b.Fatalf("tx %d: %v %s", i, r.Code, r.Log)
			}
		}
		b.StartTimer()
	}
	report(b, payees*per)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
