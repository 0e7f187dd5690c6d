// Package bank is the ledger's accounts module: balances, nonces and public
// keys, transfers (tx.MsgSend), fee burning and the supply record that makes
// conservation checkable (total balances + burned == genesis + minted). The
// ledger core uses its functions for fees and nonces; other modules use them
// to move funds. It is pure and deterministic like the rest of the ledger.
package bank

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Name is the module name and key prefix.
const Name = "bank"

var (
	accountPrefix = []byte("bank/a/")
	supplyKey     = []byte("bank/supply")
)

// Event types emitted by bank.
const (
	EventTransfer       = "transfer"        // sender, recipient, amount
	EventAccountCreated = "account_created" // address
	EventFeeBurn        = "fee_burn"        // payer, amount
	EventBurn           = "burn"            // address, amount
	EventMint           = "mint"            // recipient, amount
	EventNonce          = "nonce"           // address, nonce (the next one expected)
	EventPubKeySet      = "pubkey_set"      // address, pubkey (hex)
)

// HexBytes marshals as lower-case hex in JSON.
type HexBytes []byte

// MarshalText implements encoding.TextMarshaler.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *HexBytes) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// Account is the state of one address. Nonce is the next nonce the
// account's txs must carry. PubKey is recorded by the account's first tx.
type Account struct {
	Address tx.Address `json:"address"`
	Balance tx.Amount  `json:"balance"`
	Nonce   uint64     `json:"nonce"`
	PubKey  HexBytes   `json:"pubkey,omitempty"`
}

func accountKey(a tx.Address) []byte {
	k := make([]byte, 0, len(accountPrefix)+tx.AddressLen)
	return append(append(k, accountPrefix...), a[:]...)
}

// encode: balance u64 ‖ nonce u64 ‖ pubkey (u8 len ‖ 0 or 32 bytes).
func (a *Account) encode() []byte {
	b := make([]byte, 0, 8+8+1+ed25519.PublicKeySize)
	b = tx.AppendU64(b, uint64(a.Balance))
	b = tx.AppendU64(b, a.Nonce)
	return tx.AppendBytes8(b, a.PubKey)
}

func decodeAccount(addr tx.Address, b []byte) (Account, error) {
	r := tx.NewReader(b)
	a := Account{Address: addr, Balance: tx.Amount(r.U64()), Nonce: r.U64()}
	if pk := r.Bytes8(ed25519.PublicKeySize); len(pk) > 0 {
		a.PubKey = append(HexBytes(nil), pk...)
	}
	if err := r.Done(); err != nil {
		return Account{}, module.Errorf(module.ReasonInternal, "decode account %s: %v", addr, err)
	}
	return a, nil
}

// GetAccount returns the account at addr and whether it exists.
func GetAccount(kv state.KV, addr tx.Address) (Account, bool, error) {
	b, err := kv.Get(accountKey(addr))
	if err != nil {
		return Account{}, false, module.Wrap(module.ReasonInternal, fmt.Errorf("read account %s: %w", addr, err))
	}
	if b == nil {
		return Account{Address: addr}, false, nil
	}
	a, err := decodeAccount(addr, b)
	return a, err == nil, err
}

// SetAccount stores a.
func SetAccount(s state.Store, a Account) { s.Set(accountKey(a.Address), a.encode()) }

// IterateAccounts calls fn for every account in address order.
func IterateAccounts(kv state.KV, fn func(Account) error) error {
	return kv.Iterate(accountPrefix, func(k, v []byte) error {
		var addr tx.Address
		if len(k) != len(accountPrefix)+tx.AddressLen {
			return module.Errorf(module.ReasonInternal, "bad account key %x", k)
		}
		copy(addr[:], k[len(accountPrefix):])
		a, err := decodeAccount(addr, v)
		if err != nil {
			return err
		}
		return fn(a)
	})
}

// Supply is the bank's ledger of where tokens came from and went.
// Invariant: sum of balances + Burned == Genesis + Minted.
type Supply struct {
	Genesis tx.Amount `json:"genesis"`
	Minted  tx.Amount `json:"minted"`
	Burned  tx.Amount `json:"burned"`
}

// GetSupply reads the supply record.
func GetSupply(kv state.KV) (Supply, error) {
	b, err := kv.Get(supplyKey)
	if err != nil {
		return Supply{}, module.Wrap(module.ReasonInternal, fmt.Errorf("read supply: %w", err))
	}
	if b == nil {
		return Supply{}, nil
	}
	r := tx.NewReader(b)
	s := Supply{Genesis: tx.Amount(r.U64()), Minted: tx.Amount(r.U64()), Burned: tx.Amount(r.U64())}
	if err := r.Done(); err != nil {
		return Supply{}, module.Errorf(module.ReasonInternal, "decode supply: %v", err)
	}
	return s, nil
}

