//! `ix collect-artifacts DIR`: folds downloaded per-task artifacts into the state store, each
//! verified against the engine's plan (a bench task of it, result matching its blake3) and
//! recorded in the engine's state store; tampered or unknown ones are rejected (exit 1).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ExitStatus;
use crate::cli::args::{CollectArtifactsArgs, SweepInputArgs};
use crate::exec::ExecutorKind;
use crate::exec::gha;

fn manifests(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            manifests(&path, found);
        } else if path.file_name().is_some_and(|n| n == "manifest.json")
            && let Some(parent) = path.parent()
        {
            found.push(parent.to_path_buf());
        }
    }
}

pub(crate) fn collect_artifacts(args: &CollectArtifactsArgs) -> ExitStatus {
    collect_engine(args)
}

/// Verifies against the engine's plan and records in the engine's state store.
fn collect_engine(args: &CollectArtifactsArgs) -> ExitStatus {
    use crate::exec::{Outcome, Recorder, TaskOutcome};
    let input = SweepInputArgs {
        config_files: args.config_files.clone().unwrap_or_default(),
        runner_config: args.runner_config.clone(),
        config_keys: None,
        state: args.state.clone(),
        run_evals: false,
        max_jobs: crate::expand::select::DEFAULT_MAX_JOBS,
        repeat: 1,
    };
    let loaded = super::run::load_engine(&input, &[], &|_| ExecutorKind::Local, true, Default::default());
    let (engine, _lock) = match loaded.map(|loaded| (loaded.engine, loaded.lock)) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let bench =
        |hash: &str| engine.tasks.iter().find(|t| t.hash == hash && matches!(t.work, crate::exec::Work::Bench(_)));
    let is_known = |hash: &str| bench(hash).is_some();
    let work = PathBuf::from(&args.state).join("work");
    let fold = |manifest: &gha::Manifest, bytes: &[u8]| -> Result<(), gha::ArtifactError> {
        let task = bench(&manifest.task)
            .ok_or_else(|| gha::ArtifactError::UnknownTask { folder: String::new(), task: manifest.task.clone() })?;
        let name = Path::new(&manifest.result_file).file_name().map(|n| n.to_owned()).unwrap_or_default();
        let path = work.join(&manifest.task).join(name);
        crate::exec::atomic::write_atomic(&path, bytes)?;
        let outcome = TaskOutcome {
            outcome: Outcome::Done { result: path },
            attempts: 1,
            elapsed: std::time::Duration::ZERO,
            log: None,
            node: None,
        };
        engine.recorder.record(task, &outcome)?;
        Ok(())
    };
    fold_all(args, &is_known, &fold)
}

type FoldFn<'a> = &'a dyn Fn(&gha::Manifest, &[u8]) -> Result<(), gha::ArtifactError>;

fn fold_all(args: &CollectArtifactsArgs, is_known: &dyn Fn(&str) -> bool, fold: FoldFn<'_>) -> ExitStatus {
    let mut folders = Vec::new();
    manifests(Path::new(&args.dir), &mut folders);
    let mut out = String::new();
    let mut err = String::new();
    let (mut folded, mut rejected) = (0, 0);
    for folder in folders {
        match gha::verify(&folder, is_known).and_then(|(m, bytes)| {
            fold(&m, &bytes)?;
            Ok(m)
        }) {
            Ok(manifest) => {
                folded += 1;
                out.push_str(&format!("folded {} {}\n", manifest.task, manifest.label));
            }
            Err(error) => {
                rejected += 1;
                err.push_str(&format!("error: rejected: {error}\n"));
            }
        }
    }
    out.push_str(&format!("{folded} folded, {rejected} rejected\n"));
    let _ = std::io::stderr().write_all(err.as_bytes());
    let _ = std::io::stdout().write_all(out.as_bytes());
    if rejected > 0 { ExitStatus::Failure } else { ExitStatus::Success }
}
