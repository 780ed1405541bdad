//! Source files and byte spans: what every diagnostic and every IR value points back to.
//!
//! Stages keep cheap `Span`s (file id + byte range); only `diag` turns them into miette types.

use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { file, start, end }
    }

    /// The smallest span covering both (same file assumed; the first one's file wins).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// A value together with the span it came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// One loaded file: its path as the user gave it and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(path: String, text: Arc<str>) -> SourceFile {
        let mut line_starts = vec![0u32];
        line_starts
            .extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|idx| u32::try_from(idx + 1).unwrap_or(u32::MAX)));
        SourceFile { path, text, line_starts }
    }

    /// The 0-based index of the line holding a byte offset, and that line's byte range (without
    /// its newline).
    pub fn line_of(&self, offset: usize) -> (usize, usize, usize) {
        let offset = u32::try_from(offset.min(self.text.len())).unwrap_or(u32::MAX);
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(idx) => idx,
            Err(idx) => idx.saturating_sub(1),
        };
        (idx, self.line_starts[idx] as usize, self.line_end(idx))
    }

    /// The number of lines.
    pub fn n_lines(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of a 0-based line (without its newline).
    pub fn line_range(&self, idx: usize) -> (usize, usize) {
        (self.line_starts[idx] as usize, self.line_end(idx))
    }

    fn line_end(&self, idx: usize) -> usize {
        self.line_starts.get(idx + 1).map_or(self.text.len(), |next| (*next as usize).saturating_sub(1))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(idx) => idx,
            Err(idx) => idx - 1,
        };
        let line_start = self.line_starts[line_idx] as usize;
        let offset = (offset as usize).min(self.text.len());
        let col = self.text.get(line_start..offset).map_or(offset - line_start, |s| s.chars().count());
        (line_idx + 1, col + 1)
    }

    /// The text of a span (empty when out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or("")
    }
}

/// All files of one run, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, path: String, text: Arc<str>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path, text));
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(idx, file)| (FileId(idx as u32), file))
    }
}
