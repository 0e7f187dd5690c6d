// Package cli implements the deai command line: every subcommand, its flags
// and its output (text or -o json). It translates flags into the Options of
// the packages it drives and never holds protocol logic of its own.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// Env carries what every subcommand needs: I/O streams and the global flags.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	Home   string // --home: the node/wallet home directory
	Output string // -o: "text" or "json"
}

// JSON reports whether the user asked for machine-readable output.
func (e *Env) JSON() bool { return e.Output == "json" }

// Print writes v as indented JSON when -o json is set, otherwise calls text.
func (e *Env) Print(v any, text func(w io.Writer) error) error {
	if e.JSON() {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(e.Stdout)
}

// exitError carries a specific process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// DefaultHome is ~/.deai, or $DEAI_HOME when set.
func DefaultHome() string {
	if h := os.Getenv("DEAI_HOME"); h != "" {
		return h
	}
	dir, err := os.UserHomeDir()
	if err != nil {
		return ".deai"
	}
	return filepath.Join(dir, ".deai")
}

// NewRoot builds the command tree. Each subcommand lives in its own file and
// is registered here.
func NewRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:           "deai",
		Short:         "deai: a decentralized AI network in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch env.Output {
			case "text", "json":
				return nil
			default:
				return fmt.Errorf("invalid --output %q: want text or json", env.Output)
			}
		},
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.PersistentFlags().StringVar(&env.Home, "home", DefaultHome(), "home directory for node data, config and keys")
	root.PersistentFlags().StringVarP(&env.Output, "output", "o", "text", "output format: text or json")

	// One constructor per command family, each in its own file.
	root.AddCommand(
		newVersionCmd(env), newStatusCmd(env),
		newUpCmd(env),
		newInitCmd(env),
		newNodeCmd(env),
		newTestnetCmd(env),
		newTxCmd(env),
		newQueryCmd(env),
		newBenchCmd(env),
		newModelCmd(env),
		newRunCmd(env),
		newServeCmd(env),
		newGatewayCmd(env),
		newWalletCmd(env),
		newSubnetCmd(env),
		newAuditCmd(env),
		newMinerCmd(env), newValidatorCmd(env),
		addTenantDeployCmds(env, newDeployCmd(env)), newLeaseCmd(env), newProviderCmd(env),
		newAgentCmd(env), newPaychCmd(env),
		newVerifyCmd(env),
		newConfigCmd(env),
	)
	return root
}

// Run executes the CLI with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	root := NewRoot(env)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// Version is the deai release; overridden at link time.
var Version = "0.1.0-dev"

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the deai version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return env.Print(map[string]string{"version": Version}, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, Version)
				return err
			})
		},
	}
}
