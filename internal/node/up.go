package node

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/gateway"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
)

// Up defaults.
const (
	DefaultUpMiners      = 3
	DefaultUpGatewayAddr = "127.0.0.1:8080"
	DefaultUpTempo       = 20 // blocks: 10 s at the devnet's 500 ms
	// UpRoleFunds is what the dev account sends each role's key on the
	// first start.
	UpRoleFunds = 1000 * tx.UnitsPerDEAI
	// UpGatewayCredit is the dev account's prepaid balance at the
	// gateway after the first start.
	UpGatewayCredit = 100 * tx.UnitsPerDEAI
)

// UpOptions configure Up: which parts of the network to start.
type UpOptions struct {
	Home   string
	Config config.Config
	Logger *slog.Logger
	// DevPassphrase unlocks the dev key; empty: the home's
	// DevPassphraseFile.
	DevPassphrase []byte
	// Model is the GGUF file the subnet serves; "" finds one (FindModel).
	Model  string
	Miners int // miners to run (default DefaultUpMiners); negative: none
	// GatewayAddr is the gateway's listen address (default
	// DefaultUpGatewayAddr; "127.0.0.1:0" picks a free port).
	GatewayAddr string
	NoSubnet    bool // only the chain
	NoGateway   bool
	NoAgents    bool
	NoProvider  bool
	// AgentsDir holds the example agents (fetcher.yaml, summarizer.yaml,
	// pipeline.yaml); "" looks for examples/agents below the working
	// directory.
	AgentsDir string
	// Tempo is the subnet's epoch length on first start (default
	// DefaultUpTempo).
	Tempo uint64
}

// UpInfo is what Up started, for the summary a user reads.
type UpInfo struct {
	ChainID     string     `json:"chain_id"`
	NodeID      string     `json:"node_id"`
	RPC         string     `json:"rpc"`
	Height      int64      `json:"height"`
	Dev         tx.Address `json:"dev_address"`
	DevBalance  tx.Amount  `json:"dev_balance"`
	Model       string     `json:"model,omitempty"`
	ModelID     string     `json:"model_id,omitempty"`
	ModelDigest string     `json:"model_digest,omitempty"`
	ModelHint   string     `json:"model_hint,omitempty"` // how to get a model when none was found
	Netuid      uint16     `json:"netuid,omitempty"`
	Miners      []string   `json:"miners,omitempty"` // endpoints
	Validator   tx.Address `json:"validator,omitzero"`
	Gateway     string     `json:"gateway,omitempty"` // base URL, with /v1
	GatewayAddr tx.Address `json:"gateway_address,omitzero"`
	APIKey      string     `json:"api_key,omitempty"`
	APIKeyFile  string     `json:"api_key_file,omitempty"`
	Metrics     string     `json:"metrics,omitempty"`  // every daemon's Prometheus metrics
	Explorer    string     `json:"explorer,omitempty"` // the gateway's web UI
	// Provider is the compute provider's API (Docker, else exec).
	Provider        string     `json:"provider,omitempty"`
	ProviderAddr    tx.Address `json:"provider_address,omitzero"`
	ProviderRuntime string     `json:"provider_runtime,omitempty"`
	ProviderHint    string     `json:"provider_hint,omitempty"`
	Agents          []string   `json:"agents,omitempty"`
	AgentsHint      string     `json:"agents_hint,omitempty"`
	Resumed         bool       `json:"resumed"` // the subnet and keys existed already
}

