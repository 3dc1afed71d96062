package cmd

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the real entry point as the "churn" command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"churn": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script.
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
		RequireExplicitExec: false,
	})
}
