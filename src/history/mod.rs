//! The results database: aggregate records of many runs with their provenance, in SQLite (an
//! embedded file, the default) or PostgreSQL (`postgres://…`), one schema for both
//! ([`schema`]), and the comparison of two sets of results ([`compare`]).
//!
//! Data flow: [`ingest::points_from_store`] reads the state store's successful result and eval
//! records into [`Point`]s (one aggregate record each, with where it came from), a [`Run`] names
//! the set, and [`ResultsDb::ingest`] writes both idempotently (natural keys, `ON CONFLICT DO
//! NOTHING`). [`ResultsDb::run_points`] reads a run back for `ix compare` and `ix report`.
//!
//! Deliberately absent: no stage before `exec` reads the database, and nothing here prints.

pub mod compare;
pub mod ingest;
mod pg;
pub mod render;
pub mod schema;
mod sqlite;
pub mod stats;
pub mod synth;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use ingest::{StoreSnapshot, points_from_store, points_of_task};

/// What kind of aggregate record a point is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PointKind {
    /// A fixed-length benchmark (`results::process`).
    Fixed,
    /// An agentic trace replay (`scenario_type` set).
    Agentic,
    /// An accuracy eval row (`task`, `score`).
    Eval,
}

impl PointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Fixed => "fixed",
            PointKind::Agentic => "agentic",
            PointKind::Eval => "eval",
        }
    }

    pub fn parse(text: &str) -> Option<PointKind> {
        match text {
            "fixed" => Some(PointKind::Fixed),
            "agentic" => Some(PointKind::Agentic),
            "eval" => Some(PointKind::Eval),
            _ => None,
        }
    }
}

/// One aggregate record with its provenance. Its natural key is (`result_hash`, `artifact`):
/// the task that produced it and the digest of the bytes it produced, so a forced rerun of the
/// same task is a new point and ingesting the same record twice is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The hash of the result (or eval) task.
    pub result_hash: String,
    /// The blake3 (CAS address) of the record's artifact.
    pub artifact: String,
    /// Index of the record inside its artifact (a multi-node result holds several).
    pub part: u32,
    pub kind: PointKind,
    /// The task id (`result/<key>/<seq-len>/<shape>/c<conc>/<node>[/repeat-<n>]`).
    pub task_id: String,
    /// The sweep's config key.
    pub config_key: String,
    /// The configuration identity compare matches points by (see [`identity_of`]).
    pub identity: String,
    /// The repeat index (`ix run --repeat`), 0 for a single run.
    pub repeat: u32,
    /// The hash of the bench task the record was measured by, when known.
    pub bench_hash: Option<String>,
    pub image: String,
    pub image_digest: Option<String>,
    /// `path=blake3:…` of the benchmark script, launcher and sourced files, `; `-separated.
    pub scripts: String,
    /// The sweep file the config came from, when the store names it.
    pub sweep_file: Option<String>,
    pub runner_node: String,
    /// RFC 3339 UTC times of the measurement, when the raw result says.
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    /// Numeric fields of the record, by name, in record order.
    pub metrics: Vec<(String, f64)>,
    /// The record as JSON text.
    pub record: String,
}

impl Point {
    /// The natural key in compact form: 32 hex digits of a blake3 over (result hash, artifact,
    /// part), the key of the `points` table and what `run_points` and `metrics` refer to.
    pub fn point_id(&self) -> String {
        let mut hasher = blake3::Hasher::new_derive_key("ix 2026-12 results-point v1");
        hasher.update(format!("{}:{}:{}", self.result_hash, self.artifact, self.part).as_bytes());
        hasher.finalize().to_hex()[..32].to_string()
    }
}

/// A set of points ingested together, with where and when it was made. `run_id` is derived
/// from the points' natural keys, so ingesting the same store twice names the same run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub run_id: String,
    pub label: Option<String>,
    /// The commit of the project's git checkout, when it is one.
    pub git_commit: Option<String>,
    pub ix_version: String,
    /// The state store (or other source) the run was read from.
    pub source: String,
    /// When it was first ingested (RFC 3339 UTC).
    pub ingested_at: String,
}

