//go:build !linux

package predict

import (
	"os"
)

// renameExchange is not available here: publish falls back to two renames.
func renameExchange(a, b string) error {
	if _, err := os.Lstat(b); err != nil {
		return err
	}
	return errNoExchange
}

// pidAlive cannot tell here: staging folders are kept.
func pidAlive(int) bool { return true }
