// Package cmd is the churn command line: cobra commands that bind flags into
// Options structs and call the train, predict, eval, features and data
// packages. It is the only package that maps errors to exit codes
// (0 ok, 1 failure, 2 usage, 130 interrupted) and the only one that knows
// about cobra.
package cmd
