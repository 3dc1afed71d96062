// Package predict is the scoring stage: what the business sees every
// morning. Run scores every customer who is a customer at an as-of date
// with a trained model (train.Model), says why (the top reasons, from the
// model's per-feature contributions, in business words), recommends an
// action and its owner from a playbook, compares with the previous run,
// raises the alerts that managers defined, and writes it all as Parquet
// (and alerts also as JSON Lines) for BI tools, optionally posting the
// alerts to a webhook.
//
// # Output
//
//	OUT/predictions/as_of=YYYY-MM-DD/part-00000.parquet …  _manifest.json  _SUCCESS
//	OUT/alerts/as_of=YYYY-MM-DD/alerts.parquet  alerts.jsonl  _manifest.json  _SUCCESS
//
// Prediction files are in rank order (1 = riskiest); PredictionColumns and
// AlertColumns are the schemas (docs/predictions.md).
//
// # Guarantees
//
// Features are computed with the model's own feature spec
// (features.NewBuilder), so the columns match the model exactly; a dataset
// lacking a table the model was trained with is an error. Everything is
// computed before anything is written, so bad input fails the run with
// nothing written. Each partition is built under OUT/_staging and moved
// into place in one rename (an existing partition of the same date is
// swapped out atomically with renameat2 RENAME_EXCHANGE on Linux), so a
// reader of predictions/*/*.parquet sees the old partition or the new one,
// never a half one, even when the process is killed. The same inputs,
// config and clock (Options.Now) give byte-identical files.
//
// # Reasons
//
// Contributions come from train.Model.ScoreWith, computed in Go from the
// model's trees and equal to XGBoost's own to the bit: exact TreeSHAP for
// every customer by default (Config.Reasons), Saabas (approx) or none on
// request. Every row records its method in reason_method.
//
// # Control groups
//
// Customers of the high and medium tiers are targeted by their play (the
// playbook category that chose their action); Config.Control splits each
// play's targeted customers into treat and control with data.Experiment,
// a hash of seed, cohort, play and customer id, so the split is stable
// across runs and recomputable from the data alone. Control customers get
// no alerts and never reach the webhook; the withheld alerts are counted
// (Result.AlertsSkippedControl). The play and treatment_group columns,
// the files' footers and _manifest.json record it
// (docs/playbook.md#control-groups).
//
// # Memory
//
// Feature rows stream from features.Builder in customer-order batches;
// each batch is scored and explained, and only a compact record per
// customer (id, probability, revenue, stage, owner, three reason
// references with interned texts, and the feature values alert rules read)
// is kept until the ranking is known: about 200 bytes per customer.
//
// # Per customer and global: shards and Beam
//
// A run has two halves (shard.go). The per-customer half — features,
// probability, reasons, play, revenue, uplift, the values alert rules read —
// is a pure function of one customer's rows, the as-of date, the config
// and the model, and yields a [Record]. The global half — previous-run
// join, ranks, tiers, rank_by saved_mrr, control groups, alerts, files —
// needs every record. [Run] does both on one machine; [WriteShard] does the
// first half for one shard of customers ([data.ShardOf]) and [Merge] the
// second half over all the shards; [Scorer] gives a Beam worker the first
// half for the histories it holds and [Publish] the second half for the
// records it collects. All four publish the same files byte for byte.
//
// Run is safe to call concurrently for different output folders.
package predict
