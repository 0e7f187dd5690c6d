package market

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/tx"
)

// IDs name every object of the market (market spec §1). Each has a string
// form, "/"-separated, that the CLI, queries and events use:
//
//	deployment  <owner>/<dseq>
//	group       <owner>/<dseq>/<gseq>
//	order       <owner>/<dseq>/<gseq>/<oseq>
//	bid, lease  <owner>/<dseq>/<gseq>/<oseq>/<provider>
//
// owner and provider are deai1… addresses, the sequences decimal. A lease
// has the ID of the bid it was created from.

// DeploymentID names a deployment: its owner and a sequence number the
// owner chooses (conventionally the current height), unique per owner.
type DeploymentID struct {
	Owner tx.Address `json:"owner"`
	DSeq  uint64     `json:"dseq"`
}

// GroupID names a group of a deployment; GSeq counts from 1 in the order
// of the deployment's groups.
type GroupID struct {
	Owner tx.Address `json:"owner"`
	DSeq  uint64     `json:"dseq"`
	GSeq  uint32     `json:"gseq"`
}

// OrderID names an order of a group; OSeq counts from 1 and grows by one
// for every new order of the group (after a lease closes or the group is
// restarted).
type OrderID struct {
	Owner tx.Address `json:"owner"`
	DSeq  uint64     `json:"dseq"`
	GSeq  uint32     `json:"gseq"`
	OSeq  uint32     `json:"oseq"`
}

// BidID names a provider's bid on an order.
type BidID struct {
	Owner    tx.Address `json:"owner"`
	DSeq     uint64     `json:"dseq"`
	GSeq     uint32     `json:"gseq"`
	OSeq     uint32     `json:"oseq"`
	Provider tx.Address `json:"provider"`
}

// LeaseID names a lease: the ID of the winning bid.
type LeaseID = BidID

// Group returns the ID of the deployment's group gseq.
func (d DeploymentID) Group(gseq uint32) GroupID { return GroupID{d.Owner, d.DSeq, gseq} }

// Deployment returns the ID of the group's deployment.
func (g GroupID) Deployment() DeploymentID { return DeploymentID{g.Owner, g.DSeq} }

// Order returns the ID of the group's order oseq.
func (g GroupID) Order(oseq uint32) OrderID { return OrderID{g.Owner, g.DSeq, g.GSeq, oseq} }

// Group returns the ID of the order's group.
func (o OrderID) Group() GroupID { return GroupID{o.Owner, o.DSeq, o.GSeq} }

// Deployment returns the ID of the order's deployment.
func (o OrderID) Deployment() DeploymentID { return DeploymentID{o.Owner, o.DSeq} }

// Bid returns the ID of provider's bid on the order.
func (o OrderID) Bid(provider tx.Address) BidID {
	return BidID{o.Owner, o.DSeq, o.GSeq, o.OSeq, provider}
}

// Order returns the ID of the bid's order.
func (b BidID) Order() OrderID { return OrderID{b.Owner, b.DSeq, b.GSeq, b.OSeq} }

// Group returns the ID of the bid's group.
func (b BidID) Group() GroupID { return GroupID{b.Owner, b.DSeq, b.GSeq} }

// Deployment returns the ID of the bid's deployment.
func (b BidID) Deployment() DeploymentID { return DeploymentID{b.Owner, b.DSeq} }

func (d DeploymentID) String() string { return d.Owner.String() + "/" + strconv.FormatUint(d.DSeq, 10) }

func (g GroupID) String() string {
	return g.Deployment().String() + "/" + strconv.FormatUint(uint64(g.GSeq), 10)
}

func (o OrderID) String() string {
	return o.Group().String() + "/" + strconv.FormatUint(uint64(o.OSeq), 10)
}

func (b BidID) String() string { return b.Order().String() + "/" + b.Provider.String() }

// ParseDeploymentID parses "<owner>/<dseq>".
func ParseDeploymentID(s string) (DeploymentID, error) {
	f, err := splitID(s, 2, "deployment", "<owner>/<dseq>")
	if err != nil {
		return DeploymentID{}, err
	}
	return parseDeployment(s, f)
}

// ParseGroupID parses "<owner>/<dseq>/<gseq>".
func ParseGroupID(s string) (GroupID, error) {
	f, err := splitID(s, 3, "group", "<owner>/<dseq>/<gseq>")
	if err != nil {
		return GroupID{}, err
	}
	return parseGroup(s, f)
}

// ParseOrderID parses "<owner>/<dseq>/<gseq>/<oseq>".
func ParseOrderID(s string) (OrderID, error) {
	f, err := splitID(s, 4, "order", "<owner>/<dseq>/<gseq>/<oseq>")
	if err != nil {
		return OrderID{}, err
	}
	return parseOrder(s, f)
}

