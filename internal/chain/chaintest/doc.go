// Package chaintest is the in-memory twin of a chain node, plus test
// harnesses shared by the chain's tests and its consumers'.
//
// Client implements chain.Client by driving any ABCI application directly,
// without consensus, network or disk: fast enough for every service test,
// with the codes, events and query behaviour of the real node (checked by
// RunConformance against the real clients and the twin alike). Cluster runs
// validators as separate OS processes for fault tests.
//
// It may import chain and CometBFT; only tests and test helpers import it.
package chaintest
