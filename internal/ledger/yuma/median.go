package yuma

import (
	"math/bits"
	"slices"
)

// consensus is step 10: per column j, the stake-weighted κ-quantile of the
// weights W_ij over validators with active stake a_i > 0 (their stake
// renormalized first, as subtensor's weighted_median_col_sparse does):
//
//	C_j = max { v : Σ_{i : W_ij ≥ v} u_i ≥ κ }
//
// and the column's lowest weight when the renormalized stake sums to less
// than κ. This is exactly the value subtensor's mid-pivot search returns,
// since integer sums make stake(≥ v) = Σu − stake(< v) exact; any search
// order finds the same value.
func consensus(W []int64, rows []int, act []int64, n int, kappa int64) []int64 {
	out := make([]int64, n)
	var vr []int  // matrix rows with active stake
	var u []int64 // their renormalized stake
	for r, i := range rows {
		if act[i] > 0 {
			vr = append(vr, r)
			u = append(u, act[i])
		}
	}
	if len(vr) == 0 {
		return out
	}
	normalize(u)
	var total int64
	for _, v := range u {
		total = satAdd(total, v)
	}
	keys := make([]uint64, len(vr))
	for j := range n {
		if total < kappa {
			lowest := int64(maxFix)
			for _, r := range vr {
				lowest = min(lowest, W[r*n+j])
			}
			out[j] = lowest
			continue
		}
		for k, r := range vr {
			keys[k] = packKey(W[r*n+j], k)
		}
		out[j] = int64(selectQuantile(keys, u, kappa) >> keyBits)
	}
	return out
}

// keyBits low bits of a key hold the index of its validator; the weight,
// at most 1.0 = 2^32, sits above them. Keys are therefore distinct and
// order by weight first.
const keyBits = 16

func packKey(w int64, k int) uint64 { return uint64(w)<<keyBits | uint64(k) }

// selectQuantile returns the key at which the stake of the keys from the
// largest down first reaches kappa (Σu ≥ kappa is required). It is a
// quickselect with the middle element as pivot, which falls back to
// sorting after 2·log2(len) rounds so adversarial weights cannot make it
// quadratic. keys is reordered.
func selectQuantile(keys []uint64, u []int64, kappa int64) uint64 {
	return selectQuantileRounds(keys, u, kappa, 2*bits.Len(uint(len(keys))))
}

// selectQuantileRounds is selectQuantile with at most rounds partitions
// before it sorts.
func selectQuantileRounds(keys []uint64, u []int64, kappa int64, rounds int) uint64 {
	lo, hi := 0, len(keys) // the answer lies in keys[lo:hi]
	var above int64        // stake of keys known larger than all of keys[lo:hi]
	for ; hi-lo > 1; rounds-- {
		if rounds == 0 {
			slices.Sort(keys[lo:hi])
			for i := hi - 1; i > lo; i-- {
				if above = satAdd(above, u[keys[i]&(1<<keyBits-1)]); above >= kappa {
					return keys[i]
				}
			}
			return keys[lo]
		}
		// Partition keys[lo:hi] into [greater | pivot | smaller].
		mid := lo + (hi-lo)/2
		keys[mid], keys[hi-1] = keys[hi-1], keys[mid]
		pivot := keys[hi-1]
		g := lo
		var sumG int64
		for i := lo; i < hi-1; i++ {
			if keys[i] > pivot {
				sumG += u[keys[i]&(1<<keyBits-1)]
				keys[i], keys[g] = keys[g], keys[i]
				g++
			}
		}
		keys[g], keys[hi-1] = keys[hi-1], keys[g]
		switch {
		case satAdd(above, sumG) >= kappa:
			hi = g
		case satAdd(satAdd(above, sumG), u[pivot&(1<<keyBits-1)]) >= kappa:
			return pivot
		default:
			above = satAdd(satAdd(above, sumG), u[pivot&(1<<keyBits-1)])
			lo = g + 1
		}
	}
	return keys[lo]
}
