package yuma

import "testing"

// refMedian is the spec's reference algorithm (§5 step 10), a recursive
// mid-pivot search over the stake-weighted scores.
func refMedian(stake, score []int64, idx []int, minority, lo, hi int64) int64 {
	if len(idx) == 0 {
		return 0
	}
	if len(idx) == 1 {
		return score[idx[0]]
	}
	pivot := score[idx[len(idx)/2]]
	var loStake, hiStake int64
	var lower, upper []int
	for _, i := range idx {
		switch {
		case score[i] == pivot:
		case score[i] < pivot:
			loStake += stake[i]
			lower = append(lower, i)
		default:
			hiStake += stake[i]
			upper = append(upper, i)
		}
	}
	switch {
	case minority < lo+loStake && len(lower) > 0:
		return refMedian(stake, score, lower, minority, lo, lo+loStake)
	case hi-hiStake <= minority && len(upper) > 0:
		return refMedian(stake, score, upper, minority, hi-hiStake, hi)
	}
	return pivot
}

// TestConsensusMatchesReference compares consensus with the reference
// search on random columns with many ties, every κ regime included.
func TestConsensusMatchesReference(t *testing.T) {
	g := splitmix64(5)
	for trial := range 3000 {
		v := 1 + int(g.next()%40)
		n := 1 + int(g.next()%6)
		levels := 1 + g.next()%5 // few distinct weights: many ties
		W := make([]int64, v*n)
		for k := range W {
			W[k] = int64(g.next()%levels) * one / int64(levels)
		}
		rows := make([]int, v)
		act := make([]int64, v)
		for i := range rows {
			rows[i] = i
			if g.next()%4 != 0 {
				act[i] = 1 + int64(g.next()%uint64(one))
			}
		}
		kappa := int64(g.next() % uint64(one+2))
		if trial%7 == 0 {
			kappa = one + int64(g.next()%8) // above the stake sum
		}
		got := consensus(W, rows, act, n, kappa)

		var u []int64
		var cols [][]int64
		for i := range v {
			if act[i] > 0 {
				u = append(u, act[i])
			}
		}
		normalize(u)
		var total int64
		for _, s := range u {
			total += s
		}
		for j := range n {
			var col []int64
			for i := range v {
				if act[i] > 0 {
					col = append(col, W[i*n+j])
				}
			}
			cols = append(cols, col)
		}
		for j, col := range cols {
			idx := make([]int, len(col))
			for k := range idx {
				idx[k] = k
			}
			want := refMedian(u, col, idx, total-kappa, 0, total)
			if got[j] != want {
				t.Fatalf("trial %d column %d: consensus %d, reference %d (κ %d, Σu %d, scores %v, stake %v)",
					trial, j, got[j], want, kappa, total, col, u)
			}
		}
	}
}

// TestSelectQuantileFallback cuts the quickselect short after 0..5
// rounds, so the sorting fallback (the guard against adversarial weights)
// must give the reference answer too.
func TestSelectQuantileFallback(t *testing.T) {
	g := splitmix64(9)
	for trial := range 500 {
		v := 2 + int(g.next()%60)
		score := make([]int64, v)
		u := make([]int64, v)
		idx := make([]int, v)
		keys := make([]uint64, v)
		var total int64
		for k := range v {
			score[k] = int64(g.next()%7) * one / 7
			u[k] = 1 + int64(g.next()%uint64(one/int64(v)))
			total += u[k]
			idx[k] = k
			keys[k] = packKey(score[k], k)
		}
		kappa := int64(g.next() % uint64(total+1))
		want := refMedian(u, score, idx, total-kappa, 0, total)
		if got := int64(selectQuantileRounds(keys, u, kappa, trial%6) >> keyBits); got != want {
			t.Fatalf("trial %d: got %d, want %d", trial, got, want)
		}
	}
}
