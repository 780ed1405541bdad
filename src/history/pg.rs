//! The PostgreSQL backend of the results database (the synchronous `postgres` client, no
//! TLS: a team database sits on a trusted network or behind a local proxy). Same schema as
//! SQLite; points and metrics are bulk-loaded with `COPY` into temporary tables, then merged
//! with `INSERT … ON CONFLICT DO NOTHING`, so an ingest is one transaction and idempotent.

use std::io::Write as _;

use super::{HistoryError, Point, PointKind, ResultsDb, Run, RunSummary};

fn client(db: &mut ResultsDb) -> &mut postgres::Client {
    match db {
        ResultsDb::Postgres { client, .. } => client,
        ResultsDb::Sqlite { .. } => unreachable!("a PostgreSQL call on a SQLite database"),
    }
}

pub(super) fn open(url: &str) -> Result<ResultsDb, HistoryError> {
    let shown = super::DbUrl::Postgres(url.to_string()).display();
    let client = postgres::Client::connect(url, postgres::NoTls)
        .map_err(|cause| HistoryError::Open { url: shown.clone(), cause: cause.to_string() })?;
    Ok(ResultsDb::Postgres { url: shown, client: Box::new(client) })
}

pub(super) fn version(db: &mut ResultsDb) -> Result<i64, HistoryError> {
    let result = (|| -> Result<i64, postgres::Error> {
        let client = client(db);
        client.batch_execute("CREATE TABLE IF NOT EXISTS ix_schema (version INTEGER NOT NULL)")?;
        let row = client.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM ix_schema", &[])?;
        Ok(row.get::<_, i64>(0))
    })();
    result.map_err(|e| db.query_error(e))
}

pub(super) fn apply(db: &mut ResultsDb, version: i64, statements: &[&str]) -> Result<(), HistoryError> {
    let result = (|| -> Result<(), postgres::Error> {
        let mut tx = client(db).transaction()?;
        for statement in statements {
            tx.batch_execute(statement)?;
        }
        tx.batch_execute("DELETE FROM ix_schema")?;
        tx.execute("INSERT INTO ix_schema (version) VALUES ($1)", &[&(version as i32)])?;
        tx.commit()
    })();
    result.map_err(|e| db.query_error(format!("migration {version}: {e}")))
}

/// One field in `COPY … (FORMAT text)`: `\N` for null, backslash, tab, newline and carriage
/// return escaped.
fn copy_field(out: &mut Vec<u8>, value: Option<&str>) {
    let Some(value) = value else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

fn copy_row(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (idx, field) in fields.iter().enumerate() {
        if idx > 0 {
            out.push(b'\t');
        }
        copy_field(out, *field);
    }
    out.push(b'\n');
}

pub(super) fn ingest(db: &mut ResultsDb, run: &Run, points: &[Point]) -> Result<u64, HistoryError> {
    let mut point_rows = Vec::with_capacity(points.len() * 1024);
    let mut ids = Vec::with_capacity(points.len());
    for point in points {
        let point_id = point.point_id();
        let part = point.part.to_string();
        let repeat = point.repeat.to_string();
        copy_row(
            &mut point_rows,
            &[
                Some(&point.result_hash),
                Some(&point.artifact),
                Some(&part),
                Some(point.kind.as_str()),
                Some(&point.task_id),
                Some(&point.config_key),
                Some(&point.identity),
                Some(&repeat),
                Some(&point.image),
                point.image_digest.as_deref(),
                Some(&point.scripts),
                point.sweep_file.as_deref(),
                Some(&point.runner_node),
                point.started_at.as_deref(),
                point.ended_at.as_deref(),
                Some(&point.record),
                point.bench_hash.as_deref(),
                Some(&point_id),
            ],
        );
        ids.push(point_id);
    }
    let result = (|| -> Result<u64, Box<dyn std::error::Error>> {
        let mut tx = client(db).transaction()?;
        tx.execute(
            "INSERT INTO runs (run_id, label, git_commit, ix_version, source, ingested_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&run.run_id, &run.label, &run.git_commit, &run.ix_version, &run.source, &run.ingested_at],
        )?;
        tx.batch_execute("CREATE TEMP TABLE ix_in_points (LIKE points) ON COMMIT DROP")?;
        let mut writer = tx.copy_in(
            "COPY ix_in_points (result_hash, artifact, part, kind, task_id, config_key, identity, repeat_idx, image,
             image_digest, scripts, sweep_file, runner_node, started_at, ended_at, record, bench_hash, point_id)
             FROM STDIN",
        )?;
        writer.write_all(&point_rows)?;
        writer.finish()?;
        // The points that are new; only their metrics are written, straight into the table.
        let inserted =
            tx.query("INSERT INTO points SELECT * FROM ix_in_points ON CONFLICT DO NOTHING RETURNING point_id", &[])?;
        let mut new: std::collections::HashSet<String> = inserted.iter().map(|row| row.get(0)).collect();
        let new_points = new.len() as u64;
        let mut metric_rows = Vec::with_capacity(new.len() * 1024);
        for (point, point_id) in points.iter().zip(&ids) {
            // `remove`: a point given twice gets its metrics once.
            if !new.remove(point_id) {
                continue;
            }
            for (name, value) in &point.metrics {
                // `{:?}` of an f64 round-trips; PostgreSQL reads `NaN` as double too.
                let value = if value.is_finite() { format!("{value:?}") } else { "NaN".to_string() };
                copy_row(&mut metric_rows, &[Some(point_id), Some(name), Some(&value)]);
            }
        }
        if !metric_rows.is_empty() {
            let mut writer = tx.copy_in("COPY metrics (point_id, name, value) FROM STDIN")?;
            writer.write_all(&metric_rows)?;
            writer.finish()?;
        }
        tx.execute(
            "INSERT INTO run_points (run_id, point_id) SELECT $1::TEXT, point_id FROM ix_in_points
             ON CONFLICT DO NOTHING",
            &[&run.run_id],
        )?;
        tx.commit()?;
        Ok(new_points)
    })();
    result.map_err(|e| db.query_error(e))
}

