// Package synth generates synthetic B2B SaaS customer histories in churn's
// input contract: customers, subscriptions, weekly usage, payments,
// contacts, tickets, NPS surveys, intent signals and churn events.
//
// Churn is driven by a documented latent model (see [Mechanisms] and
// docs/generator.md): every customer has a latent risk, a hidden decision to
// churn at a contract renewal, and, when it will churn, a warning-sign
// episode that ramps up over the 60–120 days before the churn date. Noise is
// planted on purpose: some churners show no sign, and some customers show
// signs and stay. [TruthOf] returns the hidden state of any customer, so
// tests can check that a model recovers what was planted.
//
// With Params.Interventions it also simulates a retention loop (see
// [Plays]): customers whose warning signs show are targeted by plays, a
// share is held out as control by data.Experiment, and each play has a
// planted intent-to-treat effect on churn within [HorizonDays]; the
// interventions table and DIR/_generator.json ([GeneratorTruth]) record it.
//
// With Params.Business = BusinessEcommerce it generates a shop without
// subscriptions instead (see [ShopModel]): customers and orders only
// ([ShopTables]), purchases by BG/NBD with Gamma-Gamma spend, and a planted
// purchase-rate decline with shrinking baskets before a share of the
// dropouts. Churn is latent: the data has no churn date; [ShopTruthOf]
// returns a customer's hidden dropout, and DIR/_generator.json the
// planted population ([ShopPlanted]).
//
// Output is deterministic: the same [Params] and compression give
// byte-identical files, whatever the number of workers. Each customer is a
// pure function of (Seed, End, Months, customer index); the first customers
// do not depend on Params.Customers.
//
// [Generate] streams customers in customer_id order into one Parquet file per
// table, in bounded memory, and publishes the folder atomically.
//
// Generate and TruthOf are safe for concurrent use (with different output
// folders); the package has no mutable state.
package synth
