package predict

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
)

// output writes the partitions of one run.
type output struct {
	sc       *scoring
	cfg      *Config
	pb       *Playbook
	order    []int32 // customers in rank order
	asOf     data.Date
	prevAsOf data.Date
	version  string
	scoredAt data.Timestamp
	workers  int
	// churnVersion is recorded in the files' footers.
	churnVersion string
	// method is every row's reason_method: exact, approx or none.
	method string
	// skippedControl counts the alerts withheld from control customers.
	skippedControl int
}

// outRow is one customer resolved for output.
type outRow struct {
	cs      *customerScore
	reasons [MaxReasons]Reason
	n       int // reasons used
	play    Play
	// category names the play that targets the customer ("" in the low
	// tier: not targeted): the play column.
	category string
}

// noReasonCategory is the playbook category of customers whose features
// all lower their risk.
const noReasonCategory = "none"

func (o *output) resolve(cs *customerScore, r *outRow) {
	r.cs = cs
	r.n = 0
	spec := o.sc.spec
	for j, ref := range cs.reasons {
		if ref.feat < 0 {
			r.reasons[j] = Reason{}
			continue
		}
		r.reasons[j] = Reason{Feature: spec.Features[ref.feat].Name, Contribution: float64(ref.contrib), Text: ref.text, Category: o.sc.rend.cat[ref.feat]}
		r.n++
	}
	r.category = playOf(cs, o.sc.rend.cat, o.method)
	r.play = o.pb.Play(categoryOf(cs, o.sc.rend.cat, o.method), cs.stage)
	if cs.tier == tierLow && o.pb.LowRisk != nil {
		r.play = *o.pb.LowRisk
	}
}

// columnWriter appends one row's value of a column.
type columnWriter func(o *output, v *data.Vec, r *outRow)

func appendStr(v *data.Vec, s string) {
	if s == "" {
		v.AppendNull()
		return
	}
	v.AppendString(s)
}

func appendNum(v *data.Vec, x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		v.AppendNull()
		return
	}
	v.AppendFloat(x)
}

func reasonWriters(k int) map[string]columnWriter {
	p := "reason_" + strconv.Itoa(k+1) + "_"
	return map[string]columnWriter{
		p + "feature": func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.reasons[k].Feature) },
		p + "contribution": func(_ *output, v *data.Vec, r *outRow) {
			if k >= r.n {
				v.AppendNull()
				return
			}
			v.AppendFloat(r.reasons[k].Contribution)
		},
		p + "text":     func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.reasons[k].Text) },
		p + "category": func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.reasons[k].Category) },
	}
}

// writers maps every output column to its value. Both schemas draw on it;
// TestSchemaWriters checks that every column has a writer.
var writers = func() map[string]columnWriter {
	m := map[string]columnWriter{
		"customer_id":        func(_ *output, v *data.Vec, r *outRow) { v.AppendUnique(r.cs.id) },
		"as_of":              func(o *output, v *data.Vec, _ *outRow) { v.AppendDate(o.asOf) },
		"churn_probability":  func(_ *output, v *data.Vec, r *outRow) { v.AppendFloat(r.cs.prob) },
		"risk_tier":          func(_ *output, v *data.Vec, r *outRow) { v.AppendString(tierNames[r.cs.tier]) },
		"rank":               func(_ *output, v *data.Vec, r *outRow) { v.AppendInt(int64(r.cs.rank)) },
		"revenue_at_risk":    func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.revenueAtRisk()) },
		"annual_revenue":     func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.annual) },
		"p_alive":            func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.pAlive) },
		"clv":                func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.clv) },
		"expected_uplift":    func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.uplift) },
		"expected_mrr_saved": func(_ *output, v *data.Vec, r *outRow) { appendNum(v, savedMRR(r.cs)) },
		"recommended_action": func(_ *output, v *data.Vec, r *outRow) {
			v.AppendString(r.play.Action)
		},
		"owner_role":      func(_ *output, v *data.Vec, r *outRow) { v.AppendString(r.play.OwnerRole) },
		"play":            func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.category) },
		"treatment_group": func(_ *output, v *data.Vec, r *outRow) { appendStr(v, groupNames[r.cs.group]) },
		"alerted":         func(_ *output, v *data.Vec, r *outRow) { v.AppendBool(r.cs.alerted) },
		"reason_method":   func(o *output, v *data.Vec, _ *outRow) { v.AppendString(o.method) },
		"previous_as_of": func(o *output, v *data.Vec, r *outRow) {
			if r.cs.prevTier < 0 {
				v.AppendNull()
				return
			}
			v.AppendDate(o.prevAsOf)
		},
		"previous_probability": func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.prevProb) },
		"previous_tier": func(_ *output, v *data.Vec, r *outRow) {
			if r.cs.prevTier < 0 {
				v.AppendNull()
				return
			}
			v.AppendString(tierNames[r.cs.prevTier])
		},
		"probability_change": func(_ *output, v *data.Vec, r *outRow) { appendNum(v, r.cs.prob-r.cs.prevProb) },
		"lifecycle_stage":    func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.cs.stage) },
		"owner":              func(_ *output, v *data.Vec, r *outRow) { appendStr(v, r.cs.owner) },
		"model_version":      func(o *output, v *data.Vec, _ *outRow) { v.AppendString(o.version) },
		"scored_at":          func(o *output, v *data.Vec, _ *outRow) { v.AppendTime(o.scoredAt) },
	}
	for k := 0; k < MaxReasons; k++ {
		for n, w := range reasonWriters(k) {
			m[n] = w
		}
	}
	return m
}()

