package synth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
)

// chunkCustomers is the number of customers generated as one unit of work.
const chunkCustomers = 1024

// TableSummary describes one written table.
type TableSummary struct {
	Name  string
	Rows  int64
	Bytes int64 // file size
}

// Summary describes a generated dataset.
type Summary struct {
	// Dir is the dataset folder.
	Dir    string
	Params Params
	// Tables lists the written tables in contract order.
	Tables []TableSummary
	// Churned counts customers with a churn_date in the period (for a
	// shop: whose latent dropout falls within it); New counts customers
	// who signed up within it (for a shop: all).
	Churned, New int64
	// Truth is what DIR/_generator.json holds; nil without
	// Params.Interventions or BusinessEcommerce (then the file is not
	// written).
	Truth *GeneratorTruth
}

// Rows returns the number of rows of the named table (0 if not written).
func (s *Summary) Rows(table string) int64 {
	for _, t := range s.Tables {
		if t.Name == table {
			return t.Rows
		}
	}
	return 0
}

// Generate writes the dataset described by p to the folder dir, one
// Parquet file per table (see Tables), sorted by customer_id then time. The
// folder is built under a temporary name and renamed into place at the
// end, so a failed or cancelled run leaves nothing behind; an existing
// folder is replaced only when it is empty or holds nothing but generated
// table files and TruthFile (otherwise ErrOutputInUse). With
// p.Interventions it also writes the interventions table and TruthFile
// (Summary.Truth); a shop (BusinessEcommerce) is ShopTables and TruthFile. Memory use is bounded and does not grow with
// p.Customers.
func Generate(ctx context.Context, dir string, p Params, opt WriteOptions) (*Summary, error) {
	p.EnsureDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	opt.ensureDefaults()
	if err := checkOutput(dir); err != nil {
		return nil, err
	}
	ad, err := data.CreateAtomicDir(dir)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	defer ad.Abort()
	sum, err := generate(ctx, ad.Path, &p, &opt)
	if err != nil {
		return nil, err
	}
	if sum.Truth != nil {
		if err := writeTruth(filepath.Join(ad.Path, TruthFile), sum.Truth); err != nil {
			return nil, err
		}
	}
	if err := ad.Commit(); err != nil {
		return nil, err
	}
	sum.Dir = ad.Final()
	return sum, nil
}

// checkOutput refuses to replace a folder that holds anything but
// generated tables.
func checkOutput(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: %w: it is a file, not a folder", dir, ErrOutputInUse)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".parquet")
		if e.Name() == TruthFile && e.Type().IsRegular() {
			continue
		}
		if _, table := data.LookupTable(name); !ok || !table || !e.Type().IsRegular() {
			return fmt.Errorf("%s: %w (%s); generate replaces a folder only when it is empty or holds only table files: choose a new folder", dir, ErrOutputInUse, e.Name())
		}
	}
	return nil
}

// chunk holds the rows of chunkCustomers consecutive customers.
type chunk struct {
	first, n     int
	ids          []string
	t            [numTables]table
	churned      int64
	newCustomers int64
	declined     int64        // shop customers who dropped out after a decline
	plays        []playCount  // per play, with interventions
	refs         atomic.Int32 // tables still to write
}

func newChunk() *chunk {
	c := &chunk{plays: make([]playCount, len(Plays))}
	for i := range c.t {
		c.t[i] = newTable(i)
	}
	return c
}

// fill generates customers [first, first+n) into c.
func (w *worker) fill(ctx context.Context, c *chunk, first, n int) error {
	c.first, c.n = first, n
	c.churned, c.newCustomers, c.declined = 0, 0, 0
	clear(c.plays)
	c.ids = c.ids[:0]
	for i := range n {
		c.ids = append(c.ids, CustomerID(first+i))
	}
	for i := range c.t {
		c.t[i].reset(c.ids)
	}
	for i := range n {
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		w.customer(c, first+i, i)
	}
	return nil
}

// tableWriter writes one table's file.
type tableWriter struct {
	t    int // table index
	slot int // index in Summary.Tables
	path string
	f    *os.File
	bw   *bufio.Writer
	w    *data.Writer
	in   chan *chunk
}

