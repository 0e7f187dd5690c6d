package cli

import (
	"context"
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

	"github.com/deai-network/deai/internal/chain"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wire"
)

func newVerifyCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check miners' work: receipts, re-execution",
	}
	cmd.AddCommand(newVerifyReceiptCmd(env), newVerifyDisputeCmd(env), newVerifyEquivocationCmd(env))
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
			r, request, response, err := readReceiptFile(args[0], reqFile)
			if err != nil {
				return err
			}
			if len(request) == 0 {
				return badInput("the request body is needed: --request FILE, or \"request\" in %s", args[0])
			}
			if respFile != "" {
				if response, err = os.ReadFile(respFile); err != nil {
					return badInput("%v", err)
				}
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

// readReceiptFile reads what `deai verify receipt` reads: a bare
// X-Deai-Receipt value or the JSON form with the request.
// It returns the response too when the JSON form has one (else nil).
func readReceiptFile(name, reqFile string) (r wire.Receipt, request, response []byte, err error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return r, nil, nil, badInput("%v", err)
	}
	var rf receiptFile
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, "{") {
		if err := json.Unmarshal(raw, &rf); err != nil {
			return r, nil, nil, badInput("%s: %v", name, err)
		}
	} else {
		rf.Receipt = text
	}
	if r, err = wire.DecodeHeader(strings.TrimSpace(rf.Receipt)); err != nil {
		return r, nil, nil, badInput("%s: %v", name, err)
	}
	request = []byte(rf.Request)
	if reqFile != "" {
		if request, err = os.ReadFile(reqFile); err != nil {
			return r, nil, nil, badInput("%v", err)
		}
	}
	if rf.Response != nil {
		response = []byte(*rf.Response)
	}
	return r, request, response, nil
}

func newVerifyDisputeCmd(env *Env) *cobra.Command {
	var (
		f       subnetTxFlags
		reqFile string
		bond    string
	)
	cmd := &cobra.Command{
		Use:   "dispute FILE [--request REQ] --from KEY [--bond AMOUNT]",
		Short: "Challenge a miner's receipt on the ledger: a committee re-executes it and votes",
		Long: `Open a dispute against the miner that signed the receipt in FILE (as for
deai verify receipt): the ledger checks the receipt and that the request
matches it, takes the bond (default: the subnet's dispute_bond) from --from,
and draws a committee of staked validators that re-execute the request and
vote. A guilty majority slashes the miner and pays you part of the slash with
your bond back; an innocent one gives your bond to the committee. Check the
receipt first with deai verify receipt --model.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, request, _, err := readReceiptFile(args[0], reqFile)
			if err != nil {
				return err
			}
			if len(request) == 0 {
				return badInput("the request body is needed: --request FILE, or \"request\" in %s", args[0])
			}
			enc, err := r.Encode()
			if err != nil {
				return badInput("%s: %v", args[0], err)
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				amt := tx.Amount(0)
				if bond != "" {
					if amt, err = parseAmountFlag("bond", bond); err != nil {
						return nil, err
					}
				} else {
					p, err := verify.SubnetParams(ctx, cl, r.Netuid)
					if err != nil {
						return nil, err
					}
					amt = p.DisputeBond
				}
				return &lsubnet.MsgOpenDispute{Challenger: signer, Netuid: r.Netuid, Receipt: enc, Request: request, Bond: amt}, nil
			}, func(res *ledgerTxResult) {
				res.Dispute = res.event("subnet_dispute_opened", "id")
				res.Committee = res.event("subnet_dispute_opened", "committee")
				res.Deadline = res.event("subnet_dispute_opened", "deadline")
			}, func(w io.Writer, res *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "dispute %s opened against %s on subnet %d\n  committee %s, votes until block %s\n", res.Dispute, r.Miner, r.Netuid, res.Committee, res.Deadline)
				return err
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&reqFile, "request", "", "the request body the miner received")
	cmd.Flags().StringVar(&bond, "bond", "", "the bond (default: the subnet's dispute_bond)")
	return cmd
}

func newVerifyEquivocationCmd(env *Env) *cobra.Command {
	var f subnetTxFlags
	cmd := &cobra.Command{
		Use:   "equivocation FILE_A FILE_B --from KEY",
		Short: "Report two receipts one miner signed for the same request with different tokens",
		Long: `The built-in engine gives the same tokens for the same request bytes, so two
receipts signed by one miner for one request hash with different token
digests prove it lied at least once: the ledger slashes and jails it at once,
and pays the reporter part of the slash. FILE_A and FILE_B are receipts as
deai verify receipt reads them.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var encs [2][]byte
			for i, name := range args {
				r, _, _, err := readReceiptFile(name, "")
				if err != nil {
					return err
				}
				if encs[i], err = r.Encode(); err != nil {
					return badInput("%s: %v", name, err)
				}
			}
			return env.ledgerTx(cmd, &f, func(ctx context.Context, cl chain.Client, signer tx.Address) (tx.Msg, error) {
				return &lsubnet.MsgEquivocation{Reporter: signer, ReceiptA: encs[0], ReceiptB: encs[1]}, nil
			}, func(res *ledgerTxResult) {
				res.Slashed = res.event("subnet_slashed", "amount")
				res.Owner = res.event("subnet_slashed", "miner")
			}, func(w io.Writer, res *ledgerTxResult) error {
				_, err := fmt.Fprintf(w, "miner %s slashed %s for equivocation\n", res.Owner, res.Slashed)
				return err
			})
		},
	}
	f.register(cmd)
	return cmd
}
