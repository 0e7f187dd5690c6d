package chain_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/cometbft/cometbft/abci/example/kvstore"

	"github.com/deai-network/deai/internal/chain"
)

// helperEnv, when set to a home directory, turns the test binary into a
// validator process: the multi-process tests re-execute themselves with it.
const helperEnv = "DEAI_CHAIN_TEST_NODE_HOME"

func TestMain(m *testing.M) {
	if home := os.Getenv(helperEnv); home != "" {
		os.Exit(runHelperNode(home))
	}
	os.Exit(m.Run())
}

// runHelperNode runs a kvstore validator on home until SIGTERM or SIGINT.
// The fault tests kill it with SIGKILL instead.
func runHelperNode(home string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	app := kvstore.NewPersistentApplication(filepath.Join(home, "data"))
	defer app.Close()
	n, err := chain.NewNode(ctx, chain.NodeOptions{Home: home, App: app, Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper node:", err)
		return 1
	}
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "helper node:", err)
		return 1
	}
	return 0
}

// freePorts returns a base port b such that b+10*i and b+10*i+1 are free on
// 127.0.0.1 for i < n. Another process may take one before it is used; the
// base is random to make that unlikely.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + 10*rand.IntN(3000)
		ok := true
		var ls []net.Listener
		for i := 0; i < n && ok; i++ {
			for _, p := range []int{base + 10*i, base + 10*i + 1} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				ls = append(ls, l)
			}
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range found")
	return 0
}
