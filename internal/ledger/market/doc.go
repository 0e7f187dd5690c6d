// Package market is the ledger module of the compute marketplace:
// providers and auditor-signed attributes, deployments whose groups become
// orders, provider bids, leases, and escrow accounts that pay providers per
// block or per reported unit of usage, settled lazily whenever an account
// is touched and swept by EndBlock so that a dry account is noticed by the
// chain itself. It follows ../shared/specs/market.md (an Akash-style
// reverse auction). Like the rest of the ledger it is pure and
// deterministic: no I/O, clock, randomness, goroutines, floating point or
// map-order dependence. types.go holds the resource and placement types it
// shares with the manifest parsers and the provider daemon.
//
// # Objects and IDs
//
// A deployment (owner/dseq, dseq chosen by the owner, unique per owner
// forever) has groups (gseq 1..n, one per GroupSpec); an open group has
// one order at a time (oseq 1, 2, … as the group re-auctions); providers
// bid on orders (one bid per provider per order, ID order/provider); the
// owner accepts one bid, which becomes a lease with the same ID. IDs print
// and parse as "/"-separated strings (ParseDeploymentID, ParseGroupID,
// ParseOrderID, ParseBidID, ParseLeaseID). State enums and the close
// reasons (1 owner; 10000–10003 provider: unstable, decommission,
// unspecified, manifest_timeout; 20000 insufficient_funds) are in
// states.go.
//
// # Money
//
// Every escrowed amount sits in EscrowAccount, a bank account nobody holds
// a key for, moved there and back with bank.Transfer, so the supply
// invariant (balances + burned == genesis + minted) holds unchanged. The
// module's records say whose it is: EscrowAccount's balance always equals
// the funds of the open deployment accounts plus the leases' earned but
// unwithdrawn balances plus the deposits of open and active bids, and
// every account's funds equal deposited − transferred − refunded. Amounts
// are integer udeai with checked or saturating arithmetic.
//
// MsgCreateDeployment moves the deposit (at least Params.MinDeposit) from
// the owner. Anyone may top up with MsgDepositDeployment. Deposits are
// drawn first in, first out; a second deposit by the newest depositor is
// merged into its entry, and an account keeps at most MaxDeposits
// entries. When a deployment closes, what is left goes back to each
// depositor. A bid's deposit (at least Params.BidMinDeposit) is held
// while the bid is open or active and refunded when it closes or loses.
//
// # Settlement
//
// An account is settled whenever a message touches it (deposit, lease
// create/close/withdraw, group and deployment changes, usage reports):
// each per-block lease is owed its price × the blocks since the last
// settlement, paid from the deposits into the lease's balance. The
// provider collects the balance with MsgWithdrawLease, and any balance
// left is paid out when the lease closes. Besides, EndBlock settles an
// account with per-block leases SettleEveryBlocks after its last
// settlement, or at the first block its funds cannot pay for, whichever
// comes first; the schedule is a timer wheel keyed by height, so each
// block's work is bounded (Params.EndBlockLimit) and needs no iteration.
//
// If the funds do not cover what is owed, everything left is paid (whole
// blocks to every lease, then the remainder in gseq order, at most one
// block's price each), the shortfall is recorded as the leases'
// unsettled amount, and the deployment is closed: leases become
// insufficient_funds with reason 20000, groups insufficient_funds, open
// orders and bids closed with the bid deposits refunded, the account
// overdrawn. This cascade happens in EndBlock, in a withdrawal, a usage
// report or a close that finds the overdraft; MsgCreateLease and
// MsgDepositDeployment instead fail with insufficient_funds (a deposit
// that covers the debt rescues the account: it is added before settling).
// Because the sweep runs at the exact dry block, a dry deployment is
// closed in the block it runs out unless more than EndBlockLimit accounts
// fall due at once.
//
// # Auction
//
// MsgCreateBid is checked in this order: deposit ≥ BidMinDeposit, provider
// registered, order open, fewer than MaxBidsPerOrder bids ever made on the
// order, no earlier bid by the provider, price ≤ the order's max price
// (GroupSpec.MaxPrice: Σ unit price × count), unit prices only on
// usage-billed groups, placement, capabilities. Placement (market spec
// §5): without signed_by every required attribute (glob key, exact value;
// see MatchAttributes) must match the provider's own attributes (its
// region counts as region=<region>); with signed_by, every all_of auditor
// and at least one any_of auditor (when listed) must have signed, with
// MsgSignProviderAttributes, attributes of the provider that match every
// requirement. Capabilities: every persistent volume's class must be one
// of the provider's capabilities/storage/<n>/class with
// capabilities/storage/<n>/persistent=true, and every unit with GPUs needs
// a resources_offer entry naming a concrete GPU that satisfies one of the
// unit's alternatives (GPUAttr.Matches) and that the provider declares as
// capabilities/gpu/vendor/<v>/model/<m>[/ram/<r>][/interface/<i>]=true.
// Open bids older than BidTimeoutBlocks are closed by EndBlock and
// refunded. MsgCreateLease (the owner; bid, order and group open) makes the
// bid active and the order's other open bids lost. MsgCloseLease by the
// owner re-opens the group with a new order; by the provider (or
// MsgCloseBid on an active bid) it pauses the group until MsgStartGroup.
// MsgCloseGroup closes a group for good; closing the last one closes the
// deployment. MsgDeleteProvider needs no open bids and no active leases.
//
// # Usage billing
//
// A group with Billing == BillingUsage is leased at the bid's price per
// block as a cap, with the bid's UnitPrices per core-second, GiB-second
// and GPU-second. Settlement accrues nothing for it. Its provider sends
// MsgReportUsage with a strictly increasing seq, covering the blocks after
// the previous report (or the lease's start) up to UpToHeight (0: the
// block it lands in), with the cpu-milli-seconds, memory-MiB-seconds and
// GPU-seconds used by all replicas. The report is refused if the usage
// reported since the anchor exceeds what the group's resources could
// deliver in the consensus time elapsed since it (the anchor is the lease's
// start, or the last report that covered up to its own block, whose time
// is known exactly: reports up to earlier blocks accumulate against the
// same anchor). The charge is UsageCost capped at the bid price × blocks
// covered, so the tenant never pays more than the per-block bid. A charge
// the account cannot cover takes what is left and closes the deployment
// (20000). Closing: the provider should send its final report and
// MsgCloseLease (or MsgCloseBid) in one tx, which pays the usage up to
// that block before the lease closes. When the owner or the network
// closes a usage lease, usage not yet reported is not paid: a provider's
// exposure is its reporting interval.
//
// # Queries
//
// Under /market, JSON (see Module.Query for the paths): params (Params);
// providers ([]Provider) and provider/<addr> (ProviderResult: the
// provider plus "audited": []AuditedAttributes); deployments/<owner>
// ([]Deployment); deployment/<owner>/<dseq> (DeploymentResult: the
// deployment, "groups": [Group plus "order": its latest Order], "escrow":
// EscrowResult); escrow/<owner>/<dseq>?height=<h> (EscrowResult: the
// Account with "funds", "block_rate", "usage_cap", "as_of", "funds_at",
// "dry_height" and "runway_blocks" projected to h); orders?state=open
// ([]Order, from an index); order/<id> (Order); bids/<order id> ([]Bid);
// bid/<id> (Bid); lease/<id> (Lease, with "usage" for usage billing);
// leases/owner/<addr> and leases/provider/<addr> ([]Lease, ?state=active).
// Lists take ?limit= (default 100, at most 1000) and ?after=<last ID>.
// Amounts are udeai strings, states lower-case names, IDs objects with
// owner, dseq, gseq, oseq and provider fields.
//
// # Events
//
// Every state change emits an event whose type starts with "market." (the
// Event… constants list each type's attributes): provider_created/
// updated/deleted, attributes_signed/deleted, deployment_created/updated/
// closed, escrow_deposit, escrow_refund, escrow_overdrawn, group_closed/
// paused/started, order_created (with max_price and billing), order_closed,
// bid_created, bid_closed (state closed or lost, with the reason),
// lease_created, lease_closed (reason number and name, and the balance
// paid out), lease_withdrawn and usage_reported. EndBlock's events (bid
// timeouts, dry accounts) are the block's events. A provider daemon
// watches order_created to bid and lease_created / lease_closed for its
// leases.
package market
