//go:build !unix

package gguf

import (
	"io"
	"os"
)

// mapFile reads fh whole: this platform has no mapping support here.
func mapFile(fh *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(fh, b); err != nil {
		return nil, nil, err
	}
	return b, nil, nil
}
