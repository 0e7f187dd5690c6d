package subnet_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

func TestCreateSubnet(t *testing.T) {
	h := newHarness(t, genesis(t, 2, nil))
	before := h.balance(addr(0))
	netuid := h.createSubnet(0)
	if netuid != 1 {
		t.Fatalf("first netuid %d, want 1", netuid)
	}
	create := subnet.DefaultModuleParams().CreateBurn
	if got := h.balance(addr(0)); got != before-create-fee {
		t.Errorf("owner balance %s, want %s", got, before-create-fee)
	}
	if s := h.supply(); s.Burned != create+fee {
		t.Errorf("burned %s, want the creation burn %s plus the fee", s.Burned, create)
	}
	info := h.info(netuid)
	if info.Owner != addr(0) || info.Name != "test net" || info.TaskType != subnet.TaskTextGeneration ||
		len(info.AllowedDigests) != 1 || info.AllowedDigests[0] != digestA || info.N != 0 ||
		info.Params != subnet.DefaultParams() || info.Burn != 99807 || info.CreatedAt != 1 { // 0.1 DEAI · 2^(−1/360)
		t.Errorf("subnet info %+v", info)
	}
	if info.NextEpoch != info.CreatedAt+info.Tempo {
		t.Errorf("next epoch %d, want %d", info.NextEpoch, info.CreatedAt+info.Tempo)
	}
	if n2 := h.createSubnet(1); n2 != 2 {
		t.Errorf("second netuid %d, want 2", n2)
	}
	var list []subnet.SubnetInfo
	h.query("/subnet/list", &list)
	if len(list) != 2 || list[0].Netuid != 1 || list[1].Owner != addr(1) {
		t.Errorf("list %+v", list)
	}
}

func TestCreateSubnetRejections(t *testing.T) {
	mp := subnet.DefaultModuleParams()
	mp.SubnetLimit = 1
	g := genesis(t, 1, &mp)
	poor := ledger.GenesisAccount{Address: addr(1), Balance: 50 * tx.UnitsPerDEAI}
	g.Accounts = append(g.Accounts, poor)
	h := newHarness(t, g)
	d2 := subnet.Digest{0xbb}
	tests := []struct {
		name string
		from int
		msg  *subnet.MsgCreateSubnet
		want module.Reason
	}{
		{"bad task type", 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "Text Generation", Digests: []subnet.Digest{digestA}}, module.ReasonInvalid},
		{"no digests", 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "embedding"}, module.ReasonInvalid},
		{"unsorted digests", 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "embedding", Digests: []subnet.Digest{d2, digestA}}, module.ReasonInvalid},
		{"duplicate digests", 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "x", TaskType: "embedding", Digests: []subnet.Digest{digestA, digestA}}, module.ReasonInvalid},
		{"empty name", 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "", TaskType: "embedding", Digests: []subnet.Digest{digestA}}, module.ReasonInvalid},
		{"owner is not the signer", 0, &subnet.MsgCreateSubnet{Owner: addr(1), Name: "x", TaskType: "embedding", Digests: []subnet.Digest{digestA}}, module.ReasonUnauthorized},
		{"cannot pay the burn", 1, &subnet.MsgCreateSubnet{Owner: addr(1), Name: "x", TaskType: "embedding", Digests: []subnet.Digest{digestA}}, module.ReasonInsufficientFunds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			h.reject(tt.want, tt.from, tt.msg)
		})
	}
	h.t = t
	h.createSubnet(0)
	r := h.reject(module.ReasonInvalid, 0, &subnet.MsgCreateSubnet{Owner: addr(0), Name: "y", TaskType: "embedding", Digests: []subnet.Digest{digestA}})
	if !strings.Contains(r.Log, "limit") {
		t.Errorf("over the subnet limit: %s", r.Log)
	}
	h.supply()
}

