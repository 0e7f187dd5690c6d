package market

import (
	"fmt"
	"strconv"
)

// The state machines of market spec §2. The numeric values are stored on
// chain and never change; JSON and String use the lower-case names.

// DeploymentState is the state of a deployment.
type DeploymentState uint8

// Deployment states.
const (
	DeploymentInvalid DeploymentState = 0
	DeploymentActive  DeploymentState = 1
	DeploymentClosed  DeploymentState = 2
)

// GroupState is the state of a group.
type GroupState uint8

// Group states.
const (
	GroupInvalid           GroupState = 0
	GroupOpen              GroupState = 1
	GroupPaused            GroupState = 2
	GroupInsufficientFunds GroupState = 3
	GroupClosed            GroupState = 4
)

// OrderState is the state of an order.
type OrderState uint8

// Order states.
const (
	OrderInvalid OrderState = 0
	OrderOpen    OrderState = 1
	OrderActive  OrderState = 2
	OrderClosed  OrderState = 3
)

// BidState is the state of a bid.
type BidState uint8

// Bid states.
const (
	BidInvalid BidState = 0
	BidOpen    BidState = 1
	BidActive  BidState = 2
	BidLost    BidState = 3
	BidClosed  BidState = 4
)

// LeaseState is the state of a lease.
type LeaseState uint8

// Lease states.
const (
	LeaseInvalid           LeaseState = 0
	LeaseActive            LeaseState = 1
	LeaseInsufficientFunds LeaseState = 2
	LeaseClosed            LeaseState = 3
)

// AccountState is the state of a deployment's escrow account.
type AccountState uint8

// Escrow account states.
const (
	AccountInvalid   AccountState = 0
	AccountOpen      AccountState = 1
	AccountClosed    AccountState = 2
	AccountOverdrawn AccountState = 3
)

var (
	deploymentStates = []string{"invalid", "active", "closed"}
	groupStates      = []string{"invalid", "open", "paused", "insufficient_funds", "closed"}
	orderStates      = []string{"invalid", "open", "active", "closed"}
	bidStates        = []string{"invalid", "open", "active", "lost", "closed"}
	leaseStates      = []string{"invalid", "active", "insufficient_funds", "closed"}
	accountStates    = []string{"invalid", "open", "closed", "overdrawn"}
)

func stateName(names []string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return "state_" + strconv.Itoa(int(v))
}

func parseState(names []string, what, s string) (uint8, error) {
	for i, n := range names {
		if n == s && i > 0 {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%s state %q: want one of %v", what, s, names[1:])
}

func (s DeploymentState) String() string { return stateName(deploymentStates, uint8(s)) }
func (s GroupState) String() string      { return stateName(groupStates, uint8(s)) }
func (s OrderState) String() string      { return stateName(orderStates, uint8(s)) }
func (s BidState) String() string        { return stateName(bidStates, uint8(s)) }
func (s LeaseState) String() string      { return stateName(leaseStates, uint8(s)) }
func (s AccountState) String() string    { return stateName(accountStates, uint8(s)) }

// MarshalText implements encoding.TextMarshaler.
func (s DeploymentState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s GroupState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s OrderState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s BidState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s LeaseState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalText implements encoding.TextMarshaler.
func (s AccountState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *DeploymentState) UnmarshalText(b []byte) error {
	v, err := parseState(deploymentStates, "deployment", string(b))
	*s = DeploymentState(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *GroupState) UnmarshalText(b []byte) error {
	v, err := parseState(groupStates, "group", string(b))
	*s = GroupState(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *OrderState) UnmarshalText(b []byte) error {
	v, err := parseState(orderStates, "order", string(b))
	*s = OrderState(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *BidState) UnmarshalText(b []byte) error {
	v, err := parseState(bidStates, "bid", string(b))
	*s = BidState(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *LeaseState) UnmarshalText(b []byte) error {
	v, err := parseState(leaseStates, "lease", string(b))
	*s = LeaseState(v)
	return err
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *AccountState) UnmarshalText(b []byte) error {
	v, err := parseState(accountStates, "account", string(b))
	*s = AccountState(v)
	return err
}

// CloseReason says who closed a lease and why, numbered by actor (market
// spec §2): 1–9999 the owner, 10000–19999 the provider, 20000 and up the
// network.
type CloseReason uint32

// Lease close reasons.
const (
	ReasonNone              CloseReason = 0 // the lease is not closed
	ReasonOwner             CloseReason = 1
	ReasonUnstable          CloseReason = 10000
	ReasonDecommission      CloseReason = 10001
	ReasonUnspecified       CloseReason = 10002
	ReasonManifestTimeout   CloseReason = 10003
	ReasonInsufficientFunds CloseReason = 20000
)

var closeReasonNames = map[CloseReason]string{
	ReasonNone: "none", ReasonOwner: "lease_closed_owner", ReasonUnstable: "unstable",
	ReasonDecommission: "decommission", ReasonUnspecified: "unspecified",
	ReasonManifestTimeout: "manifest_timeout", ReasonInsufficientFunds: "insufficient_funds",
}

// String returns the reason's name, or "reason_<n>".
func (r CloseReason) String() string {
	if n, ok := closeReasonNames[r]; ok {
		return n
	}
	return "reason_" + strconv.FormatUint(uint64(r), 10)
}

// IsOwner reports whether r is in the owner's range.
func (r CloseReason) IsOwner() bool { return r >= 1 && r < 10000 }

// IsProvider reports whether r is one of the provider's reasons.
func (r CloseReason) IsProvider() bool { return r >= ReasonUnstable && r <= ReasonManifestTimeout }
