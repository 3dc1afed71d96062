package xgbtree

import (
	"math"
)

// predNode is a node as Margins reads it. An internal node sends a row to
// its left child, pred[left], when its value in column feature is below
// value (both float32), to the right child, pred[left+1], when not, and to
// pred[left+nanRight] when the value is NaN; a leaf (feature −1) holds its
// leaf value in value.
type predNode struct {
	value    float32
	feature  int32
	left     int32
	nanRight int32 // 0: NaN goes left (default_left), 1: right
}

// predNodes lays the tree out for Margins, breadth first from the root, so
// that a node's children are neighbours and a row's next node is an
// addition away, without a branch to mispredict.
func (tr *tree) predNodes(j *jsonTree) []predNode {
	out := make([]predNode, 0, len(tr.nodes))
	at := make([]int32, len(tr.nodes)) // each node's place in out
	queue := []int32{0}
	out = append(out, predNode{})
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		nd := &tr.nodes[n]
		pn := predNode{value: nd.value, feature: -1}
		if !nd.leaf() {
			pn.feature = nd.feature
			pn.left = int32(len(out))
			if j.DefaultLeft[n] == 0 {
				pn.nanRight = 1
			}
			at[nd.left], at[nd.right] = pn.left, pn.left+1
			out = append(out, predNode{}, predNode{})
			queue = append(queue, nd.left, nd.right)
		}
		out[at[n]] = pn
	}
	return out
}

// marginBlock is the number of rows that pass through a tree together in
// Margins, as in XGBoost's CPU predictor: a tree and the block's rows stay
// in the processor's cache.
const marginBlock = 64

// Margins writes the margin (log-odds) of each of the n rows of X
// (row-major, NumFeatures values each, NaN for missing) into out (n values),
// as XGBoost 1.7's CPU predictor computes it with output_margin: a row's
// margin starts at base_score's logit and each tree's leaf value is added
// in tree order, in float32. A row goes left at a split when its value, a
// float32, is below the split condition; NaN takes the split's default
// direction; ±Inf compare as numbers (XGBoost's DMatrix refuses
// them, so they are not compared with it). The result equals Booster.Predict
// with Margin set bit for bit (TestMarginsMatchXGBoost in internal/xgb).
//
// X is not modified; out is written only. Margins is safe for concurrent
// use: it keeps no state, so callers split rows between goroutines.
func (t *Trees) Margins(X []float32, n int, out []float32) error {
	p := t.nFeature
	if n < 0 || len(X) != n*p || len(out) != n {
		return ErrRowLength
	}
	for lo := 0; lo < n; lo += marginBlock {
		hi := min(n, lo+marginBlock)
		o := out[lo:hi]
		for r := range o {
			o[r] = t.base
		}
		for i := range t.trees {
			nodes := t.trees[i].pred
			for r := range o {
				row := X[(lo+r)*p : (lo+r+1)*p]
				nd := &nodes[0]
				for nd.feature >= 0 {
					v := row[nd.feature]
					right := int32(0)
					if !(v < nd.value) {
						right = 1
					}
					if v != v {
						right = nd.nanRight
					}
					nd = &nodes[nd.left+right]
				}
				o[r] += nd.value
			}
		}
	}
	return nil
}

// Probabilities writes the probability of each of the n rows of X into
// out: Margins, then XGBoost's float32 logistic 1/(1+exp(−margin)). They
// are XGBoost's within two units in the last place, not to the bit: glibc's
// expf, which XGBoost calls, is not correctly rounded and float32(math.Exp)
// is (TestMarginsMatchXGBoost in internal/xgb counts 1 row in ~2,000 off by
// one or two). churn scores margins, so nothing it writes depends on this.
func (t *Trees) Probabilities(X []float32, n int, out []float32) error {
	if err := t.Margins(X, n, out); err != nil {
		return err
	}
	for i, m := range out {
		out[i] = 1 / (1 + float32(math.Exp(float64(-m))))
	}
	return nil
}
