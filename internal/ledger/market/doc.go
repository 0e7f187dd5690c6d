// Package market is the ledger module of the compute marketplace:
// providers and auditor-signed attributes, deployments whose groups become
// orders, provider bids, leases, and escrow accounts that pay providers per
// block or per reported unit of usage, settled lazily whenever an account
// is touched. It is pure and deterministic like the rest of the ledger.
package market