// TestParamsBounds changes every parameter to just inside and just outside
// its bounds.
func TestParamsBounds(t *testing.T) {
	h := newHarness(t, genesis(t, 3, nil))
	netuid := h.createSubnet(0)
	h.ok(1, register(1, netuid))
	h.ok(2, register(2, netuid)) // n = 2: max_uids may not go below it
	type edit func(*subnet.Params)
	tests := []struct {
		name    string
		inside  edit
		outside edit
	}{
		{"tempo min", func(p *subnet.Params) { p.Tempo = subnet.MinTempo }, func(p *subnet.Params) { p.Tempo = subnet.MinTempo - 1 }},
		{"tempo max", func(p *subnet.Params) { p.Tempo, p.ActivityCutoff = subnet.MaxTempo, subnet.MaxTempo },
			func(p *subnet.Params) { p.Tempo, p.ActivityCutoff = subnet.MaxTempo+1, subnet.MaxTempo+1 }},
		{"kappa min", func(p *subnet.Params) { p.Kappa = subnet.MinKappa }, func(p *subnet.Params) { p.Kappa = subnet.MinKappa - 1 }},
		{"bonds moving average max", func(p *subnet.Params) { p.BondsMovingAverage = subnet.MaxBondsMovingAverage },
			func(p *subnet.Params) { p.BondsMovingAverage = subnet.MaxBondsMovingAverage + 1 }},
		{"max uids below n", func(p *subnet.Params) { p.MaxUIDs, p.MaxValidators = 2, 2 }, func(p *subnet.Params) { p.MaxUIDs, p.MaxValidators = 1, 1 }},
		{"max uids max", func(p *subnet.Params) { p.MaxUIDs = subnet.MaxMaxUIDs }, func(p *subnet.Params) { p.MaxUIDs = subnet.MaxMaxUIDs + 1 }},
		{"max validators min", func(p *subnet.Params) { p.MaxValidators = subnet.MinMaxValidators }, func(p *subnet.Params) { p.MaxValidators = 0 }},
		{"max validators above max uids", func(p *subnet.Params) { p.MaxValidators = p.MaxUIDs }, func(p *subnet.Params) { p.MaxValidators = p.MaxUIDs + 1 }},
		{"immunity period max", func(p *subnet.Params) { p.ImmunityPeriod = subnet.MaxImmunityPeriod }, func(p *subnet.Params) { p.ImmunityPeriod = subnet.MaxImmunityPeriod + 1 }},
		{"activity cutoff below tempo", func(p *subnet.Params) { p.ActivityCutoff = p.Tempo }, func(p *subnet.Params) { p.ActivityCutoff = p.Tempo - 1 }},
		{"activity cutoff max", func(p *subnet.Params) { p.ActivityCutoff = subnet.MaxActivityCutoff }, func(p *subnet.Params) { p.ActivityCutoff = subnet.MaxActivityCutoff + 1 }},
		{"weights rate limit max", func(p *subnet.Params) { p.WeightsRateLimit = subnet.MaxWeightsRateLimit }, func(p *subnet.Params) { p.WeightsRateLimit = subnet.MaxWeightsRateLimit + 1 }},
		{"min burn min", func(p *subnet.Params) { p.MinBurn = subnet.MinMinBurn }, func(p *subnet.Params) { p.MinBurn = 0 }},
		{"min burn above max burn", func(p *subnet.Params) { p.MinBurn = p.MaxBurn }, func(p *subnet.Params) { p.MinBurn = p.MaxBurn + 1 }},
		{"max burn max", func(p *subnet.Params) { p.MaxBurn = subnet.MaxMaxBurn }, func(p *subnet.Params) { p.MaxBurn = subnet.MaxMaxBurn + 1 }},
		{"burn half-life min", func(p *subnet.Params) { p.BurnHalfLife = subnet.MinBurnHalfLife }, func(p *subnet.Params) { p.BurnHalfLife = 0 }},
		{"burn half-life max", func(p *subnet.Params) { p.BurnHalfLife = subnet.MaxBurnHalfLife }, func(p *subnet.Params) { p.BurnHalfLife = subnet.MaxBurnHalfLife + 1 }},
		{"burn increase min", func(p *subnet.Params) { p.BurnIncreaseMult = subnet.MinBurnIncreaseMult }, func(p *subnet.Params) { p.BurnIncreaseMult = subnet.MinBurnIncreaseMult - 1 }},
		{"burn increase max", func(p *subnet.Params) { p.BurnIncreaseMult = subnet.MaxBurnIncreaseMult }, func(p *subnet.Params) { p.BurnIncreaseMult = subnet.MaxBurnIncreaseMult + 1 }},
		{"reveal period min", func(p *subnet.Params) { p.RevealPeriod = subnet.MinRevealPeriod }, func(p *subnet.Params) { p.RevealPeriod = 0 }},
		{"reveal period max", func(p *subnet.Params) { p.RevealPeriod = subnet.MaxRevealPeriod }, func(p *subnet.Params) { p.RevealPeriod = subnet.MaxRevealPeriod + 1 }},
		{"audit rate max", func(p *subnet.Params) { p.AuditRatePPM = subnet.MaxAuditRatePPM }, func(p *subnet.Params) { p.AuditRatePPM = subnet.MaxAuditRatePPM + 1 }},
		{"slash max", func(p *subnet.Params) { p.SlashBPS = subnet.MaxBPS }, func(p *subnet.Params) { p.SlashBPS = subnet.MaxBPS + 1 }},
		{"challenger reward max", func(p *subnet.Params) { p.ChallengerRewardBPS = subnet.MaxBPS }, func(p *subnet.Params) { p.ChallengerRewardBPS = subnet.MaxBPS + 1 }},
		{"jail max", func(p *subnet.Params) { p.JailBlocks = subnet.MaxJailBlocks }, func(p *subnet.Params) { p.JailBlocks = subnet.MaxJailBlocks + 1 }},
		{"dispute bond min", func(p *subnet.Params) { p.DisputeBond = subnet.MinDisputeBond }, func(p *subnet.Params) { p.DisputeBond = 0 }},
		{"dispute bond max", func(p *subnet.Params) { p.DisputeBond = subnet.MaxDisputeBond }, func(p *subnet.Params) { p.DisputeBond = subnet.MaxDisputeBond + 1 }},
		{"committee min", func(p *subnet.Params) { p.CommitteeSize = subnet.MinCommitteeSize }, func(p *subnet.Params) { p.CommitteeSize = 0 }},
		{"committee max", func(p *subnet.Params) { p.CommitteeSize = subnet.MaxCommitteeSize }, func(p *subnet.Params) { p.CommitteeSize = subnet.MaxCommitteeSize + 1 }},
		{"dispute blocks min", func(p *subnet.Params) { p.DisputeBlocks = subnet.MinDisputeBlocks }, func(p *subnet.Params) { p.DisputeBlocks = 0 }},
		{"dispute blocks max", func(p *subnet.Params) { p.DisputeBlocks = subnet.MaxTempo }, func(p *subnet.Params) { p.DisputeBlocks = subnet.MaxTempo + 1 }},
		{"receipt ttl min", func(p *subnet.Params) { p.ReceiptTTL = subnet.MinReceiptTTL }, func(p *subnet.Params) { p.ReceiptTTL = 0 }},
		{"receipt ttl max", func(p *subnet.Params) { p.ReceiptTTL = subnet.MaxReceiptTTL }, func(p *subnet.Params) { p.ReceiptTTL = subnet.MaxReceiptTTL + 1 }},
		{"alpha low min", func(p *subnet.Params) { p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaLow = true, 1638 },
			func(p *subnet.Params) { p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaLow = true, 1637 }},
		{"alpha low above alpha high", func(p *subnet.Params) { p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaLow = true, p.LiquidAlpha.AlphaHigh },
			func(p *subnet.Params) {
				p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaLow = true, p.LiquidAlpha.AlphaHigh+1
			}},
		{"alphas only while liquid alpha is on", func(p *subnet.Params) { p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaHigh = true, 60000 },
			func(p *subnet.Params) { p.LiquidAlpha.Enabled, p.LiquidAlpha.AlphaHigh = false, 60000 }},
		{"steepness", func(p *subnet.Params) { p.LiquidAlpha.Steepness = 0 }, func(p *subnet.Params) { p.LiquidAlpha.Steepness = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			for _, c := range []struct {
				e    edit
				want module.Reason
			}{{tt.outside, module.ReasonInvalid}, {tt.inside, module.OK}} {
				p := subnet.DefaultParams()
				c.e(&p)
				h.reject(c.want, 0, &subnet.MsgSetSubnetParams{Owner: addr(0), Netuid: netuid, Params: p})
			}
			var got subnet.Params
			h.query("/subnet/1/params", &got)
			want := subnet.DefaultParams()
			tt.inside(&want)
			if got != want {
				t.Errorf("stored params %+v, want %+v", got, want)
			}
			// Back to the defaults for the next case.
			h.reject(module.OK, 0, &subnet.MsgSetSubnetParams{Owner: addr(0), Netuid: netuid, Params: subnet.DefaultParams()})
		})
	}
	h.t = t
	h.reject(module.ReasonUnauthorized, 1, &subnet.MsgSetSubnetParams{Owner: addr(1), Netuid: netuid, Params: subnet.DefaultParams()})
	h.reject(module.ReasonUnauthorized, 1, &subnet.MsgSetSubnetParams{Owner: addr(0), Netuid: netuid, Params: subnet.DefaultParams()})
	h.reject(module.ReasonNotFound, 0, &subnet.MsgSetSubnetParams{Owner: addr(0), Netuid: 9, Params: subnet.DefaultParams()})
}

