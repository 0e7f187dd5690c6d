// Package market is the off-chain half of the compute marketplace: the
// provider daemon (order watcher, capacity inventory, bid engine with a
// price table or an external pricing script, manifest server, lease
// manager that runs workloads through a runtime and meters them) and the
// tenant client (deploy, choose a bid, send the manifest, follow status and
// logs, top up, close). The on-chain rules live in ledger/market; manifests
// in market/manifest; container and process runtimes in market/runtime.
// It never imports other services; node wires it.
package market
