package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wire"
)

func newVerifyCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check miners' work: receipts, re-execution",
	}
	cmd.AddCommand(newVerifyReceiptCmd(env))
	return cmd
}

// receiptFile is the JSON form `deai verify receipt` reads besides a bare
// X-Deai-Receipt value: the receipt with the request (and response) it
// was given for.
type receiptFile struct {
	Receipt  string          `json:"receipt"`            // the X-Deai-Receipt value (base64)
	Request  json.RawMessage `json:"request"`            // the request body the miner signed for
	Response *string         `json:"response,omitempty"` // the response body, as received
}

func newVerifyReceiptCmd(env *Env) *cobra.Command {
	var (
		reqFile, respFile, model, pinned string
		modelsDir                        string
	)
	cmd := &cobra.Command{
		Use:   "receipt FILE",
		Short: "Check a miner's signed receipt, and re-execute it when the model is here",
		Long: `Check a receipt a miner signed (the X-Deai-Receipt header a gateway or miner
answers with): its signature by the miner's hotkey, that it is for the
request (--request, the exact body the miner received) and response
(--response) given, the model digest (--pinned), and, when the model file
is available, that re-executing the request on the built-in engine
produces exactly the tokens the receipt claims (the engine is
deterministic bit for bit).

FILE holds the receipt's base64 value, or JSON {"receipt": "…", "request":
{…}, "response": "…"}. The model is --model, else the *.gguf file in
--models (default $DEAI_MODELS, else <home>/models) whose sha256 is the
receipt's model digest. Exit status 0: valid, and honest when re-executed;
1: invalid or refuted; 2: bad input.`,
		Example: `  deai verify receipt receipt.txt --request request.json --model stories260K.gguf
  deai verify receipt dispute.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return badInput("%v", err)
			}
			var rf receiptFile
			text := strings.TrimSpace(string(raw))
			if strings.HasPrefix(text, "{") {
				if err := json.Unmarshal(raw, &rf); err != nil {
					return badInput("%s: %v", args[0], err)
				}
			} else {
				rf.Receipt = text
			}
			r, err := wire.DecodeHeader(strings.TrimSpace(rf.Receipt))
			if err != nil {
				return badInput("%s: %v", args[0], err)
			}
			request := []byte(rf.Request)
			if reqFile != "" {
				if request, err = os.ReadFile(reqFile); err != nil {
					return badInput("%v", err)
				}
			}
			if len(request) == 0 {
				return badInput("the request body is needed: --request FILE, or \"request\" in %s", args[0])
			}
			var response []byte
			switch {
			case respFile != "":
				if response, err = os.ReadFile(respFile); err != nil {
					return badInput("%v", err)
				}
			case rf.Response != nil:
				response = []byte(*rf.Response)
			}
			if model == "" {
				dir := modelsDir
				if dir == "" {
					dir = os.Getenv("DEAI_MODELS")
				}
				if dir == "" {
					dir = filepath.Join(env.Home, "models")
				}
				model = findModel(dir, r.ModelDigest)
			}
			o := verify.CheckOptions{Request: request, Response: response, Pinned: pinned}
			if model != "" {
				eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: model})
				if err != nil {
					return err
				}
				defer eng.Close()
				o.Reference = eng.Handler
			}
			v, err := verify.Check(cmd.Context(), &r, o)
			if err != nil {
				return err
			}
			out := struct {
				Miner        string `json:"miner"`
				Netuid       uint16 `json:"netuid"`
				ModelDigest  string `json:"model_digest"`
				Model        string `json:"model_file,omitempty"`
				RequestHash  string `json:"request_hash"`
				ResponseHash string `json:"response_hash"`
				verify.Verdict
			}{r.Miner.String(), r.Netuid, r.ModelDigest, model, hex.EncodeToString(r.RequestHash[:]), hex.EncodeToString(r.ResponseHash[:]), v}
			if err := env.Print(out, func(w io.Writer) error {
				fmt.Fprintf(w, "receipt of miner %s on subnet %d, model %s\n", out.Miner, out.Netuid, out.ModelDigest)
				switch {
				case !v.Valid:
					fmt.Fprintf(w, "INVALID: %s\n", v.Reason)
				case !v.Reexecuted:
					fmt.Fprintln(w, "valid: signed by the miner, for this request"+map[bool]string{true: " and response", false: ""}[response != nil])
					if v.Reason != "" {
						fmt.Fprintf(w, "but: %s\n", v.Reason)
					}
					fmt.Fprintln(w, "not re-executed: no model file with the receipt's digest (give --model)")
				case v.Honest:
					fmt.Fprintf(w, "valid and HONEST: re-execution produced the same %d+%d tokens (digest %s)\n", v.Got.PromptTokens, v.Got.CompletionTokens, v.Got.TokensDigest)
				default:
					fmt.Fprintf(w, "valid but REFUTED: %s\n  claimed %s (%d+%d tokens)\n  re-executed %s (%d+%d tokens)\n", v.Reason,
						v.Claimed.TokensDigest, v.Claimed.PromptTokens, v.Claimed.CompletionTokens, v.Got.TokensDigest, v.Got.PromptTokens, v.Got.CompletionTokens)
				}
				return nil
			}); err != nil {
				return err
			}
			if !v.Valid || v.Reexecuted && !v.Honest || !v.Reexecuted && v.Reason != "" {
				return &exitError{code: 1, err: errors.New("receipt " + map[bool]string{true: "refuted", false: "invalid"}[v.Valid])}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&reqFile, "request", "", "the request body the miner received")
	f.StringVar(&respFile, "response", "", "the response body as received")
	f.StringVar(&model, "model", "", "GGUF model file to re-execute with (default: found by digest in --models)")
	f.StringVar(&modelsDir, "models", "", "directory searched for the receipt's model (default $DEAI_MODELS, else <home>/models)")
	f.StringVar(&pinned, "pinned", "", "the model digest the subnet pins (refuse receipts naming another)")
	return cmd
}

// findModel returns the *.gguf file in dir whose sha256 is digest, or "".
func findModel(dir, digest string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err == nil && hex.EncodeToString(h.Sum(nil)) == digest {
			return f
		}
	}
	return ""
}
