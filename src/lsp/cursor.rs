//! What is under the cursor: the word, and for YAML the chain of keys above a line.

/// Whether a byte belongs to a name (`model-prefix`, `sim-fast`, `dsr1-fp8-h200`, `1k`).
fn is_word(ch: char) -> bool {
    ch.is_alphanumeric() || matches!(ch, '-' | '_' | '.')
}

/// The word around `offset` and its byte range (empty when the cursor is not on one).
pub(crate) fn word_at(text: &str, offset: usize) -> (String, usize, usize) {
    let offset = floor(text, offset);
    let start =
        text[..offset].char_indices().rev().take_while(|(_, ch)| is_word(*ch)).last().map_or(offset, |(i, _)| i);
    let end = text[offset..].char_indices().find(|(_, ch)| !is_word(*ch)).map_or(text.len(), |(i, _)| offset + i);
    (text[start..end].to_string(), start, end)
}

fn floor(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The line holding `offset`: its start, and its text up to the cursor.
pub(crate) fn line_prefix(text: &str, offset: usize) -> (usize, &str) {
    let offset = floor(text, offset);
    let start = text[..offset].rfind('\n').map_or(0, |idx| idx + 1);
    (start, &text[start..offset])
}

/// The column of a YAML line's key (after its indentation and any `- `), and the key if the
/// line is `key:` or `key: value`.
fn yaml_key(line: &str) -> (usize, Option<&str>) {
    let trimmed = line.trim_start();
    let mut indent = line.len() - trimmed.len();
    let mut rest = trimmed;
    while let Some(after) = rest.strip_prefix("- ") {
        indent += 2;
        rest = after.trim_start();
    }
    if rest.starts_with('#') || rest.is_empty() {
        return (usize::MAX, None);
    }
    let key = rest.split_once(':').map(|(key, _)| key.trim()).filter(|key| !key.is_empty() && !key.contains(' '));
    (indent, key)
}

/// The keys enclosing the line at `offset`, outermost first (the entry key of a master config
/// first). The line's own key is not included.
pub(crate) fn yaml_parents(text: &str, offset: usize) -> Vec<String> {
    let (line_start, prefix) = line_prefix(text, offset);
    let line_end = text[line_start..].find('\n').map_or(text.len(), |idx| line_start + idx);
    let (mut indent, _) = yaml_key(&text[line_start..line_end]);
    if indent == usize::MAX {
        // An empty line: the cursor's column is its indentation.
        indent = prefix.len() - prefix.trim_start_matches([' ', '-']).len();
    }
    let mut parents = Vec::new();
    for line in text[..line_start].lines().rev() {
        if indent == 0 {
            break;
        }
        let (col, key) = yaml_key(line);
        if col < indent
            && let Some(key) = key
        {
            parents.push(key.to_string());
            indent = col;
        }
    }
    parents.reverse();
    parents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_parents_follow_indentation_and_list_dashes() {
        let text = "dsr1:\n  image: x\n  seq-len-configs:\n  - isl: 1024\n    search-space:\n    - { tp: 8 }\n    - tp: 4\n      conc-start: 4\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(yaml_parents(text, at("image")), ["dsr1"]);
        assert_eq!(yaml_parents(text, at("isl")), ["dsr1", "seq-len-configs"]);
        assert_eq!(yaml_parents(text, at("conc-start")), ["dsr1", "seq-len-configs", "search-space"]);
        assert_eq!(word_at(text, at("start")).0, "conc-start");
    }
}
