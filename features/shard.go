package features

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/churnlab/churn/data"
)

// Footer keys of a feature table shard (BuildOptions.Shard).
const (
	shardKey          = "churn.shard"
	shardCustomersKey = "churn.shard.customers_scanned"
)

// MergeShards reads the shard files Build wrote with BuildOptions.Shard
// (paths: files, or folders of them; see data.ShardFiles), checks that they
// are one complete set — shards 0..n-1 of one n, each exactly once, with
// the same spec — and writes the whole feature table to w: the rows of
// every shard in customer_id order (a customer's rows, in date order, all
// lie in one shard), the same spec and schema as Build without shards, so
// the rows equal those of an unsharded build. Only the row-group
// boundaries differ (the unsharded build cuts one per batch of its
// workers'; the merge cuts every wo.RowGroupRows rows). It streams: memory
// holds one row group per shard. The error is a *data.ShardSetError when
// the set does not fit.
func MergeShards(ctx context.Context, paths []string, w io.Writer, wo data.WriterOptions) (*Spec, Stats, error) {
	var st Stats
	files, err := data.ShardFiles(paths)
	if err != nil {
		return nil, st, err
	}
	if len(files) == 0 {
		return nil, st, data.CheckShardSet(nil, nil)
	}
	var spec *Spec
	var rawSpec string
	shards := make([]data.Shard, len(files))
	curs := make([]*shardCursor, len(files))
	defer func() {
		for _, c := range curs {
			if c != nil {
				c.f.Close()
			}
		}
	}()
	for i, path := range files {
		s, err := ReadSpec(path)
		if err != nil {
			return nil, st, &data.ShardSetError{File: path, Msg: err.Error()}
		}
		f, err := data.OpenFile(path, s.table(), nil)
		if err != nil {
			return nil, st, err
		}
		curs[i] = &shardCursor{f: f, path: path}
		raw, _ := f.Metadata(MetadataKey)
		sh, ok := f.Metadata(shardKey)
		if !ok {
			return nil, st, &data.ShardSetError{File: path, Msg: "not a shard (no churn.shard in its footer; make it with churn features --shard i/n)"}
		}
		if shards[i], err = data.ParseShard(sh); err != nil {
			return nil, st, &data.ShardSetError{File: path, Msg: err.Error()}
		}
		if i == 0 {
			spec, rawSpec = s, raw
			n, _ := f.Metadata(shardCustomersKey)
			st.Customers, _ = strconv.ParseInt(n, 10, 64)
			st.Scan.Customers = st.Customers
		} else if raw != rawSpec {
			return nil, st, &data.ShardSetError{File: path, Msg: fmt.Sprintf("its feature spec differs from %s's: every shard must be built from the same data with the same settings", files[0])}
		}
	}
	if err := data.CheckShardSet(shards, files); err != nil {
		return nil, st, err
	}
	for i, c := range curs {
		c.shard = shards[i]
	}
	enc, err := spec.encode()
	if err != nil {
		return nil, st, err
	}
	wo.Metadata = map[string]string{MetadataKey: enc}
	wo.SortedBy = []string{ColCustomerID, ColAsOf}
	pw, err := data.NewWriter(w, spec.Columns(), wo)
	if err != nil {
		return nil, st, err
	}
	cols := spec.Columns()
	out := make([]data.Vec, len(cols))
	reset := func() {
		for i, c := range cols {
			out[i] = data.NewVec(c.Type)
		}
	}
	reset()
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		if err := pw.Write(n, out); err != nil {
			return err
		}
		reset()
		n = 0
		return nil
	}
	for {
		// The cursor with the smallest current customer; a customer's rows
		// lie in one shard, so the run is copied whole.
		var best *shardCursor
		for _, c := range curs {
			ok, err := c.fill(ctx)
			if err != nil {
				return nil, st, err
			}
			if ok && (best == nil || c.key() < best.key()) {
				best = c
			}
		}
		if best == nil {
			break
		}
		id := strings.Clone(best.key())
		if !best.shard.Keeps(id) {
			return nil, st, &data.ShardSetError{File: best.path, Msg: fmt.Sprintf("customer %s does not belong to shard %v", id, best.shard)}
		}
		for {
			ok, err := best.fill(ctx)
			if err != nil {
				return nil, st, err
			}
			if !ok || best.key() != id {
				break
			}
			r := best.pos
			for i := range out {
				out[i].AppendFrom(&best.b.Cols[i], r)
			}
			if x := best.b.Cols[len(cols)-1].Int(r); x != data.NullInt {
				st.Labelled++
				st.Positives += x
			}
			st.Rows++
			n++
			best.pos++
		}
		if n >= DefaultBatchRows {
			if err := flush(); err != nil {
				return nil, st, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, st, err
	}
	if err := pw.Close(); err != nil {
		return nil, st, err
	}
	return spec, st, nil
}

// shardCursor walks one shard file row by row.
type shardCursor struct {
	f      *data.File
	path   string
	shard  data.Shard
	b      data.Batch
	rg     int
	pos    int
	loaded bool
}

// fill makes sure the cursor is at a row; false at the end.
func (c *shardCursor) fill(ctx context.Context) (bool, error) {
	for !c.loaded || c.pos >= c.b.N {
		if c.rg >= c.f.NumRowGroups() {
			return false, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if err := c.f.ReadRowGroup(c.rg, nil, false, &c.b); err != nil {
			return false, err
		}
		c.rg++
		c.pos, c.loaded = 0, true
	}
	return true, nil
}

func (c *shardCursor) key() string { return c.b.Cols[0].Str(c.pos) }

// MergeShardsFile is MergeShards to a file, written atomically: on error
// nothing is left at path.
func MergeShardsFile(ctx context.Context, paths []string, wo data.WriterOptions, path string) (*Spec, Stats, error) {
	f, err := data.CreateAtomic(path)
	if err != nil {
		return nil, Stats{}, err
	}
	defer f.Abort()
	spec, st, err := MergeShards(ctx, paths, f, wo)
	if err != nil {
		return nil, st, err
	}
	return spec, st, f.Commit()
}
