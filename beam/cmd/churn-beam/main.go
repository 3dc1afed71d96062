// Command churn-beam runs churn features and churn predict as Apache Beam
// pipelines, sharded by customer, with churn's flags and config plus
// Beam's runner flags (--runner=prism|direct|flink|spark|dataflow,
// --endpoint, --environment_type, …). The same binary is the pipeline's
// worker: runners start it with --worker.
package main

import (
	"flag"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/churnlab/churn/beam/pipeline"
	"github.com/churnlab/churn/cmd"
)

func main() {
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == "--worker" || strings.HasPrefix(a, "--worker=") }) {
		// A runner started this binary as a worker: Beam's harness takes
		// over (its flags are Go flags) and exits when done.
		flag.Parse()
		beam.Init()
		return
	}
	beam.Init()
	os.Exit(cmd.RunEngine(os.Args[1:], cmd.IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, pipeline.Engine()))
}
