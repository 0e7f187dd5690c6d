package yuma

import (
	"cmp"
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
// since integer sums make stake(≥ v) = Σu − stake(< v) exact.
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
	type cell struct{ w, u int64 }
	cells := make([]cell, len(vr))
	for j := range n {
		cells = cells[:0]
		lowest := int64(maxFix)
		for k, r := range vr {
			w := W[r*n+j]
			cells = append(cells, cell{w, u[k]})
			lowest = min(lowest, w)
		}
		if total < kappa {
			out[j] = lowest
			continue
		}
		slices.SortFunc(cells, func(a, b cell) int { return cmp.Compare(b.w, a.w) })
		var cum int64
		for _, c := range cells {
			cum = satAdd(cum, c.u)
			if cum >= kappa {
				out[j] = c.w
				break
			}
		}
	}
	return out
}