// FindModel returns the model file Up serves: $DEAI_MODELS or
// <home>/models, then the repository's ../shared/models (the test model),
// preferring stories260K.gguf, else the first *.gguf; "" when there is
// none.
func FindModel(home string) string {
	dirs := []string{os.Getenv("DEAI_MODELS"), filepath.Join(home, "models"), filepath.Join("..", "shared", "models")}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if p := filepath.Join(d, "stories260K.gguf"); fileExists(p) {
			return p
		}
		if ms, _ := filepath.Glob(filepath.Join(d, "*.gguf")); len(ms) > 0 {
			slices.Sort(ms)
			return ms[0]
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// roleKey derives a role's key (miner-1, validator, gateway, …) from the
// dev key: a devnet's keys are as safe as its dev key, and deriving them
// keeps restarts free of key files and passphrases.
func roleKey(dev *wallet.Key, role string) *wallet.Key {
	seed := sha256.Sum256(append([]byte("deai/up/role/v1\x00"+role+"\x00"), dev.PrivateKey().Seed()...))
	k, err := wallet.FromSeed(seed[:])
	if err != nil {
		panic("up: derive role key: " + err.Error()) // a 32-byte seed never fails
	}
	return k
}

// loadDevKey unlocks the home's dev key.
func loadDevKey(home string, pass []byte) (*wallet.Key, error) {
	if len(pass) == 0 {
		raw, err := os.ReadFile(DevPassphraseFile(home))
		if err != nil {
			return nil, fmt.Errorf("dev key passphrase: %w (set DEAI_PASSPHRASE)", err)
		}
		pass = []byte(strings.TrimSpace(string(raw)))
	}
	ks, err := wallet.Open(KeysDir(home))
	if err != nil {
		return nil, err
	}
	return ks.Load(DevKeyName, pass)
}

// Up runs the local network until ctx ends: the chain, a subnet serving
// the model with miners and a validator (which also votes on disputes and
// spot-checks), an OpenAI-compatible gateway (API key, vouchers, spot
// checks) and the example agents. ready is called once everything runs.
// A second Up on the same home resumes: the same chain, keys, subnet,
// gateway store and agent state.
func Up(ctx context.Context, o UpOptions, ready func(UpInfo) error) error {
	log := dlog.OrDiscard(o.Logger)
	n, err := Start(ctx, Options{Home: o.Home, Config: o.Config, Logger: log})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	u := &upRun{o: o, n: n, c: n.Client(), log: log, reg: reg}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if bm, err := chain.NewMetrics(reg); err == nil {
		u.wg.Go(func() { bm.Run(sctx, u.c) }) //nolint:errcheck // stopped by sctx
	}
	info, err := u.start(ctx, sctx)
	info.DevBalance = u.balance(ctx, info.Dev)
	if err == nil && ready != nil {
		err = ready(info)
	}
	if err == nil {
		<-ctx.Done()
	}
	stop()
	u.wg.Wait()
	for i := len(u.closers) - 1; i >= 0; i-- {
		u.closers[i]()
	}
	return errors.Join(err, n.Stop())
}

type upRun struct {
	o   UpOptions
	n   *Node
	c   chain.Client
	log *slog.Logger
	reg *prometheus.Registry // every daemon's metrics, served at the gateway's /metrics

	amu     sync.Mutex // guards agents
	agents  []upAgent
	wg      sync.WaitGroup
	closers []func()
}

// send signs msgs with k and waits for the block.
func (u *upRun) send(ctx context.Context, k *wallet.Key, msgs ...tx.Msg) (chain.TxResult, error) {
	return account.New(u.c, k).Send(ctx, msgs...)
}

func (u *upRun) balance(ctx context.Context, a tx.Address) tx.Amount {
	var acct struct {
		Balance tx.Amount `json:"balance"`
	}
	if err := queryInto(ctx, u.c, "/account/"+a.String(), &acct); err != nil {
		return 0
	}
	return acct.Balance
}

// start brings up everything after the chain; the services run until
// sctx ends.
func (u *upRun) start(ctx, sctx context.Context) (UpInfo, error) {
	o := u.o
	var info UpInfo
	if err := u.n.WaitHeight(ctx, 1); err != nil {
		return info, err
	}
	st, err := u.c.Status(ctx)
	if err != nil {
		return info, err
	}
	info.ChainID, info.RPC, info.Height = st.ChainID, u.n.RPCAddr(), st.LatestHeight
	dev, err := loadDevKey(o.Home, o.DevPassphrase)
	if err != nil {
		return info, err
	}
	info.Dev, info.NodeID = dev.Address(), u.n.NodeID()
	if o.NoSubnet {
		return info, nil
	}
	model := o.Model
	if model == "" {
		model = FindModel(o.Home)
	}
	if model == "" {
		info.ModelHint = fmt.Sprintf("no model found in $DEAI_MODELS, %s or ../shared/models: fetch one with `deai model pull ggml-org/models tinyllamas/stories260K.gguf --out %s` and run deai up again",
			filepath.Join(o.Home, "models"), filepath.Join(o.Home, "models"))
		return info, nil
	}
	eng, err := OpenSubnetEngine(SubnetEngineOptions{Path: model, Threads: 1, MaxConcurrent: 8, Logger: u.log})
	if err != nil {
		return info, err
	}
	u.closers = append(u.closers, func() { eng.Close() })
	info.Model, info.ModelDigest = model, eng.Digest
	info.ModelID = strings.TrimSuffix(filepath.Base(model), filepath.Ext(model))

	// Keys and funds.
	nMiners := o.Miners
	if nMiners == 0 {
		nMiners = DefaultUpMiners
	}
	nMiners = max(nMiners, 0)
	roles := map[string]*wallet.Key{}
	var names []string
	for i := range nMiners {
		names = append(names, fmt.Sprintf("miner-%d", i+1))
	}
	names = append(names, "validator", "gateway", "fetcher", "summarizer", "pipeline", "provider")
	var fund []tx.Msg
	for _, name := range names {
		k := roleKey(dev, name)
		roles[name] = k
		if u.balance(ctx, k.Address()) < UpRoleFunds/10 {
			fund = append(fund, &tx.MsgSend{From: dev.Address(), To: k.Address(), Amount: UpRoleFunds})
		}
	}
	info.Resumed = len(fund) == 0
	if len(fund) > 0 {
		if _, err := u.send(ctx, dev, fund...); err != nil {
			return info, fmt.Errorf("fund the network's keys: %w", err)
		}
	}

	// The subnet.
	netuid, err := u.ensureSubnet(ctx, dev, info.ModelID, eng.Digest)
	if err != nil {
		return info, err
	}
	info.Netuid = netuid
	for _, name := range append(slices.Clone(names[nMiners:nMiners+2]), names[:nMiners]...) {
		k := roles[name]
		if err := u.ensureNeuron(ctx, k, netuid, name); err != nil {
			return info, err
		}
	}

	// Miners. Each keeps its address across restarts (the chain rate-limits
	// publishing a new endpoint), on a free port chosen the first time.
	addrs := map[string]string{}
	addrFile := filepath.Join(u.o.Home, "up", "miners.json")
	if raw, err := os.ReadFile(addrFile); err == nil {
		_ = json.Unmarshal(raw, &addrs)
	}
	for i := range nMiners {
		ln, err := net.Listen("tcp", cmp.Or(addrs[names[i]], "127.0.0.1:0"))
		if err != nil {
			ln, err = net.Listen("tcp", "127.0.0.1:0") // taken meanwhile
		}
		if err != nil {
			return info, err
		}
		addrs[names[i]] = ln.Addr().String()
		if raw, err := json.Marshal(addrs); err == nil {
			if err := os.MkdirAll(filepath.Dir(addrFile), 0o700); err == nil {
				_ = os.WriteFile(addrFile, raw, 0o600)
			}
		}
		k := roles[names[i]]
		m, err := subnet.NewMiner(subnet.MinerOptions{Netuid: netuid, Key: k, Chain: subnet.NewLedgerChain(u.c, k), Backend: eng.Handler,
			ModelDigest: eng.Digest, Region: "local", Listener: ln, Logger: u.log.With("miner", i+1), Metrics: u.reg})
		if err != nil {
			ln.Close()
			return info, err
		}
		if err := m.Announce(ctx); err != nil {
			ln.Close()
			return info, fmt.Errorf("miner %d: %w", i+1, err)
		}
		u.wg.Go(func() { m.Run(sctx) }) //nolint:errcheck // stopped by sctx
		info.Miners = append(info.Miners, "http://"+ln.Addr().String())
	}

	// The validator: grades, votes on its dispute committees, spot-checks.
	vk := roles["validator"]
	info.Validator = vk.Address()
	vaud, err := verify.NewAuditor(verify.AuditorOptions{Chain: u.c, Reference: eng.Handler, Pinned: eng.Digest,
		Rate: verify.RateFromChain(u.c, netuid, time.Minute), Disputer: verify.NewLedgerDisputer(u.c, vk, netuid, u.log), Logger: u.log})
	if err != nil {
		return info, err
	}
	v, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: netuid, Key: vk, Chain: subnet.NewLedgerChain(u.c, vk), Reference: eng.Handler,
		Logger: u.log.With("role", "validator"), OnReceipt: vaud.Observe, Metrics: u.reg})
	if err != nil {
		return info, err
	}
	voter, err := verify.NewVoter(verify.VoterOptions{Chain: u.c, Key: vk, Netuid: netuid, Reference: eng.Handler, Logger: u.log})
	if err != nil {
		return info, err
	}
	u.wg.Go(func() { v.Run(sctx) })     //nolint:errcheck // stopped by sctx
	u.wg.Go(func() { voter.Run(sctx) }) //nolint:errcheck // stopped by sctx
	u.wg.Go(func() { vaud.Run(sctx) })  //nolint:errcheck // stopped by sctx

	if !o.NoProvider {
		if err := u.startProvider(ctx, sctx, roles["provider"], &info); err != nil {
			return info, fmt.Errorf("compute provider: %w", err)
		}
	}
	if o.NoGateway {
		return info, nil
	}
	gw, err := u.startGateway(ctx, sctx, dev, roles["gateway"], netuid, eng, &info)
	if err != nil {
		return info, err
	}
	if o.NoAgents {
		return info, nil
	}
	return info, u.startAgents(ctx, sctx, roles, gw, &info)
}

