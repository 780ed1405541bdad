//! `ix report DIR [-o FILE] [--format html|md]`: loads aggregate records and writes the rendered
//! report. Rendering lives in `crate::report`.

use super::ExitStatus;
use super::args::{ReportArgs, ReportFormat};
use super::results::{fail, print_stdout, warn_skipped, write_file};
use crate::report::{render_html, render_markdown};
use crate::results::load_report_records;

/// Runs `ix report`.
pub(super) fn report(args: &ReportArgs) -> ExitStatus {
    let records = match load_report_records(&args.dir, args.skip_malformed) {
        Ok(loaded) => warn_skipped(loaded),
        Err(error) => return fail(error),
    };
    let text = match args.format {
        ReportFormat::Html => render_html(&records),
        ReportFormat::Md => render_markdown(&records),
    };
    match &args.output {
        Some(path) => match write_file(path, &text) {
            Ok(()) => ExitStatus::Success,
            Err(error) => fail(error),
        },
        None => {
            print_stdout(&text);
            ExitStatus::Success
        }
    }
}
