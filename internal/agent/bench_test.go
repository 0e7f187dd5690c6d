package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// benchVouchers signs n vouchers of price on `lanes` lanes, round robin,
// encoded as PAYMENT-SIGNATURE headers, all bound to reqHash.
func benchVouchers(b *testing.B, f *payFixture, n, lanes int, price tx.Amount, reqHash paych.RequestHash) [][]string {
	out := make([][]string, lanes)
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < (n+lanes-1)/lanes; i++ {
				v, err := paych.Voucher{ChainID: testChain, Channel: f.ch.ID, Lane: uint32(l), Nonce: uint64(i + 1),
					Amount: price * tx.Amount(i+1), RequestHash: reqHash}.Sign(f.payerKey)
				if err != nil {
					panic(err)
				}
				out[l] = append(out[l], EncodePaymentSignature(&v))
			}
		}()
	}
	wg.Wait()
	return out
}

// BenchmarkPaywallVerify is the paywall's per-request voucher path
// without HTTP: decode PAYMENT-SIGNATURE, check signature, channel and
// lane (Check), keep it (Settle). One lane per core, all cores busy.
func BenchmarkPaywallVerify(b *testing.B) {
	f := newPayFixture(b, 1, tx.Amount(1)<<60, 1, echo)
	reqHash := RequestHashOf("POST", "/v1/echo", []byte("x"))
	lanes := runtime.GOMAXPROCS(0)
	hdrs := benchVouchers(b, f, b.N, lanes, 1, reqHash)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, h := range hdrs[l][:min(len(hdrs[l]), (b.N+lanes-1)/lanes)] {
				v, err := DecodePaymentSignature(h)
				if err != nil {
					panic(err)
				}
				cl, perr := f.wall.Check(ctx, &v, 1, reqHash)
				if perr != nil {
					panic(perr)
				}
				f.wall.Settle(cl, true)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "vouchers/s")
}

// BenchmarkPaywallVerifyBatch is CheckBatch over batches of 64 vouchers
// (64 lanes, one voucher each per batch), one batch per core at a time.
func BenchmarkPaywallVerifyBatch(b *testing.B) {
	const batch = 64
	f := newPayFixture(b, 1, tx.Amount(1)<<60, 1, echo)
	reqHash := RequestHashOf("POST", "/v1/echo", []byte("x"))
	cores := runtime.GOMAXPROCS(0)
	rounds := (b.N + batch*cores - 1) / (batch * cores)
	// Core c uses lanes c*batch .. c*batch+63; round r is nonce r+1.
	hdrs := benchVouchers(b, f, rounds*batch*cores, batch*cores, 1, reqHash)
	hashes := slices.Repeat([]paych.RequestHash{reqHash}, batch)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vs := make([]paych.SignedVoucher, batch)
			for r := range rounds {
				for i := range vs {
					v, err := DecodePaymentSignature(hdrs[c*batch+i][r])
					if err != nil {
						panic(err)
					}
					vs[i] = v
				}
				claims, errs := f.wall.CheckBatch(ctx, vs, 1, hashes)
				for i, cl := range claims {
					if errs[i] != nil {
						panic(errs[i])
					}
					f.wall.Settle(cl, true)
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(rounds*batch*cores)/time.Since(start).Seconds(), "vouchers/s")
}

// BenchmarkPaidCallLatency interleaves an unpaid call to a plain handler
// and a paid call to the same handler behind the paywall, on loopback,
// and reports both p50s and the difference: with a 402 before every
// paid call (two round trips) and with Client.PayUpFront (one).
func BenchmarkPaidCallLatency(b *testing.B) {
	b.Run("402-each-call", func(b *testing.B) { benchPaidCall(b, false) })
	b.Run("pay-up-front", func(b *testing.B) { benchPaidCall(b, true) })
}

func benchPaidCall(b *testing.B, upFront bool) {
	f := newPayFixture(b, 1, tx.Amount(1)<<60, tx.Amount(1)<<60, echo)
	f.client.Transport.(*Client).PayUpFront = upFront
	plain := httptest.NewServer(echo)
	defer plain.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	unpaid := &http.Client{Transport: tr}
	call := func(c *http.Client, url string) time.Duration {
		t0 := time.Now()
		resp, err := c.Post(url, "text/plain", strings.NewReader("x"))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return time.Since(t0)
	}
	call(unpaid, plain.URL+"/v1/echo")
	call(f.client, f.srv.URL+"/v1/echo")
	un, paid := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		un = append(un, call(unpaid, plain.URL+"/v1/echo"))
		paid = append(paid, call(f.client, f.srv.URL+"/v1/echo"))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	pu, pp := p50(un), p50(paid)
	b.ReportMetric(float64(pu.Microseconds()), "unpaid-p50-µs")
	b.ReportMetric(float64(pp.Microseconds()), "paid-p50-µs")
	b.ReportMetric(float64((pp - pu).Microseconds()), "added-p50-µs")
}

// BenchmarkBudgetReserveCommit is one Reserve and Commit of 1udeai, from
// all cores: in memory, with the state file saved on every Reserve
// (fsync+rename), and with SaveSlack 1000udeai (a save per 1,000 calls).
func BenchmarkBudgetReserveCommit(b *testing.B) {
	for _, slack := range []tx.Amount{0, 1, 1000} {
		name := "memory"
		o := BudgetOptions{Policy: Policy{Total: tx.Amount(1) << 60, PerPeriod: tx.Amount(1) << 60, Period: time.Hour}}
		if slack > 0 {
			name, o.Path, o.SaveSlack = fmt.Sprintf("file-slack-%d", slack-1), b.TempDir()+"/budget.json", slack-1
		}
		b.Run(name, func(b *testing.B) {
			bud := mustBudget(b, o)
			ctx := context.Background()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := bud.Reserve(ctx, addr(1), 1)
					if err != nil {
						panic(err)
					}
					if err := r.Commit(1); err != nil {
						panic(err)
					}
				}
			})
		})
	}
}
