package module

import (
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/errs"
)

// Reason is the stable, machine-readable cause of a rejected tx or query.
// Its numeric value is the ABCI result code (see abciapp's code table), so
// a client sees the same number from a real node and from the in-memory
// twin. Values are never reused or renumbered.
type Reason uint32

// The reasons.
const (
	OK                      Reason = 0
	ReasonMalformed         Reason = 1  // bytes do not decode as a tx
	ReasonOversize          Reason = 2  // tx or memo over the size limit
	ReasonWrongChainID      Reason = 3  // signed for another chain
	ReasonBadSignature      Reason = 4  // signature does not verify
	ReasonBadNonce          Reason = 5  // replayed or out-of-order nonce
	ReasonInsufficientFunds Reason = 6  // balance below fee plus amounts
	ReasonOverflow          Reason = 7  // amount arithmetic overflows
	ReasonZeroAmount        Reason = 8  // zero amount in a message
	ReasonFeeTooLow         Reason = 9  // fee below the chain's minimum
	ReasonUnknownMsg        Reason = 10 // message type not registered
	ReasonUnauthorized      Reason = 11 // message signer is not the tx signer
	ReasonInvalid           Reason = 12 // other invalid input
	ReasonNotFound          Reason = 13 // queried object does not exist
	ReasonBadQuery          Reason = 14 // unknown query path or bad argument
	ReasonInternal          Reason = 15 // a bug or broken invariant; see the node log
	ReasonRateLimited       Reason = 16 // too soon: a rate limit or a window not yet open; retry later
)

var reasonNames = [...]string{
	OK: "ok", ReasonMalformed: "malformed", ReasonOversize: "oversize", ReasonWrongChainID: "wrong_chain_id",
	ReasonBadSignature: "bad_signature", ReasonBadNonce: "bad_nonce", ReasonInsufficientFunds: "insufficient_funds",
	ReasonOverflow: "overflow", ReasonZeroAmount: "zero_amount", ReasonFeeTooLow: "fee_too_low",
	ReasonUnknownMsg: "unknown_message", ReasonUnauthorized: "unauthorized", ReasonInvalid: "invalid",
	ReasonNotFound: "not_found", ReasonBadQuery: "bad_query", ReasonInternal: "internal",
	ReasonRateLimited: "rate_limited",
}

// Reasons lists every defined reason in numeric order.
func Reasons() []Reason {
	rs := make([]Reason, len(reasonNames))
	for i := range rs {
		rs[i] = Reason(i)
	}
	return rs
}

// String returns the snake_case name, e.g. "bad_nonce".
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason_%d", uint32(r))
}

// Kind maps the reason to its errs kind.
func (r Reason) Kind() errs.Kind {
	switch r {
	case OK:
		return errs.Other
	case ReasonBadSignature, ReasonUnauthorized:
		return errs.Permission
	case ReasonBadNonce:
		return errs.Conflict
	case ReasonInsufficientFunds:
		return errs.Insufficient
	case ReasonNotFound:
		return errs.NotExist
	case ReasonInternal:
		return errs.Internal
	case ReasonRateLimited:
		return errs.Transient
	default:
		return errs.Invalid
	}
}

// Error carries a Reason. It is always wrapped in an *errs.Error of the
// reason's kind, so both errs.KindOf and ReasonOf work on it.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an error with reason r; the message is what a client sees
// in the result log, so it should say what was wrong and what was expected.
func Errorf(r Reason, format string, args ...any) error {
	return Wrap(r, fmt.Errorf(format, args...))
}

// Wrap attaches reason r to err; nil stays nil.
func Wrap(r Reason, err error) error {
	if err == nil {
		return nil
	}
	return &errs.Error{Kind: r.Kind(), Err: &Error{Reason: r, Err: err}}
}

// ReasonOf returns the reason in err's chain. Errors without one map by
// kind, and unclassified errors are internal.
func ReasonOf(err error) Reason {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	switch errs.KindOf(err) {
	case errs.Invalid:
		return ReasonInvalid
	case errs.NotExist:
		return ReasonNotFound
	case errs.Permission:
		return ReasonUnauthorized
	case errs.Insufficient:
		return ReasonInsufficientFunds
	default:
		return ReasonInternal
	}
}
