package predict

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const secret = "Bearer s3cr3t-t0ken"

// testHook returns a webhook to url with a recorded, instant sleep.
func testHook(url string, mutate func(*WebhookConfig)) (*webhook, *[]time.Duration, *bytes.Buffer) {
	c := Config{Webhook: WebhookConfig{URL: url, AuthEnv: "HOOK"}}
	if mutate != nil {
		mutate(&c.Webhook)
	}
	c.EnsureDefaults()
	var logs bytes.Buffer
	h := newWebhook(c.Webhook, secret, nil, slog.New(slog.NewTextHandler(&logs, nil)), "test")
	var waits []time.Duration
	h.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return h, &waits, &logs
}

func TestWebhook(t *testing.T) {
	body := []byte(`{"alerts":[1]}`)
	t.Run("success", func(t *testing.T) {
		var got http.Header
		var gotBody []byte
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			gotBody, _ = io.ReadAll(r.Body)
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
		}))
		defer srv.Close()
		h, waits, _ := testHook(srv.URL+"/hook", nil)
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		if res.Err != nil || res.Sent != 1 || res.Attempts != 1 || res.Alerts != 1 || len(*waits) != 0 {
			t.Fatalf("result %+v, waits %v", res, *waits)
		}
		if got.Get("Authorization") != secret || got.Get("Content-Type") != "application/json" || len(got.Get("Idempotency-Key")) != 32 || got.Get("User-Agent") != "churn/test" || !bytes.Equal(gotBody, body) {
			t.Errorf("request headers %v body %s", got, gotBody)
		}
	})
	t.Run("retry after 500s", func(t *testing.T) {
		var n atomic.Int32
		var keys sync.Map
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			keys.Store(r.Header.Get("Idempotency-Key"), true)
			if n.Add(1) <= 2 {
				http.Error(w, "busy", http.StatusInternalServerError)
			}
		}))
		defer srv.Close()
		h, waits, _ := testHook(srv.URL, nil)
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		if res.Err != nil || res.Attempts != 3 || n.Load() != 3 {
			t.Fatalf("result %+v after %d requests", res, n.Load())
		}
		if len(*waits) != 2 || (*waits)[0] != time.Second || (*waits)[1] != 2*time.Second {
			t.Errorf("waits %v, want [1s 2s]", *waits)
		}
		count := 0
		keys.Range(func(any, any) bool { count++; return true })
		if count != 1 {
			t.Errorf("%d idempotency keys for one payload's retries", count)
		}
	})
	t.Run("retry-after and cap", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer srv.Close()
		h, waits, _ := testHook(srv.URL, func(w *WebhookConfig) {
			w.MaxAttempts = 6
			w.MaxBackoff = Duration(5 * time.Second)
		})
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		var we *WebhookError
		if !errors.As(res.Err, &we) || we.Permanent || we.Attempts != 6 || we.Status != 503 {
			t.Fatalf("err = %v", res.Err)
		}
		want := []time.Duration{5 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
		if len(*waits) != len(want) {
			t.Fatalf("waits %v, want %v", *waits, want)
		}
		for i := range want {
			if (*waits)[i] != want[i] {
				t.Errorf("waits %v, want %v (Retry-After capped at max_backoff)", *waits, want)
				break
			}
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		h, _, _ := testHook(srv.URL, func(w *WebhookConfig) {
			w.Timeout = Duration(50 * time.Millisecond)
			w.MaxAttempts = 2
		})
		start := time.Now()
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		var we *WebhookError
		if !errors.As(res.Err, &we) || we.Attempts != 2 || we.Status != 0 || !strings.Contains(res.Err.Error(), "no response within 50ms") {
			t.Fatalf("err = %v", res.Err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %v: the timeout did not bound the attempts", d)
		}
	})
	t.Run("permanent 4xx", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			http.Error(w, "bad payload: alerts[0] has no rule", http.StatusBadRequest)
		}))
		defer srv.Close()
		h, waits, _ := testHook(srv.URL, nil)
		res := h.send(context.Background(), [][]byte{body, body}, []int{1, 1})
		var we *WebhookError
		if !errors.As(res.Err, &we) || !we.Permanent || we.Attempts != 1 || n.Load() != 1 || len(*waits) != 0 || res.Sent != 0 {
			t.Fatalf("err = %v after %d requests", res.Err, n.Load())
		}
		if !strings.Contains(res.Err.Error(), "refused after 1 attempt(s): HTTP 400 Bad Request: bad payload: alerts[0] has no rule") {
			t.Errorf("message: %v", res.Err)
		}
	})
	t.Run("secrets are never logged", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
		}))
		defer srv.Close()
		// Slack-style: the secret is in the path.
		u := strings.Replace(srv.URL, "http://", "http://user:pa55word@", 1) + "/services/T000/B000/XXXXp4th-s3cret?token=qu3ry-s3cret#fr4g"
		h, _, logs := testHook(u, func(w *WebhookConfig) { w.MaxAttempts = 2 })
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		// And a network error, whose message net/http builds with the URL.
		srv.Close()
		res2 := h.send(context.Background(), [][]byte{body}, []int{1})
		all := logs.String() + res.Err.Error() + res.URL + res2.Err.Error()
		for _, s := range []string{"pa55word", "qu3ry-s3cret", "s3cr3t-t0ken", "user", "p4th-s3cret", "T000", "services", "fr4g"} {
			if strings.Contains(all, s) {
				t.Errorf("%q leaked: %s", s, all)
			}
		}
		host := strings.TrimPrefix(srv.URL, "http://")
		if want := "http://" + host + "/…"; !strings.Contains(res.Err.Error(), want) || !strings.Contains(res2.Err.Error(), want) || res.URL != want {
			t.Errorf("errors should name the URL's scheme and host only (%s): %v / %v / %s", want, res.Err, res2.Err, res.URL)
		}
	})
	t.Run("no redirects", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
			}
		}))
		defer srv.Close()
		h, _, _ := testHook(srv.URL, nil)
		res := h.send(context.Background(), [][]byte{body}, []int{1})
		var we *WebhookError
		if !errors.As(res.Err, &we) || !we.Permanent || n.Load() != 1 {
			t.Fatalf("a redirect must not be followed: %v, %d requests", res.Err, n.Load())
		}
	})
}

