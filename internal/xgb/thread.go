package xgb

/*
#include <xgboost/c_api.h>
*/
import "C"

import "runtime"

// thread runs functions on one OS thread, one at a time. XGBoost keeps a
// booster's prediction cache, random engine, verbosity, log sink and result
// buffers in thread-local storage, so every call on one booster must come from
// the same thread (see the package doc).
type thread struct {
	calls chan func()
	done  chan struct{}
}

func newThread() *thread {
	t := &thread{calls: make(chan func()), done: make(chan struct{})}
	go t.loop()
	return t
}

func (t *thread) loop() {
	// Never unlocked: when the loop ends, the goroutine exits while locked and
	// the runtime ends the OS thread, which frees XGBoost's thread-local state
	// for this booster and the thread's OpenMP pool.
	runtime.LockOSThread()
	for f := range t.calls {
		f()
		t.done <- struct{}{}
	}
}

// run calls f on the thread and waits for it to return. Calls must not
// overlap; the owner serialises them.
func (t *thread) run(f func()) {
	t.calls <- f
	<-t.done
}

// stop ends the thread after the current call.
func (t *thread) stop() { close(t.calls) }
