package subnet

import (
	"slices"
	"testing"

	"github.com/deai-network/deai/internal/tx"
)

// TestDrawCommittee: distinct members, deterministic per seed, different
// across seeds, and weighted by stake.
func TestDrawCommittee(t *testing.T) {
	cands := []candidate{{tx.Address{1}, 1}, {tx.Address{2}, 1000}, {tx.Address{3}, 1}, {tx.Address{4}, 998}}
	counts := map[tx.Address]int{}
	seen := map[[2]tx.Address]bool{}
	for i := range 2000 {
		seed := CommitteeSeed([]byte{byte(i), byte(i >> 8)}, uint64(i), Digest{9})
		c, err := drawCommittee(cands, 2, seed)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := drawCommittee(cands, 2, seed)
		if len(c) != 2 || c[0] == c[1] || !slices.Equal(c, again) {
			t.Fatalf("seed %d: committee %v, again %v", i, c, again)
		}
		counts[c[0]]++
		seen[[2]tx.Address{c[0], c[1]}] = true
	}
	// The first draw picks by stake: 1000 and 998 of 2000 for the heavy
	// two, 1 each for the light ones.
	if counts[tx.Address{2}] < 850 || counts[tx.Address{4}] < 850 || counts[tx.Address{1}] > 20 || counts[tx.Address{3}] > 20 {
		t.Errorf("first members %v", counts)
	}
	if len(seen) < 3 {
		t.Errorf("%d distinct committees", len(seen))
	}
	all, _ := drawCommittee(cands, 4, Digest{})
	slices.SortFunc(all, func(a, b tx.Address) int { return int(a[0]) - int(b[0]) })
	if !slices.Equal(all, []tx.Address{{1}, {2}, {3}, {4}}) {
		t.Errorf("drawing everyone gave %v", all)
	}
	if CommitteeSeed(nil, 1, Digest{}) == CommitteeSeed([]byte{0}, 1, Digest{}) {
		t.Error("the block hash does not change the seed")
	}
}

// TestSubnetWithoutDisputeParams: a Subnet record written before the
// dispute params existed decodes with their defaults.
func TestSubnetWithoutDisputeParams(t *testing.T) {
	s := &Subnet{Netuid: 1, Name: "n", TaskType: TaskEmbedding, Digests: []Digest{{1}}, Params: DefaultParams(), N: 3}
	s.Params.SlashBPS = 7
	b := s.encode()
	old := b[:len(b)-disputeParamsLen]
	got, err := decodeSubnet(1, old)
	if err != nil {
		t.Fatal(err)
	}
	want := *s
	want.Params.SlashBPS = DefaultParams().SlashBPS
	if !slices.Equal(got.encode(), want.encode()) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	if got, err := decodeSubnet(1, b); err != nil || got.Params != s.Params {
		t.Errorf("round trip: %+v, %v", got, err)
	}
}
