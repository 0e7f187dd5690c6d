// Package agents is the ledger module of the agent layer's on-chain
// parts (agents spec §3): a registry of agent services for discovery, and
// spend permissions, the allowances an owner account grants an agent key
// per period, so that the budget of an agent is enforced by the chain and
// a compromised agent host cannot exceed it. Like the rest of the ledger
// it is pure and deterministic: no I/O, clock, randomness, goroutines,
// floating point or map-order dependence.
//
// # Service registry
//
// MsgRegisterService records a service under a unique, DNS-like name
// (ValidName): owner, description, endpoint URL, the sha256 digest of its
// canonical schema, a price per call in udeai, up to MaxCapabilities
// sorted capability tags, and an expiry height (the last height at which
// the record is live, at most Params.MaxRegistrationBlocks ahead). The
// record is signed by the tx that carries it: the chain verified the
// signature and stores the owner. Params.FeePerBlock is burned for every
// block of registration, at registration and for the blocks a
// MsgRenewService adds. MsgUpdateService replaces the description,
// endpoint, schema digest, price and capabilities; MsgDeregisterService
// frees the name at once. An expired record is gone from the state of the
// block after its expiry: EndBlock removes it from a timer wheel keyed by
// height (at most Params.EndBlockLimit per block, no scans), and a
// registration of an expired name that the sweep has not reached yet
// removes it first. Discovery queries filter by capability (an index) and
// price, and with ?height= also by expiry.
//
// # Spend permissions
//
// MsgGrantSpend lets an agent key move its owner's funds within
// SpendLimits: an allowance per period of PeriodBlocks (periods start at
// the grant's height and follow each other without gaps; spending is
// counted per period and reset lazily by the first debit of a later
// one), a total cap, an optional per-call max, an optional allowlist of
// counterparties and an optional expiry height. A new grant replaces the
// old one with counters at zero. MsgRevokeSpend is the kill switch. The
// agent spends with MsgSpend (a transfer from the owner's balance; the
// agent pays only the tx fee), or funds payment channels (paych's
// MsgOpenChannel and MsgTopUp with their via_owner field), both through
// Charge, which checks in this order and refuses with its own reason:
// no permission (not_found), revoked (unauthorized), expired
// (unauthorized), counterparty not allowlisted (unauthorized), above the
// per-call max (invalid), above what is left of the period's allowance
// (rate_limited, with the height the next period starts), above what is
// left of the total cap (insufficient_funds); then the owner's balance
// must cover it (insufficient_funds). The chain executes txs one at a
// time, so concurrent spends can never exceed a cap together.
//
// # Queries
//
// Under /agents, JSON (see Module.Query): params (Params);
// service/<name> (Service); services?capability=&max_price=&after=
// (discovery, []Service in name order); services/owner/<addr>
// ([]Service); permission/<owner>/<agent>?height=<h> (PermissionResult:
// the Permission with "active", "period_start_at", "period_spent_at",
// "period_remaining", "next_period_at", "total_remaining" and
// "spendable" at h); permissions/<owner> ([]Permission). Lists take
// ?limit= (default 100, at most 1000) and ?after=. Amounts are udeai
// strings.
//
// # Events
//
// agents.service_registered (name, owner, endpoint, price, expiry, fee),
// agents.service_updated, agents.service_renewed (with expiry, fee),
// agents.service_deregistered, agents.service_expired (EndBlock),
// agents.spend_granted (owner, agent, allowance, period_blocks,
// total_cap, per_call_max, allowlist count, expiry, replaced),
// agents.spend_revoked, and agents.spend (owner, agent, to, amount,
// purpose: transfer, channel_open or channel_top_up, period_start,
// period_spent, total_spent) for every debit; bank's burn and transfer
// events move the money.
package agents