func TestAllowedDigestsAndServe(t *testing.T) {
	h := newHarness(t, genesis(t, 3, nil))
	netuid := h.createSubnet(0)
	h.ok(1, register(1, netuid))
	serve := func(d subnet.Digest, endpoint string) *subnet.MsgServe {
		return &subnet.MsgServe{Hotkey: addr(1), Netuid: netuid, Endpoint: endpoint, ProtocolVersion: 2, ModelDigest: d, Region: "eu-west"}
	}
	digestB := subnet.Digest{0xbb, 2}
	h.reject(module.ReasonInvalid, 1, serve(digestB, "http://10.0.0.1:8091"))
	h.reject(module.ReasonUnauthorized, 1, &subnet.MsgSetAllowedDigests{Owner: addr(1), Netuid: netuid, Digests: []subnet.Digest{digestB}})
	h.reject(module.ReasonUnauthorized, 2, &subnet.MsgSetAllowedDigests{Owner: addr(0), Netuid: netuid, Digests: []subnet.Digest{digestB}})
	h.ok(0, &subnet.MsgSetAllowedDigests{Owner: addr(0), Netuid: netuid, Digests: subnet.SortDigests([]subnet.Digest{digestB, digestA, digestB})})
	h.ok(1, serve(digestB, "https://miner.example.org:8443/v1"))
	var n subnet.NeuronInfo
	h.query("/subnet/1/neuron/"+addr(1).String(), &n)
	if n.Endpoint != "https://miner.example.org:8443/v1" || n.ModelDigest != digestB.String() || n.Region != "eu-west" ||
		n.ProtocolVersion != 2 || n.ServedAt != uint64(h.height) {
		t.Errorf("neuron after serve %+v", n)
	}
	h.reject(module.ReasonRateLimited, 1, serve(digestA, "http://[::1]:8091"))
	h.advanceTo(h.height + int64(subnet.DefaultModuleParams().ServingRateLimit))
	h.ok(1, serve(digestA, "http://[::1]:8091"))
	h.reject(module.ReasonNotFound, 2, &subnet.MsgServe{Hotkey: addr(2), Netuid: netuid, Endpoint: "http://a:1", ModelDigest: digestA})
	h.reject(module.ReasonInvalid, 1, serve(digestA, "ftp://x"))
	h.reject(module.ReasonUnauthorized, 2, serve(digestA, "http://a:1"))
}