// hashWriter counts and hashes what passes through to a file.
type hashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// parquetFile writes rows (produced by fill, which appends one row to the
// Vecs per call) to path as Parquet and flushes it to disk.
// extra overrides the shared writers of some columns.
func (o *output) parquetFile(ctx context.Context, path string, cols []Column, extra map[string]columnWriter, n int, row func(k int, r *outRow)) (FileInfo, error) {
	info := FileInfo{Name: filepath.Base(path), Rows: int64(n)}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return info, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	hw := &hashWriter{w: bw, h: sha256.New()}
	oc := o.cfg.Output
	meta := experimentMetadata(o.cfg.Control.Experiment())
	meta["churn.predictions.schema_version"] = strconv.Itoa(SchemaVersion)
	meta["churn.predictions.as_of"] = o.asOf.String()
	meta["churn.predictions.model_version"] = o.version
	w, err := data.NewWriter(hw, ColumnSpecs(cols), data.WriterOptions{
		RowGroupRows: oc.RowGroupRows, Compression: oc.Compression, SortedBy: []string{"rank"}, ChurnVersion: o.churnVersion,
		Metadata: meta,
	})
	if err != nil {
		return info, err
	}
	cw := make([]columnWriter, len(cols))
	for i, c := range cols {
		cw[i] = writers[c.Name]
		if w, ok := extra[c.Name]; ok {
			cw[i] = w
		}
		if cw[i] == nil {
			return info, fmt.Errorf("predict: internal error: no writer for column %s", c.Name)
		}
	}
	vecs := make([]data.Vec, len(cols))
	for i, c := range cols {
		vecs[i] = data.NewVec(c.Type)
	}
	// Rows are handed to the writer one row group at a time.
	chunk := oc.RowGroupRows
	var r outRow
	for lo := 0; lo < n; lo += chunk {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		hi := min(n, lo+chunk)
		for i := range vecs {
			vecs[i] = data.NewVec(cols[i].Type)
			vecs[i].Grow(hi - lo)
		}
		for k := lo; k < hi; k++ {
			row(k, &r)
			for i, w := range cw {
				w(o, &vecs[i], &r)
			}
		}
		if err := w.Write(hi-lo, vecs); err != nil {
			return info, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return info, fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return info, err
	}
	if err := f.Sync(); err != nil {
		return info, err
	}
	info.Bytes, info.SHA256 = hw.n, hex.EncodeToString(hw.h.Sum(nil))
	return info, f.Close()
}

// writePredictions writes the predictions partition: part files in rank
// order (written in parallel), _manifest.json and _SUCCESS, staged and
// then published whole.
func (o *output) writePredictions(ctx context.Context, txn *data.Txn, out string, man *Manifest) (string, []string, error) {
	final := PartitionDir(out, PredictionsDir, o.asOf)
	dir, err := txn.Dir(PredictionsDir, final)
	if err != nil {
		return "", nil, err
	}
	n := len(o.order)
	per := o.cfg.Output.RowsPerFile
	parts := (n + per - 1) / per
	infos := make([]FileInfo, parts)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, o.workers))
	for p := 0; p < parts; p++ {
		g.Go(func() error {
			lo, hi := p*per, min(n, (p+1)*per)
			path := filepath.Join(dir, fmt.Sprintf("part-%05d.parquet", p))
			info, err := o.parquetFile(gctx, path, PredictionColumns, nil, hi-lo, func(k int, r *outRow) {
				o.resolve(&o.sc.recs[o.order[lo+k]], r)
			})
			infos[p] = info
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return "", nil, err
	}
	man.Files = infos
	b, err := marshalJSON(man, true)
	if err != nil {
		return "", nil, err
	}
	if err := data.WriteFileSync(filepath.Join(dir, ManifestFile), b); err != nil {
		return "", nil, err
	}
	if err := data.WriteFileSync(filepath.Join(dir, SuccessFile), nil); err != nil {
		return "", nil, err
	}
	files := make([]string, parts)
	for i, f := range infos {
		files[i] = filepath.Join(final, f.Name)
	}
	return final, files, nil
}

// alertJSON is one alert in alerts.jsonl and in webhook payloads.
type alertJSON struct {
	AsOf              string   `json:"as_of"`
	Rule              string   `json:"rule"`
	CustomerID        string   `json:"customer_id"`
	OwnerRole         string   `json:"owner_role"`
	NextStep          string   `json:"next_step"`
	Owner             *string  `json:"owner"`
	ChurnProbability  float64  `json:"churn_probability"`
	RiskTier          string   `json:"risk_tier"`
	Rank              int64    `json:"rank"`
	ProbabilityChange *float64 `json:"probability_change"`
	RevenueAtRisk     *float64 `json:"revenue_at_risk"`
	LifecycleStage    *string  `json:"lifecycle_stage"`
	Reasons           []Reason `json:"reasons"`
	ReasonMethod      string   `json:"reason_method"`
	ModelVersion      string   `json:"model_version"`
	ScoredAt          string   `json:"scored_at"`
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optNum(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// alertRow resolves alert a: the rule's owner role and next step, else the
// playbook's.
func (o *output) alertRow(a alertRef, rules *ruleSet, r *outRow, owner, step *string) {
	o.resolve(&o.sc.recs[a.rec], r)
	rule := &rules.rules[a.rule]
	*owner, *step = rule.OwnerRole, rule.NextStep
	if *owner == "" {
		*owner = r.play.OwnerRole
	}
	if *step == "" {
		*step = r.play.Action
	}
}

// webhookPayload is the body of one webhook POST.
type webhookPayload struct {
	AsOf         string      `json:"as_of"`
	ModelVersion string      `json:"model_version"`
	ScoredAt     string      `json:"scored_at"`
	Batch        int         `json:"batch"`
	Batches      int         `json:"batches"`
	Alerts       []alertJSON `json:"alerts"`
}

// writeAlerts writes the alerts partition (alerts.parquet, alerts.jsonl,
// _manifest.json, _SUCCESS) and returns the webhook payloads, batchSize
// alerts each, with their alert counts.
func (o *output) writeAlerts(ctx context.Context, txn *data.Txn, out string, alerts []alertRef, rules *ruleSet, batchSize int) ([][]byte, []int, string, error) {
	final := PartitionDir(out, AlertsDir, o.asOf)
	dir, err := txn.Dir(AlertsDir, final)
	if err != nil {
		return nil, nil, "", err
	}
	// Parquet: the alert columns draw on the same writers, plus rule,
	// owner_role and next_step of each alert.
	var owner, step string
	var cur alertRef
	rw := map[string]columnWriter{
		"rule":       func(_ *output, v *data.Vec, _ *outRow) { v.AppendString(rules.rules[cur.rule].Name) },
		"owner_role": func(_ *output, v *data.Vec, _ *outRow) { v.AppendString(owner) },
		"next_step":  func(_ *output, v *data.Vec, _ *outRow) { v.AppendString(step) },
	}
	info, err := o.parquetFile(ctx, filepath.Join(dir, AlertsParquet), AlertColumns, rw, len(alerts), func(k int, r *outRow) {
		cur = alerts[k]
		o.alertRow(cur, rules, r, &owner, &step)
	})
	if err != nil {
		return nil, nil, "", err
	}

	// JSON Lines, and the webhook payloads from the same records.
	var jl bytes.Buffer
	var payloads [][]byte
	var counts []int
	batches := (len(alerts) + batchSize - 1) / batchSize
	var batch []alertJSON
	var r outRow
	ts := o.scoredAt.String()
	enc := json.NewEncoder(&jl)
	enc.SetEscapeHTML(false)
	for k, a := range alerts {
		o.alertRow(a, rules, &r, &owner, &step)
		aj := alertJSON{
			AsOf: o.asOf.String(), Rule: rules.rules[a.rule].Name, CustomerID: r.cs.id, OwnerRole: owner, NextStep: step,
			Owner: optStr(r.cs.owner), ChurnProbability: r.cs.prob, RiskTier: tierNames[r.cs.tier], Rank: int64(r.cs.rank),
			ProbabilityChange: optNum(r.cs.prob - r.cs.prevProb), RevenueAtRisk: optNum(r.cs.revenueAtRisk()),
			LifecycleStage: optStr(r.cs.stage), Reasons: append([]Reason{}, r.reasons[:r.n]...), ReasonMethod: o.method,
			ModelVersion: o.version, ScoredAt: ts,
		}
		if err := enc.Encode(&aj); err != nil {
			return nil, nil, "", err
		}
		batch = append(batch, aj)
		if len(batch) == batchSize || k == len(alerts)-1 {
			body, err := marshalJSON(webhookPayload{AsOf: o.asOf.String(), ModelVersion: o.version, ScoredAt: ts,
				Batch: len(payloads) + 1, Batches: batches, Alerts: batch}, false)
			if err != nil {
				return nil, nil, "", err
			}
			payloads = append(payloads, body)
			counts = append(counts, len(batch))
			batch = batch[:0]
		}
	}
	if err := data.WriteFileSync(filepath.Join(dir, AlertsJSONL), jl.Bytes()); err != nil {
		return nil, nil, "", err
	}
	sum := sha256.Sum256(jl.Bytes())
	type ruleInfo struct {
		Name      string `json:"name"`
		When      string `json:"when"`
		OwnerRole string `json:"owner_role,omitempty"`
		NextStep  string `json:"next_step,omitempty"`
		Alerts    int    `json:"alerts"`
	}
	man := struct {
		SchemaVersion int        `json:"schema_version"`
		AsOf          string     `json:"as_of"`
		Alerts        int        `json:"alerts"`
		Rules         []ruleInfo `json:"rules"`
		Skipped       []string   `json:"skipped_rules,omitempty"`
		// SkippedControl counts the alerts withheld from control customers.
		SkippedControl int        `json:"skipped_control"`
		Files          []FileInfo `json:"files"`
		ModelVersion   string     `json:"model_version"`
		ScoredAt       string     `json:"scored_at"`
	}{SchemaVersion: SchemaVersion, AsOf: o.asOf.String(), Alerts: len(alerts), Skipped: rules.skipped, SkippedControl: o.skippedControl,
		Files:        []FileInfo{info, {Name: AlertsJSONL, Rows: int64(len(alerts)), Bytes: int64(jl.Len()), SHA256: hex.EncodeToString(sum[:])}},
		ModelVersion: o.version, ScoredAt: o.scoredAt.Time().Format("2006-01-02T15:04:05.999999Z07:00")}
	for ri, rule := range rules.rules {
		n := 0
		for _, a := range alerts {
			if int(a.rule) == ri {
				n++
			}
		}
		man.Rules = append(man.Rules, ruleInfo{Name: rule.Name, When: rule.When, OwnerRole: rule.OwnerRole, NextStep: rule.NextStep, Alerts: n})
	}
	b, err := marshalJSON(man, true)
	if err != nil {
		return nil, nil, "", err
	}
	if err := data.WriteFileSync(filepath.Join(dir, ManifestFile), b); err != nil {
		return nil, nil, "", err
	}
	if err := data.WriteFileSync(filepath.Join(dir, SuccessFile), nil); err != nil {
		return nil, nil, "", err
	}
	return payloads, counts, final, nil
}

// top returns the n riskiest customers (default 10).
func (o *output) top(n int) []Prediction {
	if n <= 0 {
		n = 10
	}
	n = min(n, len(o.order))
	out := make([]Prediction, n)
	var r outRow
	for k := 0; k < n; k++ {
		o.resolve(&o.sc.recs[o.order[k]], &r)
		cs := r.cs
		prev := math.NaN()
		if cs.prevTier >= 0 {
			prev = cs.prevProb
		}
		out[k] = Prediction{
			CustomerID: cs.id, Probability: cs.prob, Tier: tierNames[cs.tier], Rank: int64(cs.rank),
			RevenueAtRisk: cs.revenueAtRisk(), PAlive: cs.pAlive, CLV: cs.clv, ExpectedUplift: cs.uplift, ExpectedMRRSaved: savedMRR(cs),
			Reasons: append([]Reason{}, r.reasons[:r.n]...), ReasonMethod: o.method,
			Action: r.play.Action, OwnerRole: r.play.OwnerRole, Play: r.category, Group: groupNames[cs.group], Owner: cs.owner, LifecycleStage: cs.stage,
			PreviousProbability: prev,
		}
	}
	return out
}

// marshalJSON encodes v without escaping <, > and & (conditions and texts
// stay readable), indented or compact, with a final newline when indented.
func marshalJSON(v any, indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if !indent {
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	}
	return b.Bytes(), nil
}
