package abciapp

import "github.com/deai-network/deai/internal/ledger/module"

// Codespace is the ABCI codespace of every non-zero code.
const Codespace = "deai"

// The ABCI result codes (see the package doc). They are the ledger's
// reasons, so the in-memory twin reports the same numbers.
const (
	CodeOK                uint32 = uint32(module.OK)
	CodeMalformed         uint32 = uint32(module.ReasonMalformed)
	CodeOversize          uint32 = uint32(module.ReasonOversize)
	CodeWrongChainID      uint32 = uint32(module.ReasonWrongChainID)
	CodeBadSignature      uint32 = uint32(module.ReasonBadSignature)
	CodeBadNonce          uint32 = uint32(module.ReasonBadNonce)
	CodeInsufficientFunds uint32 = uint32(module.ReasonInsufficientFunds)
	CodeOverflow          uint32 = uint32(module.ReasonOverflow)
	CodeZeroAmount        uint32 = uint32(module.ReasonZeroAmount)
	CodeFeeTooLow         uint32 = uint32(module.ReasonFeeTooLow)
	CodeUnknownMessage    uint32 = uint32(module.ReasonUnknownMsg)
	CodeUnauthorized      uint32 = uint32(module.ReasonUnauthorized)
	CodeInvalid           uint32 = uint32(module.ReasonInvalid)
	CodeNotFound          uint32 = uint32(module.ReasonNotFound)
	CodeBadQuery          uint32 = uint32(module.ReasonBadQuery)
	CodeInternal          uint32 = uint32(module.ReasonInternal)
	CodeRateLimited       uint32 = uint32(module.ReasonRateLimited)
)

// CodeName returns the snake_case name of a code, e.g. "bad_nonce".
func CodeName(code uint32) string { return module.Reason(code).String() }

func codespace(code uint32) string {
	if code == CodeOK {
		return ""
	}
	return Codespace
}
