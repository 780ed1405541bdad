//! `ix image resolve IMAGE...`: prints `IMAGE sha256:…` per image, in the order given, asking
//! registries in parallel; each image that cannot be resolved is reported on stderr (exit 1)
//! while the others still print.

use std::io::Write;
use std::time::Duration;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::cli::ExitStatus;
use crate::cli::args::{ImageCommand, ImageResolveArgs};
use crate::diag::RenderOptions;
use crate::image::{ImageRef, ResolveOptions, resolve_all_blocking};

/// Dispatches `ix image ...`.
pub(super) fn image(command: ImageCommand) -> ExitStatus {
    match command {
        ImageCommand::Resolve(args) => resolve(&args),
    }
}

/// Renders one error on stderr as miette does, but never breaking a word (a URL stays whole).
fn report(error: &dyn miette::Diagnostic) {
    let options = RenderOptions::for_terminal();
    let theme = if options.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler =
        GraphicalReportHandler::new_themed(theme).with_width(options.width).with_break_words(false).with_links(false);
    let mut text = String::new();
    if handler.render_report(&mut text, error).is_err() {
        text = error.to_string();
    }
    let _ = writeln!(std::io::stderr(), "{}", text.trim_end());
}

fn resolve(args: &ImageResolveArgs) -> ExitStatus {
    let mut options = ResolveOptions::from_env();
    if let Some(secs) = args.timeout {
        if !(secs.is_finite() && secs > 0.0) {
            let _ =
                writeln!(std::io::stderr(), "error: `--timeout` must be a positive number of seconds, not `{secs}`");
            return ExitStatus::Error;
        }
        options.timeout = Duration::from_secs_f64(secs);
    }
    options.insecure_registries.extend(args.insecure_registries.iter().cloned());
    let parsed: Vec<Result<ImageRef, _>> = args.images.iter().map(|text| ImageRef::parse(text)).collect();
    let valid: Vec<ImageRef> = parsed.iter().filter_map(|image| image.as_ref().ok().cloned()).collect();
    let mut resolved = resolve_all_blocking(&valid, &options).into_iter();
    let mut stdout = std::io::stdout().lock();
    let mut failed = false;
    for (text, image) in args.images.iter().zip(parsed) {
        let result = match image {
            Ok(_) => resolved.next(),
            Err(error) => {
                failed = true;
                report(&error);
                continue;
            }
        };
        match result {
            Some(Ok(digest)) => {
                if writeln!(stdout, "{text} {digest}").is_err() {
                    // A closed stdout (`| head`) ends the output quietly.
                    return if failed { ExitStatus::Failure } else { ExitStatus::Success };
                }
            }
            Some(Err(error)) => {
                failed = true;
                report(&error);
            }
            None => failed = true,
        }
    }
    if failed { ExitStatus::Failure } else { ExitStatus::Success }
}
