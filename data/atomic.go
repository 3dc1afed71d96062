package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

var tmpSeq atomic.Int64

// uniqueSuffix is unique within the process and, with the pid and the
// clock, across processes.
func uniqueSuffix() string {
	return strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(tmpSeq.Add(1), 10)
}

// tmpName returns a hidden sibling name of path, unique within the process.
func tmpName(path, kind string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+"."+kind+"-"+uniqueSuffix())
}

// AtomicFile is a file written under a temporary name and renamed into place
// by Commit, so that readers see either the old file or the whole new one.
type AtomicFile struct {
	*os.File
	path string
	done bool
}

// CreateAtomic starts writing path. Call Commit to publish the file or
// Abort to discard it; Abort after Commit does nothing, so
// `defer f.Abort()` is the usual pattern.
func CreateAtomic(path string) (*AtomicFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(tmpName(path, "tmp"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Commit flushes the file to disk and renames it to its final path.
func (f *AtomicFile) Commit() error {
	if f.done {
		return errors.New("atomic file: already committed or aborted")
	}
	f.done = true
	if err := f.Sync(); err != nil {
		f.File.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := f.File.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := os.Rename(f.Name(), f.path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return SyncPath(filepath.Dir(f.path))
}

// Abort discards the file unless it was committed.
func (f *AtomicFile) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// ErrNoExchange says the platform or file system cannot swap two paths
// atomically.
var ErrNoExchange = errors.New("atomic exchange not supported")

// StagingName is the folder that CreateAtomicDir stages a directory in,
// inside the final directory's parent: parent/.churn-staging/<txn>/<entry>.
// The staged files lie two levels below the parent's children, so a glob
// such as parent/*/report.json or parent/*/*.parquet never matches them.
const StagingName = ".churn-staging"

// Txn stages directories and publishes them together: every directory is
// written in full under the staging root first, then Commit moves each
// into place. An existing directory at a final path is replaced atomically
// where the system can swap two paths (Linux renameat2), else moved aside
// first (a moment without it, never a half-written one). If moving one
// fails, the ones already moved are put back, so a failed Commit leaves
// every final path as it was.
//
// The staging root must lie outside the folders readers glob (a run's
// out/_staging, not out/predictions/). A Txn holds a lock on its staging
// folder for as long as it lives, so CleanStaging can tell the folders of
// dead processes (kill -9, power loss) from those of live ones.
//
// A Txn is not safe for concurrent use.
type Txn struct {
	root    string
	dir     string // root/<id>: this transaction's folder
	lock    *Lock  // root/<id>.lock, held until Commit or Abort
	entries []txnEntry
	done    bool
}

type txnEntry struct {
	staged, final string
	// old is where the replaced directory went during Commit ("" when
	// there was none).
	old      string
	exchange bool // old == staged: swapped by RenameExchange
}

// BeginTxn starts a transaction staging under root. Nothing is created
// until the first Dir: a transaction that stages nothing leaves no trace.
func BeginTxn(root string) (*Txn, error) {
	return &Txn{root: filepath.Clean(root)}, nil
}

// start creates the transaction's folder and takes its lock.
func (t *Txn) start() error {
	if err := os.MkdirAll(t.root, 0o755); err != nil {
		return err
	}
	id := "txn-" + uniqueSuffix()
	lk, err := TryLock(filepath.Join(t.root, id+".lock"))
	if err != nil {
		return err
	}
	dir := filepath.Join(t.root, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		lk.Unlock()
		os.Remove(lk.Path())
		return err
	}
	t.dir, t.lock = dir, lk
	return nil
}

// Dir returns a new empty staging directory that Commit will move to
// final. name is a short label for the staging folder (e.g.
// "predictions"); final must not be staged twice in one Txn.
func (t *Txn) Dir(name, final string) (string, error) {
	if t.done {
		return "", errors.New("staging: transaction already committed or aborted")
	}
	if t.lock == nil {
		if err := t.start(); err != nil {
			return "", err
		}
	}
	final = filepath.Clean(final)
	for _, e := range t.entries {
		if e.final == final {
			return "", fmt.Errorf("staging: %s is staged twice", final)
		}
	}
	staged := filepath.Join(t.dir, fmt.Sprintf("%02d-%s", len(t.entries), strings.ReplaceAll(name, string(filepath.Separator), "_")))
	if err := os.Mkdir(staged, 0o755); err != nil {
		return "", err
	}
	t.entries = append(t.entries, txnEntry{staged: staged, final: final})
	return staged, nil
}

// Finals lists the final paths staged so far, in staging order.
func (t *Txn) Finals() []string {
	out := make([]string, len(t.entries))
	for i, e := range t.entries {
		out[i] = e.final
	}
	return out
}

// Staged returns the staging directory of final, where its content is
// until Commit: readers of what the transaction will publish (a review of
// tonight's predictions before they are published) read it there. ok is
// false when final is not staged.
func (t *Txn) Staged(final string) (dir string, ok bool) {
	final = filepath.Clean(final)
	for _, e := range t.entries {
		if e.final == final {
			return e.staged, true
		}
	}
	return "", false
}

// Commit flushes every staged directory to disk and moves each to its
// final path, in staging order. On error, nothing is published: the
// directories already moved are put back.
func (t *Txn) Commit() error {
	if t.done {
		return errors.New("staging: transaction already committed or aborted")
	}
	t.done = true
	defer t.cleanup()
	for _, e := range t.entries {
		if err := syncTree(e.staged); err != nil {
			return err
		}
	}
	for i := range t.entries {
		if err := t.entries[i].publish(); err != nil {
			for j := i - 1; j >= 0; j-- {
				t.entries[j].rollback()
			}
			return err
		}
	}
	parents := map[string]bool{}
	for _, e := range t.entries {
		if e.old != "" {
			os.RemoveAll(e.old)
		}
		parents[filepath.Dir(e.final)] = true
	}
	for p := range parents {
		if err := SyncPath(p); err != nil {
			return err
		}
	}
	return nil
}

func (e *txnEntry) publish() error {
	if err := os.MkdirAll(filepath.Dir(e.final), 0o755); err != nil {
		return err
	}
	switch err := RenameExchange(e.staged, e.final); {
	case err == nil:
		e.old, e.exchange = e.staged, true
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Rename(e.staged, e.final); err != nil {
			return fmt.Errorf("publish %s: %w", e.final, err)
		}
	case errors.Is(err, ErrNoExchange):
		old := e.staged + ".old"
		if err := os.Rename(e.final, old); err != nil {
			return fmt.Errorf("replace %s: %w", e.final, err)
		}
		if err := os.Rename(e.staged, e.final); err != nil {
			os.Rename(old, e.final)
			return fmt.Errorf("replace %s: %w", e.final, err)
		}
		e.old = old
	default:
		return fmt.Errorf("replace %s: %w", e.final, err)
	}
	return nil
}

// rollback undoes publish: the new directory goes back to its staging
// path and the replaced one (if any) to the final path.
func (e *txnEntry) rollback() {
	switch {
	case e.exchange:
		RenameExchange(e.staged, e.final)
	case e.old != "":
		os.Rename(e.final, e.staged)
		os.Rename(e.old, e.final)
	default:
		os.Rename(e.final, e.staged)
	}
	e.old, e.exchange = "", false
}

// Abort discards everything staged unless the transaction was committed.
func (t *Txn) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.cleanup()
}

// cleanup removes the transaction's folder and lock, and the staging root
// when nothing else is in it.
func (t *Txn) cleanup() {
	if t.lock == nil {
		return // nothing was staged
	}
	os.RemoveAll(t.dir)
	os.Remove(t.lock.Path())
	t.lock.Unlock()
	os.Remove(t.root)
}

// CleanStaging removes what transactions of processes that no longer run
// left under root (their lock is free), and returns the removed paths.
// Folders of live transactions, of this process too, are kept. A missing
// root is not an error.
func CleanStaging(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	seen := map[string]bool{}
	for _, e := range entries {
		id := strings.TrimSuffix(e.Name(), ".lock")
		if seen[id] {
			continue
		}
		seen[id] = true
		lockPath := filepath.Join(root, id+".lock")
		lk, err := TryLock(lockPath)
		if errors.Is(err, ErrLocked) {
			continue // a live transaction
		}
		if err != nil {
			return removed, err
		}
		dir := filepath.Join(root, id)
		if _, err := os.Lstat(dir); err == nil {
			if err := os.RemoveAll(dir); err != nil {
				lk.Unlock()
				return removed, err
			}
			removed = append(removed, dir)
		}
		os.Remove(lockPath)
		lk.Unlock()
	}
	os.Remove(root) // only when empty
	return removed, nil
}

// AtomicDir is a directory built under a staging name and moved into place
// by Commit: a one-directory Txn staged in the final path's
// parent/.churn-staging (see StagingName), so globs over the parent never
// see it. An existing directory at the final path is replaced atomically
// where the system can swap two paths (Linux renameat2); elsewhere it is
// moved aside first, which leaves a moment without it, never a
// half-written one.
type AtomicDir struct {
	// Path is the temporary directory to write into.
	Path  string
	final string
	txn   *Txn
}

// CreateAtomicDir starts building the directory final. Staging folders
// that dead processes left next to it are removed first.
func CreateAtomicDir(final string) (*AtomicDir, error) {
	final = filepath.Clean(final)
	root := filepath.Join(filepath.Dir(final), StagingName)
	if _, err := CleanStaging(root); err != nil {
		return nil, err
	}
	txn, err := BeginTxn(root)
	if err != nil {
		return nil, err
	}
	dir, err := txn.Dir(filepath.Base(final), final)
	if err != nil {
		txn.Abort()
		return nil, err
	}
	return &AtomicDir{Path: dir, final: final, txn: txn}, nil
}

// Final returns the path the directory will have after Commit.
func (d *AtomicDir) Final() string { return d.final }

// Commit moves the directory into place.
func (d *AtomicDir) Commit() error { return d.txn.Commit() }

// Abort removes the temporary directory unless it was committed.
func (d *AtomicDir) Abort() { d.txn.Abort() }

// SyncPath flushes a file or folder to disk (a no-op where the file system
// cannot sync folders).
func SyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", p, err)
	}
	return nil
}

// WriteFileAtomic writes b to path through an AtomicFile: readers see the
// old file or the whole new one.
func WriteFileAtomic(path string, b []byte) error {
	f, err := CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFileSync writes b to a new file at path (it must not exist) and
// flushes it to disk: for files inside a staged directory.
func WriteFileSync(path string, b []byte) error {
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

// syncTree flushes every file under dir to disk.
func syncTree(dir string) error {
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return SyncPath(p)
	})
}
