package predict

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSinkConfig: the sinks of a config file are read, defaulted and
// checked; a password in a URL is refused without being repeated.
func TestSinkConfig(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // error substring; "" for none
	}{
		{"ok", "sinks:\n  - url: postgres://churn@db:5432/analytics?sslmode=require\n", ""},
		{"postgresql scheme and schema", "sinks:\n  - url: postgresql://churn@db/x\n    schema: bi_2\n    password_env: PG_PW\n", ""},
		{"mysql", "sinks:\n  - url: mysql://db/x\n", "sinks[0].url: mysql://db/x: want a postgres:// URL"},
		{"keyword DSN", "sinks:\n  - url: host=db user=churn\n", "want a postgres:// URL"},
		{"password", "sinks:\n  - url: postgres://churn:s3cret@db/x\n", "the password must not be in the URL"},
		{"password parameter", "sinks:\n  - url: postgres://churn@db/x?password=s3cret\n", "the password must not be in the URL"},
		{"schema", "sinks:\n  - url: postgres://churn@db/x\n    schema: Churn-BI\n", `sinks[0].schema "Churn-BI": want a lower-case name`},
		{"schema injection", "sinks:\n  - url: postgres://churn@db/x\n    schema: \"x; DROP TABLE y\"\n", "want a lower-case name"},
		{"password_env", "sinks:\n  - url: postgres://churn@db/x\n    password_env: \"1PW\"\n", `sinks[0].password_env "1PW"`},
		{"unknown key", "sinks:\n  - url: postgres://churn@db/x\n    table: p\n", "field table not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "predict.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Sinks[0].Schema == "" {
					t.Errorf("schema not defaulted: %+v", c.Sinks[0])
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// TestCheckSinkAuth: an unset password_env fails Check before any work.
func TestCheckSinkAuth(t *testing.T) {
	cfg := Config{Sinks: []SinkConfig{{URL: "postgres://churn@db/x", PasswordEnv: "CHURN_TEST_PG_UNSET"}}}
	err := Check(cfg, nil, asOfA, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "sinks[0] (postgres://churn@db/x): the environment variable CHURN_TEST_PG_UNSET (password_env) is not set") {
		t.Fatalf("error %v", err)
	}
	if err := Check(cfg, nil, asOfA, func(string) string { return "pw" }); err != nil {
		t.Fatal(err)
	}
}

// FuzzSinkURL: checking and redacting any URL never panics, and a
// redacted URL never holds the password.
func FuzzSinkURL(f *testing.F) {
	for _, s := range []string{"postgres://churn@db:5432/x", "postgres://u:pw@h/x?password=pw2", "postgresql://[::1]:5/x", "host=x password=y", "%zz", "postgres://u:p%40ss@h/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckSinkURL(raw)
		red := Redact(raw)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("multi-line error for %q", raw)
		}
		if u, perr := url.Parse(raw); perr == nil {
			if pw, set := u.User.Password(); set && pw != "xxxxx" && strings.Contains(red, ":"+url.UserPassword("", pw).String()[1:]+"@") {
				t.Errorf("Redact(%q) = %q shows the password %q", raw, red, pw)
			}
		}
	})
}
