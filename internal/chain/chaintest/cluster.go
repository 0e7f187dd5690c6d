package chaintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/chain"
)

// CommandFunc returns the command that runs validator i on home, for
// example exec.Command("deai", "node", "start", "--home", home), or the
// test binary re-executing itself as a helper node. It must run in the
// foreground until killed.
type CommandFunc func(i int, home string) *exec.Cmd

// Cluster runs the validators of a testnet (chain.InitTestnet) as separate
// OS processes, for fault tests: start, kill -9 and restart each one, and
// read each one's chain over RPC.
type Cluster struct {
	t     testing.TB
	net   chain.Testnet
	cmd   CommandFunc
	procs []*proc
}

type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	log    *os.File
}

// NewCluster prepares a cluster over net; no process is started yet. Every
// process still running when the test ends is killed, and on failure the
// tail of each node's log (home/node.log) is printed.
func NewCluster(t testing.TB, net chain.Testnet, cmd CommandFunc) *Cluster {
	c := &Cluster{t: t, net: net, cmd: cmd, procs: make([]*proc, len(net.Nodes))}
	t.Cleanup(func() {
		for i := range c.procs {
			if c.Running(i) {
				c.Kill(i)
			}
		}
		if t.Failed() {
			for i, n := range net.Nodes {
				t.Logf("node%d log tail:\n%s", i, tail(filepath.Join(n.Home, "node.log"), 30))
			}
		}
	})
	return c
}

// Len is the number of validators.
func (c *Cluster) Len() int { return len(c.net.Nodes) }

// Start starts validator i, appending its output to home/node.log.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	if c.Running(i) {
		c.t.Fatalf("node%d already running", i)
	}
	home := c.net.Nodes[i].Home
	f, err := os.OpenFile(filepath.Join(home, "node.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := c.cmd(i, home)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		c.t.Fatalf("start node%d: %v", i, err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{}), log: f}
	go func() {
		cmd.Wait() //nolint:errcheck // killed processes exit non-zero
		f.Close()
		close(p.exited)
	}()
	c.procs[i] = p
}

// Kill kills validator i with SIGKILL (no clean shutdown) and waits for it
// to be gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	p := c.procs[i]
	if p == nil {
		c.t.Fatalf("node%d was never started", i)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.t.Fatalf("kill node%d: %v", i, err)
	}
	<-p.exited
}

// Running reports whether validator i's process is alive.
func (c *Cluster) Running(i int) bool {
	p := c.procs[i]
	if p == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Dial connects to validator i's RPC server, retrying until it answers or
// ctx ends. Close the client when done.
func (c *Cluster) Dial(ctx context.Context, i int) (*chain.RPCClient, error) {
	addr := c.net.Nodes[i].RPCAddr
	for {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		rc, err := chain.Dial(dctx, addr)
		cancel()
		if err == nil {
			return rc, nil
		}
		if !c.Running(i) {
			return nil, fmt.Errorf("node%d is not running: %w", i, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial node%d: %w (last error: %v)", i, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Status asks validator i for its status with a fresh connection.
func (c *Cluster) Status(ctx context.Context, i int) (chain.Status, error) {
	rc, err := c.Dial(ctx, i)
	if err != nil {
		return chain.Status{}, err
	}
	defer rc.Close()
	return rc.Status(ctx)
}

// WaitHeight polls validator i until its latest height is at least h or
// ctx ends, and returns the height reached.
func (c *Cluster) WaitHeight(ctx context.Context, i int, h int64) (int64, error) {
	rc, err := c.Dial(ctx, i)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	var last int64
	for {
		s, err := rc.Status(ctx)
		if err == nil {
			last = s.LatestHeight
			if last >= h && !s.CatchingUp {
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("node%d at height %d, waiting for %d: %w", i, last, h, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Heights returns the latest height of each running validator (-1 for the
// others and for those that do not answer).
func (c *Cluster) Heights(ctx context.Context) []int64 {
	out := make([]int64, c.Len())
	for i := range out {
		out[i] = -1
		if !c.Running(i) {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if s, err := c.Status(sctx, i); err == nil {
			out[i] = s.LatestHeight
		}
		cancel()
	}
	return out
}

// SameBlock checks that the given validators hold the identical block at
// height h: same block hash and same app hash. As the header's app hash is
// the state after h-1 and the block hash covers it, agreement at h means
// every node executed h-1 to the same state.
func (c *Cluster) SameBlock(ctx context.Context, h int64, nodes ...int) error {
	var first chain.Block
	for k, i := range nodes {
		rc, err := c.Dial(ctx, i)
		if err != nil {
			return err
		}
		b, err := rc.Block(ctx, h)
		rc.Close()
		if err != nil {
			return fmt.Errorf("node%d block %d: %w", i, h, err)
		}
		if k == 0 {
			first = b
			continue
		}
		if !bytes.Equal(b.Hash, first.Hash) || !bytes.Equal(b.AppHash, first.AppHash) {
			return fmt.Errorf("block %d: node%d has hash %X app hash %X, node%d has %X %X",
				h, nodes[0], first.Hash, first.AppHash, i, b.Hash, b.AppHash)
		}
	}
	return nil
}

// tail returns the last n lines of a file, or why it cannot.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
