//! `ix fmt`: rewrite `.ix` files in canonical form, or with `--check` only report which would change.

use std::io::Write;

use crate::cli::ExitStatus;
use crate::cli::args::FmtArgs;
use crate::cli::matrix::fail;
use crate::source::SourceMap;
use crate::syntax;
use crate::syntax::format::format_file;
use crate::workspace::{FileRole, read_source};

pub(crate) fn fmt(args: &FmtArgs) -> ExitStatus {
    let mut sources = SourceMap::new();
    let mut diags = Vec::new();
    let mut unformatted = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for path in &args.files {
        let Some(file) = read_source(&mut sources, path, FileRole::Config, &mut diags) else { continue };
        let text = sources.get(file).text.clone();
        let (ast, syntax_diags) = syntax::parse(file, &text);
        diags.extend(syntax_diags);
        let Some(ast) = ast else { continue };
        let formatted = format_file(&ast);
        if args.stdout {
            let _ = stdout.write_all(formatted.as_bytes());
        } else if formatted != *text {
            if args.check {
                unformatted.push(path.clone());
            } else if let Err(err) = std::fs::write(path, &formatted) {
                let _ = writeln!(stderr, "error: cannot write `{path}`: {err}");
                return ExitStatus::Error;
            }
        }
    }
    if !diags.is_empty() {
        return fail(&sources, &diags);
    }
    for path in &unformatted {
        let _ = writeln!(stderr, "would reformat {path}");
    }
    if unformatted.is_empty() { ExitStatus::Success } else { ExitStatus::Failure }
}
