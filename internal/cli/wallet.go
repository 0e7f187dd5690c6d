package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/wallet"
)

// keysDir is where the keystore lives inside a home.
func keysDir(home string) string { return filepath.Join(home, "keys") }

// walletKey is the public view of a key that every wallet command prints.
type walletKey struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	PubKey  string `json:"pub_key"`
}

func publicView(info wallet.Info) walletKey {
	return walletKey{Name: info.Name, Address: info.Address.String(), PubKey: hex.EncodeToString(info.PubKey)}
}

func keyView(name string, k *wallet.Key) walletKey {
	return walletKey{Name: name, Address: k.Address().String(), PubKey: hex.EncodeToString(k.PubKey())}
}

func newWalletCmd(env *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, import, list, show and export account keys",
		Long: `Manage account keys in <home>/keys: one file per key, encrypted with a
passphrase (argon2id + XChaCha20-Poly1305). The passphrase comes from
--passphrase-file, else $` + PassphraseEnv + `, else a prompt on the terminal.
Private keys are never printed; export writes the encrypted file.`,
	}
	cmd.AddCommand(
		newWalletNewCmd(env),
		newWalletImportCmd(env),
		newWalletListCmd(env),
		newWalletShowCmd(env),
		newWalletExportCmd(env),
	)
	return cmd
}

func openKeystore(env *Env) (*wallet.Keystore, error) {
	return wallet.Open(keysDir(env.Home))
}

// checkNameFree fails before any prompt if name is invalid or taken.
func checkNameFree(ks *wallet.Keystore, name string) error {
	has, err := ks.Has(name)
	if err != nil {
		return err
	}
	if has {
		return fmt.Errorf("key %q already exists (%s); choose another name: %w", name, ks.Path(name), wallet.ErrExist)
	}
	return nil
}

func newWalletNewCmd(env *Env) *cobra.Command {
	var passFile, mnemonicOut string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Create a key and show its 24-word recovery phrase once",
		Long: `Create a key from a fresh 24-word BIP-39 recovery phrase and store it
encrypted under NAME.

The recovery phrase is the only backup of the key and is shown exactly once.
It is not stored in the keystore. By default it is printed only if stdout is a
terminal, so it never lands in a pipe, a log or a CI transcript by accident.
--mnemonic-out FILE writes it to a new file with mode 0600 (never overwriting);
--mnemonic-out - prints it to stdout even when that is not a terminal.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			name := args[0]
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			if err := checkNameFree(ks, name); err != nil {
				return err
			}
			toStdout := mnemonicOut == "-"
			if mnemonicOut == "" {
				if _, ok := terminalFD(env.Stdout); !ok {
					return errors.New("stdout is not a terminal: refusing to print the recovery phrase where it could be captured; " +
						"use --mnemonic-out FILE (written with mode 0600) or --mnemonic-out - to print it anyway")
				}
				toStdout = true
			}
			// Claim the phrase file first, so a bad path fails before the key exists.
			var mf *os.File
			if !toStdout {
				mf, err = os.OpenFile(mnemonicOut, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("create mnemonic file (it is never overwritten): %w", err)
				}
				defer func() {
					if err != nil && mf != nil {
						mf.Close()
						os.Remove(mnemonicOut)
					}
				}()
			}
			pass, err := env.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("New passphrase for key %q", name), Confirm: true})
			if err != nil {
				return err
			}
			k, mnemonic, err := ks.Create(name, pass)
			if err != nil {
				return err
			}
			out := struct {
				walletKey
				Mnemonic     string `json:"mnemonic,omitempty"`
				MnemonicFile string `json:"mnemonic_file,omitempty"`
			}{walletKey: keyView(name, k)}
			if toStdout {
				out.Mnemonic = mnemonic
			} else {
				if _, err := io.WriteString(mf, mnemonic+"\n"); err != nil {
					return fmt.Errorf("write mnemonic file: %w (the key %q was created; delete %s and create it again)", err, name, ks.Path(name))
				}
				if err := mf.Sync(); err != nil {
					return fmt.Errorf("sync mnemonic file: %w", err)
				}
				if err := mf.Close(); err != nil {
					return fmt.Errorf("close mnemonic file: %w", err)
				}
				mf = nil // written: keep it whatever happens next
				out.MnemonicFile = mnemonicOut
			}
			return env.Print(out, func(w io.Writer) error {
				fmt.Fprintf(w, "Created key %q\naddress: %s\npub_key: %s\n", out.Name, out.Address, out.PubKey)
				if out.MnemonicFile != "" {
					fmt.Fprintf(w, "Recovery phrase written to %s (mode 0600). Move it somewhere safe offline; anyone with it controls the key.\n", out.MnemonicFile)
					return nil
				}
				_, err := fmt.Fprintf(w, "\nRecovery phrase (shown only now; write it down and keep it offline, anyone with it controls the key):\n\n%s\n\n", out.Mnemonic)
				return err
			})
		},
	}
	addPassphraseFlag(cmd, &passFile)
	cmd.Flags().StringVar(&mnemonicOut, "mnemonic-out", "", "write the recovery phrase to this new file (mode 0600), or - for stdout")
	return cmd
}

func newWalletImportCmd(env *Env) *cobra.Command {
	var passFile, keystoreFile, bip39File string
	cmd := &cobra.Command{
		Use:   "import NAME",
		Short: "Import a key from a recovery phrase or an exported keystore file",
		Long: `Import a key under NAME.

Without --keystore, the recovery phrase is read from a prompt (no echo) when
stdin is a terminal, else from stdin; the key is encrypted with a new
passphrase. With --keystore FILE, an exported keystore file is checked by
decrypting it with its passphrase, then stored under NAME with the same
passphrase.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			if err := checkNameFree(ks, name); err != nil {
				return err
			}
			var k *wallet.Key
			if keystoreFile != "" {
				if bip39File != "" {
					return errors.New("--bip39-passphrase-file applies to recovery phrases, not to --keystore")
				}
				data, err := readLimited(keystoreFile, 64<<10)
				if err != nil {
					return fmt.Errorf("read keystore file: %w", err)
				}
				pass, err := env.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("Passphrase of %s", keystoreFile)})
				if err != nil {
					return err
				}
				if k, err = ks.ImportFile(name, data, pass); err != nil {
					return err
				}
			} else {
				mnemonic, err := env.readSecretInput("Recovery phrase")
				if err != nil {
					return err
				}
				var bip39Pass []byte
				if bip39File != "" {
					if bip39Pass, err = readPassphraseFile(bip39File, env.Stderr); err != nil {
						return err
					}
				}
				// Check the phrase before asking for a passphrase.
				if _, err := wallet.FromMnemonic(string(mnemonic), string(bip39Pass)); err != nil {
					return err
				}
				pass, err := env.readPassphrase(passphraseOpts{File: passFile, Prompt: fmt.Sprintf("New passphrase for key %q", name), Confirm: true})
				if err != nil {
					return err
				}
				if k, err = ks.Import(name, string(mnemonic), string(bip39Pass), pass); err != nil {
					return err
				}
			}
			v := keyView(name, k)
			return env.Print(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Imported key %q\naddress: %s\npub_key: %s\n", v.Name, v.Address, v.PubKey)
				return err
			})
		},
	}
	addPassphraseFlag(cmd, &passFile)
	cmd.Flags().StringVar(&keystoreFile, "keystore", "", "import this exported keystore file instead of a recovery phrase")
	cmd.Flags().StringVar(&bip39File, "bip39-passphrase-file", "", "optional BIP-39 passphrase (\"25th word\") of the recovery phrase, read from this file")
	return cmd
}

func newWalletListCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List keys (no passphrase needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			infos, listErr := ks.List()
			views := make([]walletKey, 0, len(infos))
			for _, in := range infos {
				views = append(views, publicView(in))
			}
			if err := env.Print(views, func(w io.Writer) error {
				if len(views) == 0 {
					_, err := fmt.Fprintf(w, "no keys in %s\n", ks.Dir())
					return err
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tADDRESS")
				for _, v := range views {
					fmt.Fprintf(tw, "%s\t%s\n", v.Name, v.Address)
				}
				return tw.Flush()
			}); err != nil {
				return err
			}
			return listErr
		},
	}
}

func newWalletShowCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a key's address and public key (no passphrase needed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			info, err := ks.Info(args[0])
			if err != nil {
				return err
			}
			v := publicView(info)
			return env.Print(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "name:    %s\naddress: %s\npub_key: %s\n", v.Name, v.Address, v.PubKey)
				return err
			})
		},
	}
}

func newWalletExportCmd(env *Env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Write a key's encrypted keystore file (never the plaintext key)",
		Long: `Write the encrypted keystore file of NAME to --out (a new file, mode 0600,
never overwritten) or to stdout. The file stays encrypted with the key's
passphrase; import it elsewhere with: deai wallet import NAME --keystore FILE.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := openKeystore(env)
			if err != nil {
				return err
			}
			data, err := ks.Export(args[0])
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := env.Stdout.Write(data)
				return err
			}
			if err := writeNewFile(out, data); err != nil {
				return err
			}
			info, err := ks.Info(args[0])
			if err != nil {
				return err
			}
			v := struct {
				walletKey
				File string `json:"file"`
			}{publicView(info), out}
			return env.Print(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Exported encrypted key %q (%s) to %s\n", v.Name, v.Address, v.File)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to this new file (mode 0600) instead of stdout")
	return cmd
}

// writeNewFile creates path with mode 0600, failing if it exists.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s (it is never overwritten): %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// readLimited reads at most max bytes of path.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
