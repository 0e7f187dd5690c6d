// Command deai is the single binary of the deai network: ledger node, miner,
// validator, gateway, provider, agent and every client command.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/deai-network/deai/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
