//go:build unix

package gguf

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps fh read-only, or reads it whole if mapping fails.
func mapFile(fh *os.File, size int64) ([]byte, func() error, error) {
	if int64(int(size)) == size {
		b, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err == nil {
			return b, func() error { return unix.Munmap(b) }, nil
		}
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(fh, b); err != nil {
		return nil, nil, err
	}
	return b, nil, nil
}
