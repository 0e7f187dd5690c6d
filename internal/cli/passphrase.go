package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// PassphraseEnv names the environment variable that may hold a keystore
// passphrase. It is convenient for scripts and CI, but other processes of the
// same user can read a process's environment; prefer --passphrase-file.
const PassphraseEnv = "DEAI_PASSPHRASE"

// maxSecretInput bounds what is read from a passphrase file or stdin.
const maxSecretInput = 4 << 10

// addPassphraseFlag registers --passphrase-file on cmd. Every command that
// unlocks or writes a key uses it, together with readPassphrase.
func addPassphraseFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVar(file, "passphrase-file", "",
		"read the keystore passphrase from this file (first line; else $"+PassphraseEnv+", else a prompt)")
}

// passphraseOpts says what a passphrase is for.
type passphraseOpts struct {
	File    string // --passphrase-file, "" if not given
	Prompt  string // shown on the terminal, e.g. `Passphrase for key "alice"`
	Confirm bool   // creating: prompt twice and refuse an empty passphrase
}

// readPassphrase returns the passphrase from, in order: the --passphrase-file,
// $DEAI_PASSPHRASE, or a no-echo prompt on the terminal (stdin). If none is
// available it fails with an error that names the options. The passphrase is
// never echoed, printed or logged.
func (e *Env) readPassphrase(o passphraseOpts) ([]byte, error) {
	var pass []byte
	switch v, ok := os.LookupEnv(PassphraseEnv); {
	case o.File != "":
		p, err := readPassphraseFile(o.File, e.Stderr)
		if err != nil {
			return nil, err
		}
		pass = p
	case ok:
		pass = []byte(v)
	default:
		fd, ok := terminalFD(e.Stdin)
		if !ok {
			return nil, fmt.Errorf("need a passphrase: stdin is not a terminal; use --passphrase-file FILE or set $%s", PassphraseEnv)
		}
		p, err := promptSecret(fd, e.Stderr, o.Prompt+": ")
		if err != nil {
			return nil, err
		}
		if o.Confirm && len(p) > 0 {
			again, err := promptSecret(fd, e.Stderr, "Repeat passphrase: ")
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(p, again) {
				return nil, errors.New("passphrases do not match")
			}
		}
		pass = p
	}
	if o.Confirm && len(pass) == 0 {
		return nil, errors.New("empty passphrase: choose one; it encrypts the key file")
	}
	return pass, nil
}

// readPassphraseFile reads the first line of path (without its line ending).
func readPassphraseFile(path string, stderr io.Writer) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "warning: passphrase file %s is accessible by other users (mode %v); chmod 600 it\n", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretInput+1))
	if err != nil {
		return nil, fmt.Errorf("read passphrase file: %w", err)
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("read passphrase file %s: longer than %d bytes", path, maxSecretInput)
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSuffix(b, []byte("\r")), nil
}

// readSecretInput reads a secret that is not a passphrase (a mnemonic): a
// no-echo prompt when stdin is a terminal, else all of stdin.
func (e *Env) readSecretInput(prompt string) ([]byte, error) {
	if fd, ok := terminalFD(e.Stdin); ok {
		return promptSecret(fd, e.Stderr, prompt+": ")
	}
	b, err := io.ReadAll(io.LimitReader(e.Stdin, maxSecretInput+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > maxSecretInput {
		return nil, fmt.Errorf("read stdin: longer than %d bytes", maxSecretInput)
	}
	return b, nil
}

// terminalFD returns r's file descriptor if r is a terminal.
func terminalFD(r any) (int, bool) {
	f, ok := r.(*os.File)
	if !ok || f == nil || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// promptSecret writes prompt to w (stderr, so stdout stays clean for -o json)
// and reads a line from the terminal without echo.
func promptSecret(fd int, w io.Writer, prompt string) ([]byte, error) {
	fmt.Fprint(w, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	return b, nil
}
