//! The SQLite backend of the results database (the system `libsqlite3`, through `rusqlite`).
//! The SQL is the shared schema's; only connection setup and bulk loading are SQLite's.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::{HistoryError, Point, PointKind, ResultsDb, Run, RunSummary};

fn conn(db: &mut ResultsDb) -> &mut rusqlite::Connection {
    match db {
        ResultsDb::Sqlite { conn, .. } => conn,
        ResultsDb::Postgres { .. } => unreachable!("a SQLite call on a PostgreSQL database"),
    }
}

pub(super) fn open(path: &Path) -> Result<ResultsDb, HistoryError> {
    let url = path.display().to_string();
    let open_error = |cause: rusqlite::Error| HistoryError::Open { url: url.clone(), cause: cause.to_string() };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|cause| HistoryError::Open { url: url.clone(), cause: cause.to_string() })?;
    }
    let conn = rusqlite::Connection::open(path).map_err(open_error)?;
    // A rollback journal, not WAL: an ingest mostly appends pages, which a rollback journal does
    // not copy, while WAL writes every page twice (log, then checkpoint); readers wait for an
    // ingest's commit (the busy timeout). FULL sync: a committed ingest survives a power cut.
    conn.pragma_update(None, "journal_mode", "DELETE").map_err(open_error)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(open_error)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_error)?;
    // 64 MiB of page cache: an ingest is one transaction, and pages it keeps need no rereading.
    conn.pragma_update(None, "cache_size", -65_536).map_err(open_error)?;
    Ok(ResultsDb::Sqlite { url, conn })
}

pub(super) fn version(db: &mut ResultsDb) -> Result<i64, HistoryError> {
    let result = (|| {
        let conn = conn(db);
        conn.execute("CREATE TABLE IF NOT EXISTS ix_schema (version INTEGER NOT NULL)", [])?;
        conn.query_row("SELECT COALESCE(MAX(version), 0) FROM ix_schema", [], |row| row.get::<_, i64>(0))
    })();
    result.map_err(|e| db.query_error(e))
}

pub(super) fn apply(db: &mut ResultsDb, version: i64, statements: &[&str]) -> Result<(), HistoryError> {
    let result = (|| {
        let tx = conn(db).transaction()?;
        for statement in statements {
            tx.execute(&statement.replace("/*sqlite: WITHOUT ROWID*/", "WITHOUT ROWID"), [])?;
        }
        tx.execute("DELETE FROM ix_schema", [])?;
        tx.execute("INSERT INTO ix_schema (version) VALUES (?1)", [version])?;
        tx.commit()
    })();
    result.map_err(|e| db.query_error(format!("migration {version}: {e}")))
}

