//go:build !linux

package data

import "os"

// RenameExchange is not available here: callers fall back to two renames.
func RenameExchange(a, b string) error {
	if _, err := os.Lstat(b); err != nil {
		return err
	}
	return ErrNoExchange
}
