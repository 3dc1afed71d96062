// Package xgb is a small cgo wrapper over XGBoost's C API (libxgboost, 1.7.x),
// exposing exactly what churn needs: dense matrices, boosting rounds, evaluation,
// prediction (probabilities, margins, SHAP contributions) and JSON model I/O.
// Beside it, in pure Go without cgo, package xgbtree evaluates a model's
// JSON trees: margins and contributions (TreeSHAP and Saabas) equal to
// XGBoost's to the bit; its tests against XGBoost live here.
//
// # Ownership
//
// [DMatrix] and [Booster] each own one C handle. Close frees it and is
// idempotent; any later call returns [ErrClosed]. A cleanup registered with
// runtime.AddCleanup frees a handle that was never closed, but only as a
// backstop: the garbage collector does not see C memory (a DMatrix of 100k×30
// floats holds ~12 MB outside the Go heap), so callers should Close.
//
// No Go pointer is retained by C: input slices are passed for the duration of one
// call and XGBoost copies them; every result (predictions, model bytes, evaluation
// text, error text) is copied into Go memory before the call returns, because
// XGBoost keeps results in per-thread buffers that its next call on that thread
// overwrites.
//
// # Threads
//
// XGBoost 1.7 keeps much of a booster's state in thread-local storage: its
// prediction cache for the training data (without it every round re-predicts
// all previous trees), its result buffers, the random engine seeded from the
// "seed" parameter (used by subsample and colsample_*), the verbosity, and the
// log sink. A goroutine may move between OS threads between two cgo calls,
// which would silently lose or mix that state. Each Booster therefore runs all
// of its C calls on one OS thread that it owns: a goroutine locked to the
// thread for the booster's lifetime. Close ends that goroutine, and the thread
// exits with it, which releases XGBoost's thread-local state and OpenMP pool.
// DMatrix calls need no such pinning; they lock the calling goroutine to its
// thread only while reading XGBoost's error text.
//
// # Concurrency
//
// A Booster is safe for concurrent use: a mutex serialises all of its calls, so
// concurrent UpdateOneIter calls are applied one after another (XGBoost boosters
// are not safe for concurrent update) and Predict waits for a running update.
// A DMatrix is safe for concurrent use; calls that use it take turns (XGBoost
// builds some of its indexes lazily, without locking), and Close waits for them.
// Distinct boosters train in parallel, each with its own OpenMP team sized by
// its "nthread" parameter (default: all cores).
//
// # Determinism
//
// The same data, parameters and "seed" give byte-identical model JSON, also
// with subsample/colsample below 1 and with other boosters training
// concurrently (each booster's random engine lives on its own thread).
//
// # Logging
//
// XGBoost's own messages (warnings such as unused parameters, which NewBooster
// asks for with "validate_parameters"; info and debug with "verbosity" 2 and 3)
// are sent to log/slog's default logger, never to stdout. Messages XGBoost
// emits from its OpenMP worker threads, if any, go to stderr directly.
//
// # Loading models
//
// XGBoost 1.7 trusts the structure of a model file: inconsistent tree counts
// or node indices crash or hang the process. LoadBoosterJSON therefore checks
// the structure in Go first (xgbtree.CheckModel) and accepts only JSON tree
// models.
package xgb
