// Package duckdbtest lets Go tests ask DuckDB about the Parquet files churn
// writes: the check that other engines (BI tools, notebooks, the DuckDB
// peer in bench/) read our output the way we mean it.
//
// DuckDB runs in Node.js through @duckdb/node-api, which `make duckdb`
// installs under .cache/node. Tests find it through the environment
// variable CHURN_DUCKDB_DIR (the folder holding node_modules); `make test`
// and `make e2e` set it. When it is unset the tests that need DuckDB are
// skipped with a message saying so; when it is set but DuckDB or node
// cannot run, they fail.
//
// # Use
//
// Write files with data.Writer (or run the code under test), then query
// them. One call starts one node process (about half a second), so batch
// the queries of a test into one Run call:
//
//	res := duckdbtest.Run(t,
//		"SELECT count(*) FROM "+duckdbtest.Parquet(path),
//		"DESCRIBE SELECT * FROM "+duckdbtest.Parquet(path))
//	if got := res[0].Rows[0][0]; got != "42" { ... }
//
// Describe returns the DuckDB type of every column of a file, and Query
// runs one statement. Values come back as DuckDB converts them to JSON:
// BIGINT and other 64-bit integers as decimal strings (they may not fit a
// float64), DOUBLE as float64 (NaN and infinities as the strings "NaN",
// "Infinity", "-Infinity"), BOOLEAN as bool, VARCHAR as string, DATE as
// "2006-01-02", TIMESTAMP WITH TIME ZONE as "2006-01-02 15:04:05.999999+00"
// (the session time zone is UTC), NULL as nil.
//
// To check another producer (data/synth, data/imports, predictions), add a
// test next to it that writes a small output into t.TempDir() and compares
// Describe against the contract types it promises, with Run for row counts
// and a few values; ParquetGlob reads a folder of files, Hive partitions
// included. Keep such tests small: they run in `make test`.
package duckdbtest
