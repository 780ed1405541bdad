//! The schema of the results database, one for SQLite and PostgreSQL, as versioned migrations.
//!
//! Tables (natural keys; no surrogate ids, so two databases fed the same stores agree):
//!
//! - `ix_schema(version)`: one row, the number of migrations applied.
//! - `runs(run_id PK, label, git_commit, ix_version, source, ingested_at)`: a set of points
//!   ingested together. `run_id` is the first 16 hex digits of a blake3 over the sorted natural
//!   keys of its points, so ingesting the same store twice names the same run.
//! - `points(point_id PK, result_hash, artifact, part, kind, task_id, config_key, identity,
//!   repeat_idx, image, image_digest, scripts, sweep_file, runner_node, started_at, ended_at,
//!   record, bench_hash)`: one aggregate record (`kind` = `fixed`, `agentic` or `eval`) and where
//!   it came from. Its natural key is (result task hash, blake3 of the artifact, index in the
//!   artifact): a forced rerun of a task is a new point. `point_id` is that key in compact form
//!   (32 hex digits of a blake3 over it, `Point::point_id`), so the tables below stay small.
//!   Besides: the configuration identity compare matches on (`identity`, see
//!   `history::IDENTITY_FIELDS`), the image and its digest, `path=blake3:…` of the scripts,
//!   the sweep file, the runner node, the measurement's start and end (RFC 3339 UTC) and the
//!   record itself as JSON text.
//! - `run_points((run_id, point_id) PK)`: which points a run holds.
//! - `metrics((point_id, name) PK, value)`: every numeric field of a record,
//!   for queries that do not parse JSON (`SELECT … WHERE name = 'median_tpot'`).
//!
//! A migration is only ever appended: a newer `ix` applies the ones an older database lacks,
//! and an `ix` older than a database refuses to write it.

/// How many migrations this `ix` knows: the schema version it writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The migrations, in order; migration `i` (from 0) takes a database from version `i` to
/// `i + 1`. Every statement is valid in both SQLite (3.24+) and PostgreSQL; the SQLite backend
/// turns the comment `/*sqlite: WITHOUT ROWID*/` into that clause (tables stored clustered by
/// their primary key, no second b-tree), which PostgreSQL reads as the comment it is.
pub const MIGRATIONS: &[&[&str]] = &[
    // 1: runs, points, run membership and metrics.
    &[
        "CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            label TEXT,
            git_commit TEXT,
            ix_version TEXT NOT NULL,
            source TEXT NOT NULL,
            ingested_at TEXT NOT NULL
        )",
        "CREATE TABLE points (
            point_id TEXT PRIMARY KEY,
            result_hash TEXT NOT NULL,
            artifact TEXT NOT NULL,
            part INTEGER NOT NULL,
            kind TEXT NOT NULL,
            task_id TEXT NOT NULL,
            config_key TEXT NOT NULL,
            identity TEXT NOT NULL,
            repeat_idx INTEGER NOT NULL,
            image TEXT NOT NULL,
            image_digest TEXT,
            scripts TEXT NOT NULL,
            sweep_file TEXT,
            runner_node TEXT NOT NULL,
            started_at TEXT,
            ended_at TEXT,
            record TEXT NOT NULL
        )",
        "CREATE TABLE run_points (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            point_id TEXT NOT NULL REFERENCES points (point_id),
            PRIMARY KEY (run_id, point_id)
        ) /*sqlite: WITHOUT ROWID*/",
        "CREATE TABLE metrics (
            point_id TEXT NOT NULL REFERENCES points (point_id),
            name TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (point_id, name)
        ) /*sqlite: WITHOUT ROWID*/",
    ],
    // 2: the bench task each point was measured by, and an index for history by configuration.
    &["ALTER TABLE points ADD COLUMN bench_hash TEXT", "CREATE INDEX points_identity ON points (identity, started_at)"],
];