/// Errors of the results database.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HistoryError {
    #[error("cannot open results database `{url}`: {cause}")]
    #[diagnostic(code(ix::history::open))]
    Open { url: String, cause: String },
    #[error("results database `{url}`: {cause}")]
    #[diagnostic(code(ix::history::query))]
    Query { url: String, cause: String },
    #[error("results database `{url}` has schema version {found}, newer than this `ix` knows ({known})")]
    #[diagnostic(code(ix::history::newer_schema), help("upgrade `ix`, or ingest into another database"))]
    NewerSchema { url: String, found: i64, known: i64 },
    #[error("no run `{run}` in results database `{url}`")]
    #[diagnostic(code(ix::history::no_run), help("`ix results runs --results-db {url}` lists the runs"))]
    NoRun { url: String, run: String },
    #[error("cannot read state store `{}`: {cause}", dir.display())]
    #[diagnostic(code(ix::history::store))]
    Store { dir: PathBuf, cause: String },
}

/// Which database a `--results-db` value names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:PATH` or anything else a
    /// SQLite file path.
    pub fn parse(text: &str) -> DbUrl {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            DbUrl::Postgres(text.to_string())
        } else {
            DbUrl::Sqlite(PathBuf::from(text.strip_prefix("sqlite:").unwrap_or(text)))
        }
    }

    /// The URL as shown in messages (a PostgreSQL password masked).
    pub fn display(&self) -> String {
        match self {
            DbUrl::Sqlite(path) => path.display().to_string(),
            DbUrl::Postgres(url) => mask_password(url),
        }
    }
}

fn mask_password(url: &str) -> String {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else { return url.to_string() };
    let Some((userinfo, _)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => url.replacen(userinfo, &format!("{user}:***"), 1),
        None => url.to_string(),
    }
}

/// An open results database (migrated to the current schema).
pub enum ResultsDb {
    Sqlite { url: String, conn: rusqlite::Connection },
    Postgres { url: String, client: Box<postgres::Client> },
}

/// A run with its point count, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub run: Run,
    pub points: u64,
}

impl ResultsDb {
    /// Opens (creating if needed) and migrates the database `url` names.
    pub fn open(url: &DbUrl) -> Result<ResultsDb, HistoryError> {
        let mut db = match url {
            DbUrl::Sqlite(path) => sqlite::open(path)?,
            DbUrl::Postgres(text) => pg::open(text)?,
        };
        db.migrate(schema::VERSION)?;
        Ok(db)
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            ResultsDb::Sqlite { url, .. } | ResultsDb::Postgres { url, .. } => url,
        }
    }

    pub(crate) fn query_error(&self, cause: impl std::fmt::Display) -> HistoryError {
        HistoryError::Query { url: self.url().to_string(), cause: cause.to_string() }
    }

    /// The schema version the database is at (0 for an empty one).
    pub fn schema_version(&mut self) -> Result<i64, HistoryError> {
        match self {
            ResultsDb::Sqlite { .. } => sqlite::version(self),
            ResultsDb::Postgres { .. } => pg::version(self),
        }
    }

    /// Applies the migrations after the database's version up to `target`, each in its own
    /// transaction with the version bump. A database newer than `ix` knows is refused.
    pub(crate) fn migrate(&mut self, target: i64) -> Result<(), HistoryError> {
        let found = self.schema_version()?;
        if found > schema::VERSION {
            return Err(HistoryError::NewerSchema { url: self.url().to_string(), found, known: schema::VERSION });
        }
        for (idx, migration) in schema::MIGRATIONS.iter().enumerate() {
            let version = idx as i64 + 1;
            if version <= found || version > target {
                continue;
            }
            match self {
                ResultsDb::Sqlite { .. } => sqlite::apply(self, version, migration)?,
                ResultsDb::Postgres { .. } => pg::apply(self, version, migration)?,
            }
        }
        Ok(())
    }

    /// Writes a run and its points; what is already there (by natural key) is left as it is.
    /// Returns how many points were new.
    pub fn ingest(&mut self, run: &Run, points: &[Point]) -> Result<u64, HistoryError> {
        match self {
            ResultsDb::Sqlite { .. } => sqlite::ingest(self, run, points),
            ResultsDb::Postgres { .. } => pg::ingest(self, run, points),
        }
    }

    /// Removes a run and its membership rows; its points stay (other runs may hold them).
    pub fn forget_run(&mut self, run_id: &str) -> Result<(), HistoryError> {
        match self {
            ResultsDb::Sqlite { .. } => sqlite::forget_run(self, run_id),
            ResultsDb::Postgres { .. } => pg::forget_run(self, run_id),
        }
    }

    /// Every run, oldest ingest first.
    pub fn runs(&mut self) -> Result<Vec<RunSummary>, HistoryError> {
        let rows = match self {
            ResultsDb::Sqlite { .. } => sqlite::runs(self)?,
            ResultsDb::Postgres { .. } => pg::runs(self)?,
        };
        Ok(rows)
    }

    /// The run `selector` names: `latest` (the last ingested), a run id or a unique prefix of
    /// one, or a label.
    pub fn find_run(&mut self, selector: &str) -> Result<Run, HistoryError> {
        let runs = self.runs()?;
        let found = if selector == "latest" {
            runs.last()
        } else {
            let matches: Vec<&RunSummary> = runs
                .iter()
                .filter(|r| r.run.run_id.starts_with(selector) || r.run.label.as_deref() == Some(selector))
                .collect();
            // The last of several runs with one label.
            matches
                .last()
                .copied()
                .filter(|_| matches.len() == 1 || matches.iter().all(|r| r.run.label.as_deref() == Some(selector)))
        };
        found
            .map(|summary| summary.run.clone())
            .ok_or_else(|| HistoryError::NoRun { url: self.url().to_string(), run: selector.to_string() })
    }

    /// The points of a run, in task id order.
    pub fn run_points(&mut self, run_id: &str) -> Result<Vec<Point>, HistoryError> {
        match self {
            ResultsDb::Sqlite { .. } => sqlite::run_points(self, run_id),
            ResultsDb::Postgres { .. } => pg::run_points(self, run_id),
        }
    }
}

