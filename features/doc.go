// Package features computes point-in-time features and labels from customer
// histories: what was known about each customer as of a date T, computed only
// from rows strictly before T.
//
// The unit of work is one customer: [Compute] is a pure function of the
// customer's [data.History], the as-of date and the [Config], so it can run
// keyed by customer in any engine. [Build] streams a dataset through it in
// parallel shards and writes a feature table (Parquet) whose key-value
// metadata carries the [Spec]: names, descriptions, units, groups, the
// categorical encoding, windows, label settings and a fingerprint of the
// input. [BuildOptions].Shard builds one shard of the customers
// ([data.ShardOf]) with the whole table's spec, and [MergeShards] joins a
// complete set of shards into the whole table's rows.
//
// Missing values are NaN (null in Parquet) and each feature documents when it
// is missing; a feature whose table is absent from the dataset is not in the
// spec at all.
package features