func setSupply(st state.Store, s Supply) {
	b := tx.AppendU64(make([]byte, 0, 24), uint64(s.Genesis))
	b = tx.AppendU64(b, uint64(s.Minted))
	st.Set(supplyKey, tx.AppendU64(b, uint64(s.Burned)))
}

// debit subtracts amt from the existing account at addr.
func debit(ctx *module.Context, addr tx.Address, amt tx.Amount) (Account, error) {
	a, ok, err := GetAccount(ctx.Store, addr)
	if err != nil {
		return a, err
	}
	nb, err := a.Balance.Sub(amt)
	if !ok || err != nil {
		return a, module.Errorf(module.ReasonInsufficientFunds, "insufficient funds: %s has %s, needs %s", addr, a.Balance, amt)
	}
	a.Balance = nb
	SetAccount(ctx.Store, a)
	return a, nil
}

// credit adds amt to addr, creating the account if needed.
func credit(ctx *module.Context, addr tx.Address, amt tx.Amount) error {
	a, ok, err := GetAccount(ctx.Store, addr)
	if err != nil {
		return err
	}
	nb, err := a.Balance.Add(amt)
	if err != nil {
		return module.Errorf(module.ReasonOverflow, "balance of %s would overflow: %s + %s", addr, a.Balance, amt)
	}
	if !ok && !ctx.Check {
		ctx.Emit(EventAccountCreated, "address", addr.String())
	}
	a.Balance = nb
	SetAccount(ctx.Store, a)
	return nil
}

// Transfer moves amt from one account to another, creating the recipient.
func Transfer(ctx *module.Context, from, to tx.Address, amt tx.Amount) error {
	if amt.IsZero() {
		return module.Errorf(module.ReasonZeroAmount, "transfer of zero")
	}
	if _, err := debit(ctx, from, amt); err != nil {
		return err
	}
	if err := credit(ctx, to, amt); err != nil {
		return err
	}
	if !ctx.Check {
		ctx.Emit(EventTransfer, "sender", from.String(), "recipient", to.String(), "amount", amt.String())
	}
	return nil
}

// Burn destroys amt from addr's balance and adds it to Supply.Burned.
func Burn(ctx *module.Context, addr tx.Address, amt tx.Amount) error {
	return burn(ctx, addr, amt, EventBurn, "address")
}

// BurnFee is Burn for a tx fee, with its own event type.
func BurnFee(ctx *module.Context, payer tx.Address, fee tx.Amount) error {
	return burn(ctx, payer, fee, EventFeeBurn, "payer")
}

func burn(ctx *module.Context, addr tx.Address, amt tx.Amount, event, who string) error {
	if amt.IsZero() {
		return nil
	}
	s, err := GetSupply(ctx.Store)
	if err != nil {
		return err
	}
	if s.Burned, err = s.Burned.Add(amt); err != nil {
		return module.Wrap(module.ReasonOverflow, fmt.Errorf("burned total: %w", err))
	}
	if _, err := debit(ctx, addr, amt); err != nil {
		return err
	}
	setSupply(ctx.Store, s)
	ctx.Emit(event, who, addr.String(), "amount", amt.String())
	return nil
}

// Mint creates amt in addr's balance and adds it to Supply.Minted (for
// emission by later modules).
func Mint(ctx *module.Context, to tx.Address, amt tx.Amount) error {
	if amt.IsZero() {
		return nil
	}
	s, err := GetSupply(ctx.Store)
	if err != nil {
		return err
	}
	if s.Minted, err = s.Minted.Add(amt); err != nil {
		return module.Wrap(module.ReasonOverflow, fmt.Errorf("minted total: %w", err))
	}
	if err := credit(ctx, to, amt); err != nil {
		return err
	}
	setSupply(ctx.Store, s)
	ctx.Emit(EventMint, "recipient", to.String(), "amount", amt.String())
	return nil
}

// GenesisAccount is one allocation in the genesis file.
type GenesisAccount struct {
	Address tx.Address `json:"address"`
	Balance tx.Amount  `json:"balance"`
}

