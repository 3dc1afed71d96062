// Package data owns the input contract of churn: which tables a dataset holds,
// their columns and types, how they are read from Parquet (column by column,
// page by page, customer by customer), and how outputs are written atomically.
//
// A dataset is a directory with one file (customers.parquet) or one folder
// (customers/, possibly with Hive-style key=value subfolders) per table.
// Only the customers table is required. Every table is keyed by customer_id
// and is expected to be sorted by customer_id, then by its time column.
//
// Values are normalised on read: DATE columns become [Date] (days since the
// Unix epoch), TIMESTAMP columns become [Timestamp] (microseconds since the
// epoch, UTC), integers become int64 and floating-point numbers float64.
// Missing values use the documented sentinels [NoDate], [NoTime], [NullInt]
// and NaN. Strings are valid UTF-8 and customer ids non-empty without NUL
// bytes: the reader refuses others ([CheckString]), and [Writer] never
// writes them.
//
// Nothing in this package is safe for concurrent use unless it says so;
// separate readers of the same files may be used from separate goroutines.
package data