func newTableWriter(dir string, t int, p *Params, opt *WriteOptions, buffer int) (*tableWriter, error) {
	name := tableNames[t]
	specs, err := specsOf(t)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name+".parquet")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	sorted := []string{data.KeyColumn}
	if tab, _ := data.LookupTable(name); tab.Time != "" {
		sorted = append(sorted, tab.Time)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := data.NewWriter(bw, specs, data.WriterOptions{
		RowGroupRows: rowGroupRows(t),
		Compression:  opt.Compression,
		SortedBy:     sorted,
		Metadata:     map[string]string{"churn.synth": p.describe()},
		ChurnVersion: opt.ChurnVersion,
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &tableWriter{t: t, path: path, f: f, bw: bw, w: w, in: make(chan *chunk, buffer)}, nil
}

func (tw *tableWriter) write(c *chunk) error {
	tb := &c.t[tw.t]
	if tb.n == 0 {
		return nil
	}
	if err := tw.w.Write(tb.n, tb.cols); err != nil {
		return fmt.Errorf("write %s: %w", tw.path, err)
	}
	return nil
}

// finish writes the footer and closes the file, returning its size.
func (tw *tableWriter) finish() (int64, error) {
	err := tw.w.Close()
	if err == nil {
		err = tw.bw.Flush()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = tw.f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := tw.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", tw.path, err)
	}
	return size, nil
}

// describe returns the parameters as recorded in each file's metadata.
func (p *Params) describe() string {
	s := "customers=" + strconv.Itoa(p.Customers) + " months=" + strconv.Itoa(p.Months) +
		" seed=" + strconv.FormatUint(p.Seed, 10) + " end=" + p.End.String()
	if p.ecommerce() {
		s += " business=" + p.Business
	}
	if iv := p.Interventions; iv != nil {
		s += " control_share=" + strconv.FormatFloat(iv.ControlShare, 'g', -1, 64) +
			" compliance=" + strconv.FormatFloat(iv.Compliance, 'g', -1, 64)
	}
	return s
}

// generate runs the pipeline: workers fill chunks in parallel, a sequencer
// hands them in order to one writer goroutine per table, and each chunk
// returns to the free list when every table has written it. At most
// 2·Workers+2 chunks exist, which bounds memory.
func generate(ctx context.Context, dir string, p *Params, opt *WriteOptions) (*Summary, error) {
	nbuf := 2*opt.Workers + 2
	tables := tablesOf(p)
	writers := make([]*tableWriter, len(tables))
	defer func() {
		for _, tw := range writers {
			if tw != nil {
				tw.f.Close() // after finish this is a harmless second close
			}
		}
	}()
	for slot, t := range tables {
		tw, err := newTableWriter(dir, t, p, opt, nbuf)
		if err != nil {
			return nil, err
		}
		tw.slot = slot
		writers[slot] = tw
	}
	free := make(chan *chunk, nbuf)
	for range nbuf {
		free <- newChunk()
	}
	workers := make(chan *worker, opt.Workers)
	for range opt.Workers {
		workers <- newWorker(p)
	}
	nchunks := (p.Customers + chunkCustomers - 1) / chunkCustomers
	futures := make(chan chan *chunk, nbuf)
	eg, ctx := errgroup.WithContext(ctx)
	sum := &Summary{Params: *p, Tables: make([]TableSummary, len(tables))}
	plays := make([]playCount, len(Plays))
	var declined int64

	// Producer: start a worker on each chunk, in order, as chunks and
	// workers come free.
	eg.Go(func() error {
		defer close(futures)
		for k := range nchunks {
			var c *chunk
			var w *worker
			select {
			case c = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case w = <-workers:
			case <-ctx.Done():
				return ctx.Err()
			}
			fut := make(chan *chunk, 1)
			select {
			case futures <- fut:
			case <-ctx.Done():
				return ctx.Err()
			}
			first := k * chunkCustomers
			n := min(chunkCustomers, p.Customers-first)
			eg.Go(func() error {
				err := w.fill(ctx, c, first, n)
				workers <- w
				if err != nil {
					return err
				}
				fut <- c
				return nil
			})
		}
		return nil
	})

	// Sequencer: hand chunks to the table writers in customer order.
	eg.Go(func() error {
		defer func() {
			for _, tw := range writers {
				close(tw.in)
			}
		}()
		done := 0
		for fut := range futures {
			var c *chunk
			select {
			case c = <-fut:
			case <-ctx.Done():
				return ctx.Err()
			}
			sum.Churned += c.churned
			sum.New += c.newCustomers
			declined += c.declined
			for i := range plays {
				plays[i].add(&c.plays[i])
			}
			// Read c before handing it over: once the last writer is done
			// with it, c goes back to the free list and a worker refills it.
			done += c.n
			c.refs.Store(int32(len(writers)))
			for _, tw := range writers {
				select {
				case tw.in <- c:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if opt.Progress != nil {
				opt.Progress(done)
			}
		}
		return nil
	})

	for _, tw := range writers {
		eg.Go(func() error {
			for {
				select {
				case c, ok := <-tw.in:
					if !ok {
						if err := ctx.Err(); err != nil {
							return err
						}
						size, err := tw.finish()
						sum.Tables[tw.slot] = TableSummary{Name: tableNames[tw.t], Rows: tw.w.Rows(), Bytes: size}
						return err
					}
					if err := tw.write(c); err != nil {
						return err
					}
					if c.refs.Add(-1) == 0 {
						free <- c // never blocks: free holds every chunk
					}
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if p.Interventions != nil {
		sum.Truth = truthOf(p, plays)
	}
	if p.ecommerce() {
		sum.Truth = shopTruthOf(p, sum.Churned, declined)
	}
	return sum, nil
}
