package hub

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Bar renders download Progress: a redrawn bar when w is a terminal, plain
// lines at every tenth of the download otherwise (logs stay readable).
type Bar struct {
	w        io.Writer
	terminal bool
	now      func() time.Time

	start     time.Time
	lastDraw  time.Time
	lastTenth int64
	started   bool
}

// NewBar returns a Bar writing to w. now may be nil (time.Now).
func NewBar(w io.Writer, terminal bool, now func() time.Time) *Bar {
	if now == nil {
		now = time.Now
	}
	return &Bar{w: w, terminal: terminal, now: now, lastTenth: -1}
}

// Update records p; it is meant to be Options.Progress.
func (b *Bar) Update(p Progress) {
	t := b.now()
	if !b.started {
		b.started, b.start = true, t
		if p.Resumed > 0 {
			fmt.Fprintf(b.w, "resuming at %s\n", humanBytes(p.Resumed))
		}
	}
	if b.terminal {
		if p.Done != p.Total && t.Sub(b.lastDraw) < 100*time.Millisecond {
			return
		}
		b.lastDraw = t
		fmt.Fprintf(b.w, "\r%s", b.line(p, t))
		if p.Done == p.Total {
			fmt.Fprintln(b.w)
		}
		return
	}
	var tenth int64
	switch {
	case p.Total > 0:
		tenth = p.Done * 10 / p.Total
	case p.Total == 0:
		tenth = 10
	default:
		tenth = p.Done >> 26 // every 64 MiB when the size is unknown
	}
	if tenth == b.lastTenth {
		return
	}
	b.lastTenth = tenth
	fmt.Fprintln(b.w, b.line(p, t))
}

func (b *Bar) line(p Progress, t time.Time) string {
	rate := ""
	if d := t.Sub(b.start).Seconds(); d > 0 && p.Done > p.Resumed {
		rate = fmt.Sprintf("  %s/s", humanBytes(int64(float64(p.Done-p.Resumed)/d)))
	}
	if p.Total <= 0 {
		return fmt.Sprintf("%s%s", humanBytes(p.Done), rate)
	}
	const width = 30
	filled := int(p.Done * width / p.Total)
	filled = min(max(filled, 0), width)
	return fmt.Sprintf("[%s%s] %3d%%  %s / %s%s", strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		p.Done*100/p.Total, humanBytes(p.Done), humanBytes(p.Total), rate)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
