package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/hub"
	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/serve"
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
	cmd.AddCommand(newModelPullCmd(env), newModelInspectCmd(env), newModelSynthCmd(env))
	return cmd
}

func newRunCmd(env *Env) *cobra.Command {
	var (
		path, prompt string
		n, threads   int
		seed         int64
		samp         serve.Sampling
	)
	cmd := &cobra.Command{
		Use:   "run --model PATH --prompt TEXT",
		Short: "Generate a continuation of a prompt with the built-in engine",
		Long: `Generate a continuation of --prompt and stream it to stdout as it is produced
(the continuation only, not the prompt; multi-byte characters are never split).
Generation stops at the end-of-generation token, after -n tokens, or when the
context is full. A summary goes to stderr.`,
		Example: "  deai run --model stories260K.gguf --prompt 'Once upon a time' -n 64 --temp 0",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if path == "" {
				return errors.New("--model is required")
			}
			m, err := infer.Load(path, infer.Options{Threads: threads})
			if err != nil {
				return err
			}
			defer m.Close()
			e, err := serve.NewEngineBackend(m, path, serve.EngineOptions{})
			if err != nil {
				return err
			}
			if seed < 0 {
				seed = time.Now().UnixNano() & (1<<62 - 1)
			}
			samp.Seed = uint64(seed)
			if n < 0 {
				return fmt.Errorf("-n %d: want 0 (until the context is full) or more", n)
			}
			out := bufio.NewWriter(env.Stdout)
			c, err := e.Complete(cmd.Context(), serve.CompletionRequest{Prompt: prompt, MaxTokens: n, Sampling: samp}, func(s string) error {
				if _, err := out.WriteString(s); err != nil {
					return err
				}
				return out.Flush()
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "\n[%d prompt tokens, %d generated, finish %s, seed %d, tokens digest %s]\n",
				c.PromptTokens, c.CompletionTokens, c.FinishReason, seed, c.TokensDigest)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "model", "", "GGUF model file")
	f.StringVar(&prompt, "prompt", "", "prompt text")
	f.IntVarP(&n, "n", "n", 256, "maximum tokens to generate (0: until the context is full)")
	f.Float32Var(&samp.Temperature, "temp", 0.8, "temperature (0: greedy)")
	f.Int64Var(&seed, "seed", -1, "sampling seed (-1: random, printed at the end)")
	f.IntVar(&threads, "threads", 1, "threads per generation (output does not depend on it)")
	f.IntVar(&samp.TopK, "top-k", 40, "keep the K most likely tokens (0: off)")
	f.Float32Var(&samp.TopP, "top-p", 0.95, "nucleus sampling threshold (1: off)")
	f.Float32Var(&samp.MinP, "min-p", 0.05, "min-p threshold (0: off)")
	f.Float32Var(&samp.RepeatPenalty, "repeat-penalty", 1, "repetition penalty (1: off)")
	return cmd
}

func newServeCmd(env *Env) *cobra.Command {
	var (
		paths    []string
		addr     string
		threads  int
		template string
		opts     serve.Options
	)
	cmd := &cobra.Command{
		Use:   "serve --model PATH [--model PATH2 ...] --addr HOST:PORT",
		Short: "Serve models over an OpenAI-compatible HTTP API",
		Long: `Serve GGUF models with the built-in engine over an OpenAI-compatible API:
GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streaming
and not) and POST /v1/embeddings. A model's id is its file name without
.gguf. Responses carry X-Deai-Model-Digest and X-Deai-Tokens-Digest.
GET /metrics serves Prometheus metrics (requests, latency, tokens, tokens/s).`,
		Example: "  deai serve --model stories260K.gguf --addr 127.0.0.1:8080",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(paths) == 0 {
				return errors.New("at least one --model is required")
			}
			log := slog.New(slog.NewTextHandler(env.Stderr, nil))
			for _, p := range paths {
				m, err := infer.Load(p, infer.Options{Threads: threads, Logger: log})
				if err != nil {
					return err
				}
				defer m.Close()
				e, err := serve.NewEngineBackend(m, p, serve.EngineOptions{ChatTemplate: template, Created: time.Now().Unix()})
				if err != nil {
					return err
				}
				opts.Backends = append(opts.Backends, e)
				log.Info("model loaded", "model", e.Info().ID, "digest", e.Info().Digest, "chat_template", e.ChatTemplate(), "context", e.Info().ContextLength)
			}
			opts.Logger = log
			opts.Metrics = newRegistry() // GET /metrics on the same address
			s, err := serve.New(opts)
			if err != nil {
				return err
			}
			ln, err := (&net.ListenConfig{}).Listen(cmd.Context(), "tcp", addr)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(env.Stderr, "listening on http://%s/v1\n", ln.Addr())
			return s.Run(cmd.Context(), ln)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&paths, "model", nil, "GGUF model file (repeatable)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	f.IntVar(&threads, "threads", 1, "threads per generation")
	f.StringVar(&template, "chat-template", "", "chat template for every model (default: detected from metadata)")
	f.IntVar(&opts.MaxConcurrent, "max-concurrent", serve.DefaultMaxConcurrent, "generations running at once")
	f.IntVar(&opts.MaxQueue, "max-queue", serve.DefaultMaxQueue, "requests waiting for a slot before 429 (negative: none)")
	f.DurationVar(&opts.QueueWait, "queue-wait", serve.DefaultQueueWait, "longest wait for a slot before 503")
	return cmd
}

// inspectOutput is `model inspect -o json`.
type inspectOutput struct {
	Path string `json:"path"`
	infer.Info
	Digest string `json:"digest"`
}

func newModelInspectCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect PATH",
		Short: "Print a GGUF model's architecture, parameters, tensor types, size and digest",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := infer.Load(args[0], infer.Options{})
			if err != nil {
				return err
			}
			defer m.Close()
			out := inspectOutput{Path: args[0], Info: m.Info(), Digest: m.Digest()}
			return env.Print(out, func(w io.Writer) error {
				in := out.Info
				var types []string
				for _, t := range in.TensorTypeNames() {
					types = append(types, fmt.Sprintf("%s ×%d (%d bytes)", t, in.TensorTypes[t], in.TensorBytes[t]))
				}
				rows := [][2]string{
					{"file", out.Path},
					{"name", in.Name},
					{"architecture", in.Architecture},
					{"parameters", fmt.Sprintf("%d", in.Parameters)},
					{"context", fmt.Sprintf("%d", in.ContextLength)},
					{"embedding", fmt.Sprintf("%d", in.EmbeddingLength)},
					{"feed forward", fmt.Sprintf("%d", in.FeedForwardLength)},
					{"layers", fmt.Sprintf("%d", in.Layers)},
					{"heads", fmt.Sprintf("%d (%d KV)", in.Heads, in.KVHeads)},
					{"vocab", fmt.Sprintf("%d (%s)", in.VocabSize, in.Tokenizer)},
					{"rope base", fmt.Sprintf("%g", in.RopeBase)},
					{"tensor types", strings.Join(types, ", ")},
					{"chat template", map[bool]string{true: "yes", false: "none"}[in.ChatTemplate != ""]},
					{"file size", fmt.Sprintf("%d bytes", in.FileSize)},
					{"sha256", out.Digest},
				}
				for _, r := range rows {
					if _, err := fmt.Fprintf(w, "%-14s %s\n", r[0], r[1]); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
}

func newModelSynthCmd(env *Env) *cobra.Command {
	var (
		o   infer.SynthOptions
		out string
	)
	cmd := &cobra.Command{
		Use:     "synth --shape 15M|110M|1B --type f32|q8_0|q4_0 --out PATH",
		Short:   "Write a random-weight llama GGUF of a realistic shape, for benchmarks",
		Example: "  deai model synth --shape 15M --type q8_0 --out /tmp/synth-15M-q8_0.gguf",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required")
			}
			size, err := writeAtomic(cmd.Context(), out, func(w io.Writer) error { return infer.Synth(w, o) })
			if err != nil {
				return err
			}
			res := map[string]any{"path": out, "size": size, "shape": o.Shape, "type": o.Type, "seed": o.Seed}
			return env.Print(res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "wrote %s (%d bytes, shape %s, type %s, seed %d)\n", out, size, o.Shape, o.Type, o.Seed)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Shape, "shape", "15M", "model shape: 15M, 110M, 1B (or tiny)")
	f.StringVar(&o.Type, "type", "f32", "weight type: f32, q8_0, q4_0 (also f16, bf16, q4_k, q6_k)")
	f.Uint64Var(&o.Seed, "seed", 1, "weight seed")
	f.StringVar(&out, "out", "", "output GGUF path")
	return cmd
}

// writeAtomic writes path through a temporary file renamed at the end, so
// an interrupted write leaves no half file under the final name.
func writeAtomic(ctx context.Context, path string, write func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		tmp.Close()
		return 0, err
	}
	fi, err := tmp.Stat()
	if err != nil {
		tmp.Close()
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	return fi.Size(), os.Rename(tmp.Name(), path)
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