func TestEndpoints(t *testing.T) {
	good := []string{
		"http://localhost:8091", "https://miner.example.org", "http://10.0.0.1:1/", "http://127.0.0.1:65535/v1/chat",
		"http://[::1]:8091", "http://[2001:db8::8a2e:370:7334]/", "http://[::ffff:192.0.2.1]:80", "http://[1:2:3:4:5:6:7:8]",
		"http://a.b-c.d/p%20q/~x", "https://UPPER.Example.COM/x;y=z",
	}
	bad := []string{
		"", "localhost:8091", "ftp://host", "http://", "http://:80", "http://host:0", "http://host:65536", "http://host:8o",
		"http://user@host", "http://host/?q=1", "http://host/#f", "http://-host", "http://host-/", "http://ho st",
		"http://[::1", "http://[::1]x", "http://[1:2:3:4:5:6:7:8:9]", "http://[1::2::3]", "http://[g::1]", "http://[1:2:3:4:5:6:7::8]",
		"http://host/%zz", "http://host/a b", "http://a..b", "HTTP://host", "http://host:", "http://[::1.2.3.256]",
		"http://" + strings.Repeat("a", 250) + ".com",
	}
	for _, s := range good {
		if err := subnet.ValidEndpoint(s); err != nil {
			t.Errorf("ValidEndpoint(%q) = %v, want ok", s, err)
		}
	}
	for _, s := range bad {
		if err := subnet.ValidEndpoint(s); err == nil {
			t.Errorf("ValidEndpoint(%q) = ok, want an error", s)
		}
	}
}