// ensureSubnet returns the dev account's subnet serving digest, creating
// it with devnet parameters on the first start.
func (u *upRun) ensureSubnet(ctx context.Context, dev *wallet.Key, name, digest string) (uint16, error) {
	var list []lsubnet.SubnetInfo
	if err := queryInto(ctx, u.c, "/subnet/list", &list); err != nil {
		return 0, err
	}
	for _, s := range list {
		if s.Owner == dev.Address() && slices.ContainsFunc(s.AllowedDigests, func(d lsubnet.Digest) bool { return d.String() == digest }) {
			return s.Netuid, nil
		}
	}
	d, err := lsubnet.ParseDigest(digest)
	if err != nil {
		return 0, err
	}
	if _, err := u.send(ctx, dev, &lsubnet.MsgCreateSubnet{Owner: dev.Address(), Name: name, TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}}); err != nil {
		return 0, fmt.Errorf("create the subnet: %w", err)
	}
	if err := queryInto(ctx, u.c, "/subnet/list", &list); err != nil {
		return 0, err
	}
	var netuid uint16
	for _, s := range list {
		if s.Owner == dev.Address() && s.Name == name {
			netuid = max(netuid, s.Netuid)
		}
	}
	p := lsubnet.DefaultParams()
	p.Tempo = cmp.Or(u.o.Tempo, DefaultUpTempo)
	p.ActivityCutoff = 50 * p.Tempo
	p.WeightsRateLimit = 0
	p.ImmunityPeriod = 0
	p.DisputeBlocks = p.Tempo
	p.MaxValidators = 1 // the validator holds the permit: the dispute committee is its
	p.CommitteeSize = 1
	if _, err := u.send(ctx, dev, &lsubnet.MsgSetSubnetParams{Owner: dev.Address(), Netuid: netuid, Params: p}); err != nil {
		return 0, fmt.Errorf("set the subnet's devnet parameters: %w", err)
	}
	return netuid, nil
}

