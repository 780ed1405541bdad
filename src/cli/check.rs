//! `ix check`: validate files and print every diagnostic (human or JSON).

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::{CheckArgs, DiagFormat};
use crate::diag::{self, RenderOptions};
use crate::workspace::{self, CheckFile, Checked};

pub(crate) fn check(args: &CheckArgs) -> ExitStatus {
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
    let files: Vec<CheckFile> = args.files.iter().chain(&default_files).map(|path| CheckFile::disk(path)).collect();
    let runners: Vec<CheckFile> = args.runners.iter().map(|path| CheckFile::disk(path)).collect();
    let Checked { sources, diags, .. } = workspace::check_sources(&files, &runners);
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
