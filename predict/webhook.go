package predict

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WebhookResult reports the delivery of the alerts to the webhook.
type WebhookResult struct {
	// Configured is false when no webhook URL is set (nothing was sent).
	Configured bool `json:"configured"`
	// URL is the webhook URL without credentials or query.
	URL string `json:"url,omitempty"`
	// Requests is the number of POSTs the alerts needed (batches); Sent
	// how many succeeded, and Alerts how many alerts they carried.
	Requests int `json:"requests"`
	Sent     int `json:"sent"`
	Alerts   int `json:"alerts"`
	// Attempts counts every try, retries included.
	Attempts int `json:"attempts"`
	// Err is the delivery failure (nil on success); Required says whether
	// it fails the run.
	Err      error `json:"-"`
	Required bool  `json:"required"`
}

// WebhookError is a failed delivery.
type WebhookError struct {
	URL      string // redacted
	Attempts int
	// Status is the last HTTP status (0 when no response came).
	Status int
	// Permanent is true when the receiver refused the request (a 4xx
	// status other than 408 and 429, or a redirect): retrying would not help.
	Permanent bool
	Err       error
}

func (e *WebhookError) Error() string {
	kind := "gave up"
	if e.Permanent {
		kind = "refused"
	}
	return fmt.Sprintf("webhook %s: %s after %d attempt(s): %v", e.URL, kind, e.Attempts, e.Err)
}

func (e *WebhookError) Unwrap() error { return e.Err }

func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL (%v)", redactError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: want an http or https URL", redactURL(s))
	}
	if u.Host == "" {
		return fmt.Errorf("%s: no host", redactURL(s))
	}
	return nil
}

// redactURL keeps only a URL's scheme and host (with the port), so it can
// be logged and written to manifests: user info, path, query and fragment
// may all hold secrets (Slack-style hooks carry their token in the path).
// "/…" marks that something was left out.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	r := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		r += "/…"
	}
	return r
}

// redactError removes the URL from net/http and net/url errors.
func redactError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	return err
}

// webhook posts payloads to the configured URL with retries.
type webhook struct {
	cfg    WebhookConfig
	auth   string // value of the auth header; never logged
	client *http.Client
	log    *slog.Logger
	ua     string
	// sleep waits d or until ctx is done (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

func newWebhook(cfg WebhookConfig, auth string, client *http.Client, log *slog.Logger, version string) *webhook {
	if client == nil {
		client = &http.Client{}
	}
	// Never follow redirects: a redirected POST would lose its body or carry
	// the auth header to another host.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhook{cfg: cfg, auth: auth, client: &c, log: log, ua: "churn/" + version, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff returns the wait after failed attempt n (1-based).
func (w *webhook) backoff(n int) time.Duration {
	d := time.Duration(w.cfg.Backoff)
	for i := 1; i < n && d < time.Duration(w.cfg.MaxBackoff); i++ {
		d *= 2
	}
	return min(d, time.Duration(w.cfg.MaxBackoff))
}

// send posts each payload in turn, stopping at the first that fails.
func (w *webhook) send(ctx context.Context, payloads [][]byte, alerts []int) WebhookResult {
	res := WebhookResult{Configured: true, URL: redactURL(w.cfg.URL), Requests: len(payloads), Required: w.cfg.IsRequired()}
	for i, body := range payloads {
		n, err := w.post(ctx, body)
		res.Attempts += n
		if err != nil {
			res.Err = err
			return res
		}
		res.Sent++
		res.Alerts += alerts[i]
	}
	return res
}

// post sends one payload, retrying network errors, timeouts, 408, 429 and
// 5xx with exponential backoff (a Retry-After header is honoured up to
// MaxBackoff). It returns the number of attempts.
func (w *webhook) post(ctx context.Context, body []byte) (int, error) {
	sum := sha256.Sum256(body)
	key := hex.EncodeToString(sum[:16])
	redacted := redactURL(w.cfg.URL)
	for attempt := 1; ; attempt++ {
		status, retryAfter, err := w.attempt(ctx, body, key)
		if err == nil {
			w.log.Debug("webhook delivered", "url", redacted, "attempt", attempt, "bytes", len(body))
			return attempt, nil
		}
		permanent := status != 0 && !retryable(status)
		if permanent || attempt >= w.cfg.MaxAttempts || ctx.Err() != nil {
			return attempt, &WebhookError{URL: redacted, Attempts: attempt, Status: status, Permanent: permanent, Err: err}
		}
		wait := w.backoff(attempt)
		if retryAfter > 0 {
			wait = min(max(wait, retryAfter), time.Duration(w.cfg.MaxBackoff))
		}
		w.log.Warn("webhook attempt failed; retrying", "url", redacted, "attempt", attempt, "of", w.cfg.MaxAttempts, "status", status, "error", err, "wait", wait)
		if err := w.sleep(ctx, wait); err != nil {
			return attempt, &WebhookError{URL: redacted, Attempts: attempt, Status: status, Err: err}
		}
	}
}

func retryable(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// attempt makes one POST. It returns the status (0 without a response), a
// Retry-After wait, and an error unless the status is 2xx.
func (w *webhook) attempt(ctx context.Context, body []byte, key string) (int, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, time.Duration(w.cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, redactError(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", w.ua)
	req.Header.Set("Idempotency-Key", key)
	if w.auth != "" {
		req.Header.Set(w.cfg.AuthHeader, w.auth)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		if actx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return 0, 0, fmt.Errorf("no response within %v", time.Duration(w.cfg.Timeout))
		}
		return 0, 0, redactError(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var ra time.Duration
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		ra = time.Duration(s) * time.Second
	}
	msg := strings.TrimSpace(string(snippet))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg != "" {
		return resp.StatusCode, ra, fmt.Errorf("HTTP %s: %s", resp.Status, msg)
	}
	return resp.StatusCode, ra, fmt.Errorf("HTTP %s", resp.Status)
}
