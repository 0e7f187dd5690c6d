package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/config"
)

func newConfigCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check and show the node's configuration (deai.toml)",
	}
	cmd.AddCommand(newConfigCheckCmd(env), newConfigShowCmd(env))
	return cmd
}

func newConfigCheckCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate <home>/config/deai.toml with the DEAI_* environment applied",
		Long: `Read the home's deai.toml over the defaults, apply DEAI_<SECTION>_<KEY>
environment overrides and validate every field; errors name the section and
key. Exit status 0 when valid, 2 when not. (A provider file is checked with
deai provider check-config.)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := config.Load(env.Home, os.LookupEnv)
			path := config.Path(env.Home)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			_, statErr := os.Stat(path)
			out := struct {
				Path   string        `json:"path"`
				Exists bool          `json:"exists"`
				Valid  bool          `json:"valid"`
				Config config.Config `json:"config"`
			}{path, statErr == nil, true, c}
			return env.Print(out, func(w io.Writer) error {
				if !out.Exists {
					_, err := fmt.Fprintf(w, "%s does not exist: the defaults (and DEAI_* overrides) are valid\n", path)
					return err
				}
				_, err := fmt.Fprintf(w, "%s is valid\n", path)
				return err
			})
		},
	}
}

func newConfigShowCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file, then DEAI_* overrides, over the defaults) as TOML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := config.Load(env.Home, os.LookupEnv)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if env.JSON() {
				return env.Print(c, nil)
			}
			return toml.NewEncoder(env.Stdout).Encode(c)
		},
	}
}
