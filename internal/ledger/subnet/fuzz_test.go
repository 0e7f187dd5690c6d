package subnet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

func registry(tb testing.TB) *tx.Registry {
	tb.Helper()
	r := tx.NewRegistry()
	if err := subnet.New().RegisterMsgs(r); err != nil {
		tb.Fatal(err)
	}
	return r
}

// sampleMsgs has one valid message of every type.
func sampleMsgs() []tx.Msg {
	p := subnet.DefaultParams()
	p.LiquidAlpha.Steepness = -5 // encodes as a u16; invalid, but must round-trip
	ds := subnet.SortDigests([]subnet.Digest{{1, 2, 3}, {9}})
	return []tx.Msg{
		&subnet.MsgCreateSubnet{Owner: addr(0), Name: "text gen", TaskType: subnet.TaskTextGeneration, Digests: ds},
		&subnet.MsgSetSubnetParams{Owner: addr(0), Netuid: 3, Params: p},
		&subnet.MsgSetAllowedDigests{Owner: addr(0), Netuid: 3, Digests: ds},
		&subnet.MsgRegister{Hotkey: addr(1), Netuid: 3, MaxBurn: 12345},
		&subnet.MsgServe{Hotkey: addr(1), Netuid: 3, Endpoint: "http://[::1]:8091/v1", ProtocolVersion: 2, ModelDigest: ds[0], Region: "eu-west"},
		&subnet.MsgAddStake{Staker: addr(2), Hotkey: addr(1), Netuid: 3, Amount: 99},
		&subnet.MsgRemoveStake{Staker: addr(2), Hotkey: addr(1), Netuid: 3, Amount: 98},
		&subnet.MsgSetWeights{Hotkey: addr(1), Netuid: 3, UIDs: []uint16{0, 5, 2}, Weights: []uint16{1, 65535, 0}},
		&subnet.MsgCommitWeights{Hotkey: addr(1), Netuid: 3, Hash: subnet.CommitHash(3, addr(1), []uint16{1}, []uint16{2}, []byte("saltsalt"))},
		&subnet.MsgRevealWeights{Hotkey: addr(1), Netuid: 3, UIDs: []uint16{1}, Weights: []uint16{2}, Salt: []byte("saltsalt")},
		&subnet.MsgOpenDispute{Challenger: addr(2), Netuid: 3, Receipt: sampleReceipt(1, 3, []byte("req"), "t1"), Request: []byte("req"), Bond: 1_000_000},
		&subnet.MsgDisputeVote{Voter: addr(4), ID: 7, Guilty: true, TokensDigest: "t2"},
		&subnet.MsgEquivocation{Reporter: addr(2), ReceiptA: sampleReceipt(1, 3, []byte("req"), "t1"), ReceiptB: sampleReceipt(1, 3, []byte("req"), "t2")},
	}
}

func TestMsgsRoundTrip(t *testing.T) {
	reg := registry(t)
	ledgertest.CheckMsgs(t, reg, sampleMsgs(), ledgertest.MsgChecks{})
	if got := reg.Types(); len(got) != 13 || got[0] != subnet.TypeMsgCreateSubnet || got[9] != subnet.TypeMsgRevealWeights ||
		got[12] != subnet.TypeMsgEquivocation {
		t.Errorf("registered types %v", got)
	}
}

func TestValidateBasic(t *testing.T) {
	for _, m := range sampleMsgs() {
		err := m.ValidateBasic()
		if _, isParams := m.(*subnet.MsgSetSubnetParams); isParams {
			if err == nil {
				t.Error("negative steepness accepted")
			}
			continue
		}
		if err != nil {
			t.Errorf("%T: %v", m, err)
		}
	}
	bad := []tx.Msg{
		&subnet.MsgCreateSubnet{Name: "x", TaskType: "embedding", Digests: []subnet.Digest{{1}}},
		&subnet.MsgCreateSubnet{Owner: addr(0), Name: "x\n", TaskType: "embedding", Digests: []subnet.Digest{{1}}},
		&subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "embedding-", Digests: []subnet.Digest{{1}}},
		&subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "embedding", Digests: []subnet.Digest{{}}},
		&subnet.MsgRegister{Netuid: 1},
		&subnet.MsgServe{Hotkey: addr(1), Netuid: 1, Endpoint: "http://a:1", ModelDigest: subnet.Digest{}},
		&subnet.MsgServe{Hotkey: addr(1), Netuid: 1, Endpoint: "http://a:1", ModelDigest: subnet.Digest{1}, Region: "EU"},
		&subnet.MsgAddStake{Staker: addr(1), Netuid: 1, Amount: 1},
		&subnet.MsgCommitWeights{Hotkey: addr(1), Netuid: 1},
		&subnet.MsgRevealWeights{Hotkey: addr(1), Netuid: 1, UIDs: []uint16{1}, Weights: []uint16{1}, Salt: []byte("short")},
		&subnet.MsgOpenDispute{Netuid: 1, Receipt: []byte{1}, Bond: 1},
		&subnet.MsgOpenDispute{Challenger: addr(1), Netuid: 1, Bond: 1},
		&subnet.MsgOpenDispute{Challenger: addr(1), Netuid: 1, Receipt: []byte{1}},
		&subnet.MsgOpenDispute{Challenger: addr(1), Netuid: 1, Receipt: []byte{1}, Request: make([]byte, subnet.MaxRequestLen+1), Bond: 1},
		&subnet.MsgDisputeVote{ID: 1},
		&subnet.MsgDisputeVote{Voter: addr(1)},
		&subnet.MsgDisputeVote{Voter: addr(1), ID: 1, TokensDigest: strings.Repeat("x", subnet.MaxVoteDigestLen+1)},
		&subnet.MsgEquivocation{ReceiptA: []byte{1}, ReceiptB: []byte{1}},
		&subnet.MsgEquivocation{Reporter: addr(1), ReceiptB: []byte{1}},
		&subnet.MsgEquivocation{Reporter: addr(1), ReceiptA: []byte{1}},
	}
	for _, m := range bad {
		if err := m.ValidateBasic(); err == nil {
			t.Errorf("%T %+v: accepted", m, m)
		}
	}
}

// FuzzDecodeMsgs checks every message decoder: no panics, and whatever
// decodes is canonical (re-encodes to the input) and survives
// ValidateBasic and JSON. An input is a type index byte and a body. The
// seed corpus lives in testdata/fuzz/FuzzDecodeMsgs (regenerate with
// go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecodeMsgs(f *testing.F) {
	ledgertest.FuzzDecodeMsgs(f, registry(f), fuzzSeeds(), func(t *testing.T, m tx.Msg) {
		if s, ok := m.(tx.Spender); ok {
			_ = s.Spend()
		}
	})
}

func fuzzSeeds() [][]byte { return ledgertest.FuzzSeeds(sampleMsgs(), []byte{7, 0xff, 0xff, 0xff}) }

// TestWriteFuzzCorpus keeps the committed seed corpus in step with
// fuzzSeeds; it only writes when asked with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	ledgertest.WriteCorpus(t, fuzzSeeds(), func(name string, data []byte) error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return os.WriteFile(name, data, 0o644)
	})
}