pub(super) fn runs(db: &mut ResultsDb) -> Result<Vec<RunSummary>, HistoryError> {
    let result = client(db).query(
        "SELECT r.run_id, r.label, r.git_commit, r.ix_version, r.source, r.ingested_at,
                (SELECT COUNT(*) FROM run_points p WHERE p.run_id = r.run_id)
         FROM runs r ORDER BY r.ingested_at, r.run_id",
        &[],
    );
    let rows = result.map_err(|e| db.query_error(e))?;
    Ok(rows
        .iter()
        .map(|row| RunSummary {
            run: Run {
                run_id: row.get(0),
                label: row.get(1),
                git_commit: row.get(2),
                ix_version: row.get(3),
                source: row.get(4),
                ingested_at: row.get(5),
            },
            points: row.get::<_, i64>(6).max(0) as u64,
        })
        .collect())
}

pub(super) fn run_points(db: &mut ResultsDb, run_id: &str) -> Result<Vec<Point>, HistoryError> {
    let query = format!(
        "SELECT {} FROM points p JOIN run_points m ON m.point_id = p.point_id
         WHERE m.run_id = $1 ORDER BY p.task_id, p.part",
        super::ingest::POINT_COLUMNS
    );
    let rows = client(db).query(query.as_str(), &[&run_id]).map_err(|e| db.query_error(e))?;
    Ok(rows
        .iter()
        .map(|row| {
            let kind: String = row.get(3);
            let record: String = row.get(15);
            Point {
                result_hash: row.get(0),
                artifact: row.get(1),
                part: row.get::<_, i32>(2).max(0) as u32,
                kind: PointKind::parse(&kind).unwrap_or(PointKind::Fixed),
                task_id: row.get(4),
                config_key: row.get(5),
                identity: row.get(6),
                repeat: row.get::<_, i32>(7).max(0) as u32,
                image: row.get(8),
                image_digest: row.get(9),
                scripts: row.get(10),
                sweep_file: row.get(11),
                runner_node: row.get(12),
                started_at: row.get(13),
                ended_at: row.get(14),
                metrics: super::ingest::metrics_of_text(&record),
                record,
                bench_hash: row.get(16),
            }
        })
        .collect())
}

pub(super) fn forget_run(db: &mut ResultsDb, run_id: &str) -> Result<(), HistoryError> {
    let result = (|| -> Result<(), postgres::Error> {
        let mut tx = client(db).transaction()?;
        tx.execute("DELETE FROM run_points WHERE run_id = $1", &[&run_id])?;
        tx.execute("DELETE FROM runs WHERE run_id = $1", &[&run_id])?;
        tx.commit()
    })();
    result.map_err(|e| db.query_error(e))
}
