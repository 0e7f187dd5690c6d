package yuma

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Limits of the simulation input.
const (
	MaxSimUIDs   = 4096
	MaxSimEpochs = 10_000
)

// simInput is the JSON input of Simulate (deai subnet epoch-sim).
type simInput struct {
	N               *int          `json:"n"`
	Stake           []json.Number `json:"stake"`
	ValidatorPermit []bool        `json:"validator_permit"`
	Params          *simParams    `json:"params"`
	Emission        *uint64       `json:"emission"`
	Epochs          []simEpoch    `json:"epochs"`
}

type simParams struct {
	Kappa              *float64        `json:"kappa"`
	BondsMovingAverage *uint64         `json:"bonds_moving_average"`
	BondsPenalty       *float64        `json:"bonds_penalty"`
	Yuma3              *bool           `json:"yuma3"`
	LiquidAlpha        *simLiquidAlpha `json:"liquid_alpha"`
	MaxValidators      *int            `json:"max_validators"`
}

type simLiquidAlpha struct {
	Enabled   *bool    `json:"enabled"`
	AlphaLow  *float64 `json:"alpha_low"`
	AlphaHigh *float64 `json:"alpha_high"`
	Steepness *int     `json:"steepness"`
}

type simEpoch struct {
	Weights [][]json.Number `json:"weights"`
}

// simEpochOut is one epoch of Simulate's output. Ratios are the stored u16
// values divided by 65535.
type simEpochOut struct {
	Consensus      []float64   `json:"consensus"`
	Incentive      []float64   `json:"incentive"`
	Dividends      []float64   `json:"dividends"`
	ValidatorTrust []float64   `json:"validator_trust"`
	Bonds          [][]float64 `json:"bonds"`
	Emission       []uint64    `json:"emission"`
}

type simOutput struct {
	Epochs []simEpochOut `json:"epochs"`
}

// Simulate runs a sequence of epochs on one subnet and writes their results
// as JSON; it is deai subnet epoch-sim. The input is
//
//	{"n": N, "stake": [N numbers], "validator_permit": [N bools],
//	 "params": {"kappa": 0.5, "bonds_moving_average": 900000, "bonds_penalty": 1.0,
//	            "yuma3": false, "liquid_alpha": {"enabled": false, "alpha_low": 0.7,
//	            "alpha_high": 0.9, "steepness": 1000}, "max_validators": 64},
//	 "emission": 1000000000,
//	 "epochs": [{"weights": N×N raw u16 weights, row i set by uid i, or null}]}
//
// and the output {"epochs": [{"consensus", "incentive", "dividends",
// "validator_trust": [N], "bonds": N×N, "emission": [N]}]}.
//
// Decoding is strict: unknown fields, wrong lengths and out-of-range values
// are errors naming the field, and nothing is written. params and its
// fields are optional (DefaultParams fills the gaps); validator_permit is
// optional (default: the top max_validators by stake) and holds for the
// first epoch only: later epochs use the permits the previous one stored,
// as on chain, and bonds carry over likewise. A null weights matrix keeps
// the previous epoch's weights (none before the first). Every uid is active
// and registered from the start.
//
// Real parameters are read as u16 ratios, floor(x·65535) (0.5 → 32767,
// the chain's default κ). Stakes may be any non-negative numbers: integers
// are used as they are; otherwise all are scaled by a common factor to
// integers, which normalization makes irrelevant. Ratios are written as
// the stored u16 value divided by 65535, emissions in base units.
func Simulate(r io.Reader, w io.Writer) error {
	in, p, err := decodeSim(r)
	if err != nil {
		return fmt.Errorf("epoch-sim input: %w", err)
	}
	n := len(in.Stake)
	var out simOutput
	for _, e := range in.epochs {
		if e != nil {
			in.Weights = e
		}
		o, err := Epoch(in.Input, p)
		if err != nil {
			return fmt.Errorf("epoch-sim: epoch %d: %w", len(out.Epochs), err)
		}
		in.Bonds, in.ValidatorPermit = o.Bonds, o.ValidatorPermit
		eo := simEpochOut{
			Consensus:      ratios(o.Consensus),
			Incentive:      ratios(o.Incentive),
			Dividends:      ratios(o.Dividends),
			ValidatorTrust: ratios(o.ValidatorTrust),
			Bonds:          make([][]float64, n),
			Emission:       o.Emission,
		}
		for i, row := range o.Bonds {
			eo.Bonds[i] = make([]float64, n)
			for _, c := range row {
				eo.Bonds[i][c.UID] = float64(c.Value) / u16Max
			}
		}
		out.Epochs = append(out.Epochs, eo)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("epoch-sim output: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("epoch-sim output: %w", err)
	}
	return nil
}

func ratios(x []uint16) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) / u16Max
	}
	return out
}

// simRun is a decoded simulation: the first epoch's input and the weights
// of each epoch (nil to keep the previous ones).
type simRun struct {
	Input
	epochs [][][]Entry
}