func TestQueries(t *testing.T) {
	h := newHarness(t, genesis(t, 2, nil))
	netuid := h.createSubnet(0)
	h.ok(1, register(1, netuid))
	h.ok(0, stake(0, 1, netuid, 5*tx.UnitsPerDEAI))
	var si subnet.StakeInfo
	h.query("/subnet/1/stake/"+addr(1).String(), &si)
	if si.Total != 5*tx.UnitsPerDEAI || len(si.Stakers) != 1 || si.Stakers[0].Staker != addr(0) {
		t.Errorf("stake info %+v", si)
	}
	var bi subnet.BurnInfo
	h.query("/subnet/burn/1", &bi)
	if bi.Netuid != 1 || bi.Block != uint64(h.height) || bi.Burn != h.info(netuid).Burn {
		t.Errorf("burn info %+v", bi)
	}
	var mp subnet.ModuleParams
	h.query("/subnet/params", &mp)
	if mp != subnet.DefaultModuleParams() {
		t.Errorf("module params %+v", mp)
	}
	var cs []subnet.CommitInfo
	h.query("/subnet/1/commits/"+addr(1).String(), &cs)
	if len(cs) != 0 {
		t.Errorf("commits %+v", cs)
	}
	errs := map[string]module.Reason{
		"/subnet/2":                            module.ReasonNotFound,
		"/subnet/0":                            module.ReasonBadQuery,
		"/subnet/x":                            module.ReasonBadQuery,
		"/subnet/70000":                        module.ReasonBadQuery,
		"/subnet/1/nope":                       module.ReasonBadQuery,
		"/subnet/1/neuron/deai1xyz":            module.ReasonBadQuery,
		"/subnet/1/neuron/" + addr(0).String(): module.ReasonNotFound,
		"/subnet/burn/9":                       module.ReasonNotFound,
		"/subnet/list/x":                       module.ReasonBadQuery,
		"/subnet":                              module.ReasonBadQuery,
	}
	for path, want := range errs {
		if _, err := h.l.Query(path); module.ReasonOf(err) != want {
			t.Errorf("query %s: %v, want %v", path, err, want)
		}
	}
	// The JSON field names the CLI and the daemons rely on.
	b, err := h.l.Query("/subnet/1/metagraph")
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Neurons []map[string]json.RawMessage `json:"neurons"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || len(raw.Neurons) != 1 {
		t.Fatalf("metagraph %s: %v", b, err)
	}
	for _, f := range []string{"uid", "hotkey", "stake", "rank", "trust", "consensus", "incentive", "dividends", "emission",
		"validator_trust", "validator_permit", "last_update", "registered_at", "active", "endpoint", "model_digest", "region", "bonds"} {
		if _, ok := raw.Neurons[0][f]; !ok {
			t.Errorf("metagraph neuron has no %q field: %s", f, b)
		}
	}
}

func TestGenesis(t *testing.T) {
	mp := subnet.DefaultModuleParams()
	mp.BlockEmission, mp.CreateBurn = 7, 0
	h := newHarness(t, genesis(t, 1, &mp))
	var got subnet.ModuleParams
	h.query("/subnet/params", &got)
	if got != mp {
		t.Errorf("params %+v, want %+v", got, mp)
	}
	h.createSubnet(0) // free to create
	if s := h.supply(); s.Burned != fee {
		t.Errorf("burned %s with a zero creation burn", s.Burned)
	}
	for _, bad := range []string{
		`{}`,
		`{"params": {"block_emission": "1"}}`,
		`{"params": {"block_emission": "1", "owner_cut": 1, "create_burn": "1", "initial_burn": "1", "subnet_limit": 0, "max_epochs_per_block": 1, "min_non_immune_uids": 1, "serving_rate_limit": 1}}`,
		`{"params": {"block_emission": "1", "owner_cut": 1, "create_burn": "1", "initial_burn": "1", "subnet_limit": 1, "max_epochs_per_block": 1, "min_non_immune_uids": 1, "serving_rate_limit": 1, "extra": 1}}`,
		`{"params": {"block_emission": "1", "owner_cut": 70000, "create_burn": "1", "initial_burn": "1", "subnet_limit": 1, "max_epochs_per_block": 1, "min_non_immune_uids": 1, "serving_rate_limit": 1}}`,
		`[]`,
	} {
		if err := subnet.New().ValidateGenesis(json.RawMessage(bad)); err == nil {
			t.Errorf("genesis %s accepted", bad)
		}
	}
	if err := subnet.New().ValidateGenesis(nil); err != nil {
		t.Errorf("absent section: %v", err)
	}
}
