package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/churnlab/churn/data"
)

// ErrLocked is returned when another run holds the output folder's lock.
var ErrLocked = errors.New("another churn run is in progress")

// lockInfo is what a lock's holder writes into the lock file, for the
// message of whoever finds it locked.
type lockInfo struct {
	PID     int    `json:"pid"`
	Started string `json:"started"`
	AsOf    string `json:"as_of,omitempty"`
	RunID   string `json:"run_id,omitempty"`
	Host    string `json:"host"`
}

func (w lockInfo) String() string {
	s := fmt.Sprintf("pid %d on %s started %s", w.PID, w.Host, w.Started)
	if w.AsOf != "" {
		s += " for as-of " + w.AsOf
	}
	if w.RunID != "" {
		s += " (run " + w.RunID + ")"
	}
	return s
}

// takeLock takes the lock on path without waiting and records who holds
// it. When another process has it, the error wraps data.ErrLocked and says
// who.
func takeLock(path string, who lockInfo) (*data.Lock, error) {
	lk, err := data.TryLock(path)
	if errors.Is(err, data.ErrLocked) {
		var holder lockInfo
		if json.Unmarshal(data.ReadInfo(path), &holder) == nil && holder.PID != 0 {
			return nil, fmt.Errorf("%w: held by %s (lock %s)", data.ErrLocked, holder, path)
		}
		return nil, fmt.Errorf("%w (lock %s)", data.ErrLocked, path)
	}
	if err != nil {
		return nil, err
	}
	who.PID = os.Getpid()
	who.Host, _ = os.Hostname()
	b, err := json.Marshal(who)
	if err == nil {
		err = lk.SetInfo(b)
	}
	if err != nil {
		lk.Unlock()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return lk, nil
}

// acquireRunLock takes the output folder's lock: one run at a time per
// output folder. The kernel releases it when the process ends, however it
// ends, so a crashed run never leaves a stale lock behind.
func acquireRunLock(dir, asOf string, now time.Time) (*data.Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lk, err := takeLock(filepath.Join(dir, ".churn-run.lock"), lockInfo{Started: now.UTC().Format(time.RFC3339), AsOf: asOf})
	if errors.Is(err, data.ErrLocked) {
		return nil, fmt.Errorf("%w: %w", ErrLocked, err)
	}
	return lk, err
}

// registryPoll is how often a run waiting for the registry lock tries again.
var registryPoll = 250 * time.Millisecond

// Lock takes the registry's lock, waiting while another run holds it
// (until ctx is done), and returns the function that releases it. Runs
// that share a registry hold it from reading the champion to promoting, so
// each compares with, promotes and scores with the champion it reports.
func (r *Registry) Lock(ctx context.Context, runID string, log *slog.Logger) (func(), error) {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(r.Dir, ".lock")
	who := lockInfo{Started: time.Now().UTC().Format(time.RFC3339), RunID: runID}
	waiting := false
	for {
		lk, err := takeLock(path, who)
		if err == nil {
			if waiting {
				log.Info("model registry lock taken", "registry", r.Dir)
			}
			return func() {
				if err := lk.Unlock(); err != nil {
					log.Warn("release the model registry lock", "error", err)
				}
			}, nil
		}
		if !errors.Is(err, data.ErrLocked) {
			return nil, err
		}
		if !waiting {
			waiting = true
			log.Info("waiting for the model registry", "registry", r.Dir, "holder", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(registryPoll):
		}
	}
}
