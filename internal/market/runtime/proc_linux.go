//go:build linux

package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

const procSupported = true

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// procStat is the part of /proc/<pid>/stat the exec runtime uses.
type procStat struct {
	PID        int
	State      byte
	PGrp       int
	UTime      uint64 // clock ticks
	STime      uint64
	StartTicks uint64 // since boot; with the pid it names a process uniquely
	RSSPages   uint64
}

// readProcStat parses /proc/<pid>/stat; the command name may hold spaces
// and parentheses, so fields are counted from the last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(pid, b)
}

func parseProcStat(pid int, b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := bytes.Fields(b[i+2:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	num := func(n int) uint64 {
		v, _ := strconv.ParseUint(string(f[n-3]), 10, 64)
		return v
	}
	return procStat{
		PID:        pid,
		State:      f[0][0],
		PGrp:       int(num(5)),
		UTime:      num(14),
		STime:      num(15),
		StartTicks: num(22),
		RSSPages:   num(24),
	}, nil
}

// processGroups reads every process's stat and groups them by process
// group; processes that vanish while reading are skipped.
func processGroups() (map[int][]procStat, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	groups := map[int][]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue
		}
		groups[st.PGrp] = append(groups[st.PGrp], st)
	}
	return groups, nil
}

// setLimits applies rlimits to a running process with prlimit(2).
func setLimits(pid int, limits []rlimit) error {
	for _, l := range limits {
		lim := unix.Rlimit{Cur: l.value, Max: l.value}
		if err := unix.Prlimit(pid, l.resource, &lim, nil); err != nil {
			return fmt.Errorf("prlimit %s=%d on pid %d: %w", l.name, l.value, pid, err)
		}
	}
	return nil
}

// rlimit is one resource limit to set.
type rlimit struct {
	name     string
	resource int
	value    uint64
}

func limitData(v uint64) rlimit   { return rlimit{"data", unix.RLIMIT_DATA, v} }
func limitNoFile(v uint64) rlimit { return rlimit{"nofile", unix.RLIMIT_NOFILE, v} }
func limitCore(v uint64) rlimit   { return rlimit{"core", unix.RLIMIT_CORE, v} }
func limitFSize(v uint64) rlimit  { return rlimit{"fsize", unix.RLIMIT_FSIZE, v} }

// procAttr puts the child in a new process group (its pid) so the whole
// tree can be signalled, and leaves no parent-death signal: replicas
// outlive the provider process.
func procAttr() *unix.SysProcAttr { return &unix.SysProcAttr{Setpgid: true} }

// killGroup signals process group pgid: SIGTERM, or SIGKILL when force.
func killGroup(pgid int, force bool) error {
	sig := unix.SIGTERM
	if force {
		sig = unix.SIGKILL
	}
	if err := unix.Kill(-pgid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("signal process group %d: %w", pgid, err)
	}
	return nil
}

// reap collects pid's exit status if it is a zombie child of this process
// (an adopted replica re-parented to a provider running as pid 1); for any
// other pid it does nothing.
func reap(pid int) {
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, unix.WNOHANG, nil)
}
