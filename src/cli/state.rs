//! `ix state`: verify a state store; a hidden writer loop for the crash-safety tests.

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::{StateArgs, StateCommand};
use crate::dag::hash::file_digest;
use crate::dag::task_key::ManifestEntry;
use crate::state::{ArtifactSource, Outcome, StateError, StateStore, TaskRecord};

pub(crate) fn state(args: &StateArgs) -> ExitStatus {
    match &args.command {
        StateCommand::Verify { state_dir } => verify(state_dir),
        StateCommand::RecordFake { state_dir, count, artifact_size } => record_fake(state_dir, *count, *artifact_size),
    }
}

pub(crate) fn error(err: &StateError) -> ExitStatus {
    let mut text = format!("error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if let StateError::Locked { .. } = err {
        text.push_str("\nhelp: wait for that `ix` to finish, or use another `--state-dir`");
    }
    let _ = writeln!(std::io::stderr(), "{text}");
    ExitStatus::Error
}

fn verify(state_dir: &std::path::Path) -> ExitStatus {
    let store = match StateStore::open_existing(state_dir) {
        Ok(Some(store)) => store,
        Ok(None) => {
            let _ = writeln!(std::io::stderr(), "error: no state store at `{}`", state_dir.display());
            return ExitStatus::Error;
        }
        Err(err) => return error(&err),
    };
    let report = match store.verify() {
        Ok(report) => report,
        Err(err) => return error(&err),
    };
    let _ = writeln!(
        std::io::stdout(),
        "{} records, {} index entries, {} blobs verified; {} corrupt; {} leftover temporary files",
        report.records,
        report.indices,
        report.blobs,
        report.corrupt.len(),
        report.temporaries
    );
    for err in &report.corrupt {
        let _ = writeln!(std::io::stderr(), "corrupt: {err}");
    }
    if report.corrupt.is_empty() { ExitStatus::Success } else { ExitStatus::Failure }
}

fn record_fake(state_dir: &std::path::Path, count: usize, artifact_size: usize) -> ExitStatus {
    let store = match StateStore::open(state_dir) {
        Ok(store) => store,
        Err(err) => return error(&err),
    };
    let lock = match store.lock() {
        Ok(lock) => lock,
        Err(err) => return error(&err),
    };
    if let Some(pid) = lock.took_over_from {
        let _ = writeln!(std::io::stderr(), "note: took over a stale lock of process {pid}");
    }
    let seed = rand::random::<u64>();
    for idx in 0..count {
        let id = format!("fake/{seed:016x}/{idx}");
        let hash = file_digest(id.as_bytes());
        let payload: Vec<u8> = (0..artifact_size).map(|i| (i as u64 ^ seed ^ idx as u64) as u8).collect();
        let record = TaskRecord {
            id: id.clone(),
            kind: "bench".into(),
            outcome: Outcome::Success,
            manifest: vec![ManifestEntry { name: "seq".into(), value: idx.to_string(), origin: None }],
            artifacts: vec![("result.json".into(), ArtifactSource::Bytes(payload))],
        };
        if let Err(err) = store.record(hash, record) {
            return error(&err);
        }
    }
    drop(lock);
    ExitStatus::Success
}
