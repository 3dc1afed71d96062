package data

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked is returned by TryLock when another holder has the lock.
var ErrLocked = errors.New("locked by another process")

// Lock is an exclusive advisory lock (flock) on a file. The kernel
// releases it when the process ends, however it ends, so a crashed
// process never leaves a stale lock behind. Two Locks on one file conflict
// even within a process. Linux and other Unix systems only.
type Lock struct {
	f    *os.File
	path string
}

// TryLock takes the lock on path (creating the file) without waiting. When
// another holder has it, the error wraps ErrLocked.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// SetInfo replaces the lock file's content, e.g. with who holds it.
func (l *Lock) SetInfo(b []byte) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt(b, 0)
	return err
}

// ReadInfo returns the content of the lock file at path (what its holder
// wrote with SetInfo), up to 4 KiB.
func ReadInfo(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	return b[:n]
}

// Unlock releases the lock and closes the file (the file stays).
func (l *Lock) Unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
