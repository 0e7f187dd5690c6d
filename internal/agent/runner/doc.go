// Package runner runs declarative agents (`deai agent run FILE.yaml`): a
// YAML Spec names the agent's budget, the paid services it sells, its
// triggers (an interval, an HTTP endpoint), the steps of each run (paid
// calls to other agents' services found in the on-chain registry, model
// calls through a deai gateway paid per call, plain fetches, files,
// templates, transfers, stakes and leases) and its outputs (files, HTTP).
//
// Every payment goes through agent.Budget at the signer (reserve, then
// commit or release) and a payment channel per payee (agent.Payer, opened
// and topped up on demand, lanes saved in the state directory); every
// payment, refusal and action is appended to the agent's signed,
// hash-chained audit log (agent.AuditLog, `deai agent log`). Payments
// above the budget's approval threshold wait for the owner's signature
// (`deai agent approve`); a KILL file in the state directory stops all
// payments. The services sell through agent.Paywall and redeem what they
// earn periodically.
//
// runner builds on package agent, the ledger and the chain client; it
// imports no other service. Leases go through the Leaser interface, which
// internal/node implements with the market's tenant client.
package runner
