package yuma_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/deai-network/deai/internal/ledger/yuma"
)

func ExampleEpoch() {
	// Two validators (uids 0, 1) grade three miners (uids 2, 3, 4).
	in := yuma.Input{
		Stake: []uint64{3_000, 1_000, 0, 0, 0},
		Weights: [][]yuma.Entry{
			{{UID: 2, Value: 65535}, {UID: 3, Value: 65535}},
			{{UID: 2, Value: 65535}, {UID: 4, Value: 65535}},
			nil, nil, nil,
		},
		Emission: 1_000_000_000,
	}
	out, err := yuma.Epoch(in, yuma.DefaultParams())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("consensus:", out.Consensus)
	fmt.Println("incentive:", out.Incentive)
	fmt.Println("dividends:", out.Dividends)
	fmt.Println("emission: ", out.Emission)
	// Output:
	// consensus: [0 0 32767 32767 0]
	// incentive: [0 0 37448 28086 0]
	// dividends: [56172 9362 0 0 0]
	// emission:  [428571429 71428571 285714286 214285714 0]
}

func ExampleSimulate() {
	in := `{"n": 3, "stake": [2, 1, 0], "params": {"max_validators": 2}, "emission": 1000,
		"epochs": [{"weights": [[0, 0, 65535], [0, 0, 65535], [0, 0, 0]]}, {"weights": null}]}`
	if err := yuma.Simulate(strings.NewReader(in), os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"epochs":[{"consensus":[0,0,1],"incentive":[0,0,1],"dividends":[0.6666666666666666,0.3333180743114366,0],"validator_trust":[1,1,0],"bonds":[[0,0,1],[0,0,0.49999237048905165],[0,0,0]],"emission":[333,167,500]},{"consensus":[0,0,1],"incentive":[0,0,1],"dividends":[0.6666666666666666,0.3333180743114366,0],"validator_trust":[1,1,0],"bonds":[[0,0,1],[0,0,0.49999237048905165],[0,0,0]],"emission":[333,167,500]}]}
}
