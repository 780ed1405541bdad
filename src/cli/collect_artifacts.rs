//! `ix collect-artifacts DIR`: folds downloaded per-task artifacts into the state store, each
//! verified against its task hash; tampered or unknown ones are rejected (exit 1).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ExitStatus;
use crate::cli::args::{CollectArtifactsArgs, SweepInputArgs};
use crate::exec::ExecutorKind;
use crate::exec::gha;
use crate::exec::store::DirStore;

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
    let known: Option<Vec<String>> = match &args.config_files {
        Some(files) => {
            let input = SweepInputArgs {
                config_files: files.clone(),
                runner_config: args.runner_config.clone(),
                config_keys: None,
                state: args.state.clone(),
            };
            // The executor is part of the key; artifacts come from local runs inside matrix jobs.
            match super::run::load_tasks(&input, &|_| ExecutorKind::Local) {
                Ok((tasks, _)) => Some(tasks.into_iter().map(|k| k.task.hash).collect()),
                Err(status) => return status,
            }
        }
        None => None,
    };
    let is_known = |hash: &str| known.as_ref().is_none_or(|k| k.iter().any(|h| h == hash));
    let store = DirStore::new(Path::new(&args.state));
    let mut folders = Vec::new();
    manifests(Path::new(&args.dir), &mut folders);
    let mut out = String::new();
    let mut err = String::new();
    let (mut folded, mut rejected) = (0, 0);
    for folder in folders {
        match gha::verify(&folder, Some(&is_known)).and_then(|(m, bytes)| {
            gha::fold(&store, &m, &bytes)?;
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
