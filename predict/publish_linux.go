package predict

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// renameExchange swaps the paths a and b atomically. It returns an error
// wrapping os.ErrNotExist when b does not exist, and errNoExchange when the
// file system cannot do it.
func renameExchange(a, b string) error {
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
		return errNoExchange
	}
	return &os.LinkError{Op: "renameat2", Old: a, New: b, Err: err}
}

// pidAlive reports whether a process with this id exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
