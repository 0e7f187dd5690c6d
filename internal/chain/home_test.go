package chain_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	cfg "github.com/cometbft/cometbft/config"
	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/chain"
)

func TestInitHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	if chain.IsInitialized(home) {
		t.Fatal("IsInitialized on a missing home")
	}
	appState := json.RawMessage(`{"accounts":[{"address":"deai1x","balance":"100"}]}`)
	info, err := chain.InitHome(chain.HomeOptions{
		Home: home, ChainID: "devnet-1", Moniker: "m", AppState: appState,
		BlockTime: 750 * time.Millisecond, RPCAddr: "tcp://127.0.0.1:1234", P2PAddr: "tcp://127.0.0.1:1235",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !chain.IsInitialized(home) {
		t.Fatal("IsInitialized after InitHome = false")
	}
	if info.NodeID == "" || len(info.ValidatorAddress) != 20 || len(info.ValidatorPubKey) != 32 || len(info.GenesisHash) != 32 {
		t.Errorf("HomeInfo = %+v", info)
	}

	// The settings are in CometBFT's own config.toml and load back.
	c, err := chain.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"moniker": c.Moniker, "timeout_commit": c.Consensus.TimeoutCommit, "timeout_propose": c.Consensus.TimeoutPropose,
		"rpc": c.RPC.ListenAddress, "p2p": c.P2P.ListenAddress, "indexer": c.TxIndex.Indexer,
		"prometheus": c.Instrumentation.Prometheus, "pex": c.P2P.PexReactor, "mempool": c.Mempool.Size,
		"db": c.DBBackend, "root": c.RootDir,
	}
	want := map[string]any{
		"moniker": "m", "timeout_commit": 750 * time.Millisecond, "timeout_propose": chain.DefaultProposeTimeout,
		"rpc": "tcp://127.0.0.1:1234", "p2p": "tcp://127.0.0.1:1235", "indexer": "null",
		"prometheus": false, "pex": false, "mempool": chain.DefaultMempoolSize,
		"db": "goleveldb", "root": home,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loaded config (-want +got):\n%s", diff)
	}

	// Genesis is written once: a second init refuses, and the file is
	// byte-for-byte unchanged.
	genesis, err := os.ReadFile(chain.GenesisFile(home))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(genesis, []byte(`"deai1x"`)) || !bytes.Contains(genesis, []byte(`"devnet-1"`)) {
		t.Errorf("genesis lacks the app state or chain ID:\n%s", genesis)
	}
	if _, err := chain.InitHome(chain.HomeOptions{Home: home, ChainID: "other"}); !errors.Is(err, chain.ErrAlreadyInitialized) {
		t.Errorf("second InitHome error = %v, want ErrAlreadyInitialized", err)
	}
	if again, _ := os.ReadFile(chain.GenesisFile(home)); !bytes.Equal(again, genesis) {
		t.Error("second InitHome changed genesis.json")
	}

	read, err := chain.ReadHomeInfo(home)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(info, read); diff != "" {
		t.Errorf("ReadHomeInfo (-InitHome +read):\n%s", diff)
	}
}

func TestInitHomeBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts chain.HomeOptions
	}{
		{"no home", chain.HomeOptions{}},
		{"bad app state", chain.HomeOptions{AppState: json.RawMessage(`{"a":`)}},
		{"negative block time", chain.HomeOptions{BlockTime: -time.Second}},
		{"unknown indexer", chain.HomeOptions{TxIndexer: "psql"}},
		{"bad chain id", chain.HomeOptions{ChainID: strings.Repeat("x", 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "no home" {
				tt.opts.Home = filepath.Join(t.TempDir(), "h")
			}
			if _, err := chain.InitHome(tt.opts); err == nil {
				t.Fatal("InitHome succeeded")
			}
			if tt.opts.Home != "" {
				if _, err := os.Stat(chain.GenesisFile(tt.opts.Home)); err == nil {
					t.Error("a failed InitHome left a genesis.json behind")
				}
			}
		})
	}
}