pub(super) fn ingest(db: &mut ResultsDb, run: &Run, points: &[Point]) -> Result<u64, HistoryError> {
    let result = (|| -> rusqlite::Result<u64> {
        let tx = conn(db).transaction()?;
        tx.execute(
            "INSERT INTO runs (run_id, label, git_commit, ix_version, source, ingested_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![run.run_id, run.label, run.git_commit, run.ix_version, run.source, run.ingested_at],
        )?;
        let mut new_points = 0;
        {
            let mut point_stmt = tx.prepare(
                "INSERT INTO points (result_hash, artifact, part, kind, task_id, config_key, identity, repeat_idx,
                 image, image_digest, scripts, sweep_file, runner_node, started_at, ended_at, record, bench_hash,
                 point_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
                 ON CONFLICT DO NOTHING",
            )?;
            let mut member_stmt =
                tx.prepare("INSERT INTO run_points (run_id, point_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")?;
            let mut metric_stmt =
                tx.prepare("INSERT INTO metrics (point_id, name, value) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?;
            for point in points {
                let point_id = point.point_id();
                let inserted = point_stmt.execute(params![
                    point.result_hash,
                    point.artifact,
                    point.part,
                    point.kind.as_str(),
                    point.task_id,
                    point.config_key,
                    point.identity,
                    point.repeat,
                    point.image,
                    point.image_digest,
                    point.scripts,
                    point.sweep_file,
                    point.runner_node,
                    point.started_at,
                    point.ended_at,
                    point.record,
                    point.bench_hash,
                    point_id,
                ])?;
                member_stmt.execute(params![run.run_id, point_id])?;
                if inserted == 0 {
                    continue;
                }
                new_points += 1;
                for (name, value) in &point.metrics {
                    metric_stmt.execute(params![point_id, name, value])?;
                }
            }
        }
        tx.commit()?;
        Ok(new_points)
    })();
    result.map_err(|e| db.query_error(e))
}

pub(super) fn runs(db: &mut ResultsDb) -> Result<Vec<RunSummary>, HistoryError> {
    let result = (|| -> rusqlite::Result<Vec<RunSummary>> {
        let conn = conn(db);
        let mut stmt = conn.prepare(
            "SELECT r.run_id, r.label, r.git_commit, r.ix_version, r.source, r.ingested_at,
                    (SELECT COUNT(*) FROM run_points p WHERE p.run_id = r.run_id)
             FROM runs r ORDER BY r.ingested_at, r.run_id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(RunSummary {
                run: Run {
                    run_id: row.get(0)?,
                    label: row.get(1)?,
                    git_commit: row.get(2)?,
                    ix_version: row.get(3)?,
                    source: row.get(4)?,
                    ingested_at: row.get(5)?,
                },
                points: row.get::<_, i64>(6)?.max(0) as u64,
            })
        })?;
        rows.collect()
    })();
    result.map_err(|e| db.query_error(e))
}

pub(super) fn run_points(db: &mut ResultsDb, run_id: &str) -> Result<Vec<Point>, HistoryError> {
    let result = (|| -> rusqlite::Result<Vec<Point>> {
        let conn = conn(db);
        let exists =
            conn.query_row("SELECT 1 FROM runs WHERE run_id = ?1", [run_id], |row| row.get::<_, i64>(0)).optional()?;
        if exists.is_none() {
            return Ok(Vec::new());
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM points p JOIN run_points m ON m.point_id = p.point_id
             WHERE m.run_id = ?1 ORDER BY p.task_id, p.part",
            super::ingest::POINT_COLUMNS
        ))?;
        let rows = stmt.query_map([run_id], |row| {
            let kind: String = row.get(3)?;
            Ok(Point {
                result_hash: row.get(0)?,
                artifact: row.get(1)?,
                part: row.get(2)?,
                kind: PointKind::parse(&kind).unwrap_or(PointKind::Fixed),
                task_id: row.get(4)?,
                config_key: row.get(5)?,
                identity: row.get(6)?,
                repeat: row.get(7)?,
                image: row.get(8)?,
                image_digest: row.get(9)?,
                scripts: row.get(10)?,
                sweep_file: row.get(11)?,
                runner_node: row.get(12)?,
                started_at: row.get(13)?,
                ended_at: row.get(14)?,
                record: row.get(15)?,
                bench_hash: row.get(16)?,
                metrics: Vec::new(),
            })
        })?;
        rows.collect()
    })();
    let mut points = result.map_err(|e| db.query_error(e))?;
    for point in &mut points {
        point.metrics = super::ingest::metrics_of_text(&point.record);
    }
    Ok(points)
}

pub(super) fn forget_run(db: &mut ResultsDb, run_id: &str) -> Result<(), HistoryError> {
    let result = (|| -> rusqlite::Result<()> {
        let tx = conn(db).transaction()?;
        tx.execute("DELETE FROM run_points WHERE run_id = ?1", [run_id])?;
        tx.execute("DELETE FROM runs WHERE run_id = ?1", [run_id])?;
        tx.commit()
    })();
    result.map_err(|e| db.query_error(e))
}
