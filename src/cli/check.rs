//! `ix check`: validate files and print every diagnostic (human or JSON).

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::{CheckArgs, DiagFormat};
use crate::diag::{self, RenderOptions};
use crate::ir::{inferencex, runners};
use crate::source::SourceMap;
use crate::workspace::{self, FileRole, read_source};
use crate::yaml::{self, NodeKind};

pub(crate) fn check(args: &CheckArgs) -> ExitStatus {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let mut configs = Vec::new();
    let mut default_files = Vec::new();
    if args.files.is_empty() && args.runners.is_empty() {
        default_files = workspace::existing_default_master_configs();
        let runners = workspace::default_runner_config();
        if std::path::Path::new(&runners).is_file() {
            default_files.push(runners);
        }
        if default_files.is_empty() {
            let _ = writeln!(
                std::io::stderr(),
                "error: no files given, and neither `configs/` nor `.github/configs/` holds InferenceX's master configs"
            );
            return ExitStatus::Error;
        }
    }
    for path in &args.runners {
        if let Some(file) = read_source(&mut sources, path, FileRole::Runners, &mut diags) {
            runners::lower_runners(&sources, file, &mut diags);
        }
    }
    let mut yaml_files = Vec::new();
    for path in args.files.iter().chain(&default_files) {
        let Some(file) = read_source(&mut sources, path, FileRole::Config, &mut diags) else { continue };
        if workspace::is_dsl_path(path) {
            workspace::lower_dsl_file(&mut sources, file, &mut diags);
        } else {
            yaml_files.push(file);
        }
    }
    // Each YAML file is parsed once (files in parallel), then read as runners or master config.
    let docs: Vec<_> = yaml_files.iter().map(|&file| (file, sources.get(file).text.as_ref())).collect();
    let trees = yaml::parse_many(&docs);
    let mut config_diags = Vec::new();
    for (&file, tree) in yaml_files.iter().zip(&trees) {
        match tree {
            Ok(root) if looks_like_runners(root) => {
                runners::lower_runners_root(&sources, file, root, &mut diags);
            }
            Ok(root) => configs.push((file, inferencex::lower_master_root(&sources, file, root, &mut config_diags))),
            Err(diag) => {
                config_diags.push(diag.clone());
                configs.push((file, Vec::new()));
            }
        }
    }
    let (_, merge_diags) = crate::ir::merge_files(&sources, configs);
    diags.extend(config_diags);
    diags.extend(merge_diags);
    let n_errors = diags.iter().filter(|d| d.is_error()).count();
    match args.format {
        DiagFormat::Json => {
            let json = serde_json::to_string_pretty(&diag::to_json(&sources, &diags)).unwrap_or_default();
            let _ = writeln!(std::io::stdout().lock(), "{json}");
        }
        DiagFormat::Human => {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(diag::render(&sources, &diags, RenderOptions::for_terminal()).as_bytes());
            let n_files = args.files.len() + args.runners.len() + default_files.len();
            let _ = if n_errors == 0 {
                writeln!(stderr, "checked {n_files} file(s): no errors")
            } else {
                writeln!(stderr, "checked {n_files} file(s): {n_errors} error(s)")
            };
        }
    }
    if n_errors == 0 { ExitStatus::Success } else { ExitStatus::Failure }
}

/// A Feb-2026 runners file maps names to lists, today's has a `labels` mapping; a master
/// config maps names to mappings that are entries.
fn looks_like_runners(root: &yaml::Node) -> bool {
    match &root.kind {
        NodeKind::Map(entries) => {
            let labels = entries
                .iter()
                .any(|(key, value)| key.as_str() == Some("labels") && matches!(value.kind, NodeKind::Map(_)));
            labels || (!entries.is_empty() && entries.iter().all(|(_, value)| matches!(value.kind, NodeKind::Seq(_))))
        }
        _ => false,
    }
}
