// Package tx defines deai transactions and messages, their canonical
// deterministic encoding and signing bytes, account addresses and amounts.
// It depends only on the standard library and encoding helpers; never on the
// ledger, CometBFT or the network.
package tx
