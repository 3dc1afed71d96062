package nightly

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/pgtest"
	"github.com/churnlab/churn/predict"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestRunSinks runs the job with two sinks, one down: the run fails (exit
// 1) after publishing the predictions, the working sink holds tonight's
// rows, the webhook still went out, and the manifest says what happened
// without the password.
func TestRunSinks(t *testing.T) {
	db := pgtest.New(t)
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
	defer srv.Close()
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	down := strings.Replace(db.URL, fmt.Sprintf(":%d/", db.Server.Port), ":1/", 1)
	cfg.Predict.Sinks = []predict.SinkConfig{{URL: down, PasswordEnv: "SINK_PW"}, {URL: db.URL, Schema: "bi", PasswordEnv: "SINK_PW"}}
	cfg.Predict.Webhook.URL = srv.URL
	asOf := data.MakeDate(2024, 12, 1)
	getenv := func(k string) string {
		if k == "SINK_PW" {
			return pgtest.Password
		}
		return ""
	}
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: asOf, Now: clock, Logger: quiet, Getenv: getenv})
	if err == nil {
		t.Fatal("a sink that is down did not fail the run")
	}
	for _, want := range []string{"postgres sink postgres://churn@127.0.0.1:1/", "connection refused", "are published and stay the system of record"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, serr := os.Stat(filepath.Join(predict.PartitionDir(cfg.Out, predict.PredictionsDir, asOf), predict.SuccessFile)); serr != nil {
		t.Errorf("the predictions are not published: %v", serr)
	}
	if posts.Load() == 0 {
		t.Error("the webhook was not called after the sink failed")
	}
	var n int64
	if err := db.Conn(t).QueryRow(context.Background(), "SELECT count(*) FROM bi.predictions WHERE as_of = $1", asOf.Time()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != int64(mf.Scored) {
		t.Errorf("the working sink holds %d rows of tonight, want the %d scored", n, mf.Scored)
	}
	b, rerr := os.ReadFile(filepath.Join(cfg.Out, "runs", mf.RunID, "manifest.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if strings.Contains(string(b), pgtest.Password) || !strings.Contains(string(b), `"dates_loaded": 1`) || !strings.Contains(string(b), "connection refused") {
		t.Errorf("the run manifest should list the sinks and the failure, without the password:\n%s", b)
	}
}
