package cmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/churnlab/churn/internal/pgtest"
)

// TestMain lets testscript run the real entry point as the "churn" command,
// and stops the PostgreSQL server of TestPostgresScripts.
func TestMain(m *testing.M) {
	testscript.Main(pgMain{m}, map[string]func(){
		"churn": func() { os.Exit(Main()) },
	})
}

type pgMain struct{ m *testing.M }

func (p pgMain) Run() int { return pgtest.Main(p.m) }

// TestScripts runs the end-to-end CLI scripts in testdata/script.
//
// Besides testscript's own commands, scripts have
//
//	exits CODE command [args...]
//
// which runs the command like exec and fails unless it exits with exactly
// CODE (0 ok, 1 failure, 2 usage, 130 interrupted): use it instead of
// "! exec", which accepts any non-zero code.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			wd, err := os.Getwd()
			if err != nil {
				return err
			}
			env.Setenv("REPO", wd+"/..")
			env.Setenv("SHARED", wd+"/../../shared")
			return nil
		},
		Cmds:                map[string]func(ts *testscript.TestScript, neg bool, args []string){"exits": cmdExits},
		RequireExplicitExec: false,
	})
}

// TestPostgresScripts runs the scripts in testdata/postgres against a
// PostgreSQL server of their own (internal/pgtest): each script gets a
// fresh database, $PGURL (no password; PGPASSWORD is set), $PGDOWN (a
// closed port) and psql to look at the tables.
func TestPostgresScripts(t *testing.T) {
	pgtest.New(t) // skips, or fails under make test, without PostgreSQL
	testscript.Run(t, testscript.Params{
		Dir: "testdata/postgres",
		Setup: func(env *testscript.Env) error {
			db := pgtest.New(env.T().(testing.TB))
			env.Setenv("PGURL", db.URL)
			env.Setenv("PGDOWN", strings.Replace(db.URL, fmt.Sprintf(":%d/", db.Server.Port), ":1/", 1))
			env.Setenv("PGPASSWORD", pgtest.Password)
			env.Setenv("PGTZ", "UTC")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"exits": cmdExits},
	})
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits (say the exit code instead)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits CODE command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: %q is not an exit code", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}
