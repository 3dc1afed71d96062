package features

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

func TestCustomerStratum(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		labels []float64
		want   string
	}{
		{nil, StratumUnlabelled},
		{[]float64{nan, nan}, StratumUnlabelled},
		{[]float64{0, nan, 0}, StratumRetained},
		{[]float64{0, 1, nan}, StratumChurned},
		{[]float64{nan, 1}, StratumChurned},
	} {
		if got := CustomerStratum(c.labels); got != c.want {
			t.Errorf("CustomerStratum(%v) = %s, want %s", c.labels, got, c.want)
		}
	}
}

// hashes returns n hashes 1/64, 2/64, … (in reverse order: the planner
// sorts).
func hashes(n int) []float64 {
	var hs []float64
	for i := n; i >= 1; i-- {
		hs = append(hs, float64(i)/64)
	}
	return hs
}

func TestPlanSample(t *testing.T) {
	above := func(k float64) float64 { return math.Nextafter(k/64, 2) } // keeps the k smallest of hashes(n)
	for _, c := range []struct {
		name    string
		size    int
		counts  []StratumCount
		want    []SampleStratumPlan // churned, retained, unlabelled
		wantErr string
	}{
		{
			name: "all fit",
			size: 10,
			counts: []StratumCount{
				{Name: StratumChurned, Customers: 3, Smallest: hashes(3)},
				{Name: StratumRetained, Customers: 7, Smallest: hashes(7)},
				{Name: StratumUnlabelled, Customers: 4},
			},
			want: []SampleStratumPlan{
				{Name: StratumChurned, Customers: 3, Kept: 3, Threshold: 1, Weight: 1},
				{Name: StratumRetained, Customers: 7, Kept: 7, Threshold: 1, Weight: 1},
				{Name: StratumUnlabelled, Customers: 4},
			},
		},
		{
			name: "retained sampled",
			size: 10,
			counts: []StratumCount{
				{Name: StratumChurned, Customers: 2, Smallest: hashes(2)},
				{Name: StratumRetained, Customers: 80, Smallest: hashes(10)},
			},
			want: []SampleStratumPlan{
				{Name: StratumChurned, Customers: 2, Kept: 2, Threshold: 1, Weight: 1},
				{Name: StratumRetained, Customers: 80, Kept: 8, Threshold: above(8), Weight: 10},
				{Name: StratumUnlabelled},
			},
		},
		{
			name: "churned overflow",
			size: 10,
			counts: []StratumCount{
				{Name: StratumChurned, Customers: 20, Smallest: hashes(10)},
				{Name: StratumRetained, Customers: 100, Smallest: hashes(10)},
			},
			want: []SampleStratumPlan{
				{Name: StratumChurned, Customers: 20, Kept: 5, Threshold: above(5), Weight: 4},
				{Name: StratumRetained, Customers: 100, Kept: 5, Threshold: above(5), Weight: 20},
				{Name: StratumUnlabelled},
			},
		},
		{
			name: "odd size: churned get the smaller half",
			size: 5,
			counts: []StratumCount{
				{Name: StratumChurned, Customers: 9, Smallest: hashes(5)},
				{Name: StratumRetained, Customers: 9, Smallest: hashes(5)},
			},
			want: []SampleStratumPlan{
				{Name: StratumChurned, Customers: 9, Kept: 2, Threshold: above(2), Weight: 4.5},
				{Name: StratumRetained, Customers: 9, Kept: 3, Threshold: above(3), Weight: 3},
				{Name: StratumUnlabelled},
			},
		},
		{
			name: "empty strata",
			size: 4,
			counts: []StratumCount{
				{Name: StratumRetained, Customers: 10, Smallest: hashes(4)},
			},
			want: []SampleStratumPlan{
				{Name: StratumChurned, Threshold: 1},
				{Name: StratumRetained, Customers: 10, Kept: 4, Threshold: above(4), Weight: 2.5},
				{Name: StratumUnlabelled},
			},
		},
		{
			name: "nothing",
			size: 4,
			want: []SampleStratumPlan{{Name: StratumChurned, Threshold: 1}, {Name: StratumRetained, Threshold: 1}, {Name: StratumUnlabelled}},
		},
		{name: "size 0", size: 0, wantErr: "at least 2"},
		{name: "size 1", size: 1, wantErr: "at least 2"},
		{
			name:    "too few hashes",
			size:    10,
			counts:  []StratumCount{{Name: StratumRetained, Customers: 100, Smallest: hashes(9)}},
			wantErr: "give the 10 smallest",
		},
		{
			name:    "hash out of range",
			size:    2,
			counts:  []StratumCount{{Name: StratumRetained, Customers: 100, Smallest: []float64{0.1, 1}}},
			wantErr: "give the 2 smallest",
		},
		{name: "unknown stratum", size: 2, counts: []StratumCount{{Name: "lost"}}, wantErr: `unknown stratum "lost"`},
		{name: "twice", size: 2, counts: []StratumCount{{Name: StratumChurned}, {Name: StratumChurned}}, wantErr: "counted twice"},
		{name: "negative", size: 2, counts: []StratumCount{{Name: StratumChurned, Customers: -1}}, wantErr: "-1 customers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := make([][]float64, len(c.counts))
			for i, sc := range c.counts {
				before[i] = append([]float64(nil), sc.Smallest...)
			}
			p, err := PlanSample(7, c.size, c.counts)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				if c.size < 2 && !errors.Is(err, ErrSampleSize) {
					t.Errorf("err = %v, want ErrSampleSize", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Seed != 7 || p.Size != c.size || !reflect.DeepEqual(p.Strata, c.want) {
				t.Errorf("plan = %+v\nwant strata %+v", p, c.want)
			}
			for i, sc := range c.counts {
				if !reflect.DeepEqual(sc.Smallest, before[i]) && len(before[i]) > 0 {
					t.Errorf("counts[%d].Smallest modified", i)
				}
			}
			kept := int64(0)
			for _, s := range p.Strata {
				kept += s.Kept
			}
			if kept > int64(c.size) {
				t.Errorf("keeps %d customers, more than %d", kept, c.size)
			}
		})
	}
}

// TestPlanKeepMatchesCounts: Keep keeps exactly Kept customers of each
// stratum, those with the smallest hashes, and the plan survives JSON.
func TestPlanKeepMatchesCounts(t *testing.T) {
	const seed = 3
	strata := map[string][]string{}
	for i := 0; i < 3000; i++ {
		id := "c" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + strconv.Itoa(i)
		s := StratumRetained
		switch {
		case i%7 == 0:
			s = StratumChurned
		case i%11 == 0:
			s = StratumUnlabelled
		}
		strata[s] = append(strata[s], id)
	}
	var counts []StratumCount
	for s, ids := range strata {
		sm := smallest{k: 1000}
		for _, id := range ids {
			sm.add(hashedID{SampleHash(id, seed), id})
		}
		sm.trim()
		c := StratumCount{Name: s, Customers: int64(len(ids))}
		for _, x := range sm.xs {
			c.Smallest = append(c.Smallest, x.h)
		}
		counts = append(counts, c)
	}
	p, err := PlanSample(seed, 1000, counts)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if q, err := DecodeSamplePlan(enc); err != nil || !reflect.DeepEqual(q, p) {
		t.Fatalf("plan %+v round-trips to %+v (%v)", p, q, err)
	}
	for _, sp := range p.Strata {
		kept, sum := int64(0), 0.0
		for _, id := range strata[sp.Name] {
			if w, ok := p.Keep(id, sp.Name); ok {
				kept++
				sum += w
			}
		}
		if kept != sp.Kept {
			t.Errorf("%s: Keep keeps %d, plan says %d", sp.Name, kept, sp.Kept)
		}
		if kept > 0 && math.Abs(sum-float64(sp.Customers)) > 1e-9*sum {
			t.Errorf("%s: weights sum to %v, want %d customers", sp.Name, sum, sp.Customers)
		}
	}
	if c, _ := p.Stratum(StratumChurned); c.Kept != c.Customers || c.Weight != 1 {
		t.Errorf("churned %+v: want all kept (they fit in half)", c)
	}
	if r, _ := p.Stratum(StratumRetained); r.Kept+int64(len(strata[StratumChurned])) != 1000 {
		t.Errorf("retained %+v: want them to fill the sample", r)
	}
}

// buildSampleBytes builds the sample of the fixture with workers workers.
func buildSampleBytes(t *testing.T, ds *data.Dataset, opt BuildOptions, so SampleOptions, workers int) ([]byte, *SamplePlan) {
	t.Helper()
	opt.Workers = workers
	var buf bytes.Buffer
	_, plan, _, err := BuildSample(context.Background(), ds, opt, so, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), plan
}

// TestBuildSample: the sample is the same bytes whatever the workers;
// a kept customer keeps all its rows, as the full table has them; the
// weights of a stratum sum to its customers in the full table; the
// churned customers fill at most half.
func TestBuildSample(t *testing.T) {
	ctx := context.Background()
	ds, opt := sampleFixture(t)
	dir := t.TempDir()
	fullPath := filepath.Join(dir, "full.parquet")
	if _, _, err := BuildFile(ctx, ds, opt, fullPath); err != nil {
		t.Fatal(err)
	}
	full, err := ReadTable(ctx, fullPath)
	if err != nil {
		t.Fatal(err)
	}
	so := SampleOptions{Size: 60, Seed: 11}
	b1, plan := buildSampleBytes(t, ds, opt, so, 1)
	b3, _ := buildSampleBytes(t, ds, opt, so, 3)
	if !bytes.Equal(b1, b3) {
		t.Fatal("the sample differs between 1 and 3 workers")
	}
	samplePath := filepath.Join(dir, "sample.parquet")
	if err := os.WriteFile(samplePath, b1, 0o644); err != nil {
		t.Fatal(err)
	}
	sample, err := ReadTable(ctx, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if sample.Weight == nil {
		t.Fatal("the sample has no weights")
	}
	if !reflect.DeepEqual(sample.Spec, full.Spec) {
		t.Error("the sample's spec differs from the full table's")
	}
	// The full table's customers by stratum.
	rowsOf := map[string][]int{}
	for i, id := range full.IDs {
		rowsOf[id] = append(rowsOf[id], i)
	}
	stratumOf := map[string]string{}
	customers := map[string]int64{}
	for id, rows := range rowsOf {
		var labels []float64
		for _, i := range rows {
			labels = append(labels, full.Label[i])
		}
		stratumOf[id] = CustomerStratum(labels)
		customers[stratumOf[id]]++
	}
	if customers[StratumChurned] <= int64(so.Size/2) {
		t.Fatalf("the fixture has %d churned customers: want more than %d to test the overflow", customers[StratumChurned], so.Size/2)
	}
	// Rows of each sampled customer equal the full table's, all of them.
	sRows := map[string][]int{}
	for i, id := range sample.IDs {
		sRows[id] = append(sRows[id], i)
	}
	weightSum := map[string]float64{}
	kept := map[string]int64{}
	for id, rows := range sRows {
		want := rowsOf[id]
		if len(rows) != len(want) {
			t.Fatalf("customer %s: %d rows in the sample, %d in the full table", id, len(rows), len(want))
		}
		s := stratumOf[id]
		kept[s]++
		weightSum[s] += sample.Weight[rows[0]]
		for k, i := range rows {
			j := want[k]
			if sample.AsOf[i] != full.AsOf[j] || !sameFloat(sample.Label[i], full.Label[j]) || sample.Weight[i] != sample.Weight[rows[0]] {
				t.Fatalf("customer %s row %d differs", id, k)
			}
			for f := range full.Spec.Features {
				if full.Num[f] != nil && !sameFloat(sample.Num[f][i], full.Num[f][j]) || full.Cat[f] != nil && sample.Cat[f][i] != full.Cat[f][j] {
					t.Fatalf("customer %s row %d feature %s differs", id, k, full.Spec.Features[f].Name)
				}
			}
		}
	}
	if kept[StratumUnlabelled] != 0 {
		t.Errorf("%d unlabelled customers kept", kept[StratumUnlabelled])
	}
	for _, sp := range plan.Strata {
		if sp.Customers != customers[sp.Name] {
			t.Errorf("%s: plan counts %d customers, the full table has %d", sp.Name, sp.Customers, customers[sp.Name])
		}
		if sp.Kept != kept[sp.Name] {
			t.Errorf("%s: plan keeps %d customers, the sample has %d", sp.Name, sp.Kept, kept[sp.Name])
		}
		if sp.Kept > 0 && math.Abs(weightSum[sp.Name]-float64(sp.Customers)) > 1e-9*float64(sp.Customers) {
			t.Errorf("%s: weights sum to %v, want %d customers", sp.Name, weightSum[sp.Name], sp.Customers)
		}
	}
	if c, _ := plan.Stratum(StratumChurned); c.Kept != int64(so.Size/2) {
		t.Errorf("churned kept %d, want %d (half the size)", c.Kept, so.Size/2)
	}
	if len(sRows) != so.Size {
		t.Errorf("%d customers in the sample, want %d", len(sRows), so.Size)
	}
	// A different seed picks other customers.
	other, _ := buildSampleBytes(t, ds, opt, SampleOptions{Size: 60, Seed: 12}, 2)
	if bytes.Equal(other, b1) {
		t.Error("seeds 11 and 12 give the same sample")
	}
}

func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestBuildSampleErrors(t *testing.T) {
	ds, opt := sampleFixture(t)
	var buf bytes.Buffer
	if _, _, _, err := BuildSample(context.Background(), ds, opt, SampleOptions{Size: 1}, &buf); !errors.Is(err, ErrSampleSize) {
		t.Errorf("size 1: err = %v, want ErrSampleSize", err)
	}
	opt.Shard = data.Shard{Index: 0, Count: 2}
	if _, _, _, err := BuildSample(context.Background(), ds, opt, SampleOptions{Size: 10}, &buf); err == nil {
		t.Error("a sample by shard: no error")
	}
}

// TestReadTableFolder: a folder of parts (Hive-style subfolders, with
// files to skip) reads as the single file does, weights included.
func TestReadTableFolder(t *testing.T) {
	ctx := context.Background()
	ds, opt := sampleFixture(t)
	dir := t.TempDir()
	fullPath := filepath.Join(dir, "full.parquet")
	if _, _, err := BuildFile(ctx, ds, opt, fullPath); err != nil {
		t.Fatal(err)
	}
	full, err := ReadTable(ctx, fullPath)
	if err != nil {
		t.Fatal(err)
	}
	parts := filepath.Join(dir, "parts")
	for i := 0; i < 3; i++ {
		o := opt
		o.Shard = data.Shard{Index: i, Count: 3}
		// Out of customer order across the parts: ReadTable sorts.
		sub := filepath.Join(parts, "part="+strconv.Itoa(2-i))
		if _, _, err := BuildFile(ctx, ds, o, filepath.Join(sub, "part-0000"+strconv.Itoa(i)+".parquet")); err != nil {
			t.Fatal(err)
		}
	}
	for _, junk := range []string{"_SUCCESS", "_tmp/x.parquet", ".staging/y.parquet", "part=0/.z.parquet", "notes.txt"} {
		p := filepath.Join(parts, junk)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("not parquet"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadTable(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tableRows(got), tableRows(full)) || !reflect.DeepEqual(got.Spec, full.Spec) {
		t.Fatal("the folder of parts reads differently from the single file")
	}
	if spec, err := ReadSpec(parts); err != nil || !reflect.DeepEqual(spec, full.Spec) {
		t.Errorf("ReadSpec(folder) = %v, %v", spec, err)
	}

	// A sample split in parts keeps its weights.
	sb, _ := buildSampleBytes(t, ds, opt, SampleOptions{Size: 120, Seed: 1}, 2)
	samplePath := filepath.Join(dir, "sample.parquet")
	os.WriteFile(samplePath, sb, 0o644)
	sample, err := ReadTable(ctx, samplePath)
	if err != nil {
		t.Fatal(err)
	}
	sparts := filepath.Join(dir, "sample-parts")
	n := sample.Len()
	writeSampleParts(t, samplePath, sample, sparts, []int{0, n / 3, n / 2, n})
	got, err = ReadTable(ctx, sparts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tableRows(got), tableRows(sample)) || !reflect.DeepEqual(got.Weight, sample.Weight) {
		t.Fatal("the sample's parts read differently from the sample")
	}

	// Parts of different tables, or a sample mixed with a plain table.
	mixed := filepath.Join(dir, "mixed")
	os.MkdirAll(mixed, 0o755)
	os.WriteFile(filepath.Join(mixed, "a.parquet"), sb, 0o644)
	fb, _ := os.ReadFile(fullPath)
	os.WriteFile(filepath.Join(mixed, "b.parquet"), fb, 0o644)
	if _, err := ReadTable(ctx, mixed); err == nil || !strings.Contains(err.Error(), "b.parquet") || !strings.Contains(err.Error(), SampleWeightColumn) {
		t.Errorf("a sample and a plain table: err = %v, want one naming b.parquet and %s", err, SampleWeightColumn)
	}
	o := opt
	o.AsOf = o.AsOf[:2]
	if _, _, err := BuildFile(ctx, ds, o, filepath.Join(mixed, "b.parquet")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(mixed, "a.parquet"))
	os.WriteFile(filepath.Join(mixed, "a.parquet"), fb, 0o644)
	if _, err := ReadTable(ctx, mixed); err == nil || !strings.Contains(err.Error(), "b.parquet") || !strings.Contains(err.Error(), "spec differs") {
		t.Errorf("parts of different specs: err = %v, want one naming b.parquet", err)
	}
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	if _, err := ReadTable(ctx, empty); err == nil || !strings.Contains(err.Error(), "no .parquet file") {
		t.Errorf("an empty folder: err = %v", err)
	}
}

// tableRows is the rows of a table, for comparisons (NaNs as strings).
func tableRows(t *Table) [][]string {
	var out [][]string
	for i := range t.IDs {
		row := []string{t.IDs[i], t.AsOf[i].String(), ftoa(t.Label[i])}
		for f := range t.Spec.Features {
			if t.Cat[f] != nil {
				row = append(row, t.Cat[f][i])
			} else {
				row = append(row, ftoa(t.Num[f][i]))
			}
		}
		out = append(out, row)
	}
	return out
}

func ftoa(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// writeSampleParts writes the rows [cuts[k], cuts[k+1]) of sample, a
// table read from src, as parts under dir (the last one first, so that
// path order is not row order), with src's footer.
func writeSampleParts(t *testing.T, src string, sample *Table, dir string, cuts []int) {
	t.Helper()
	f, err := data.OpenFile(src, sample.Spec.table(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rawSpec, _ := f.Metadata(MetadataKey)
	rawPlan, _ := f.Metadata(SampleMetadataKey)
	f.Close()
	cols := SampleColumns(sample.Spec)
	for k := 0; k+1 < len(cuts); k++ {
		lo, hi := cuts[k], cuts[k+1]
		vecs := make([]data.Vec, len(cols))
		for c := range cols {
			vecs[c] = data.NewVec(cols[c].Type)
		}
		for i := lo; i < hi; i++ {
			vecs[0].AppendString(sample.IDs[i])
			vecs[1].AppendDate(sample.AsOf[i])
			for fi := range sample.Spec.Features {
				if sample.Cat[fi] != nil {
					if s := sample.Cat[fi][i]; s != "" {
						vecs[2+fi].AppendString(s)
					} else {
						vecs[2+fi].AppendNull()
					}
				} else {
					vecs[2+fi].AppendFloat(sample.Num[fi][i])
				}
			}
			lv := &vecs[len(cols)-2]
			if math.IsNaN(sample.Label[i]) {
				lv.AppendNull()
			} else {
				lv.AppendInt(int64(sample.Label[i]))
			}
			vecs[len(cols)-1].AppendFloat(sample.Weight[i])
		}
		path := filepath.Join(dir, "as_of=x"+strconv.Itoa(len(cuts)-k), "part-00000.parquet")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := data.NewWriter(out, cols, data.WriterOptions{Metadata: map[string]string{MetadataKey: rawSpec, SampleMetadataKey: rawPlan}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(hi-lo, vecs); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
