package xgbtree

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// CheckModel checks that data is an XGBoost JSON model of a tree booster
// whose structure XGBoost can index safely. XGBoost 1.7.4 trusts the counts
// and indices in a model file: a "num_trees" larger than the trees present
// segfaults while loading (found by FuzzLoadBoosterJSON); a child index out of
// range or a cycle between nodes loads, then hangs in Predict; a split on a
// feature beyond num_feature loads and reads out of bounds. Everything
// XGBoost indexes by is checked here; the rest (objective, parameters, types)
// XGBoost checks itself and reports as an error.
//
// Only "gbtree" models with numerical splits are accepted: that is what this
// package trains. Duplicate object keys are rejected, so that this check and
// XGBoost's parser cannot read different values.
func CheckModel(data []byte) error {
	if len(data) == 0 || !json.Valid(data) {
		return errors.New("input is not valid JSON")
	}
	if err := checkNoDuplicateKeys(data); err != nil {
		return err
	}
	var m struct {
		Learner *struct {
			FeatureNames      []string `json:"feature_names"`
			FeatureTypes      []string `json:"feature_types"`
			LearnerModelParam struct {
				NumClass   string `json:"num_class"`
				NumFeature string `json:"num_feature"`
				NumTarget  string `json:"num_target"`
			} `json:"learner_model_param"`
			GradientBooster struct {
				Name  string `json:"name"`
				Model struct {
					Param struct {
						NumParallelTree string `json:"num_parallel_tree"`
						NumTrees        string `json:"num_trees"`
						SizeLeafVector  string `json:"size_leaf_vector"`
					} `json:"gbtree_model_param"`
					TreeInfo []int      `json:"tree_info"`
					Trees    []jsonTree `json:"trees"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
		Version *[]int `json:"version"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("not an XGBoost JSON model: %w", err)
	}
	if m.Learner == nil || m.Version == nil {
		return errors.New(`not an XGBoost JSON model (want an object with "learner" and "version")`)
	}
	if v := *m.Version; len(v) != 3 || v[0] < 1 {
		return fmt.Errorf("model version %v, want [major, minor, patch] with major ≥ 1", v)
	}
	l := m.Learner
	nf, err := count("learner_model_param.num_feature", l.LearnerModelParam.NumFeature, 1)
	if err != nil {
		return err
	}
	nc, err := count("learner_model_param.num_class", l.LearnerModelParam.NumClass, 0)
	if err != nil {
		return err
	}
	if l.LearnerModelParam.NumTarget != "" {
		if nt, err := count("learner_model_param.num_target", l.LearnerModelParam.NumTarget, 1); err != nil {
			return err
		} else if nt != 1 {
			return fmt.Errorf("num_target %d: only single-target models are supported", nt)
		}
	}
	for _, names := range [][]string{l.FeatureNames, l.FeatureTypes} {
		if len(names) != 0 && len(names) != nf {
			return fmt.Errorf("%d feature names or types for %d features", len(names), nf)
		}
	}
	gb := l.GradientBooster
	if gb.Name != "gbtree" {
		return fmt.Errorf("gradient booster %q: only gbtree models are supported", gb.Name)
	}
	p := gb.Model.Param
	nTrees, err := count("gbtree_model_param.num_trees", p.NumTrees, 0)
	if err != nil {
		return err
	}
	if _, err := count("gbtree_model_param.num_parallel_tree", p.NumParallelTree, 1); err != nil {
		return err
	}
	if p.SizeLeafVector != "" && p.SizeLeafVector != "0" {
		return fmt.Errorf("size_leaf_vector %q: vector leaves are not supported", p.SizeLeafVector)
	}
	if len(gb.Model.Trees) != nTrees || len(gb.Model.TreeInfo) != nTrees {
		return fmt.Errorf("num_trees is %d but the model has %d trees and %d tree_info entries",
			nTrees, len(gb.Model.Trees), len(gb.Model.TreeInfo))
	}
	groups := max(nc, 1)
	for i, g := range gb.Model.TreeInfo {
		if g < 0 || g >= groups {
			return fmt.Errorf("tree_info[%d] = %d, want a class in [0, %d)", i, g, groups)
		}
	}
	for i := range gb.Model.Trees {
		if err := gb.Model.Trees[i].check(i, nf); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

type jsonTree struct {
	ID                int       `json:"id"`
	LeftChildren      []int64   `json:"left_children"`
	RightChildren     []int64   `json:"right_children"`
	Parents           []int64   `json:"parents"`
	SplitIndices      []int64   `json:"split_indices"`
	SplitConditions   []float32 `json:"split_conditions"`
	SplitType         []int     `json:"split_type"`
	DefaultLeft       []int     `json:"default_left"`
	BaseWeights       []float32 `json:"base_weights"`
	LossChanges       []float32 `json:"loss_changes"`
	SumHessian        []float32 `json:"sum_hessian"`
	Categories        []int64   `json:"categories"`
	CategoriesNodes   []int64   `json:"categories_nodes"`
	CategoriesSizes   []int64   `json:"categories_sizes"`
	CategoriesSegment []int64   `json:"categories_segments"`
	Param             struct {
		NumNodes       string `json:"num_nodes"`
		NumFeature     string `json:"num_feature"`
		SizeLeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

func (t *jsonTree) check(index, nFeatures int) error {
	if t.ID != index {
		return fmt.Errorf("id %d, want %d", t.ID, index)
	}
	n, err := count("tree_param.num_nodes", t.Param.NumNodes, 1)
	if err != nil {
		return err
	}
	if tf, err := count("tree_param.num_feature", t.Param.NumFeature, 0); err != nil {
		return err
	} else if tf > nFeatures {
		return fmt.Errorf("tree_param.num_feature %d exceeds the model's %d", tf, nFeatures)
	}
	if t.Param.SizeLeafVector != "" && t.Param.SizeLeafVector != "0" {
		return fmt.Errorf("size_leaf_vector %q: vector leaves are not supported", t.Param.SizeLeafVector)
	}
	for name, l := range map[string]int{
		"left_children": len(t.LeftChildren), "right_children": len(t.RightChildren),
		"parents": len(t.Parents), "split_indices": len(t.SplitIndices),
		"split_conditions": len(t.SplitConditions), "split_type": len(t.SplitType),
		"default_left": len(t.DefaultLeft), "base_weights": len(t.BaseWeights),
		"loss_changes": len(t.LossChanges), "sum_hessian": len(t.SumHessian),
	} {
		if l != n {
			return fmt.Errorf("%s has %d entries for %d nodes", name, l, n)
		}
	}
	if len(t.Categories)+len(t.CategoriesNodes)+len(t.CategoriesSizes)+len(t.CategoriesSegment) != 0 {
		return errors.New("categorical splits are not supported")
	}
	for i := range n {
		if t.SplitType[i] != 0 {
			return fmt.Errorf("node %d: split_type %d: categorical splits are not supported", i, t.SplitType[i])
		}
		l, r := t.LeftChildren[i], t.RightChildren[i]
		if (l == -1) != (r == -1) {
			return fmt.Errorf("node %d has one child", i)
		}
		if l == -1 {
			continue
		}
		if l <= 0 || r <= 0 || l >= int64(n) || r >= int64(n) || l == r {
			return fmt.Errorf("node %d: children %d and %d, want distinct nodes in [1, %d)", i, l, r, n)
		}
		if t.Parents[l] != int64(i) || t.Parents[r] != int64(i) {
			return fmt.Errorf("node %d: its children do not name it as parent", i)
		}
		if s := t.SplitIndices[i]; s < 0 || s >= int64(nFeatures) {
			return fmt.Errorf("node %d splits on feature %d of %d", i, s, nFeatures)
		}
	}
	// From the root, every reachable node is reached once: no cycles.
	seen := make([]bool, n)
	stack := []int64{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] {
			return fmt.Errorf("node %d is reached twice from the root", i)
		}
		seen[i] = true
		if t.LeftChildren[i] != -1 {
			stack = append(stack, t.LeftChildren[i], t.RightChildren[i])
		}
	}
	return nil
}

// count parses a non-negative decimal integer that XGBoost stores as a
// string, at least lo.
func count(name, s string, lo int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > 1<<31-1 {
		return 0, fmt.Errorf("%s is %q, want an integer ≥ %d", name, s, lo)
	}
	return v, nil
}

// checkNoDuplicateKeys rejects JSON with a key repeated within one object.
func checkNoDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys   map[string]bool
		isObj  bool
		expKey bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && stack[top].isObj {
					stack[top].expKey = true
				}
				stack = append(stack, frame{keys: map[string]bool{}, isObj: d == '{', expKey: d == '{'})
			default:
				stack = stack[:top]
			}
			continue
		}
		if top < 0 || !stack[top].isObj {
			continue
		}
		if stack[top].expKey {
			k := tok.(string)
			if stack[top].keys[k] {
				return fmt.Errorf("key %q repeated in one object", k)
			}
			stack[top].keys[k] = true
			stack[top].expKey = false
		} else {
			stack[top].expKey = true
		}
	}
}
