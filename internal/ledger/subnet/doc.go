// Package subnet is the ledger module of deai's intelligence subnets:
// subnets (an owner, a task type, pinned model digests, hyperparameters),
// neurons registered on them by burning the registration price, stake
// locked on neurons, validator weights (plain or commit-reveal), and the
// Yuma Consensus epoch that every tempo blocks turns stake and weights into
// consensus, trust, incentive, dividends and bonds and mints the subnet's
// emission. It follows ../shared/specs/subnet-protocol.md and
// ../shared/specs/yuma.md; the epoch math itself is package yuma. Like the
// rest of the ledger it is pure and deterministic: no I/O, clock,
// randomness, goroutines, floating point or map-order dependence.
//
// # Identities
//
// A neuron's hotkey is a deai account. The hotkey signs its own
// registration (paying the burn from its balance), serving info and
// weights, and receives the neuron's emission. Any account may stake on a
// registered hotkey; the stake stays the staker's and only the staker can
// remove it. The subnet owner is the account that created it; if the owner
// registers its own address as a neuron, that uid is the subnet's owner uid
// (exempt from pruning, always permitted, its self-weight counts).
//
// # Money
//
// Creating a subnet burns ModuleParams.CreateBurn and registering burns the
// subnet's current price; both go through bank.Burn and are counted in the
// supply's burned total. Stake is moved with bank.Transfer into StakeAccount,
// an address nobody holds a key for, so staked funds stay inside the bank's
// invariant (balances + burned == genesis + minted) unchanged; the module's
// own records say whose they are, and their sum always equals
// StakeAccount's balance. Emission is minted with bank.Mint.
//
// # Emission schedule
//
// Every block in which at least one subnet exists accrues exactly
// ModuleParams.BlockEmission, split equally among the subnets (the
// remainder of the division goes one unit each to the lowest netuids), into
// each subnet's pending emission; the block that creates a subnet already
// accrues to it. When a subnet's epoch runs, its pending amount P is minted
// in full: the owner's cut floor(P·OwnerCut/65535) to the owner, the rest E
// to the neurons as yuma.Epoch splits it (miner incentive and validator
// dividends, 50/50 when both are nonzero, or by stake in the fallback of
// yuma.md step 17). An epoch that can pay nobody (no stake at all) mints
// its E to RecycleAccount and burns it at once, so the minted total is
// always the schedule: BlockEmission for every block up to each subnet's
// latest epoch. There is no halving yet.
//
// # Epochs
//
// A subnet's epoch runs in EndBlock at the first block h with
// h − last_epoch ≥ tempo, where last_epoch starts at the creation block. At
// most ModuleParams.MaxEpochsPerBlock epochs run per block, the longest
// waiting first (ties: lower netuid); the others wait for the next block
// and keep accruing. The epoch reads every uid's stake, stored permit,
// weights, bonds, last update, registration block and (with commit-reveal)
// earliest unexpired commit, runs yuma.Epoch, and stores per uid the
// consensus, rank, trust, validator trust, incentive, dividends, emission,
// activity, the new permit and the new bonds. Unrevealed commits whose
// reveal window has passed are dropped. An input yuma rejects (which the
// module's own checks should make impossible) skips the epoch: nothing is
// minted, the pending emission carries over, and a subnet_epoch_skipped
// event says why.
//
// # Registration price and pruning
//
// The price decays continuously with half-life burn_half_life blocks,
// price(h) = base·2^(−(h − base_block)/half_life) computed in integers,
// clamped to [min_burn, max_burn]; each registration pays price(h) and
// sets base = clamp(price(h)·burn_increase_mult/1000) at h. When the subnet
// is full the new hotkey takes the uid of the neuron chosen as the spec's
// §6 says: the owner uid is never pruned; among the other uids the lowest
// emission loses (ties: earlier registration, then lower uid), taken from
// the non-immune ones while more than ModuleParams.MinNonImmuneUIDs of them
// exist, else from the immune ones (or from the non-immune ones if none is
// immune). The new neuron starts with no weights, bonds, commits or serving
// info; the yuma registration masks drop the weights and bond columns meant
// for the previous holder.
//
// # Weights
//
// Weights are sparse u16 vectors over uids, stored max-upscaled
// (round(w·65535/max w)). Setting them needs a registered hotkey holding a
// validator permit from the last epoch, unless the hotkey is the owner's or
// sets only a weight on its own uid. weights_rate_limit blocks must pass
// between two sets (the first is free). With commit_reveal on (the
// default), plain MsgSetWeights is refused: a validator commits
// CommitHash(netuid, hotkey, uids, weights, salt) with MsgCommitWeights
// (at most MaxCommits unrevealed, rate-limited like weights), and reveals
// the plaintext with MsgRevealWeights exactly reveal_period epochs later
// (the commit's epoch counter + reveal_period). A reveal that matches no
// commit is rejected; one that is too early is rejected as rate-limited.
//
// # Disputes and slashing
//
// The module is the on-chain half of proof of useful work. Validators
// spot-check miners off chain with probability p = audit_rate_ppm/10⁶ per
// answer; cheating (skipping the work of cost C to answer garbage) does not
// pay while p·(R + S) > C, R the miner's reward per answer and S what it
// loses when caught (see ../shared/specs/verification.md §0 and §1, Proof
// of Sampling). S is the slash below; the owner should set slash_bps and
// audit_rate_ppm so that the inequality holds for the subnet's jobs.
//
// A challenger (any account but the miner) opens a dispute with
// MsgOpenDispute: the miner's signed wire.Receipt, the request body it
// answered (its sha256 must be the receipt's request hash) and a bond of at
// least dispute_bond, moved with bank.Transfer into DisputeAccount (nobody
// holds its key; its balance always equals the bonds of the open disputes).
// The receipt must verify, be for the subnet, name a registered neuron, be
// at most receipt_ttl seconds older than the block time and at most
// MaxFutureReceiptMs newer, and not be disputed already (a receipt is
// identified by ReceiptHash: sha256 of its signed bytes, without the
// signature). The committee is committee_size distinct neurons holding a
// validator permit and stake (never the miner or the challenger), drawn
// without replacement with probability proportional to stake from the
// beacon CommitteeSeed(block hash, dispute id, receipt hash), which the
// challenger cannot know when it signs. Members re-execute the request off
// chain and vote with MsgDisputeVote until the deadline, opened_at +
// min(dispute_blocks, tempo). The dispute resolves as soon as the outcome
// is decided, for a committee of n:
//
//   - guilty when more than n/2 vote guilty: floor(T·slash_bps/10⁴) of the
//     stake T on the miner's hotkey is slashed from its stakers pro rata
//     (each loses floor(t·slashed/T); the few units left over come one each
//     from the stakers in ascending address order), the challenger gets its
//     bond back plus floor(slashed·challenger_reward_bps/10⁴), the rest is
//     burned, and the miner is jailed for jail_blocks;
//   - innocent when at least n − n/2 vote innocent: the bond is shared
//     equally by the members who voted innocent (the remainder is burned);
//   - inconclusive otherwise, in the first EndBlock after the deadline: the
//     bond goes back to the challenger.
//
// MsgEquivocation proves cheating without a committee: two receipts one
// miner signed for the same subnet and request hash with different token
// digests (the built-in engine is deterministic, and the request carries
// the seed), both within receipt_ttl. The miner is slashed and jailed at
// once as for a guilty dispute, the reporter taking the challenger's
// reward; each (miner, request hash) is slashable once.
//
// A jailed neuron (jailed_until above the height) earns no incentive: each
// epoch drops every validator's weight on it before yuma runs. Its stake,
// registration and any validator dividends stay.
//
// # Choices where the spec leaves room
//
//   - Tempo may be as short as MinTempo (10) blocks, not the spec's 360:
//     deai's blocks are sub-second, and devnets and tests need short tempos.
//   - The owner may not lower max_uids below the current neuron count
//     (subtensor trims instead).
//   - Validator dividends go to the validator's hotkey; they are not yet
//     shared with its stakers.
package subnet
