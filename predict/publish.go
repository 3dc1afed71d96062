package predict

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/churnlab/churn/data"
)

// StagingDir is the folder under the output folder where partitions are
// built before they are moved into place. It lies outside predictions/ and
// alerts/, so readers globbing predictions/*/*.parquet never see a
// partition being written (DuckDB's globs include hidden folders, so a
// hidden sibling would not do).
const StagingDir = "_staging"

var stageSeq atomic.Int64

// stage creates an empty staging folder for a partition of kind:
// OUT/_staging/<kind>-as_of=DATE.<pid>.<n>.
func stage(out, kind string, asOf data.Date) (string, error) {
	root := filepath.Join(out, StagingDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s%s.%d.%d-%d", kind, partitionKey, asOf, os.Getpid(), time.Now().UnixNano(), stageSeq.Add(1))
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// unstage removes a staging folder, and the staging root when it is empty.
func unstage(dir string) {
	os.RemoveAll(dir)
	os.Remove(filepath.Dir(dir))
}

// cleanStaging removes staging folders left by runs that died (kill -9,
// power loss): those whose process no longer exists.
func cleanStaging(out string, log *slog.Logger) {
	root := filepath.Join(out, StagingDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		parts := strings.Split(e.Name(), ".")
		if len(parts) < 3 {
			continue
		}
		pid, err := strconv.Atoi(parts[len(parts)-2])
		if err != nil || pid <= 0 || pid == os.Getpid() || pidAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err == nil {
			log.Info("removed the staging folder of an interrupted run", "dir", filepath.Join(root, e.Name()))
		}
	}
	os.Remove(root) // only when empty
}

// publish moves the staged partition to final in one step. A partition
// already at final is swapped out atomically (Linux renameat2
// RENAME_EXCHANGE) and then removed, so readers see the old partition or
// the new one, never none and never a mix. Where the exchange is not
// available the old partition is first moved into the staging folder,
// which leaves a moment without a partition (never a half one).
func publish(staged, final string) error {
	if err := data.SyncPath(staged); err != nil {
		return err
	}
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	err := data.RenameExchange(staged, final)
	switch {
	case err == nil:
		// staged now holds the old partition.
		if err := os.RemoveAll(staged); err != nil {
			return fmt.Errorf("remove the replaced partition: %w", err)
		}
	case errors.Is(err, os.ErrNotExist):
		if err := os.Rename(staged, final); err != nil {
			return fmt.Errorf("publish %s: %w", final, err)
		}
	case errors.Is(err, data.ErrNoExchange):
		old := staged + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("replace %s: %w", final, err)
		}
		if err := os.Rename(staged, final); err != nil {
			os.Rename(old, final)
			return fmt.Errorf("replace %s: %w", final, err)
		}
		os.RemoveAll(old)
	default:
		return fmt.Errorf("publish %s: %w", final, err)
	}
	return data.SyncPath(parent)
}

// writeFile writes b to path and flushes it to disk.
func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
