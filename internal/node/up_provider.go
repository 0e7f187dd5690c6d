package node

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/wallet"
)

// UpProviderNode is what the devnet's compute provider offers: a modest
// share of this machine, so that deai up leaves room for everything else
// it runs.
var UpProviderNode = market.Node{Name: "local", CPUMilli: 2000, MemoryBytes: 2 << 30, StorageBytes: 10 << 30}

// startProvider runs a compute provider: the Docker runtime when an
// Engine answers, else the exec runtime when $DEAI_EXEC_ALLOW lists the
// binaries tenants may run; otherwise it says why none runs.
func (u *upRun) startProvider(ctx, sctx context.Context, k *wallet.Key, info *UpInfo) error {
	stateDir := filepath.Join(u.o.Home, "provider")
	var rt runtime.Runtime
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	// One instance name per home: two networks on one Docker Engine never
	// adopt each other's containers.
	sum := sha256.Sum256([]byte(u.o.Home))
	d, derr := runtime.NewDocker(pctx, runtime.DockerOptions{Instance: "deai-up-" + hex.EncodeToString(sum[:4]), PublishIP: "127.0.0.1",
		StateDir: filepath.Join(stateDir, "docker"), Logger: u.log})
	cancel()
	switch {
	case derr == nil:
		rt = d
	case os.Getenv("DEAI_EXEC_ALLOW") != "":
		x, err := runtime.NewExec(runtime.ExecOptions{StateDir: filepath.Join(stateDir, "exec"), Allow: strings.Split(os.Getenv("DEAI_EXEC_ALLOW"), ","),
			PublishIP: "127.0.0.1", Logger: u.log})
		if err != nil {
			return err
		}
		rt = x
	default:
		info.ProviderHint = fmt.Sprintf("no compute provider: no Docker Engine answered (%v), and the exec runtime needs DEAI_EXEC_ALLOW with the binaries tenants may run", derr)
		return nil
	}
	inv, err := market.NewInventory([]market.Node{UpProviderNode})
	if err != nil {
		return err
	}
	// The provider keeps its address across restarts: it is published on
	// chain as the host URI tenants send manifests to.
	addrFile := filepath.Join(u.o.Home, "up", "provider.json")
	var saved struct {
		Listen string `json:"listen"`
	}
	if raw, err := os.ReadFile(addrFile); err == nil {
		_ = json.Unmarshal(raw, &saved)
	}
	ln, err := net.Listen("tcp", cmp.Or(saved.Listen, "127.0.0.1:0"))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return err
	}
	saved.Listen = ln.Addr().String()
	if raw, err := json.Marshal(saved); err == nil && os.MkdirAll(filepath.Dir(addrFile), 0o700) == nil {
		_ = os.WriteFile(addrFile, raw, 0o600)
	}
	table := market.DefaultPriceTable
	p, err := market.NewProvider(market.ProviderOptions{Chain: market.NewLedgerChain(u.c, k), Runtime: rt, Inventory: inv, Pricer: &table,
		Info: market.ProviderInfo{HostURI: "http://" + ln.Addr().String(), Region: "local"}, StateDir: stateDir,
		BidDeposit: 1_000_000, Logger: u.log.With("role", "provider"), Metrics: u.reg})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	u.wg.Go(func() { srv.Serve(ln) }) //nolint:errcheck // closed at stop
	u.wg.Go(func() {
		p.Run(sctx) //nolint:errcheck // stopped by sctx
		sh, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sh) != nil {
			srv.Close()
		}
	})
	info.Provider, info.ProviderAddr, info.ProviderRuntime = "http://"+ln.Addr().String(), k.Address(), rt.Name()
	return nil
}
