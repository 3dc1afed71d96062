package nightly

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line bar of the run's stages on a terminal; with a
// nil writer it does nothing (logs carry the same information).
type progress struct {
	w     io.Writer
	names []string
	i     int
	t0    time.Time
}

func newProgress(w io.Writer, names []string) *progress {
	return &progress{w: w, names: names, t0: time.Now()}
}

func (p *progress) start(name string) {
	if p.w == nil {
		return
	}
	p.i++
	const width = 20
	done := (p.i - 1) * width / len(p.names)
	bar := strings.Repeat("█", done) + strings.Repeat("░", width-done)
	fmt.Fprintf(p.w, "\r\033[K%s %d/%d %s… %s", bar, p.i, len(p.names), name, time.Since(p.t0).Round(time.Second))
}

func (p *progress) finish(err error) {
	if p.w == nil {
		return
	}
	status := "done"
	if err != nil {
		status = "failed"
	}
	fmt.Fprintf(p.w, "\r\033[K%s %s in %s\n", strings.Repeat("█", 20), status, time.Since(p.t0).Round(100*time.Millisecond))
}