// ensureNeuron registers k on netuid and stakes on it, once.
func (u *upRun) ensureNeuron(ctx context.Context, k *wallet.Key, netuid uint16, role string) error {
	var mg lsubnet.Metagraph
	if err := queryInto(ctx, u.c, fmt.Sprintf("/subnet/%d/metagraph", netuid), &mg); err != nil {
		return err
	}
	for _, nn := range mg.Neurons {
		if nn.Hotkey == k.Address() {
			return nil
		}
	}
	if err := subnet.NewLedgerChain(u.c, k).Register(ctx, netuid); err != nil {
		return fmt.Errorf("register %s: %w", role, err)
	}
	stake := 100 * tx.UnitsPerDEAI
	if role == "validator" {
		stake = 500 * tx.UnitsPerDEAI
	}
	if role == "gateway" {
		stake = 10 * tx.UnitsPerDEAI
	}
	if _, err := u.send(ctx, k, &lsubnet.MsgAddStake{Staker: k.Address(), Hotkey: k.Address(), Netuid: netuid, Amount: tx.Amount(stake)}); err != nil {
		return fmt.Errorf("stake %s: %w", role, err)
	}
	return nil
}

// upAgent is an example agent Up runs, for the explorer's budgets.
type upAgent struct {
	name string
	r    *runner.Runner
	spec *runner.Spec
}

