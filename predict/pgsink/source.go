package pgsink

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// source streams the rows of a partition's Parquet files to COPY
// (pgx.CopyFromSource): files in name order, a row group at a time, so
// memory stays at one row group whatever the partition's size. pgx
// encodes each row before asking for the next, so the strings of the
// reused batch are never read after it changes.
//
// It walks the files as predict.EachBatch does, but pulled by COPY rather
// than pushing batches to a callback: bridging EachBatch to pgx's pull
// interface would need a goroutine and a handshake per batch.
type source struct {
	ctx   context.Context
	files []string
	t     *data.Table
	f     *data.File
	path  string
	rg    int
	b     data.Batch
	row   int
	vals  []any
	err   error
}

// newSource opens the Parquet files of a partition folder with the
// columns cols (kind names the table in errors).
func newSource(ctx context.Context, dir, kind string, cols []predict.Column) (*source, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no Parquet file", dir)
	}
	sort.Strings(files)
	t := &data.Table{Name: kind}
	for _, c := range cols {
		t.Columns = append(t.Columns, data.Column{Name: c.Name, Type: c.Type, Required: !c.Nullable})
	}
	return &source{ctx: ctx, files: files, t: t, row: -1, vals: make([]any, len(cols))}, nil
}

// Next advances to the next row, opening the next row group or file when
// needed.
func (s *source) Next() bool {
	if s.err != nil {
		return false
	}
	s.row++
	for s.row >= s.b.N {
		if !s.advance() {
			return false
		}
	}
	return true
}

func (s *source) advance() bool {
	for {
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return false
		}
		if s.f != nil && s.rg < s.f.NumRowGroups() {
			if err := s.f.ReadRowGroup(s.rg, nil, false, &s.b); err != nil {
				s.err = fmt.Errorf("%s: %w", s.path, err)
				return false
			}
			s.rg++
			s.row = 0
			return true
		}
		s.close()
		if len(s.files) == 0 {
			s.b.N = 0
			return false
		}
		s.path, s.files = s.files[0], s.files[1:]
		f, err := data.OpenFile(s.path, s.t, nil)
		if err != nil {
			s.err = err
			return false
		}
		s.f, s.rg = f, 0
	}
}

// Values returns the current row, nulls as nil.
func (s *source) Values() ([]any, error) {
	r := s.row
	for i := range s.vals {
		v := &s.b.Cols[i]
		if v.IsNull(r) {
			s.vals[i] = nil
			continue
		}
		switch v.Type {
		case data.TypeString:
			s.vals[i] = v.Str(r)
		case data.TypeFloat64:
			s.vals[i] = v.Float(r)
		case data.TypeInt64:
			s.vals[i] = v.Int(r)
		case data.TypeBool:
			s.vals[i] = v.Bool(r) != 0
		case data.TypeDate:
			s.vals[i] = v.Date(r).Time()
		case data.TypeTimestamp:
			s.vals[i] = time.UnixMicro(int64(v.Time(r))).UTC()
		}
	}
	return s.vals, nil
}

func (s *source) Err() error { return s.err }

func (s *source) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}