func decodeSim(r io.Reader) (*simRun, Params, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var si simInput
	if err := dec.Decode(&si); err != nil {
		return nil, Params{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, Params{}, errors.New("trailing data after the input object")
	}
	if si.N == nil {
		return nil, Params{}, errors.New("n: missing")
	}
	n := *si.N
	if n < 1 || n > MaxSimUIDs {
		return nil, Params{}, fmt.Errorf("n: %d, want 1..%d", n, MaxSimUIDs)
	}
	if len(si.Stake) != n {
		return nil, Params{}, fmt.Errorf("stake: length %d, want n = %d", len(si.Stake), n)
	}
	if si.ValidatorPermit != nil && len(si.ValidatorPermit) != n {
		return nil, Params{}, fmt.Errorf("validator_permit: length %d, want n = %d", len(si.ValidatorPermit), n)
	}
	if si.Emission == nil {
		return nil, Params{}, errors.New("emission: missing")
	}
	if len(si.Epochs) < 1 || len(si.Epochs) > MaxSimEpochs {
		return nil, Params{}, fmt.Errorf("epochs: %d, want 1..%d", len(si.Epochs), MaxSimEpochs)
	}
	p, err := si.Params.params()
	if err != nil {
		return nil, Params{}, err
	}
	stake, err := simStakes(si.Stake)
	if err != nil {
		return nil, Params{}, err
	}
	run := &simRun{Input: Input{Stake: stake, ValidatorPermit: si.ValidatorPermit, Emission: *si.Emission}}
	for e, ep := range si.Epochs {
		if ep.Weights == nil {
			run.epochs = append(run.epochs, nil)
			continue
		}
		if len(ep.Weights) != n {
			return nil, Params{}, fmt.Errorf("epochs[%d].weights: %d rows, want n = %d", e, len(ep.Weights), n)
		}
		rows := make([][]Entry, n)
		for i, row := range ep.Weights {
			if len(row) != n {
				return nil, Params{}, fmt.Errorf("epochs[%d].weights[%d]: length %d, want n = %d", e, i, len(row), n)
			}
			for j, num := range row {
				v, err := strconv.ParseUint(num.String(), 10, 16)
				if err != nil {
					return nil, Params{}, fmt.Errorf("epochs[%d].weights[%d][%d]: %s is not an integer in [0, 65535]", e, i, j, num)
				}
				if v != 0 {
					rows[i] = append(rows[i], Entry{UID: uint16(j), Value: uint16(v)})
				}
			}
		}
		run.epochs = append(run.epochs, rows)
	}
	return run, p, nil
}

func (sp *simParams) params() (Params, error) {
	p := DefaultParams()
	if sp == nil {
		return p, nil
	}
	var err error
	set := func(dst *uint16, v *float64, name string) {
		if v == nil || err != nil {
			return
		}
		if !(*v >= 0 && *v <= 1) {
			err = fmt.Errorf("%s: %v not in [0, 1]", name, *v)
			return
		}
		*dst = uint16(min(math.Floor(*v*u16Max+1e-6), u16Max))
	}
	set(&p.Kappa, sp.Kappa, "params.kappa")
	set(&p.BondsPenalty, sp.BondsPenalty, "params.bonds_penalty")
	if sp.BondsMovingAverage != nil {
		if *sp.BondsMovingAverage > 1_000_000 {
			return p, fmt.Errorf("params.bonds_moving_average: %d, want 0..1000000", *sp.BondsMovingAverage)
		}
		p.BondsMovingAverage = *sp.BondsMovingAverage
	}
	if sp.Yuma3 != nil {
		p.Yuma3 = *sp.Yuma3
	}
	if sp.MaxValidators != nil {
		if *sp.MaxValidators < 1 || *sp.MaxValidators > math.MaxUint16 {
			return p, fmt.Errorf("params.max_validators: %d, want 1..65535", *sp.MaxValidators)
		}
		p.MaxValidators = uint16(*sp.MaxValidators)
	}
	if la := sp.LiquidAlpha; la != nil {
		if la.Enabled != nil {
			p.LiquidAlpha.Enabled = *la.Enabled
		}
		set(&p.LiquidAlpha.AlphaLow, la.AlphaLow, "params.liquid_alpha.alpha_low")
		set(&p.LiquidAlpha.AlphaHigh, la.AlphaHigh, "params.liquid_alpha.alpha_high")
		if la.Steepness != nil {
			if *la.Steepness < math.MinInt16 || *la.Steepness > math.MaxInt16 {
				return p, fmt.Errorf("params.liquid_alpha.steepness: %d, want %d..%d", *la.Steepness, math.MinInt16, math.MaxInt16)
			}
			p.LiquidAlpha.Steepness = int16(*la.Steepness)
		}
	}
	if err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// simStakes converts JSON numbers to integer stakes: as they are when all
// are integers that fit a u64, otherwise scaled so the largest is 2^62.
func simStakes(nums []json.Number) ([]uint64, error) {
	rats := make([]*big.Rat, len(nums))
	allInt := true
	maxR := new(big.Rat)
	limit := new(big.Rat).SetUint64(math.MaxUint64)
	for i, num := range nums {
		s := num.String()
		if k := strings.IndexAny(s, "eE"); k >= 0 {
			if exp, err := strconv.Atoi(s[k+1:]); err != nil || exp < -40 || exp > 40 {
				return nil, fmt.Errorf("stake[%d]: %s: exponent out of range", i, s)
			}
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, fmt.Errorf("stake[%d]: %s is not a number", i, s)
		}
		if r.Sign() < 0 {
			return nil, fmt.Errorf("stake[%d]: %s is negative", i, s)
		}
		if r.Cmp(limit) > 0 {
			return nil, fmt.Errorf("stake[%d]: %s is above 2^64-1", i, s)
		}
		if !r.IsInt() {
			allInt = false
		}
		if r.Cmp(maxR) > 0 {
			maxR = r
		}
		rats[i] = r
	}
	out := make([]uint64, len(nums))
	for i, r := range rats {
		if allInt {
			out[i] = r.Num().Uint64()
			continue
		}
		// floor(r · 2^62 / max)
		q := new(big.Rat).Quo(new(big.Rat).Mul(r, new(big.Rat).SetInt64(1<<62)), maxR)
		out[i] = new(big.Int).Quo(q.Num(), q.Denom()).Uint64()
	}
	return out, nil
}