// agentBudgets reports the agents' budgets at their signers.
func (u *upRun) agentBudgets() []gateway.AgentBudget {
	u.amu.Lock()
	defer u.amu.Unlock()
	out := make([]gateway.AgentBudget, 0, len(u.agents))
	for _, a := range u.agents {
		us := a.r.Budget().Usage()
		b := gateway.AgentBudget{Name: a.name, Address: a.r.Address(), Total: a.spec.Budget.Total, Spent: us.Spent, Reserved: us.Reserved,
			PerPeriod: a.spec.Budget.PerPeriod, Period: a.spec.Budget.Period, PeriodUse: us.PeriodUsed, Killed: us.Killed}
		if pw := a.r.Paywall(); pw != nil {
			for _, v := range pw.Accepted() {
				b.Earned += v.Amount
			}
		}
		out = append(out, b)
	}
	return out
}

// upGateway is the running gateway.
type upGateway struct {
	url  string
	addr tx.Address
}

func (u *upRun) startGateway(ctx, sctx context.Context, dev, gk *wallet.Key, netuid uint16, eng *SubnetEngine, info *UpInfo) (*upGateway, error) {
	dir := filepath.Join(u.o.Home, "gateway")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "api-key")
	apiKey := ""
	if raw, err := os.ReadFile(keyFile); err == nil {
		apiKey = strings.TrimSpace(string(raw))
	} else {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		apiKey = "sk-deai-" + hex.EncodeToString(b[:])
		if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	info.APIKey, info.APIKeyFile = apiKey, keyFile
	st, err := gateway.OpenFileStore(filepath.Join(dir, fmt.Sprintf("subnet-%d.jsonl", netuid)))
	if err != nil {
		return nil, err
	}
	u.closers = append(u.closers, func() { st.Close() })
	lc := agent.NewLedgerChain(u.c, gk)
	pw, err := GatewayPayments(ctx, GatewayPaymentsOptions{ChainID: info.ChainID, Key: gk.PrivateKey(), Channels: lc, Store: st, Logger: u.log})
	if err != nil {
		return nil, err
	}
	aud, err := verify.NewAuditor(verify.AuditorOptions{Chain: u.c, Reference: eng.Handler, Pinned: eng.Digest,
		Rate: verify.RateFromChain(u.c, netuid, time.Minute), Disputer: verify.NewLedgerDisputer(u.c, gk, netuid, u.log), Logger: u.log})
	if err != nil {
		return nil, err
	}
	g, err := gateway.New(gateway.Options{Key: gk, Network: &gateway.LedgerNetwork{Client: u.c, Netuids: []uint16{netuid}, Names: map[uint16]string{netuid: info.ModelID}},
		Chain: u.c, Keys: map[string]tx.Address{apiKey: dev.Address()}, Payments: pw, Store: st, Logger: u.log.With("role", "gateway"),
		Observe: aud.Observe, SettleInterval: 30 * time.Second, MetagraphTTL: 2 * time.Second, Metrics: u.reg, Agents: u.agentBudgets})
	if err != nil {
		return nil, err
	}
	addr := u.o.GatewayAddr
	if addr == "" {
		addr = DefaultUpGatewayAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen %s: %w (another deai up, or pass --gateway-addr)", addr, err)
	}
	red := &agent.Redeemer{Paywall: pw.Paywall(), Chain: lc, Interval: 30 * time.Second, Logger: u.log}
	u.wg.Go(func() { g.Run(sctx, ln) }) //nolint:errcheck // stopped by sctx
	u.wg.Go(func() { red.Run(sctx) })   //nolint:errcheck // stopped by sctx
	u.wg.Go(func() { aud.Run(sctx) })   //nolint:errcheck // stopped by sctx
	gu := &upGateway{url: "http://" + ln.Addr().String() + "/v1", addr: g.Address()}
	info.Gateway, info.GatewayAddr = gu.url, g.Address()
	info.Metrics = "http://" + ln.Addr().String() + "/metrics"
	info.Explorer = "http://" + ln.Addr().String() + "/ui/"

	// The dev account's prepaid balance, once: a transfer to the gateway,
	// credited through POST /v1/deposits.
	if g.Usage(dev.Address()).Deposited == 0 {
		res, err := u.send(ctx, dev, &tx.MsgSend{From: dev.Address(), To: g.Address(), Amount: UpGatewayCredit})
		if err != nil {
			return nil, fmt.Errorf("gateway deposit: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, gu.url+"/deposits", strings.NewReader(`{"tx_hash":"`+strings.ToUpper(hex.EncodeToString(res.Hash))+`"}`))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("gateway deposit: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("gateway deposit: %d %s", resp.StatusCode, body)
		}
	}
	return gu, nil
}

// startAgents runs the example agents against the gateway.
func (u *upRun) startAgents(ctx, sctx context.Context, roles map[string]*wallet.Key, gw *upGateway, info *UpInfo) error {
	dir := u.o.AgentsDir
	if dir == "" {
		dir = filepath.Join("examples", "agents")
	}
	if !fileExists(filepath.Join(dir, "pipeline.yaml")) {
		info.AgentsHint = "example agents not found (run deai up from the repository root, or pass --agents DIR)"
		return nil
	}
	env := map[string]string{
		"DEAI_GATEWAY_URL":     gw.url,
		"DEAI_GATEWAY_ADDRESS": gw.addr.String(),
		"DEAI_MODEL":           info.ModelID,
		"PIPELINE_OUT":         filepath.Join(u.o.Home, "agents", "pipeline", "digest.jsonl"),
	}
	lookup := func(k string) (string, bool) {
		if v, ok := env[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	for _, name := range []string{"fetcher", "summarizer", "pipeline"} {
		path := filepath.Join(dir, name+".yaml")
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if raw, err = runner.ExpandEnv(raw, lookup); err != nil {
			return fmt.Errorf("agent %s: %w", name, err)
		}
		spec, err := runner.Parse(raw)
		if err != nil {
			return fmt.Errorf("agent %s: %w", name, err)
		}
		abs, _ := filepath.Abs(dir)
		k := roles[name]
		r, err := runner.New(ctx, runner.Options{Spec: spec, Dir: abs, StateDir: filepath.Join(u.o.Home, "agents", name), Key: k, Chain: u.c,
			Leaser: AgentLeaser(u.c, k), Logger: u.log.With("agent", name)})
		if err != nil {
			return fmt.Errorf("agent %s: %w", name, err)
		}
		u.wg.Go(func() { r.Run(sctx) }) //nolint:errcheck // stopped by sctx
		u.amu.Lock()
		u.agents = append(u.agents, upAgent{name: name, r: r, spec: spec})
		u.amu.Unlock()
		info.Agents = append(info.Agents, fmt.Sprintf("%s (%s)", name, k.Address()))
		// The services must be registered and listening before the
		// pipeline's first run calls them.
		for _, sv := range spec.Services {
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				var rec struct {
					Name string `json:"name"`
				}
				registered := sv.Register == nil || queryInto(ctx, u.c, "/agents/service/"+sv.Name, &rec) == nil
				if c, err := net.Dial("tcp", sv.Listen); err == nil {
					c.Close()
					if registered {
						break
					}
				}
			}
		}
	}
	return nil
}
