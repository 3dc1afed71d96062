// Package imports turns outside data — CSV files, whitespace-separated text
// files and Parquet files with other column names and types — into a churn
// contract dataset, driven by a YAML mapping (see docs/import.md), and
// re-sorts datasets whose tables are not in contract order.
//
// The flow is Load (parse and check the mapping) → Import (read every
// source, convert values, derive labels and tables, sort, aggregate, write).
// Import builds the whole dataset in a temporary directory next to the
// output and renames it into place at the end, so an error leaves nothing
// half-written. Row-level problems are reported as *data.InputError naming
// the source file, line, column and value; problems of the mapping itself
// as *MappingError naming the mapping file and line.
//
// Text sources must be UTF-8 (a mapping may replace bad bytes instead,
// invalid_utf8: replace); UTF-16 files are recognised and refused. Lines
// and values are bounded (max_line_bytes, max_field_bytes) so that one
// huge line cannot exhaust memory.
//
// Limitations: every table is held in memory while it is converted and
// sorted (about two to three times the size of its source text), and
// Sort holds one Parquet file at a time in memory.
//
// Nothing in this package keeps global state; Load, Import and Sort may run
// concurrently on different inputs.
package imports
