package runtime

import (
	"math"
	"time"
)

// usageSample is one replica's counters at one moment. Key names the
// replica incarnation (container ID and start, pid and start time, pod UID):
// when a key disappears its last counters are kept as done.
type usageSample struct {
	Key             string
	CPUMilliSeconds uint64 // cumulative for this key
	GPUSeconds      uint64 // cumulative for this key
	// MemoryMiBSeconds is cumulative for this key where the source knows it
	// (allocation-based metering); otherwise MemoryBytes is sampled and
	// integrated over time between samples.
	MemoryMiBSeconds uint64
	MemoryBytes      uint64
}

// meter turns samples into the cumulative Usage of one lease. It is plain
// data (JSON) so runtimes can persist it next to their state.
type meter struct {
	Start time.Time `json:"start"`
	Last  time.Time `json:"last"` // time of the last sample, zero before the first

	DoneCPU uint64 `json:"done_cpu_milli_seconds"` // from incarnations that are gone
	DoneGPU uint64 `json:"done_gpu_seconds"`
	DoneMem uint64 `json:"done_memory_mib_seconds"`

	// IntegratedMem is the integral of sampled memory (MiB-seconds, float to
	// keep sub-second steps); LastMemMiB the sum at the last sample.
	IntegratedMem float64 `json:"integrated_memory_mib_seconds"`
	LastMemMiB    float64 `json:"last_memory_mib"`

	Live map[string]usageSample `json:"live,omitempty"`
}

func newMeter(start time.Time) *meter {
	return &meter{Start: start, Live: map[string]usageSample{}}
}

// add records the samples of all live incarnations at now. Memory is
// integrated with the trapezoid rule between consecutive samples.
func (m *meter) add(now time.Time, samples []usageSample) {
	if m.Live == nil {
		m.Live = map[string]usageSample{}
	}
	seen := make(map[string]bool, len(samples))
	var memMiB float64
	for _, s := range samples {
		seen[s.Key] = true
		if old, ok := m.Live[s.Key]; ok {
			// Counters never go back within one incarnation; keep the
			// larger value if a source glitches.
			s.CPUMilliSeconds = max(s.CPUMilliSeconds, old.CPUMilliSeconds)
			s.GPUSeconds = max(s.GPUSeconds, old.GPUSeconds)
			s.MemoryMiBSeconds = max(s.MemoryMiBSeconds, old.MemoryMiBSeconds)
		}
		m.Live[s.Key] = s
		memMiB += float64(s.MemoryBytes) / (1 << 20)
	}
	for k, s := range m.Live {
		if !seen[k] {
			m.DoneCPU += s.CPUMilliSeconds
			m.DoneGPU += s.GPUSeconds
			m.DoneMem += s.MemoryMiBSeconds
			delete(m.Live, k)
		}
	}
	if !m.Last.IsZero() && now.After(m.Last) {
		m.IntegratedMem += (m.LastMemMiB + memMiB) / 2 * now.Sub(m.Last).Seconds()
	}
	if now.After(m.Last) {
		m.Last = now
	}
	m.LastMemMiB = memMiB
}

// usage is the lease's total so far.
func (m *meter) usage() Usage {
	u := Usage{Start: m.Start, At: m.Last,
		CPUMilliSeconds:  m.DoneCPU,
		GPUSeconds:       m.DoneGPU,
		MemoryMiBSeconds: m.DoneMem + uint64(math.Round(m.IntegratedMem)),
	}
	for _, s := range m.Live {
		u.CPUMilliSeconds += s.CPUMilliSeconds
		u.GPUSeconds += s.GPUSeconds
		u.MemoryMiBSeconds += s.MemoryMiBSeconds
	}
	return u
}