// ValidateGenesis checks allocations: valid, distinct, non-zero, and a
// total that fits an Amount.
func ValidateGenesis(accts []GenesisAccount) error {
	seen := make(map[tx.Address]bool, len(accts))
	var total tx.Amount
	for i, a := range accts {
		if a.Address.IsZero() {
			return fmt.Errorf("genesis account %d: missing address", i)
		}
		if seen[a.Address] {
			return fmt.Errorf("genesis account %d: duplicate address %s", i, a.Address)
		}
		seen[a.Address] = true
		if a.Balance.IsZero() {
			return fmt.Errorf("genesis account %d (%s): zero balance", i, a.Address)
		}
		var err error
		if total, err = total.Add(a.Balance); err != nil {
			return fmt.Errorf("genesis supply: %w", err)
		}
	}
	return nil
}

// InitGenesis writes the allocations and the supply record.
func InitGenesis(ctx *module.Context, accts []GenesisAccount) error {
	if err := ValidateGenesis(accts); err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	var total tx.Amount
	for _, a := range accts {
		SetAccount(ctx.Store, Account{Address: a.Address, Balance: a.Balance})
		ctx.Emit(EventAccountCreated, "address", a.Address.String())
		total, _ = total.Add(a.Balance) // checked by ValidateGenesis
	}
	setSupply(ctx.Store, Supply{Genesis: total})
	return nil
}

// Module is the bank as a ledger module: it executes tx.MsgSend.
type Module struct{}

var (
	_ module.Module  = Module{}
	_ module.Querier = Module{}
)

// Name implements module.Module.
func (Module) Name() string { return Name }

// RegisterMsgs implements module.Module.
func (Module) RegisterMsgs(r *tx.Registry) error {
	return r.Register(tx.TypeMsgSend, "bank/send", tx.DecodeMsgSend)
}

// Deliver implements module.Module.
func (Module) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	switch m := msg.(type) {
	case *tx.MsgSend:
		if m.From != sender {
			return module.Errorf(module.ReasonUnauthorized, "send from %s signed by %s", m.From, sender)
		}
		return Transfer(ctx, m.From, m.To, m.Amount)
	default:
		return module.Errorf(module.ReasonUnknownMsg, "bank cannot execute message type %#04x", uint16(msg.Type()))
	}
}

// Query implements module.Querier: /bank/account/<addr>.
func (Module) Query(kv state.KV, path []string) (any, error) {
	if len(path) == 2 && path[0] == "account" {
		addr, err := tx.ParseAddress(path[1])
		if err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
		a, ok, err := GetAccount(kv, addr)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, module.Errorf(module.ReasonNotFound, "account %s not found", addr)
		}
		return a, nil
	}
	return nil, module.Errorf(module.ReasonBadQuery, "unknown bank query %q", path)
}

// Ante charges a tx's fee and advances its nonce in one read-modify-write
// of the sender's account: the sender must exist, nonce must equal the
// account's next nonce, and the balance must cover spend (fee plus the
// amounts the messages will move). It records pub as the account's key on
// first use.
func Ante(ctx *module.Context, pub ed25519.PublicKey, nonce uint64, fee, spend tx.Amount) error {
	addr := tx.AddressFromPubKey(pub)
	a, ok, err := GetAccount(ctx.Store, addr)
	if err != nil {
		return err
	}
	if nonce != a.Nonce {
		what := "replayed"
		if nonce > a.Nonce {
			what = "out-of-order"
		}
		return module.Errorf(module.ReasonBadNonce, "%s nonce %d for %s: next nonce is %d", what, nonce, addr, a.Nonce)
	}
	if !ok || a.Balance < spend || a.Balance < fee {
		return module.Errorf(module.ReasonInsufficientFunds, "insufficient funds: %s has %s, fee plus amounts is %s", addr, a.Balance, spend)
	}
	if a.Nonce == ^uint64(0) {
		return module.Errorf(module.ReasonOverflow, "nonce of %s is exhausted", addr)
	}
	var as string
	if !ctx.Check { // events are dropped in CheckTx; skip formatting them
		as = addr.String()
	}
	if len(a.PubKey) == 0 {
		a.PubKey = append(HexBytes(nil), pub...)
		ctx.Emit(EventPubKeySet, "address", as, "pubkey", hex.EncodeToString(pub))
	}
	if !fee.IsZero() {
		s, err := GetSupply(ctx.Store)
		if err != nil {
			return err
		}
		if s.Burned, err = s.Burned.Add(fee); err != nil {
			return module.Wrap(module.ReasonOverflow, fmt.Errorf("burned total: %w", err))
		}
		a.Balance -= fee // checked above
		setSupply(ctx.Store, s)
		ctx.Emit(EventFeeBurn, "payer", as, "amount", fee.String())
	}
	a.Nonce++
	SetAccount(ctx.Store, a)
	ctx.Emit(EventNonce, "address", as, "nonce", strconv.FormatUint(a.Nonce, 10))
	return nil
}