// Corrupt key files give an error, not a process exit (CometBFT's own
// loader calls os.Exit) and not a panic.
func TestCorruptHome(t *testing.T) {
	tests := []struct {
		name, file string
	}{
		{"validator key", filepath.Join("config", "priv_validator_key.json")},
		{"validator state", filepath.Join("data", "priv_validator_state.json")},
		{"node key", filepath.Join("config", "node_key.json")},
		{"config", filepath.Join("config", "config.toml")},
		{"genesis", filepath.Join("config", "genesis.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := chain.InitHome(chain.HomeOptions{Home: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(info.Home, tt.file), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := chain.NewNode(context.Background(), chain.NodeOptions{Home: info.Home, App: kvstore.NewInMemoryApplication()})
			if err == nil {
				n.Stop()
				t.Fatal("NewNode on a corrupt home succeeded")
			}
		})
	}
}

func TestInitTestnet(t *testing.T) {
	out := t.TempDir()
	net, err := chain.InitTestnet(chain.TestnetOptions{N: 4, OutDir: out, ChainID: "tn", BasePort: 40000, AppState: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(net.Nodes) != 4 {
		t.Fatalf("%d nodes", len(net.Nodes))
	}
	first, err := os.ReadFile(chain.GenesisFile(chain.NodeHome(out, 0)))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range net.Nodes {
		if n.Home != chain.NodeHome(out, i) || !chain.IsInitialized(n.Home) {
			t.Errorf("node %d home %q not initialized", i, n.Home)
		}
		gen, _ := os.ReadFile(chain.GenesisFile(n.Home))
		if !bytes.Equal(gen, first) || !bytes.Equal(n.GenesisHash, net.GenesisHash) {
			t.Errorf("node %d genesis differs from node 0's", i)
		}
		for j, m := range net.Nodes {
			if !bytes.Contains(gen, []byte(`"`+strings.ToUpper(hex.EncodeToString(m.ValidatorAddress))+`"`)) {
				t.Errorf("node %d genesis lacks validator %d", i, j)
			}
		}
		c, err := chain.LoadConfig(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		wantP2P := "tcp://127.0.0.1:" + strconv.Itoa(40000+10*i)
		wantRPC := "tcp://127.0.0.1:" + strconv.Itoa(40000+10*i+1)
		if c.P2P.ListenAddress != wantP2P || c.RPC.ListenAddress != wantRPC || n.RPCAddr != wantRPC {
			t.Errorf("node %d listens on %s / %s, want %s / %s", i, c.P2P.ListenAddress, c.RPC.ListenAddress, wantP2P, wantRPC)
		}
		if !c.P2P.AllowDuplicateIP || c.P2P.AddrBookStrict || c.P2P.PexReactor || c.Consensus.TimeoutPropose != chain.DefaultProposeTimeout {
			t.Errorf("node %d: loopback settings missing: %+v", i, c.P2P)
		}
		peers := strings.Split(c.P2P.PersistentPeers, ",")
		if len(peers) != 3 {
			t.Errorf("node %d has %d persistent peers, want 3: %q", i, len(peers), c.P2P.PersistentPeers)
		}
		for j, m := range net.Nodes {
			has := strings.Contains(c.P2P.PersistentPeers, m.NodeID+"@127.0.0.1:"+strconv.Itoa(40000+10*j))
			if has != (i != j) {
				t.Errorf("node %d lists node %d as a peer: %v", i, j, has)
			}
		}
	}
	if _, err := chain.InitTestnet(chain.TestnetOptions{N: 4, OutDir: out}); !errors.Is(err, chain.ErrAlreadyInitialized) {
		t.Errorf("InitTestnet over an existing one: %v, want ErrAlreadyInitialized", err)
	}
	for _, bad := range []chain.TestnetOptions{{N: 0, OutDir: out}, {N: 2}, {N: 2, OutDir: out, BasePort: 65530}} {
		if _, err := chain.InitTestnet(bad); err == nil {
			t.Errorf("InitTestnet(%+v) succeeded", bad)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		check   func(*cfg.Config) string
		wantErr string
	}{
		{"empty keeps defaults", "", func(c *cfg.Config) string {
			return cmp.Diff(cfg.DefaultConfig().Consensus.TimeoutCommit, c.Consensus.TimeoutCommit)
		}, ""},
		{"duration", "[consensus]\ntimeout_commit = \"250ms\"\n", func(c *cfg.Config) string {
			return cmp.Diff(250*time.Millisecond, c.Consensus.TimeoutCommit)
		}, ""},
		{"base and nested", "moniker = \"x\"\n[p2p]\nallow_duplicate_ip = true\nmax_num_inbound_peers = 7\n", func(c *cfg.Config) string {
			return cmp.Diff([]any{"x", true, 7}, []any{c.Moniker, c.P2P.AllowDuplicateIP, c.P2P.MaxNumInboundPeers})
		}, ""},
		{"comma list and quoted int", "[statesync]\nrpc_servers = \"a:1, b:2\"\nchunk_fetchers = \"9\"\n", func(c *cfg.Config) string {
			return cmp.Diff([]any{[]string{"a:1", "b:2"}, int32(9)}, []any{c.StateSync.RPCServers, c.StateSync.ChunkFetchers})
		}, ""},
		{"array list", "[rpc]\ncors_allowed_origins = [\"*\"]\n", func(c *cfg.Config) string {
			return cmp.Diff([]string{"*"}, c.RPC.CORSAllowedOrigins)
		}, ""},
		{"unknown key", "[consensus]\ntimeout_comit = \"1s\"\n", nil, "consensus.timeout_comit"},
		{"bad duration", "[consensus]\ntimeout_commit = \"soon\"\n", nil, "consensus.timeout_commit"},
		{"wrong type", "[p2p]\npex = \"yes\"\n", nil, "p2p.pex"},
		{"table expected", "p2p = 3\n", nil, "p2p"},
		{"int overflow", "[statesync]\nchunk_fetchers = 99999999999\n", nil, "out of range"},
		{"negative uint", "[statesync]\nmax_snapshot_chunks = -1\n", nil, "out of range"},
		{"bad toml", "[consensus\n", nil, "decode toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := chain.DecodeConfig([]byte(tt.toml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := tt.check(c); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// What CometBFT writes, DecodeConfig reads back unchanged.
func TestConfigRoundTrip(t *testing.T) {
	info, err := chain.InitTestnet(chain.TestnetOptions{N: 2, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	home := info.Nodes[1].Home
	c, err := chain.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	c.StateSync.RPCServers = []string{"a:1", "b:2"}
	c.RPC.CORSAllowedOrigins = []string{"http://x"}
	path := filepath.Join(t.TempDir(), "config.toml")
	cfg.WriteConfigFile(path, c)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err := chain.DecodeConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	back.SetRoot(home)
	all := cmp.Exporter(func(reflect.Type) bool { return true })
	if diff := cmp.Diff(c, back, all); diff != "" {
		t.Errorf("round trip (-written +read):\n%s", diff)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	for _, s := range []string{"", "moniker = \"a\"\n", "[consensus]\ntimeout_commit = \"1s\"\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := chain.DecodeConfig(data)
		if err != nil {
			return
		}
		if c == nil || c.RPC == nil || c.Consensus == nil {
			t.Fatal("nil config without an error")
		}
	})
}

// A node joining an existing network takes its genesis byte for byte.
func TestInitHomeJoinsExistingGenesis(t *testing.T) {
	net, err := chain.InitTestnet(chain.TestnetOptions{N: 1, OutDir: t.TempDir(), ChainID: "joined"})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := os.ReadFile(chain.GenesisFile(net.Nodes[0].Home))
	if err != nil {
		t.Fatal(err)
	}
	info, err := chain.InitHome(chain.HomeOptions{Home: t.TempDir(), Genesis: gen, PersistentPeers: net.Nodes[0].NodeID + "@127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(chain.GenesisFile(info.Home))
	if !bytes.Equal(got, gen) || info.ChainID != "joined" || !bytes.Equal(info.GenesisHash, net.GenesisHash) {
		t.Errorf("joined home: chain %q, genesis equal %v", info.ChainID, bytes.Equal(got, gen))
	}
	if _, err := chain.InitHome(chain.HomeOptions{Home: t.TempDir(), Genesis: []byte(`{"chain_id":`)}); err == nil {
		t.Error("InitHome with a broken genesis succeeded")
	}
}
