// Package chain runs CometBFT v0.38 inside the deai process and gives every
// service one Client to talk to it, in process or over RPC.
//
// It owns the node's home directory (InitHome, InitTestnet, LoadConfig), the
// embedded node (NewNode) and the Client interface with result types of its
// own, so that consumers never need CometBFT types. The in-memory twin of the
// Client lives in chain/chaintest.
//
// Settings live in CometBFT's own config/config.toml, written once by InitHome
// and read back by LoadConfig on every start: block time is
// consensus.timeout_commit, ports are rpc.laddr and p2p.laddr, peers are
// p2p.persistent_peers. deai adds no second config file for the chain.
// genesis.json is written once and never rewritten: CometBFT records the
// genesis it first started from in its state DB.
//
// chain may import tx and errs; it must not import ledger or abciapp: the
// ABCI application is handed in as an abcitypes.Application.
package chain
