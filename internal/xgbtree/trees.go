package xgbtree

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Trees is the tree ensemble of an XGBoost JSON model, read into Go to
// explain its predictions without calling XGBoost: Saabas contributions
// (XGBoost's approx_contribs) and exact path-dependent TreeSHAP values
// (pred_contribs). Both use XGBoost's float32 arithmetic in XGBoost's
// order, so they equal what [Booster.Predict] returns for the same rows bit
// for bit (TestExplainerMatchesXGBoost).
//
// Rows are explained from their [Codes]: each value replaced by its place
// among the split conditions of its column, which is all a tree looks at
// (one byte per value, two when a column has more than 254 distinct split
// conditions).
//
// Trees is immutable and safe for concurrent use; the per-goroutine state
// lives in an [Explainer].
type Trees struct {
	nFeature int
	base     float32 // base_score in margin space, added to the bias
	trees    []tree
	// cuts[j] are the distinct split conditions of column j, ascending.
	cuts [][]float32
	wide bool // codes need 16 bits
	// pathLen is the scratch TreeSHAP needs for the deepest tree.
	pathLen int
}

// tree is one regression tree, its nodes in XGBoost's order (0 is the root).
type tree struct {
	nodes []node
	// feats lists the tree's distinct split features in first-use order:
	// a memoised TreeSHAP result holds one value per entry.
	feats []int32
	// splits are the internal nodes, in depth-first order; bit i of a
	// row's decision mask is set when the row goes left at splits[i].
	splits []split
	// walk is the tree as a row's path through it reads it, by node.
	walk []step
	// A row's decision mask is the OR, over the tree's split columns
	// maskCol[k], of maskTab[maskAt[k]+code]: the splits on that column a
	// value of that code goes left at. Nil when the tables would be large
	// (16-bit codes, many split conditions, or more than 64 splits).
	maskCol []int32
	maskAt  []int32
	maskTab []uint64
	// Saabas contributions of the path to each leaf, precomputed: leaf
	// n's are saabas[saabasLo[n]:saabasHi[n]].
	saabas             []featValue
	saabasLo, saabasHi []int32
	// pred is the tree as Margins walks it: raw values, not codes.
	pred  []predNode
	depth int
	mean0 float32 // the root's mean value: the tree's share of the bias
}

// node is one node of a tree.
type node struct {
	left, right int32 // -1 for a leaf
	feature     int32
	bit         int32   // index in tree.splits (internal nodes)
	value       float32 // the leaf value (leaves)
	cover       float32 // sum_hessian: the training rows' weight through the node
	mean        float32 // the cover-weighted mean of the leaves below (XGBoost's node mean value)
}

// split is an internal node as the decision mask reads it: a row goes left
// when code−sub < lim (unsigned), where sub and lim fold the split
// condition and the default direction for missing values (code 0) into
// one comparison (see Trees.Encode).
type split struct {
	col      int32
	sub, lim uint16
}

// step is a node as a row's path reads it: a split, or a leaf (col −1).
type step struct {
	left, right int32
	split
}

type featValue struct {
	f int32
	v float32
}

func (n *node) leaf() bool { return n.left < 0 }

// goesLeft reports whether a row with code c in the split's column goes
// left.
func (s *split) goesLeft(c uint32) bool { return c-uint32(s.sub) < uint32(s.lim) }

// maxFeatures bounds the columns of a model Parse takes: explainers
// keep a value per column.
const maxFeatures = 1 << 20

// NumFeatures is the number of feature columns of a row.
func (t *Trees) NumFeatures() int { return t.nFeature }

// NumTrees is the number of trees used.
func (t *Trees) NumTrees() int { return len(t.trees) }

