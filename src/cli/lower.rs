//! `ix lower`: an InferenceX master-config YAML file printed as an equivalent, formatted `.ix` file.

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::LowerArgs;
use crate::cli::matrix::fail;
use crate::ir::inferencex;
use crate::ir::to_dsl::{ToDsl, to_dsl};
use crate::source::SourceMap;
use crate::syntax::format::format_file;
use crate::workspace::{FileRole, read_source};

pub(crate) fn lower(args: &LowerArgs) -> ExitStatus {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let Some(file) = read_source(&mut sources, &args.file, FileRole::Config, &mut diags) else {
        return fail(&sources, &diags);
    };
    let (sweep, lower_diags) = inferencex::lower_master_configs(&sources, &[file]);
    diags.extend(lower_diags);
    if diags.iter().any(|d| d.is_error()) {
        return fail(&sources, &diags);
    }
    let name =
        std::path::Path::new(&args.file).file_name().map_or(args.file.clone(), |n| n.to_string_lossy().into_owned());
    let options =
        ToDsl { header: Some(format!("lowered from {name} by `ix lower`")), runners_path: args.runners.clone() };
    let text = format_file(&to_dsl(&sweep, &options));
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    ExitStatus::Success
}
