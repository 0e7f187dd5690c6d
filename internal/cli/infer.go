package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/deai-network/deai/internal/hub"
	"github.com/spf13/cobra"
)

// isTerminal reports whether w is a character device (a terminal), where a
// redrawn progress bar makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newModelCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Download, inspect and synthesize GGUF model files",
	}
	cmd.AddCommand(newModelPullCmd(env))
	return cmd
}

func newModelPullCmd(env *Env) *cobra.Command {
	var (
		req      hub.Request
		endpoint string
	)
	cmd := &cobra.Command{
		Use:   "pull <hf-repo> <file>",
		Short: "Download a model file from Hugging Face (or --url) with resume and sha256 check",
		Long: `Download a model file from a Hugging Face repository, or from any URL with --url.

The file is written to <dir>/<file name>.part and renamed when complete and
verified; running the command again after an interruption resumes it. The
sha256 comes from --sha256, or from the X-Linked-Etag header Hugging Face
sends for LFS files. Set HF_TOKEN for gated or private repositories.`,
		Example: `  deai model pull ggml-org/models tinyllamas/stories260K.gguf
  deai model pull --url https://example.com/m.gguf --sha256 270cba1b…`,
		Args: func(cmd *cobra.Command, args []string) error {
			if req.URL != "" {
				if len(args) != 0 && len(args) != 2 {
					return fmt.Errorf("with --url, give no arguments or <hf-repo> <file> (the file names the download)")
				}
				return nil
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				req.Repo, req.File = args[0], args[1]
			}
			if req.Dir == "" {
				req.Dir = filepath.Join(env.Home, "models")
			}
			bar := hub.NewBar(env.Stderr, isTerminal(env.Stderr), nil)
			c := hub.New(hub.Options{BaseURL: endpoint, Token: os.Getenv("HF_TOKEN"), Progress: bar.Update})
			res, err := c.Pull(cmd.Context(), req)
			if err != nil {
				return err
			}
			return env.Print(res, func(w io.Writer) error {
				status := "not verified (no digest known)"
				if res.Verified {
					status = "verified (sha256 from " + res.DigestSource + ")"
				}
				if res.Existing {
					status = "already present, " + status
				}
				_, err := fmt.Fprintf(w, "%s\n  size    %d bytes\n  sha256  %s\n  %s\n", res.Path, res.Size, res.SHA256, status)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.URL, "url", "", "download from this URL instead of Hugging Face")
	f.StringVar(&req.SHA256, "sha256", "", "expected sha256 (hex); overrides the server's digest")
	f.StringVar(&req.Dir, "dir", "", "destination directory (default <home>/models)")
	f.StringVar(&req.Revision, "revision", "main", "Hugging Face branch, tag or commit")
	defEndpoint := os.Getenv("HF_ENDPOINT")
	if defEndpoint == "" {
		defEndpoint = hub.DefaultBaseURL
	}
	f.StringVar(&endpoint, "endpoint", defEndpoint, "Hugging Face base URL (default $HF_ENDPOINT or "+hub.DefaultBaseURL+")")
	return cmd
}