// Parse reads the trees of an XGBoost JSON model (the bytes
// [Booster.SaveJSON] returns) for explaining rows. rounds limits it to the
// trees of the first rounds boosting rounds, as [PredictOptions].IterationEnd
// does (0: all). Only binary:logistic gbtree models with numerical splits,
// those churn trains, are accepted.
func Parse(data []byte, rounds int) (*Trees, error) {
	if rounds < 0 {
		return nil, fmt.Errorf("xgbtree: Parse: rounds %d", rounds)
	}
	if err := CheckModel(data); err != nil {
		return nil, fmt.Errorf("xgbtree: Parse: %w", err)
	}
	var m struct {
		Learner struct {
			LearnerModelParam struct {
				BaseScore  string `json:"base_score"`
				NumFeature string `json:"num_feature"`
				NumClass   string `json:"num_class"`
			} `json:"learner_model_param"`
			Objective struct {
				Name string `json:"name"`
			} `json:"objective"`
			GradientBooster struct {
				Model struct {
					Param struct {
						NumParallelTree string `json:"num_parallel_tree"`
					} `json:"gbtree_model_param"`
					Trees []jsonTree `json:"trees"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("xgbtree: Parse: %w", err)
	}
	l := &m.Learner
	if l.Objective.Name != "binary:logistic" {
		return nil, fmt.Errorf("xgbtree: Parse: objective %q: only binary:logistic is supported", l.Objective.Name)
	}
	if nc := l.LearnerModelParam.NumClass; nc != "0" && nc != "1" {
		return nil, fmt.Errorf("xgbtree: Parse: num_class %s: only single-output models are supported", nc)
	}
	nf, _ := strconv.Atoi(l.LearnerModelParam.NumFeature) // checked by CheckModel
	if nf > maxFeatures {
		return nil, fmt.Errorf("xgbtree: Parse: %d features; at most %d are supported", nf, maxFeatures)
	}
	bs, err := strconv.ParseFloat(l.LearnerModelParam.BaseScore, 32)
	if err != nil || !(bs > 0 && bs < 1) {
		return nil, fmt.Errorf("xgbtree: Parse: base_score %q, want a probability in (0, 1)", l.LearnerModelParam.BaseScore)
	}
	// binary:logistic keeps base_score as a probability; margins start at
	// its logit, which XGBoost computes in float32.
	p := float32(bs)
	base := float32(-math.Log(float64(1/p - 1)))
	jt := l.GradientBooster.Model.Trees
	if rounds > 0 {
		npt, _ := strconv.Atoi(l.GradientBooster.Model.Param.NumParallelTree)
		if n := rounds * max(npt, 1); n < len(jt) {
			jt = jt[:n]
		}
	}
	t := &Trees{nFeature: nf, base: base, trees: make([]tree, len(jt)), cuts: make([][]float32, nf)}
	for i := range jt {
		j := &jt[i]
		for n, l := range j.LeftChildren {
			if l != -1 {
				f := j.SplitIndices[n]
				t.cuts[f] = append(t.cuts[f], j.SplitConditions[n])
			}
		}
	}
	for f, c := range t.cuts {
		for _, v := range c {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("xgbtree: Parse: a split on feature %d at %v", f, v)
			}
		}
		slices.Sort(c)
		t.cuts[f] = slices.CompactFunc(c, func(a, b float32) bool { return a == b }) // -0 == 0
		switch n := len(t.cuts[f]); {
		case n > math.MaxUint16-2:
			return nil, fmt.Errorf("xgbtree: Parse: feature %d has %d distinct split conditions; at most %d are supported", f, n, math.MaxUint16-2)
		case n > math.MaxUint8-1:
			t.wide = true
		}
	}
	for i := range jt {
		tr := &t.trees[i]
		if err := tr.build(&jt[i], t.cuts, t.wide); err != nil {
			return nil, fmt.Errorf("xgbtree: Parse: tree %d: %w", i, err)
		}
		maxd := tr.depth + 2
		t.pathLen = max(t.pathLen, maxd*(maxd+1)/2)
	}
	return t, nil
}

// build fills the tree from its JSON (checked by CheckModel) and
// precomputes what explaining needs: node mean values, the splits as the
// decision mask reads them and every leaf's Saabas contributions.
func (tr *tree) build(j *jsonTree, cuts [][]float32, wide bool) error {
	tr.nodes = make([]node, len(j.LeftChildren))
	for i := range tr.nodes {
		tr.nodes[i] = node{left: int32(j.LeftChildren[i]), right: int32(j.RightChildren[i]), feature: int32(j.SplitIndices[i]),
			value: j.SplitConditions[i], cover: j.SumHessian[i], bit: -1}
		if nd := &tr.nodes[i]; !nd.leaf() && !(nd.cover > 0) {
			return fmt.Errorf("node %d: sum_hessian %v, want > 0", i, nd.cover)
		}
	}
	tr.fillMean(0)
	tr.mean0 = tr.nodes[0].mean
	seen := map[int32]bool{}
	var walk func(n int32, depth int)
	walk = func(n int32, depth int) {
		tr.depth = max(tr.depth, depth)
		nd := &tr.nodes[n]
		if nd.leaf() {
			return
		}
		k, _ := slices.BinarySearch(cuts[nd.feature], j.SplitConditions[n])
		sub := uint32(1)
		if j.DefaultLeft[n] != 0 {
			sub = 0
		}
		nd.bit = int32(len(tr.splits))
		tr.splits = append(tr.splits, split{col: nd.feature, sub: uint16(sub), lim: uint16(uint32(k) + 2 - sub)})
		if !seen[nd.feature] {
			seen[nd.feature] = true
			tr.feats = append(tr.feats, nd.feature)
		}
		walk(nd.left, depth+1)
		walk(nd.right, depth+1)
	}
	walk(0, 0)
	tr.buildMasks(cuts, wide)
	tr.walk = make([]step, len(tr.nodes))
	for i, nd := range tr.nodes {
		tr.walk[i] = step{left: nd.left, right: nd.right, split: split{col: -1}}
		if !nd.leaf() {
			tr.walk[i].split = tr.splits[nd.bit]
		}
	}
	tr.buildSaabas()
	tr.pred = tr.predNodes(j)
	return nil
}

// maxMaskTab bounds a tree's mask tables (entries): they stay in the
// processor's cache while a block of rows passes through the tree.
const maxMaskTab = 4096

// buildMasks builds the tree's mask tables, when they are small enough.
func (tr *tree) buildMasks(cuts [][]float32, wide bool) {
	size := 0
	for _, f := range tr.feats {
		size += len(cuts[f]) + 2 // codes 0 (missing) … len+1
	}
	if wide || len(tr.splits) > 64 || size > maxMaskTab {
		return
	}
	tr.maskTab = make([]uint64, 0, size)
	for _, f := range tr.feats {
		tr.maskCol = append(tr.maskCol, f)
		tr.maskAt = append(tr.maskAt, int32(len(tr.maskTab)))
		for c := range uint32(len(cuts[f]) + 2) {
			var m uint64
			for b := range tr.splits {
				if s := &tr.splits[b]; s.col == f && s.goesLeft(c) {
					m |= 1 << b
				}
			}
			tr.maskTab = append(tr.maskTab, m)
		}
	}
}

// fillMean computes node n's mean value as XGBoost does (float32: left
// then right, each times its cover, divided by the node's cover).
func (tr *tree) fillMean(n int32) float32 {
	nd := &tr.nodes[n]
	if nd.leaf() {
		nd.mean = nd.value
		return nd.mean
	}
	l, r := nd.left, nd.right
	m := float32(tr.fillMean(l) * tr.nodes[l].cover)
	m += float32(tr.fillMean(r) * tr.nodes[r].cover)
	m /= nd.cover
	nd.mean = m
	return m
}

// buildSaabas precomputes, for every leaf, the Saabas contributions of the
// path to it: the change of the node mean value at each split, credited to
// the split's feature and summed per feature in path order (float32), as
// XGBoost's approx_contribs sums them for one tree.
func (tr *tree) buildSaabas() {
	tr.saabasLo = make([]int32, len(tr.nodes))
	tr.saabasHi = make([]int32, len(tr.nodes))
	var path []int32 // nodes from the root to the current one
	var acc []featValue
	add := func(f int32, d float32) {
		for k := range acc {
			if acc[k].f == f {
				acc[k].v += d
				return
			}
		}
		var v float32
		v += d
		acc = append(acc, featValue{f, v})
	}
	var walk func(n int32)
	walk = func(n int32) {
		path = append(path, n)
		defer func() { path = path[:len(path)-1] }()
		nd := &tr.nodes[n]
		if !nd.leaf() {
			walk(nd.left)
			walk(nd.right)
			return
		}
		acc = acc[:0]
		value := tr.mean0
		var last int32 = -1
		for k := 1; k < len(path); k++ {
			last = tr.nodes[path[k-1]].feature
			next := tr.nodes[path[k]].mean
			add(last, next-value)
			value = next
		}
		if last >= 0 {
			add(last, nd.value-value) // the leaf value less the leaf's mean: zero, as in XGBoost
		}
		tr.saabasLo[n] = int32(len(tr.saabas))
		tr.saabas = append(tr.saabas, acc...)
		tr.saabasHi[n] = int32(len(tr.saabas))
	}
	walk(0)
}

// Codes are rows encoded for explaining by one Trees (Trees.Encode): one
// code per value, 8 bits wide or, for models with a column of more than
// 254 split conditions, 16. Code 0 is a missing value; code k+1 says that
// k of the column's split conditions are at or below the value.
type Codes struct {
	t   *Trees
	n   int
	u8  []uint8
	u16 []uint16
}

// Len is the number of rows.
func (c Codes) Len() int { return c.n }

// Wide reports whether the model's codes take 16 bits.
func (t *Trees) Wide() bool { return t.wide }

// Encode returns the codes of the n rows of X (row-major, NumFeatures
// values each, NaN for missing). ±Inf are coded as the lowest and highest
// values.
func (t *Trees) Encode(X []float32, n int) (Codes, error) {
	if n < 0 || len(X) != n*t.nFeature {
		return Codes{}, ErrRowLength
	}
	c := Codes{t: t, n: n}
	if t.wide {
		c.u16 = make([]uint16, len(X))
		encode(t.cuts, X, c.u16)
	} else {
		c.u8 = make([]uint8, len(X))
		encode(t.cuts, X, c.u8)
	}
	return c, nil
}

// encode writes the codes of the rows X (row-major, len(cuts) columns)
// into dst.
func encode[C uint8 | uint16](cuts [][]float32, X []float32, dst []C) {
	p := len(cuts)
	for i := 0; i < len(X); i += p {
		for j, v := range X[i : i+p] {
			var c C
			if v == v {
				c = C(upper(cuts[j], v)) + 1
			}
			dst[i+j] = c
		}
	}
}

// upper returns the number of values in cuts (ascending) at or below v:
// a binary search whose steps the compiler turns into conditional moves.
func upper(cuts []float32, v float32) int {
	n := len(cuts)
	if n == 0 {
		return 0
	}
	base := 0
	for n > 1 {
		half := n / 2
		if cuts[base+half] <= v {
			base += half
		}
		n -= half
	}
	if cuts[base] <= v {
		base++
	}
	return base
}

func (c Codes) check(t *Trees, out []float32) error {
	if c.t != t {
		return ErrCodes
	}
	if len(out) != c.n*(t.nFeature+1) {
		return ErrRowLength
	}
	return nil
}

// ErrCodes is returned for codes that another Trees encoded.
var ErrCodes = errors.New("xgbtree: the codes were encoded for another model")

// ErrRowLength is returned for rows or outputs of the wrong shape.
var ErrRowLength = errors.New("xgbtree: rows or output do not match the model's features")

// Explainer computes contributions of rows of a [Trees] model. Per tree,
// TreeSHAP's values depend on a row only through the side it takes at each
// split, so the Explainer caches them by that decision mask: rows that
// decide alike in a tree reuse its values, which are the same bits either
// way. Rows are taken in blocks, tree by tree, so that a tree and its cache
// stay in the processor's cache while a block passes through.
//
// An Explainer is not safe for concurrent use: give each goroutine its own.
type Explainer struct {
	t    *Trees
	path []pathElem
	phi  []float32 // one tree's TreeSHAP values by feature, zero between trees
	dec  []uint64  // one row's decisions in one tree, by split
	tmp  []float32 // one tree's values for a row
	memo []memoTable
	// CacheBytes bounds the cache (default DefaultCacheBytes; 0 disables
	// it). An entry costs 4 bytes per distinct feature of its tree, and
	// its table slot 32 bytes at most.
	CacheBytes int
	cached     int
	// Hits and Misses count the tree results read from the cache and
	// computed.
	Hits, Misses int64
}

// DefaultCacheBytes is an Explainer's default cache bound, 64 MB: about a
// million tree results of depth-4 trees. The 795,697 customers of
// bench/predict.sh give 629,689 distinct ones with its 315 trees.
const DefaultCacheBytes = 64 << 20

// block is the number of rows that pass through a tree together.
const block = 8192

// NewExplainer returns an Explainer of t with the default cache bound.
func (t *Trees) NewExplainer() *Explainer {
	maxSplits := 0
	for i := range t.trees {
		maxSplits = max(maxSplits, len(t.trees[i].splits))
	}
	return &Explainer{
		t: t, path: make([]pathElem, t.pathLen), phi: make([]float32, t.nFeature),
		dec: make([]uint64, (maxSplits+63)/64), memo: make([]memoTable, len(t.trees)),
		CacheBytes: DefaultCacheBytes,
	}
}

// Approx writes the Saabas contributions of the rows c into out
// (NumFeatures+1 values a row, the bias last), as XGBoost's
// approx_contribs. A row's contributions sum to its margin.
func (e *Explainer) Approx(c Codes, out []float32) error {
	if err := c.check(e.t, out); err != nil {
		return err
	}
	clear(out)
	if t := e.t; t.wide {
		approx(t, c.u16, c.n, out)
	} else {
		approx(t, c.u8, c.n, out)
	}
	return nil
}

func approx[C uint8 | uint16](t *Trees, codes []C, n int, out []float32) {
	p := t.nFeature
	for lo := 0; lo < n; lo += block {
		hi := min(n, lo+block)
		for i := range t.trees {
			tr := &t.trees[i]
			for r := lo; r < hi; r++ {
				row := codes[r*p : (r+1)*p]
				leaf := int32(0)
				for s := &tr.walk[0]; s.col >= 0; s = &tr.walk[leaf] {
					leaf = s.right
					if s.goesLeft(uint32(row[s.col])) {
						leaf = s.left
					}
				}
				o := out[r*(p+1) : (r+1)*(p+1)]
				for _, fv := range tr.saabas[tr.saabasLo[leaf]:tr.saabasHi[leaf]] {
					o[fv.f] += fv.v
				}
				o[p] += tr.mean0
			}
		}
		for r := lo; r < hi; r++ {
			out[r*(p+1)+p] += t.base
		}
	}
}

// Exact writes the TreeSHAP values of the rows c into out (NumFeatures+1
// values a row, the bias last), as XGBoost's pred_contribs: path-dependent
// TreeSHAP (Lundberg, Erion and Lee 2018), summed over the trees in order.
// A row's values sum to its margin.
func (e *Explainer) Exact(c Codes, out []float32) error {
	if err := c.check(e.t, out); err != nil {
		return err
	}
	clear(out)
	if e.t.wide {
		exact(e, c.u16, c.n, out)
	} else {
		exact(e, c.u8, c.n, out)
	}
	return nil
}

func exact[C uint8 | uint16](e *Explainer, codes []C, n int, out []float32) {
	t := e.t
	p := t.nFeature
	for lo := 0; lo < n; lo += block {
		hi := min(n, lo+block)
		for i := range t.trees {
			tr := &t.trees[i]
			small := len(tr.splits) <= 64
			mt := &e.memo[i]
			for r := lo; r < hi; r++ {
				row := codes[r*p : (r+1)*p]
				var v []float32
				if small {
					var mask uint64
					if tr.maskTab != nil {
						for k, col := range tr.maskCol {
							mask |= tr.maskTab[int(tr.maskAt[k])+int(row[col])]
						}
					} else {
						for b := range tr.splits {
							s := &tr.splits[b]
							var l uint64
							if s.goesLeft(uint32(row[s.col])) {
								l = 1
							}
							mask |= l << b
						}
					}
					if off := mt.find(mask); off >= 0 {
						e.Hits++
						v = mt.vals[off : int(off)+len(tr.feats)]
					} else {
						e.dec[0] = mask
						v = e.compute(tr)
						e.keep(mt, mask, v)
					}
				} else {
					clear(e.dec)
					for b := range tr.splits {
						s := &tr.splits[b]
						if s.goesLeft(uint32(row[s.col])) {
							e.dec[b>>6] |= 1 << (b & 63)
						}
					}
					v = e.compute(tr)
				}
				o := out[r*(p+1) : (r+1)*(p+1)]
				for k, f := range tr.feats {
					o[f] += v[k]
				}
				o[p] += tr.mean0
			}
		}
		for r := lo; r < hi; r++ {
			out[r*(p+1)+p] += t.base
		}
	}
}

// keep caches v, a tree's values for the rows of decision mask m, in mt
// while the cache has room.
func (e *Explainer) keep(mt *memoTable, m uint64, v []float32) {
	grow := 0
	if 2*(mt.n+1) > len(mt.slots) {
		grow = 32 * max(len(mt.slots), 16) // the new table, at its most
	}
	if e.cached+4*len(v)+grow > e.CacheBytes || len(mt.vals) > math.MaxInt32-len(v) {
		return
	}
	before := 16 * len(mt.slots)
	mt.insert(m, v)
	e.cached += 4*len(v) + 16*len(mt.slots) - before
}

// compute runs TreeSHAP on tree tr for the row whose decisions are in
// e.dec and returns its values, one per tr.feats entry, in e.tmp.
func (e *Explainer) compute(tr *tree) []float32 {
	e.Misses++
	e.shap(tr, 0, 0, e.path, 1, 1, -1)
	e.tmp = e.tmp[:0]
	for _, f := range tr.feats {
		e.tmp = append(e.tmp, e.phi[f])
		e.phi[f] = 0
	}
	return e.tmp
}

// memoTable maps a tree's decision masks to its cached values: open
// addressing with linear probing, at most half full.
type memoTable struct {
	slots []memoSlot // a power of two in length, or nil
	n     int
	shift uint
	vals  []float32 // the values, len(tree.feats) per entry
}

type memoSlot struct {
	key uint64
	off int32 // into vals; -1: empty
}

func (mt *memoTable) hash(m uint64) uint64 { return (m * 0x9e3779b97f4a7c15) >> mt.shift }

// find returns the offset of m's values in mt.vals, or -1.
func (mt *memoTable) find(m uint64) int32 {
	if mt.slots == nil {
		return -1
	}
	last := uint64(len(mt.slots) - 1)
	for h := mt.hash(m); ; h = (h + 1) & last {
		s := &mt.slots[h]
		if s.off < 0 || s.key == m {
			return s.off
		}
	}
}

func (mt *memoTable) insert(m uint64, v []float32) {
	if 2*(mt.n+1) > len(mt.slots) {
		old := mt.slots
		size := max(2*len(old), 16)
		mt.slots = make([]memoSlot, size)
		for i := range mt.slots {
			mt.slots[i].off = -1
		}
		mt.shift = uint(64 - bits.TrailingZeros(uint(size)))
		mt.n = 0
		for _, s := range old {
			if s.off >= 0 {
				mt.place(s.key, s.off)
			}
		}
	}
	mt.place(m, int32(len(mt.vals)))
	mt.vals = append(mt.vals, v...)
}

func (mt *memoTable) place(m uint64, off int32) {
	last := uint64(len(mt.slots) - 1)
	h := mt.hash(m)
	for mt.slots[h].off >= 0 {
		h = (h + 1) & last
	}
	mt.slots[h] = memoSlot{key: m, off: off}
	mt.n++
}

// pathElem is one feature on the path of TreeSHAP's recursion.
type pathElem struct {
	f         int32
	zero, one float32 // fraction of the cover that flows on with the feature absent, present
	w         float32 // permutation weight
}

// shap is TreeSHAP's recursion (Algorithm 2 of Lundberg, Erion and Lee,
// "Consistent individualized feature attribution for tree ensembles",
// 2018) from node n, where the path so far is parent[:d+1] and the edge
// into n carries the zero and one fractions pz, po of feature pf. The row's
// side at each split is in e.dec. It adds the tree's values to e.phi. The
// arithmetic is float32, in the order XGBoost evaluates it, so the results
// are XGBoost's to the bit; the explicit conversions keep products from
// being fused with the sums that follow them.
func (e *Explainer) shap(tr *tree, n int32, d int, parent []pathElem, pz, po float32, pf int32) {
	path := parent[d+1:]
	copy(path[:d+1], parent[:d+1])
	extend(path, d, pz, po, pf)
	nd := &tr.nodes[n]
	if nd.leaf() {
		for i := 1; i <= d; i++ {
			w := unwoundSum(path, d, i)
			el := &path[i]
			e.phi[el.f] += float32(float32(w*(el.one-el.zero)) * nd.value)
		}
		return
	}
	hot, cold := nd.right, nd.left
	if e.dec[nd.bit>>6]>>(nd.bit&63)&1 != 0 {
		hot, cold = nd.left, nd.right
	}
	hz := tr.nodes[hot].cover / nd.cover
	cz := tr.nodes[cold].cover / nd.cover
	iz, io := float32(1), float32(1)
	// A feature met again is taken off the path and put back with both
	// splits' fractions combined.
	for k := 0; k <= d; k++ {
		if path[k].f == nd.feature {
			iz, io = path[k].zero, path[k].one
			unwind(path, d, k)
			d--
			break
		}
	}
	e.shap(tr, hot, d+1, path, float32(hz*iz), io, nd.feature)
	e.shap(tr, cold, d+1, path, float32(cz*iz), 0, nd.feature)
}

// extend adds feature f with fractions z, o to the path p[:d] (making it
// p[:d+1]) and updates the permutation weights.
func extend(p []pathElem, d int, z, o float32, f int32) {
	p[d] = pathElem{f: f, zero: z, one: o}
	if d == 0 {
		p[d].w = 1
	}
	dd := float32(d + 1)
	for i := d - 1; i >= 0; i-- {
		p[i+1].w += float32(float32(o*p[i].w)*float32(i+1)) / dd
		p[i].w = float32(float32(z*p[i].w)*float32(d-i)) / dd
	}
}

// unwind removes element k from the path p[:d+1], undoing its extension.
func unwind(p []pathElem, d, k int) {
	o, z := p[k].one, p[k].zero
	next := p[d].w
	dd := float32(d + 1)
	for i := d - 1; i >= 0; i-- {
		if o != 0 {
			w := p[i].w
			p[i].w = float32(next*dd) / float32(float32(i+1)*o)
			next = w - float32(float32(p[i].w*z)*float32(d-i))/dd
		} else {
			p[i].w = float32(p[i].w*dd) / float32(z*float32(d-i))
		}
	}
	for i := k; i < d; i++ {
		p[i].f, p[i].zero, p[i].one = p[i+1].f, p[i+1].zero, p[i+1].one
	}
}

// unwoundSum is the total permutation weight of the path p[:d+1] with
// element k unwound, without changing p.
func unwoundSum(p []pathElem, d, k int) float32 {
	o, z := p[k].one, p[k].zero
	next := p[d].w
	dd := float32(d + 1)
	var total float32
	for i := d - 1; i >= 0; i-- {
		switch {
		case o != 0:
			w := float32(next*dd) / float32(float32(i+1)*o)
			total += w
			next = p[i].w - float32(float32(w*z)*(float32(d-i)/dd))
		case z != 0:
			total += (p[i].w / z) / (float32(d-i) / dd)
		}
	}
	return total
}

// MaskTables is the number of trees whose decision masks an Explainer
// reads from tables rather than split by split: a diagnostic for tests.
func (t *Trees) MaskTables() int {
	n := 0
	for i := range t.trees {
		if t.trees[i].maskTab != nil {
			n++
		}
	}
	return n
}
