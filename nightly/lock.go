package nightly

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrLocked is returned when another run holds the lock.
var ErrLocked = errors.New("another churn run is in progress")

// lock is an exclusive advisory lock (flock) on a file in the output
// folder. The kernel releases it when the process ends, however it ends,
// so a crashed run never leaves a stale lock behind.
type lock struct {
	f *os.File
}

type lockInfo struct {
	PID     int    `json:"pid"`
	Started string `json:"started"`
	AsOf    string `json:"as_of"`
	Host    string `json:"host"`
}

func acquireLock(dir, asOf string, now time.Time) (*lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, ".churn-run.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		var who lockInfo
		b := make([]byte, 512)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if json.Unmarshal(b[:n], &who) == nil && who.PID != 0 {
			return nil, fmt.Errorf("%w: pid %d on %s started %s for as-of %s (lock %s)", ErrLocked, who.PID, who.Host, who.Started, who.AsOf, path)
		}
		return nil, fmt.Errorf("%w (lock %s)", ErrLocked, path)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Started: now.UTC().Format(time.RFC3339), AsOf: asOf, Host: host})
	f.Truncate(0)
	f.WriteAt(b, 0)
	return &lock{f: f}, nil
}

func (l *lock) release() {
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
