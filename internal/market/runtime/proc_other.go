//go:build !linux

package runtime

import (
	"errors"
	"syscall"
)

// The exec runtime reads /proc and uses prlimit(2): Linux only.
const procSupported = false

const clockTicks = 100

var errNoProc = errors.New("exec runtime: needs Linux (/proc, prlimit)")

type procStat struct {
	PID        int
	State      byte
	PGrp       int
	UTime      uint64
	STime      uint64
	StartTicks uint64
	RSSPages   uint64
}

func readProcStat(pid int) (procStat, error)     { return procStat{}, errNoProc }
func processGroups() (map[int][]procStat, error) { return nil, errNoProc }
func setLimits(pid int, limits []rlimit) error   { return errNoProc }

type rlimit struct {
	name     string
	resource int
	value    uint64
}

func limitData(v uint64) rlimit   { return rlimit{"data", 0, v} }
func limitNoFile(v uint64) rlimit { return rlimit{"nofile", 0, v} }
func limitCore(v uint64) rlimit   { return rlimit{"core", 0, v} }
func limitFSize(v uint64) rlimit  { return rlimit{"fsize", 0, v} }

func procAttr() *syscall.SysProcAttr { return nil }

func killGroup(pgid int, force bool) error { return errNoProc }

func reap(pid int) {}
