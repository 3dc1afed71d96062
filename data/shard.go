package data

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ShardOf returns the shard, in [0, n), that customer id belongs to when
// customers are split into n shards:
//
//	fmix64(FNV-1a-64(UTF-8 bytes of id)) mod n
//
// where fmix64 is MurmurHash3's 64-bit finalizer (x ^= x>>33; x *=
// 0xff51afd7ed558ccd; x ^= x>>33; x *= 0xc4ceb9fe1a85ec53; x ^= x>>33).
// FNV-1a alone mixes badly for ids that differ in their last characters
// (its low bit is the parity of the bytes' low bits; its high bits hardly
// see the last byte); the finalizer spreads every bit of it.
//
// It is the one customer hash of churn: `churn features --shard i/n`,
// `churn predict --shard i/n` and the Beam pipeline all use it, so a
// customer lands in the same shard everywhere. The values are fixed by
// TestShardOf and must never change: a change would move customers between
// the shards of runs already written.
//
// The hash is not range-based: the customers of one shard are spread over
// every row group, so a shard process reads and decodes every row group of
// every file; only its own customers' rows are bound into histories
// (ScanOptions.Keep) and computed. Row-group min/max statistics could skip row groups only for a
// split by key range (Dataset.Shards), which follows one dataset's key
// distribution and is not stable across datasets and days; docs/scaling.md
// weighs the trade-off. ShardOf panics if n < 1.
func ShardOf(id string, n int) int {
	if n < 1 {
		panic("data.ShardOf: n < 1")
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(fmix64(h.Sum64()) % uint64(n))
}

// fmix64 is MurmurHash3's 64-bit finalizer.
func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// Shard is one shard of n: Index in [0, Count).
type Shard struct {
	Index, Count int
}

// ErrBadShard is wrapped by ParseShard's errors.
var ErrBadShard = errors.New("bad shard")

// ParseShard parses "i/n" (0 <= i < n, n >= 1), as given to --shard.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || strings.TrimSpace(s) != s {
		return Shard{}, fmt.Errorf("%w %q: want i/n, e.g. 0/4", ErrBadShard, s)
	}
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w %q: want 0 <= i < n and n >= 1", ErrBadShard, s)
	}
	return Shard{Index: i, Count: n}, nil
}

// String returns "i/n".
func (s Shard) String() string { return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count) }

// Keeps reports whether customer id belongs to the shard.
func (s Shard) Keeps(id string) bool { return ShardOf(id, s.Count) == s.Index }

// FileName is the name of the shard's file in a folder of shards:
// shard-IIIII-of-NNNNN.parquet.
func (s Shard) FileName() string {
	return fmt.Sprintf("shard-%05d-of-%05d.parquet", s.Index, s.Count)
}

// ShardSetError says why a set of shard files cannot be merged.
type ShardSetError struct {
	File string // the file concerned; "" for the set as a whole
	Msg  string
}

func (e *ShardSetError) Error() string {
	if e.File == "" {
		return "shards: " + e.Msg
	}
	return "shards: " + e.File + ": " + e.Msg
}

// CheckShardSet checks that shards, read from files (same order), are one
// complete set: shards 0..n-1 of the same n, each exactly once. The error
// is a *ShardSetError naming the first file that does not fit, or the
// missing shards.
func CheckShardSet(shards []Shard, files []string) error {
	if len(shards) == 0 {
		return &ShardSetError{Msg: "no shard file given"}
	}
	n := shards[0].Count
	seen := make(map[int]string, n)
	for i, s := range shards {
		if s.Count != n {
			return &ShardSetError{File: files[i], Msg: fmt.Sprintf("is shard %v, %s is of %d", s, files[0], n)}
		}
		if prev, ok := seen[s.Index]; ok {
			return &ShardSetError{File: files[i], Msg: fmt.Sprintf("shard %v is given twice (also %s)", s, prev)}
		}
		seen[s.Index] = files[i]
	}
	var missing []string
	for i := 0; i < n; i++ {
		if _, ok := seen[i]; !ok {
			missing = append(missing, strconv.Itoa(i))
		}
	}
	if len(missing) > 0 {
		return &ShardSetError{Msg: fmt.Sprintf("shard(s) %s of %d missing: the set is incomplete", strings.Join(missing, ", "), n)}
	}
	return nil
}

// ShardFiles lists the files of paths: a folder stands for the *.parquet
// files in it, a file for itself. The list is sorted.
func ShardFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.parquet"))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	sort.Strings(out)
	return out, nil
}
