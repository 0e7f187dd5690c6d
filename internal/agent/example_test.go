package agent_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// channels is a fixed ChannelSource; a service uses agent.LedgerChain.
type channels map[paych.ChannelID]paych.Channel

func (c channels) Channel(_ context.Context, id paych.ChannelID) (paych.Channel, error) {
	ch, ok := c[id]
	if !ok {
		return ch, agent.ErrUnknownChannel
	}
	return ch, nil
}

func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune(b)), 32)))
}

// A buyer pays a seller 5udeai per call through a payment channel, under
// a budget of 12udeai: the third call is refused by the budget, before
// any voucher is signed.
func Example() {
	buyer, seller := seedKey(1), seedKey(2)
	from := tx.AddressFromPubKey(buyer.Public().(ed25519.PublicKey))
	to := tx.AddressFromPubKey(seller.Public().(ed25519.PublicKey))
	ch := paych.Channel{ID: paych.ChannelIDFor(from, to, 0), From: from, To: to, State: paych.ChannelOpen, Balance: 1000, SettleDelay: 900}

	wall, _ := agent.NewPaywall(agent.PaywallOptions{ChainID: "deai-1", Key: seller, Channels: channels{ch.ID: ch},
		Price: func(*http.Request) tx.Amount { return 5 }})
	srv := httptest.NewServer(wall.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a fact")
	})))
	defer srv.Close()

	budget, _ := agent.NewBudget(agent.BudgetOptions{Policy: agent.Policy{Total: 12, PerPeriod: 100, Period: 24 * time.Hour}})
	payer, _ := agent.NewPayer(agent.PayerOptions{Key: buyer, ChainID: "deai-1", Channel: ch.ID, Payee: to, Deposit: ch.Balance, Budget: budget})
	client := &http.Client{Transport: &agent.Client{Payer: payer, MaxPrice: 10}}
	for range 3 {
		resp, err := client.Get(srv.URL + "/fact")
		if err != nil {
			fmt.Println("refused:", strings.Contains(err.Error(), agent.ErrBudgetExceeded.Error()))
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(b))
	}
	fmt.Println("spent", budget.Usage().Spent, "earned", wall.Earned(ch.ID))
	// Output:
	// 200 a fact
	// 200 a fact
	// refused: true
	// spent 10udeai earned 10udeai
}
