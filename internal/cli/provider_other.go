//go:build !linux

package cli

import "errors"

// freeDisk is only detected on Linux; elsewhere list the machine under
// [[nodes]] in provider.toml.
func freeDisk(string) (uint64, error) {
	return 0, errors.New("free disk detection needs Linux")
}
