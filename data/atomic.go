package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

var tmpSeq atomic.Int64

// tmpName returns a hidden sibling name of path, unique within the process.
func tmpName(path, kind string) string {
	dir, base := filepath.Split(path)
	suffix := strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(tmpSeq.Add(1), 10)
	return filepath.Join(dir, "."+base+"."+kind+"-"+suffix)
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

// AtomicDir is a directory built under a temporary name (a hidden sibling of
// the final path) and moved into place by Commit. An existing directory at
// the final path is replaced atomically where the system can swap two paths
// (Linux renameat2); elsewhere it is moved aside first, which leaves a
// moment without it, never a half-written one.
type AtomicDir struct {
	// Path is the temporary directory to write into.
	Path  string
	final string
	done  bool
}

// CreateAtomicDir starts building the directory final.
func CreateAtomicDir(final string) (*AtomicDir, error) {
	final = filepath.Clean(final)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	tmp := tmpName(final, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	return &AtomicDir{Path: tmp, final: final}, nil
}

// Final returns the path the directory will have after Commit.
func (d *AtomicDir) Final() string { return d.final }

// Commit moves the directory into place.
func (d *AtomicDir) Commit() error {
	if d.done {
		return errors.New("atomic dir: already committed or aborted")
	}
	d.done = true
	if err := syncTree(d.Path); err != nil {
		os.RemoveAll(d.Path)
		return err
	}
	// Swap an existing directory out atomically where the system can; the
	// temporary path then holds the old directory, removed after.
	switch err := RenameExchange(d.Path, d.final); {
	case err == nil:
		os.RemoveAll(d.Path)
	case errors.Is(err, os.ErrNotExist):
		if err := os.Rename(d.Path, d.final); err != nil {
			os.RemoveAll(d.Path)
			return fmt.Errorf("write %s: %w", d.final, err)
		}
	case errors.Is(err, ErrNoExchange):
		old := tmpName(d.final, "old")
		if err := os.Rename(d.final, old); err != nil {
			os.RemoveAll(d.Path)
			return fmt.Errorf("replace %s: %w", d.final, err)
		}
		if err := os.Rename(d.Path, d.final); err != nil {
			os.Rename(old, d.final)
			os.RemoveAll(d.Path)
			return fmt.Errorf("replace %s: %w", d.final, err)
		}
		os.RemoveAll(old)
	default:
		os.RemoveAll(d.Path)
		return fmt.Errorf("replace %s: %w", d.final, err)
	}
	return SyncPath(filepath.Dir(d.final))
}

// Abort removes the temporary directory unless it was committed.
func (d *AtomicDir) Abort() {
	if d.done {
		return
	}
	d.done = true
	os.RemoveAll(d.Path)
}

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

// syncTree flushes every file under dir to disk.
func syncTree(dir string) error {
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return SyncPath(p)
	})
}
