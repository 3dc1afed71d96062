// Writes one small customers file per Parquet compression codec with DuckDB,
// for TestReadCodecs (data/codecs_test.go). Run from the repository root:
//
//   NODE_PATH=.cache/node/node_modules node data/testdata/codecs/gen.js data/testdata/codecs
//
// (or `go generate ./data` with CHURN_DUCKDB_DIR set). The files are
// committed; rerun only to change them, and update the test's expected
// values to match. Values follow from the row number i (0..rows-1) so the
// test can recompute them. plan is an MD5 hex string: it barely compresses,
// so the LZ4_RAW pages are larger than a third of their uncompressed size,
// the case parquet-go v0.32.0 read as zeros.
const { DuckDBInstance } = require('@duckdb/node-api');

const out = process.argv[2] || '.';
const rows = 500;
const codecs = ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw', 'brotli'];

(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  for (const codec of codecs) {
    await con.run(`COPY (
      SELECT printf('C%05d', i) AS customer_id,
             DATE '2020-01-01' + (i % 1000)::INTEGER AS signup_date,
             md5(i::VARCHAR) AS plan,
             CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 50)::BIGINT END AS seats,
             (i * 1.25)::DOUBLE AS mrr,
             i % 3 = 0 AS churned
      FROM range(${rows}) t(i)
    ) TO '${out}/customers_${codec}.parquet' (FORMAT parquet, COMPRESSION ${codec})`);
  }
  const v = await con.runAndReadAll('SELECT version()');
  console.log(`wrote ${codecs.length} files with DuckDB ${v.getRows()[0][0]}`);
})().catch((e) => { console.error(e); process.exit(1); });
