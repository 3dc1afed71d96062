package xgb

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseEval parses a line from EvalOneIter, such as
// "[3]\ttrain-logloss:0.40\tvalid-logloss:0.41\tvalid-auc:0.93", into its
// round and name → metric → value. names are the matrix names passed to
// EvalOneIter; they disambiguate names and metrics that contain '-'.
func ParseEval(line string, names []string) (iter int, res map[string]map[string]float64, err error) {
	fields := strings.Split(strings.TrimRight(line, "\n"), "\t")
	head := fields[0]
	if len(head) < 3 || head[0] != '[' || head[len(head)-1] != ']' {
		return 0, nil, fmt.Errorf("xgb: ParseEval: %q does not start with [round]", line)
	}
	if iter, err = strconv.Atoi(head[1 : len(head)-1]); err != nil {
		return 0, nil, fmt.Errorf("xgb: ParseEval: bad round in %q", line)
	}
	res = make(map[string]map[string]float64)
	for _, f := range fields[1:] {
		key, val, ok := strings.Cut(f, ":")
		if !ok {
			return 0, nil, fmt.Errorf("xgb: ParseEval: field %q has no ':'", f)
		}
		var name, metric string
		for _, n := range names {
			if rest, ok := strings.CutPrefix(key, n+"-"); ok && len(n) > len(name) {
				name, metric = n, rest
			}
		}
		if name == "" || metric == "" {
			return 0, nil, fmt.Errorf("xgb: ParseEval: field %q matches none of the names %q", f, names)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("xgb: ParseEval: field %q: %w", f, err)
		}
		if res[name] == nil {
			res[name] = make(map[string]float64)
		}
		res[name][metric] = v
	}
	return iter, res, nil
}