/// The fields whose values name a configuration (everything else in a record is a measurement
/// or a label): compare matches points whose identities are equal, whatever file or key they
/// came from. Multi-node records add their prefill and decode settings.
pub const IDENTITY_FIELDS: &[&str] = &[
    "infmax_model_prefix",
    "model",
    "hw",
    "framework",
    "precision",
    "spec_decoding",
    "disagg",
    "is_multinode",
    "isl",
    "osl",
    "tp",
    "ep",
    "dp_attention",
    "conc",
    "prefill_tp",
    "prefill_ep",
    "prefill_dp_attention",
    "prefill_num_workers",
    "decode_tp",
    "decode_ep",
    "decode_dp_attention",
    "decode_num_workers",
    "scenario_type",
    "task",
];

/// The canonical identity of a record: `name=value` of its [`IDENTITY_FIELDS`] that are
/// present, `;`-separated, in that order.
pub fn identity_of(record: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut identity = String::new();
    for name in IDENTITY_FIELDS {
        let Some(value) = record.get(*name) else { continue };
        if !identity.is_empty() {
            identity.push(';');
        }
        identity.push_str(name);
        identity.push('=');
        match value {
            serde_json::Value::String(text) => identity.push_str(text),
            other => identity.push_str(&other.to_string()),
        }
    }
    identity
}

/// Whether a larger value of the metric is better (throughputs, interactivity, scores) or
/// worse (latencies); `None` for fields that are neither (counts, settings).
pub fn higher_is_better(metric: &str) -> Option<bool> {
    const HIGHER: &[&str] = &["tput", "intvty", "throughput", "score", "goodput", "hit_rate"];
    const LOWER: &[&str] = &["ttft", "tpot", "itl", "e2el", "latency"];
    if metric.starts_with("std_") || metric.ends_with("_stderr") {
        return None;
    }
    if HIGHER.iter().any(|part| metric.contains(part)) {
        Some(true)
    } else if LOWER.iter().any(|part| metric.contains(part)) {
        Some(false)
    } else {
        None
    }
}

/// Now as RFC 3339 UTC with microseconds (runs ingested within one second still sort in order).
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seconds = rfc3339(now.as_secs() as i64);
    format!("{}.{:06}Z", seconds.trim_end_matches('Z'), now.subsec_micros())
}

/// Unix seconds as RFC 3339 UTC (`2026-12-05T07:15:33Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
