package market

import (
	"math/bits"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// mulDiv returns floor(a·b/c), saturating at the largest uint64.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// UsageCost is what a usage report costs at the bid's unit prices before
// the cap: cpu·CPU/1000 + memory·Memory/1024 + gpu·GPU, each term rounded
// down, saturating instead of overflowing.
func UsageCost(p UnitPrices, cpuMilliSeconds, memoryMiBSeconds, gpuSeconds uint64) tx.Amount {
	c := mulDiv(cpuMilliSeconds, uint64(p.CPU), 1000)
	c = satAdd(c, mulDiv(memoryMiBSeconds, uint64(p.Memory), 1024))
	return tx.Amount(satAdd(c, satMul(gpuSeconds, uint64(p.GPU))))
}

// capacity is what a group can consume per second over all replicas:
// millicores, MiB of memory (rounded up) and GPUs.
func capacity(g *GroupSpec) (cpuMilli, memMiB, gpus uint64) {
	cpu, mem, _, gpu := g.Totals()
	return cpu, (mem + 1<<20 - 1) >> 20, uint64(gpu)
}

// fits reports whether used (unit-seconds) could have been consumed at
// perSecond units over elapsedNs nanoseconds: used·1e9 ≤ perSecond·elapsed,
// in 128 bits.
func fits(used, perSecond uint64, elapsedNs int64) bool {
	if elapsedNs <= 0 {
		return used == 0
	}
	h1, l1 := bits.Mul64(used, 1e9)
	h2, l2 := bits.Mul64(perSecond, uint64(elapsedNs))
	return h1 < h2 || h1 == h2 && l1 <= l2
}

// reportUsage charges a usage-billed lease for a report (see the package
// doc's usage billing): the report covers the blocks after the previous
// one up to UpToHeight; everything reported since the anchor must fit the
// group's resources over the consensus time since the anchor; the charge
// is the cost at the bid's unit prices, capped by the bid's price per
// block times the blocks covered. A charge the escrow cannot cover takes
// what is left and closes the deployment (insufficient_funds).
func (x *exec) reportUsage(m *MsgReportUsage) error {
	l, err := x.w.lease(m.ID)
	if err != nil {
		return err
	}
	if l.State != LeaseActive {
		return module.Errorf(module.ReasonInvalid, "report usage %s: the lease is %s, want active", m.ID, l.State)
	}
	if l.Billing != BillingUsage || l.Usage == nil {
		return module.Errorf(module.ReasonInvalid, "report usage %s: the lease bills per block, not by usage", m.ID)
	}
	u := *l.Usage
	if m.Seq <= u.Seq {
		return module.Errorf(module.ReasonInvalid, "report usage %s: seq %d, want more than the last report's %d", m.ID, m.Seq, u.Seq)
	}
	upTo := m.UpToHeight
	if upTo == 0 {
		upTo = x.h
	}
	if upTo > x.h {
		return module.Errorf(module.ReasonInvalid, "report usage %s: up_to_height %d is after the current block %d", m.ID, upTo, x.h)
	}
	if upTo <= u.Height {
		return module.Errorf(module.ReasonInvalid, "report usage %s: up_to_height %d: blocks up to %d are already paid; want a later block", m.ID, upTo, u.Height)
	}
	g, err := x.w.group(m.ID.Group())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	cpu, mem, gpu := capacity(&g.Spec)
	elapsed := x.ctx.TimeUnixNano - u.AnchorTime
	for _, c := range []struct {
		name            string
		since, add, per uint64
	}{
		{"cpu_milli_seconds", u.SinceCPU, m.CPUMilliSeconds, cpu},
		{"memory_mib_seconds", u.SinceMemory, m.MemoryMiBSeconds, mem},
		{"gpu_seconds", u.SinceGPU, m.GPUSeconds, gpu},
	} {
		if total := satAdd(c.since, c.add); !fits(total, c.per, elapsed) {
			return module.Errorf(module.ReasonInvalid, "report usage %s: %s: %d since block %d is more than %d units can deliver in the %d ns of consensus time since then",
				m.ID, c.name, total, u.AnchorHeight, c.per, max(elapsed, 0))
		}
	}
	d, a, closed, err := x.touch(m.ID.Deployment())
	if err != nil || closed {
		return err
	}
	if l, err = x.w.lease(m.ID); err != nil {
		return err
	}
	b, err := x.w.bid(m.ID)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	cost := UsageCost(b.UnitPrices, m.CPUMilliSeconds, m.MemoryMiBSeconds, m.GPUSeconds)
	charged := min(cost, tx.Amount(satMul(uint64(l.Price), upTo-u.Height)))
	over, err := x.charge(a, l, charged)
	if err != nil {
		return err
	}
	u.Seq, u.Height = m.Seq, upTo
	u.TotalCPU = satAdd(u.TotalCPU, m.CPUMilliSeconds)
	u.TotalMemory = satAdd(u.TotalMemory, m.MemoryMiBSeconds)
	u.TotalGPU = satAdd(u.TotalGPU, m.GPUSeconds)
	if upTo == x.h { // this block's time is known: a fresh anchor
		u.AnchorHeight, u.AnchorTime = x.h, x.ctx.TimeUnixNano
		u.SinceCPU, u.SinceMemory, u.SinceGPU = 0, 0, 0
	} else {
		u.SinceCPU = satAdd(u.SinceCPU, m.CPUMilliSeconds)
		u.SinceMemory = satAdd(u.SinceMemory, m.MemoryMiBSeconds)
		u.SinceGPU = satAdd(u.SinceGPU, m.GPUSeconds)
	}
	l.Usage = &u
	x.w.setLease(l)
	x.emit(EventUsageReported, "id", m.ID.String(), "seq", u64s(m.Seq), "up_to_height", u64s(upTo),
		"cpu_milli_seconds", u64s(m.CPUMilliSeconds), "memory_mib_seconds", u64s(m.MemoryMiBSeconds),
		"gpu_seconds", u64s(m.GPUSeconds), "cost", cost.String(), "charged", charged.String())
	if over {
		return x.closeDeployment(d, a, true, "")
	}
	return x.saveAccount(a)
}
