//! Diagnostics: stage errors (stable code + span + message) rendered as miette reports or JSON.
//!
//! Stages build [`Diag`] values and never touch miette; this module alone turns them into
//! `miette::Report`s (terminal) or the `ix.diagnostics/v1` JSON shape (editors, CI annotations).

use std::fmt::Write as _;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Severity};
use serde::Serialize;

use crate::source::{SourceMap, Span};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// A secondary label: another place that explains the primary one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One user-facing problem found by a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub level: Level,
    /// Stable code, e.g. `ix::config::unknown-field`.
    pub code: &'static str,
    pub message: String,
    /// Where the problem is, with the label shown under it. `None` for problems without a
    /// location (a missing file).
    pub primary: Option<Label>,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
}

impl Diag {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diag {
        Diag { level: Level::Error, code, message: message.into(), primary: None, secondary: Vec::new(), help: None }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diag {
        Diag { level: Level::Warning, ..Diag::error(code, message) }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.primary = Some(Label { span, message: label.into() });
        self
    }

    pub fn also(mut self, span: Span, label: impl Into<String>) -> Diag {
        self.secondary.push(Label { span, message: label.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diag {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }
}

/// Options for terminal rendering.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    pub color: bool,
    pub width: usize,
}

impl RenderOptions {
    /// Colour only on a terminal and when `NO_COLOR` is unset.
    pub fn for_terminal() -> RenderOptions {
        use std::io::IsTerminal;
        let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
        RenderOptions { color, width: 100 }
    }

    /// Fixed width, no colour: what golden tests snapshot.
    pub fn plain() -> RenderOptions {
        RenderOptions { color: false, width: 100 }
    }
}

/// Renders diagnostics for a terminal, one after the other.
pub fn render(sources: &SourceMap, diags: &[Diag], options: RenderOptions) -> String {
    let theme = if options.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(options.width).with_links(false);
    let mut out = String::new();
    for diag in diags {
        let mut report =
            MietteDiagnostic::new(shorten(&diag.message)).with_code(diag.code).with_severity(match diag.level {
                Level::Error => Severity::Error,
                Level::Warning => Severity::Warning,
            });
        if let Some(help) = &diag.help {
            report = report.with_help(shorten(help));
        }
        let file = diag.primary.as_ref().map(|label| label.span.file);
        // (message, start, end, primary) of every label shown in the snippet.
        let mut spans: Vec<(&str, usize, usize, bool)> = Vec::new();
        if let Some(primary) = &diag.primary {
            spans.push((&primary.message, primary.span.start as usize, primary.span.end as usize, true));
        }
        for label in &diag.secondary {
            if Some(label.span.file) == file {
                spans.push((&label.message, label.span.start as usize, label.span.end as usize, false));
            }
        }
        let excerpt = file.and_then(|file| Excerpt::new(sources.get(file), &spans));
        let labels = spans
            .iter()
            .map(|&(message, start, end, primary)| {
                let (start, end) = match &excerpt {
                    Some(excerpt) => (excerpt.map(start), excerpt.map(end.min(excerpt.clip_end(start)))),
                    None => (start, end),
                };
                let span = (start, end.saturating_sub(start));
                if primary {
                    LabeledSpan::new_primary_with_span(Some(shorten(message)), span)
                } else {
                    LabeledSpan::new_with_span(Some(shorten(message)), span)
                }
            })
            .collect::<Vec<_>>();
        report = report.with_labels(labels);
        let report: miette::Report = match (file, excerpt) {
            (Some(_), Some(excerpt)) => miette::Report::new(report).with_source_code(excerpt),
            (Some(file), None) => {
                let source = sources.get(file);
                miette::Report::new(report)
                    .with_source_code(NamedSource::new(source.path.clone(), source.text.to_string()))
            }
            (None, _) => miette::Report::new(report),
        };
        let _ = handler.render_report(&mut out, report.as_ref());
        // Labels in other files than the primary one are listed as plain locations.
        for label in &diag.secondary {
            if Some(label.span.file) != file {
                let source = sources.get(label.span.file);
                let (line, col) = source.line_col(label.span.start);
                let _ = writeln!(out, "  note: {}:{line}:{col}: {}", source.path, label.message);
            }
        }
    }
    out
}

/// The longest message, label or help shown: a message quoting a multi-megabyte value is cut.
const MAX_MESSAGE: usize = 500;

/// `text`, cut to [`MAX_MESSAGE`] bytes (on a char boundary) with a note of its full length.
fn shorten(text: &str) -> String {
    if text.len() <= MAX_MESSAGE {
        return text.to_string();
    }
    let cut = floor_char(text, MAX_MESSAGE);
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

/// A line longer than this is cut in a snippet (a 4 MB token once rendered as 28 MB of
/// diagnostics, the whole line repeated under every label).
const LONG_LINE: usize = 1000;

/// How much of a cut line a snippet shows, around the first label on it.
const LINE_WINDOW: usize = 200;

/// The part of a file a snippet shows when it holds a very long line: the lines around the
/// labels, each long line cut to a window around its first label (marked `…`). Line numbers stay
/// those of the file; columns on a cut line count from the window.
struct Excerpt {
    name: String,
    text: String,
    /// 0-based line of the excerpt's first line in the file.
    first_line: usize,
    /// Per line: (window start in the file, window end in the file, window start in `text`).
    windows: Vec<(usize, usize, usize)>,
    /// The file's line ranges, for [`Excerpt::clip_end`].
    line_ends: Vec<(usize, usize)>,
}

impl Excerpt {
    /// `None` when no line near the labels is long (the snippet shows the file as it is).
    fn new(source: &crate::source::SourceFile, spans: &[(&str, usize, usize, bool)]) -> Option<Excerpt> {
        const CONTEXT: usize = 3;
        let lines: Vec<usize> = spans.iter().map(|&(_, start, _, _)| source.line_of(start).0).collect();
        let first = lines.iter().min()?.saturating_sub(CONTEXT);
        let last = (lines.iter().max()? + CONTEXT).min(source.n_lines() - 1);
        let long = (first..=last).any(|idx| {
            let (start, end) = source.line_range(idx);
            end - start > LONG_LINE
        });
        let spans_long_text = spans.iter().any(|&(_, start, end, _)| end.saturating_sub(start) > 64 * LONG_LINE);
        if !long && !spans_long_text {
            return None;
        }
        let text_of = &source.text;
        let mut excerpt = Excerpt {
            name: source.path.clone(),
            text: String::new(),
            first_line: first,
            windows: Vec::new(),
            line_ends: Vec::new(),
        };
        for idx in first..=last {
            let (line_start, line_end) = source.line_range(idx);
            excerpt.line_ends.push((line_start, line_end));
            let (mut from, mut to) = (line_start, line_end);
            if line_end - line_start > LONG_LINE {
                let anchor = spans
                    .iter()
                    .map(|&(_, start, _, _)| start)
                    .filter(|start| (line_start..=line_end).contains(start))
                    .min()
                    .unwrap_or(line_start);
                from = floor_char(text_of, anchor.saturating_sub(LINE_WINDOW / 4).max(line_start));
                to = floor_char(text_of, (from + LINE_WINDOW).min(line_end));
            }
            if from > line_start {
                excerpt.text.push('…');
            }
            excerpt.windows.push((from, to, excerpt.text.len()));
            excerpt.text.push_str(&text_of[from..to]);
            if to < line_end {
                excerpt.text.push('…');
            }
            excerpt.text.push('\n');
        }
        Some(excerpt)
    }

    /// A file offset in the excerpt (clamped into the window of its line).
    fn map(&self, offset: usize) -> usize {
        let idx = self.line_ends.iter().position(|&(_, end)| offset <= end).unwrap_or(self.line_ends.len() - 1);
        let (from, to, at) = self.windows[idx];
        at + offset.clamp(from, to) - from
    }

    /// The end of the line holding `offset` (a label is cut there, so a huge span does not pull
    /// in every line it covers).
    fn clip_end(&self, offset: usize) -> usize {
        self.line_ends.iter().find(|&&(_, end)| offset <= end).map_or(offset, |&(_, end)| end)
    }
}

fn floor_char(text: &str, mut idx: usize) -> usize {
    while !text.is_char_boundary(idx) {
        idx -= 1;
    }
    idx
}

impl miette::SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.as_str().read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// The JSON shape of one diagnostic (`ix check --format json`).
#[derive(Debug, Serialize)]
pub struct DiagJson {
    pub path: Option<String>,
    pub start: Option<Position>,
    pub end: Option<Position>,
    pub byte_range: Option<[u32; 2]>,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<LabelJson>,
    pub help: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Serialize)]
pub struct LabelJson {
    pub path: String,
    pub start: Position,
    pub end: Position,
    pub byte_range: [u32; 2],
    pub message: String,
    pub primary: bool,
}

fn label_json(sources: &SourceMap, label: &Label, primary: bool) -> LabelJson {
    let source = sources.get(label.span.file);
    let (line, column) = source.line_col(label.span.start);
    let (end_line, end_column) = source.line_col(label.span.end);
    LabelJson {
        path: source.path.clone(),
        start: Position { line, column },
        end: Position { line: end_line, column: end_column },
        byte_range: [label.span.start, label.span.end],
        message: shorten(&label.message),
        primary,
    }
}

/// Converts diagnostics to their JSON shape.
pub fn to_json(sources: &SourceMap, diags: &[Diag]) -> Vec<DiagJson> {
    diags
        .iter()
        .map(|diag| {
            let mut labels = Vec::new();
            if let Some(primary) = &diag.primary {
                labels.push(label_json(sources, primary, true));
            }
            labels.extend(diag.secondary.iter().map(|label| label_json(sources, label, false)));
            let primary = labels.first().filter(|label| label.primary);
            DiagJson {
                path: primary.map(|label| label.path.clone()),
                start: primary.map(|label| Position { line: label.start.line, column: label.start.column }),
                end: primary.map(|label| Position { line: label.end.line, column: label.end.column }),
                byte_range: primary.map(|label| label.byte_range),
                severity: match diag.level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                },
                code: diag.code,
                message: shorten(&diag.message),
                labels,
                help: diag.help.as_deref().map(shorten),
            }
        })
        .collect()
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        // A suggestion needs a distance within a third of the longer length, so lengths that
        // differ more than that never qualify; skipping them keeps a huge name from costing
        // an edit distance over megabytes (issue #17).
        let (long, short) = (name.len().max(candidate.len()), name.len().min(candidate.len()));
        if long > 3 * short.max(1) + 3 {
            continue;
        }
        let distance = edit_distance(name, candidate);
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    let (distance, candidate) = best?;
    let limit = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
    (distance <= limit).then_some(candidate)
}

/// Optimal-string-alignment distance: edits, with a swap of neighbours counting as one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best =
                (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["conc-start", "conc-end", "conc-list", "tp", "ep"];
        assert_eq!(did_you_mean("conc-ned", fields), Some("conc-end"));
        assert_eq!(did_you_mean("concend", fields), Some("conc-end"));
        assert_eq!(did_you_mean("batch-size", fields), None);
        assert_eq!(did_you_mean("modle", ["model", "image"]), Some("model"));
    }
}
