package node_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// upOnce runs node.Up on home until stop, and returns what it started.
func upOnce(t *testing.T, home string, cfg config.Config) (node.UpInfo, chain.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan node.UpInfo, 1)
	done := make(chan error, 1)
	go func() {
		done <- node.Up(ctx, node.UpOptions{Home: home, Config: cfg, DevPassphrase: []byte("test"), Model: modelPath,
			GatewayAddr: "127.0.0.1:0", AgentsDir: filepath.Join("..", "..", "examples", "agents"), Tempo: 10}, func(i node.UpInfo) error {
			ready <- i
			return nil
		})
	}()
	var info node.UpInfo
	select {
	case info = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("up: %v", err)
	case <-time.After(90 * time.Second):
		cancel()
		t.Fatal("up did not come up in 90 s")
	}
	c, err := chain.Dial(ctx, info.RPC)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		c.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("up stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return info, c, stop
}

// freshUpHome initialises a home for node.Up with 200 ms blocks on free
// ports, and points the example agents at free ports with a 2 s pipeline.
func freshUpHome(t *testing.T) (string, config.Config) {
	t.Helper()
	t.Setenv("PIPELINE_EVERY", "2s")
	t.Setenv("FETCHER_LISTEN", freeListen(t))
	t.Setenv("SUMMARIZER_LISTEN", freeListen(t))
	t.Setenv("PIPELINE_LISTEN", freeListen(t))
	home := t.TempDir()
	cfg := config.Default()
	cfg.Chain.BlockTime = config.Duration{Duration: 200 * time.Millisecond}
	cfg.Chain.RPCAddr = "tcp://" + freeListen(t)
	cfg.Chain.P2PAddr = "tcp://" + freeListen(t)
	if _, err := node.Init(node.InitOptions{Home: home, Config: cfg, DevPassphrase: []byte("test"),
		KDF: wallet.KDF{Name: wallet.KDFArgon2id, Time: 1, MemoryKiB: 8, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	return home, cfg
}

// TestUpWholeNetwork is issue 9's end to end from a clean home: deai up
// starts the chain, a subnet serving stories260K with three miners and a
// validator, a gateway and the example agents; the gateway answers a chat
// completion through the OpenAI Go SDK with the printed API key, the
// validator sets weights, an epoch pays the miners, the example pipeline
// agent spends within its budget, and a second up resumes the same
// network.
func TestUpWholeNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole network")
	}
	home, cfg := freshUpHome(t)
	info, c, stop := upOnce(t, home, cfg)
	ctx := t.Context()
	if info.Netuid == 0 || len(info.Miners) != 3 || info.Gateway == "" || info.APIKey == "" || len(info.Agents) != 3 || info.Resumed {
		t.Fatalf("up started %+v", info)
	}

	client := openai.NewClient(option.WithBaseURL(info.Gateway+"/"), option.WithAPIKey(info.APIKey), option.WithMaxRetries(0))
	cc, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: info.ModelID, MaxTokens: openai.Int(16),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")}})
	if err != nil || len(cc.Choices) == 0 || cc.Choices[0].Message.Content == "" {
		t.Fatalf("chat completion through the gateway: %+v, %v", cc, err)
	}

	// Every daemon's metrics at the gateway's /metrics.
	resp, err := http.Get(info.Metrics)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, series := range []string{"deai_block_height", "deai_gateway_requests_total", "deai_miner_requests_total", "deai_gateway_tokens_total"} {
		if !strings.Contains(string(raw), series) {
			t.Errorf("%s has no %s", info.Metrics, series)
		}
	}

	// The validator sets weights and an epoch pays the miners.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var mg lsubnet.Metagraph
		if err := queryJSON(ctx, c, "/subnet/1/metagraph", &mg); err != nil {
			t.Fatal(err)
		}
		weights, paid := false, 0
		for _, n := range mg.Neurons {
			if n.Hotkey == info.Validator && len(n.Weights) > 0 {
				weights = true
			}
			if n.Hotkey != info.Validator && n.Hotkey != info.GatewayAddr && n.Incentive > 0 && n.Emission > 0 {
				paid++
			}
		}
		if weights && paid >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: validator weights %v, miners paid by an epoch %d of 3", weights, paid)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// A lease runs a container on the devnet's provider (Docker).
	t.Run("lease runs a container", func(t *testing.T) {
		cli := runtimetest.Docker(t)
		if info.ProviderRuntime != "docker" {
			t.Fatalf("a Docker Engine answers but the provider runs %q (%s)", info.ProviderRuntime, info.ProviderHint)
		}
		image := runtimetest.BuildEchoImage(ctx, t, cli)
		ks, err := wallet.Open(node.KeysDir(home))
		if err != nil {
			t.Fatal(err)
		}
		dev, err := ks.Load(node.DevKeyName, []byte("test"))
		if err != nil {
			t.Fatal(err)
		}
		lr, err := node.AgentLeaser(c, dev).Lease(ctx, runner.LeaseRequest{SDL: []byte(fmt.Sprintf(echoSDL, image, "hello-from-up", 1000)),
			Deposit: 5 * tx.UnitsPerDEAI, MaxPrice: 1000, BidWait: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if lr.Provider != info.ProviderAddr || len(lr.Endpoints) != 1 {
			t.Fatalf("lease %+v, provider %s", lr, info.ProviderAddr)
		}
		// The container's server may take a moment after the port opens.
		var body []byte
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get("http://" + lr.Endpoints[0] + "/")
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(body), "hello-from-up") {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the container answered %q, %v", body, err)
			}
		}
		id, err := lmarket.ParseLeaseID(lr.Lease)
		if err != nil {
			t.Fatal(err)
		}
		if err := market.NewTenant(c, dev).CloseLease(ctx, id); err != nil {
			t.Fatal(err)
		}
		// The provider removes the container of a closed lease.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if _, err := http.Get("http://" + lr.Endpoints[0] + "/"); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the container of the closed lease still answers after 30 s")
			}
		}
	})

	// The example pipeline buys from the fetcher and the summarizer within
	// its budget; its signed log says so.
	logPath := filepath.Join(home, "agents", "pipeline", "audit.log")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if raw, _ := os.ReadFile(logPath); strings.Contains(string(raw), `"kind":"run_done"`) {
			break
		}
		if time.Now().After(deadline) {
			raw, _ := os.ReadFile(logPath)
			t.Fatalf("the pipeline finished no run in 60 s; its log:\n%s", raw)
		}
	}
	stop()
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	es, err := agent.ReadAuditLog(f, nil)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	paid, payments := agent.SumAudit(es, agent.AuditPayment)
	if payments < 2 || paid == 0 || paid > 18000 {
		t.Fatalf("the pipeline paid %s in %d payments, want its two calls per run within the day's 18000", paid, payments)
	}

	// A second up resumes the same network.
	again, _, stop2 := upOnce(t, home, cfg)
	defer stop2()
	if !again.Resumed || again.Netuid != info.Netuid || again.APIKey != info.APIKey || again.Dev != info.Dev {
		t.Fatalf("second up: %+v, first %+v", again, info)
	}
}