// TestRunWebhook runs predict with a webhook: alerts arrive in batches;
// a failing webhook keeps the written outputs and fails the run unless
// webhook.required is false.
func TestRunWebhook(t *testing.T) {
	f := getFixture(t)
	fail := atomic.Bool{}
	srv, payloads := recordingHook(t, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("X-Token") != "tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return false
		}
		if fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return false
		}
		return true
	})
	opts := func(required bool) Options {
		opt := f.options(t.TempDir(), asOfB)
		opt.Config.Webhook = WebhookConfig{URL: srv.URL, AuthEnv: "HOOK_TOKEN", AuthHeader: "X-Token", BatchSize: 10, MaxAttempts: 2, Required: &required}
		opt.Getenv = func(k string) string {
			if k == "HOOK_TOKEN" {
				return "tok"
			}
			return ""
		}
		opt.webhookSleep = func(context.Context, time.Duration) error { return nil }
		return opt
	}

	res, err := Run(context.Background(), opts(true))
	if err != nil {
		t.Fatal(err)
	}
	got := *payloads
	total := 0
	for i, p := range got {
		total += len(p.Alerts)
		if p.Batch != i+1 || p.Batches != len(got) || p.AsOf != asOfB.String() || len(p.Alerts) > 10 {
			t.Errorf("payload %d: batch %d/%d as_of %s, %d alerts", i, p.Batch, p.Batches, p.AsOf, len(p.Alerts))
		}
	}
	if res.Alerts < 11 || total != res.Alerts || res.Webhook.Alerts != res.Alerts || res.Webhook.Sent != len(got) {
		t.Fatalf("%d alerts, %d delivered in %d requests; result %+v", res.Alerts, total, len(got), res.Webhook)
	}
	jl, err := os.ReadFile(filepath.Join(res.AlertsDir, AlertsJSONL))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(jl), "\n"); lines != res.Alerts {
		t.Errorf("alerts.jsonl has %d lines for %d alerts", lines, res.Alerts)
	}

	fail.Store(true)
	opt := opts(true)
	res, err = Run(context.Background(), opt)
	var we *WebhookError
	if !errors.As(err, &we) || res == nil || res.Webhook.Err == nil || we.Attempts != 2 {
		t.Fatalf("required webhook down: res %v, err %v", res, err)
	}
	for _, dir := range []string{res.PredictionsDir, res.AlertsDir} {
		if _, err := os.Stat(filepath.Join(dir, SuccessFile)); err != nil {
			t.Errorf("outputs must be kept when the webhook fails: %v", err)
		}
	}
	res, err = Run(context.Background(), opts(false))
	if err != nil || res.Webhook.Err == nil {
		t.Fatalf("optional webhook down: err %v, webhook %+v", err, res.Webhook)
	}

	opt = opts(true)
	opt.Getenv = func(string) string { return "" }
	if _, err := Run(context.Background(), opt); err == nil || !strings.Contains(err.Error(), "HOOK_TOKEN (webhook.auth_env) is not set") {
		t.Fatalf("missing token: %v", err)
	}
	if entries, _ := os.ReadDir(opt.Out); len(entries) != 0 {
		t.Errorf("a missing token must stop the run before it writes: %v", entries)
	}
}

// recordingHook is a webhook endpoint that keeps every payload it
// accepts; accept, when set, answers first and returns whether to go on.
func recordingHook(t *testing.T, accept func(http.ResponseWriter, *http.Request) bool) (*httptest.Server, *[]webhookPayload) {
	var mu sync.Mutex
	var got []webhookPayload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if accept != nil && !accept(w, r) {
			return
		}
		var p webhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}
