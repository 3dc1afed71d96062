package data

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameExchange swaps the paths a and b atomically (renameat2 with
// RENAME_EXCHANGE). It returns an error wrapping os.ErrNotExist when b does
// not exist, and ErrNoExchange when the file system cannot do it.
func RenameExchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOENT):
		if _, serr := os.Lstat(a); serr != nil {
			return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
		}
		return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: os.ErrNotExist}
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return ErrNoExchange
	}
	return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
}
