//! Positions as LSP counts them (lines, and UTF-16 code units within a line) and byte offsets
//! as `ix` counts them, and the edits an editor sends.
//!
//! Every conversion clamps: a line past the end is the end of the text, a column past the end
//! of its line is the line's end, and a column inside a character (half of a surrogate pair) is
//! the start of that character. No input makes these functions panic.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The byte offset of an LSP position in `text` (clamped, always on a char boundary).
pub fn offset(text: &str, position: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..position.line {
        match text[line_start..].find('\n') {
            Some(idx) => line_start += idx + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |idx| line_start + idx);
    let mut units = 0u32;
    for (idx, ch) in text[line_start..line_end].char_indices() {
        let width = ch.len_utf16() as u32;
        if units + width > position.character {
            return line_start + idx;
        }
        units += width;
    }
    line_end
}

/// The LSP position of a byte offset (clamped to the text; an offset inside a character counts
/// as that character's start).
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = memchr::memchr_iter(b'\n', before.as_bytes()).count();
    let line_start = before.rfind('\n').map_or(0, |idx| idx + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    Position { line: u32::try_from(line).unwrap_or(u32::MAX), character: u32::try_from(character).unwrap_or(u32::MAX) }
}

/// The LSP range of a byte range.
pub fn range(text: &str, start: usize, end: usize) -> Range {
    Range { start: position(text, start), end: position(text, end.max(start)) }
}

/// Applies one change (a whole new text, or a range replaced) to `text`. A range whose end is
/// before its start is read as the range between the two.
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text.clone(),
        Some(range) => {
            let a = offset(text, range.start);
            let b = offset(text, range.end);
            let (start, end) = if a <= b { (a, b) } else { (b, a) };
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn positions_count_utf16_units_and_clamp() {
        let text = "a𝄞b\nxy\n";
        // 𝄞 is 4 bytes, 2 UTF-16 units.
        assert_eq!(offset(text, pos(0, 1)), 1);
        assert_eq!(offset(text, pos(0, 2)), 1, "inside the surrogate pair: the char's start");
        assert_eq!(offset(text, pos(0, 3)), 5);
        assert_eq!(offset(text, pos(0, 99)), 6);
        assert_eq!(offset(text, pos(1, 1)), 8);
        assert_eq!(offset(text, pos(7, 0)), text.len());
        assert_eq!(position(text, 5), pos(0, 3));
        assert_eq!(position(text, 3), pos(0, 1), "inside a char: its start");
        assert_eq!(position(text, 99), pos(2, 0));
        for at in 0..=text.len() + 2 {
            let p = position(text, at);
            let back = offset(text, p);
            assert!(back <= at.min(text.len()) && text.is_char_boundary(back));
        }
    }

    #[test]
    fn changes_apply_in_any_order_of_range_ends() {
        let mut text = "hello\nworld\n".to_string();
        let change = |start: Position, end: Position, new: &str| TextDocumentContentChangeEvent {
            range: Some(Range { start, end }),
            range_length: None,
            text: new.to_string(),
        };
        apply_change(&mut text, &change(pos(1, 0), pos(1, 5), "there"));
        assert_eq!(text, "hello\nthere\n");
        apply_change(&mut text, &change(pos(0, 5), pos(0, 0), "bye"));
        assert_eq!(text, "bye\nthere\n");
        apply_change(&mut text, &change(pos(9, 9), pos(12, 0), "!"));
        assert_eq!(text, "bye\nthere\n!");
    }
}