// ParseBidID parses "<owner>/<dseq>/<gseq>/<oseq>/<provider>".
func ParseBidID(s string) (BidID, error) {
	f, err := splitID(s, 5, "bid", "<owner>/<dseq>/<gseq>/<oseq>/<provider>")
	if err != nil {
		return BidID{}, err
	}
	o, err := parseOrder(s, f)
	if err != nil {
		return BidID{}, err
	}
	p, err := tx.ParseAddress(f[4])
	if err != nil {
		return BidID{}, fmt.Errorf("parse id %q: provider: %w", s, err)
	}
	return o.Bid(p), nil
}

// ParseLeaseID parses a lease ID, which has the form of a bid ID.
func ParseLeaseID(s string) (LeaseID, error) { return ParseBidID(s) }

func splitID(s string, n int, what, form string) ([]string, error) {
	f := strings.Split(s, "/")
	if len(f) != n {
		return nil, fmt.Errorf("parse %s id %q: want %s", what, s, form)
	}
	return f, nil
}

func parseDeployment(s string, f []string) (DeploymentID, error) {
	owner, err := tx.ParseAddress(f[0])
	if err != nil {
		return DeploymentID{}, fmt.Errorf("parse id %q: owner: %w", s, err)
	}
	dseq, err := parseSeq(s, "dseq", f[1], 64)
	return DeploymentID{owner, dseq}, err
}

func parseGroup(s string, f []string) (GroupID, error) {
	d, err := parseDeployment(s, f)
	if err != nil {
		return GroupID{}, err
	}
	gseq, err := parseSeq(s, "gseq", f[2], 32)
	return d.Group(uint32(gseq)), err
}

func parseOrder(s string, f []string) (OrderID, error) {
	g, err := parseGroup(s, f)
	if err != nil {
		return OrderID{}, err
	}
	oseq, err := parseSeq(s, "oseq", f[3], 32)
	return g.Order(uint32(oseq)), err
}

// parseSeq parses a sequence number: decimal, no sign or leading zeros,
// at least 1, so each ID has exactly one string form.
func parseSeq(s, name, v string, bits int) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil || n == 0 || v[0] == '0' || v[0] == '+' {
		return 0, fmt.Errorf("parse id %q: %s %q: want a decimal number from 1 to %d", s, name, v, uint64(1)<<bits-1)
	}
	return n, nil
}

// Key encodings: fixed width, big-endian, so key order is ID order and a
// deployment's keys are a prefix of its groups', orders' and bids'.

func (d DeploymentID) appendKey(dst []byte) []byte {
	return tx.AppendU64(append(dst, d.Owner[:]...), d.DSeq)
}

func (g GroupID) appendKey(dst []byte) []byte {
	return tx.AppendU32(g.Deployment().appendKey(dst), g.GSeq)
}

func (o OrderID) appendKey(dst []byte) []byte { return tx.AppendU32(o.Group().appendKey(dst), o.OSeq) }

func (b BidID) appendKey(dst []byte) []byte {
	return append(b.Order().appendKey(dst), b.Provider[:]...)
}

func readDeploymentID(r *tx.Reader) DeploymentID {
	var d DeploymentID
	copy(d.Owner[:], r.Fixed(tx.AddressLen))
	d.DSeq = r.U64()
	return d
}

func readGroupID(r *tx.Reader) GroupID {
	d := readDeploymentID(r)
	return d.Group(r.U32())
}

func readOrderID(r *tx.Reader) OrderID {
	g := readGroupID(r)
	return g.Order(r.U32())
}

func readBidID(r *tx.Reader) BidID {
	o := readOrderID(r)
	var p tx.Address
	copy(p[:], r.Fixed(tx.AddressLen))
	return o.Bid(p)
}

// validate checks what no message may leave out: addresses and sequences
// from 1.
func (d DeploymentID) validate() error {
	switch {
	case d.Owner.IsZero():
		return fmt.Errorf("deployment id: missing owner address")
	case d.DSeq == 0:
		return fmt.Errorf("deployment id %s: dseq 0, want at least 1", d)
	}
	return nil
}

func (g GroupID) validate() error {
	if err := g.Deployment().validate(); err != nil {
		return err
	}
	if g.GSeq == 0 {
		return fmt.Errorf("group id %s: gseq 0, want at least 1", g)
	}
	return nil
}

func (o OrderID) validate() error {
	if err := o.Group().validate(); err != nil {
		return err
	}
	if o.OSeq == 0 {
		return fmt.Errorf("order id %s: oseq 0, want at least 1", o)
	}
	return nil
}

func (b BidID) validate() error {
	if err := b.Order().validate(); err != nil {
		return err
	}
	if b.Provider.IsZero() {
		return fmt.Errorf("bid id %s: missing provider address", b.Order())
	}
	return nil
}
