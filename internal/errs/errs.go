// Package errs defines the closed set of error kinds used across deai. Each
// boundary maps a Kind once: to an ABCI result code in abciapp, to an HTTP
// status and OpenAI error object in the servers. It depends on nothing.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for callers that branch on it.
type Kind uint8

// The kinds. Their numeric values are not stable; map them explicitly.
const (
	Other        Kind = iota // unclassified
	Invalid                  // malformed or out-of-range input
	NotExist                 // the thing asked for does not exist
	Exist                    // the thing already exists
	Permission               // signature, ownership or authorization failure
	Insufficient             // not enough funds, budget or quota
	Conflict                 // a state conflict such as a stale nonce
	Transient                // try again later: timeouts, overload
	Internal                 // a bug or broken invariant
)

var kindNames = [...]string{"other", "invalid", "not exist", "exist", "permission", "insufficient", "conflict", "transient", "internal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is an error with a Kind. Op names the operation that failed.
type Error struct {
	Op   string
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.Op != "" && e.Err != nil:
		return e.Op + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	case e.Op != "":
		return e.Op + ": " + e.Kind.String()
	default:
		return e.Kind.String()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error. format and args describe the cause.
func E(op string, kind Kind, format string, args ...any) error {
	return &Error{Op: op, Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Wrap attaches op and kind to err; nil stays nil.
func Wrap(op string, kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Kind: kind, Err: err}
}

// KindOf returns the kind of the outermost classified error in err's chain,
// or Other.
func KindOf(err error) Kind {
	var e *Error
	for err != nil {
		if errors.As(err, &e) {
			if e.Kind != Other {
				return e.Kind
			}
			err = e.Err
			continue
		}
		return Other
	}
	return Other
}
