//! Changelog entries: parsing and validating the added YAML (§6.1), and resolving their config
//! keys (wildcards included) against the master configs (§6.3). Every problem is a diagnostic
//! placed at its line in the head file.

use serde_json::{Value, json};

use super::diff::AddedLines;
use crate::diag::Diag;
use crate::expand::Scenario;
use crate::ir::Sweep;
use crate::source::{FileId, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

/// One validated changelog entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub config_keys: Vec<Spanned<String>>,
    pub description: Vec<String>,
    pub pr_link: String,
    pub evals_only: bool,
    /// Fields of today's changelog (INFERENCEX-HEAD §6.1); defaults on Feb-2026 entries.
    pub all_evals: bool,
    pub append_only: bool,
    pub eval_min_prefill_ep: Option<i64>,
    /// `scenario-type`: the scenarios the entry covers; `None` means both.
    pub scenario_type: Option<Vec<Scenario>>,
    /// The entry's span in the head file.
    pub span: Span,
}

impl Entry {
    /// The entry as the reference's metadata shows it.
    pub fn to_json(&self) -> Value {
        json!({
            "config-keys": self.config_keys.iter().map(|k| k.value.clone()).collect::<Vec<_>>(),
            "description": self.description,
            "pr-link": self.pr_link,
            "evals-only": self.evals_only,
        })
    }

    /// The entry as today's processor shows it: the new flags always, the optional fields only
    /// when set.
    pub fn to_json_head(&self) -> Value {
        let mut value = json!({
            "config-keys": self.config_keys.iter().map(|k| k.value.clone()).collect::<Vec<_>>(),
            "description": self.description,
            "pr-link": self.pr_link,
            "evals-only": self.evals_only,
            "all-evals": self.all_evals,
            "append-only": self.append_only,
        });
        if let Value::Object(map) = &mut value {
            if let Some(ep) = self.eval_min_prefill_ep {
                map.insert("eval-min-prefill-ep".into(), ep.into());
            }
            if let Some(scenarios) = &self.scenario_type {
                map.insert("scenario-type".into(), json!(scenarios.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
            }
        }
        value
    }

    /// The scenarios the entry covers, in its order (both when unrestricted).
    pub fn scenarios(&self) -> Vec<Scenario> {
        self.scenario_type.clone().unwrap_or_else(|| Scenario::ALL.to_vec())
    }
}

/// Maps offsets of the joined added text to offsets in the head file.
struct SpanMap<'a> {
    added_starts: Vec<usize>,
    head_starts: Vec<usize>,
    added: &'a AddedLines,
    head_len: usize,
}

impl SpanMap<'_> {
    fn offset(&self, offset: usize) -> usize {
        let idx = self.added_starts.partition_point(|&start| start <= offset).saturating_sub(1);
        let col = offset - self.added_starts.get(idx).copied().unwrap_or(0);
        let line = self.added.head_lines.get(idx).copied().unwrap_or(1);
        (self.head_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.head_len) + col).min(self.head_len)
    }

    fn span(&self, span: Span) -> Span {
        Span::new(span.file, self.offset(span.start as usize), self.offset(span.end as usize))
    }

    fn diag(&self, mut diag: Diag) -> Diag {
        if let Some(label) = &mut diag.primary {
            label.span = self.span(label.span);
        }
        for label in &mut diag.secondary {
            label.span = self.span(label.span);
        }
        diag
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn string_list(node: &Node, field: &str, diags: &mut Vec<Diag>) -> Vec<Spanned<String>> {
    let NodeKind::Seq(items) = &node.kind else {
        diags.push(
            Diag::error("ix::changelog::invalid-field", format!("`{field}` must be a list of strings"))
                .at(node.span, format!("found {}", node.type_name())),
        );
        return Vec::new();
    };
    if items.is_empty() {
        diags.push(
            Diag::error("ix::changelog::empty-list", format!("`{field}` needs at least one item"))
                .at(node.span, "empty list"),
        );
    }
    let mut out = Vec::new();
    for item in items {
        match item.as_str() {
            Some(text) => out.push(Spanned::new(text.to_string(), item.span)),
            None => diags.push(
                Diag::error("ix::changelog::invalid-field", format!("`{field}` items must be strings"))
                    .at(item.span, format!("found {}", item.type_name())),
            ),
        }
    }
    out
}

fn entry(node: &Node, diags: &mut Vec<Diag>) -> Option<Entry> {
    let NodeKind::Map(fields) = &node.kind else {
        diags.push(
            Diag::error("ix::changelog::invalid-entry", "a changelog entry must be a mapping")
                .at(node.span, format!("found {}", node.type_name())),
        );
        return None;
    };
    let n_before = diags.len();
    let (mut keys, mut description, mut pr_link, mut evals_only) = (None, None, None, false);
    let (mut all_evals, mut append_only, mut eval_min_prefill_ep, mut scenario_type) = (false, None, None, None);
    let boolean = |value: &Node, field: &str, diags: &mut Vec<Diag>| match value.kind {
        NodeKind::Bool(b) => b,
        _ => {
            diags.push(
                Diag::error("ix::changelog::invalid-field", format!("`{field}` must be a boolean"))
                    .at(value.span, format!("found {}", value.type_name())),
            );
            false
        }
    };
    for (key, value) in fields {
        match key.as_str() {
            Some("config-keys") => keys = Some(string_list(value, "config-keys", diags)),
            Some("description") => description = Some(string_list(value, "description", diags)),
            Some("pr-link") => match value.as_str() {
                Some(link) => pr_link = Some(link.to_string()),
                None => diags.push(
                    Diag::error("ix::changelog::invalid-field", "`pr-link` must be a string")
                        .at(value.span, format!("found {}", value.type_name())),
                ),
            },
            Some("evals-only") => match value.kind {
                NodeKind::Bool(b) => evals_only = b,
                _ => diags.push(
                    Diag::error("ix::changelog::invalid-field", "`evals-only` must be a boolean")
                        .at(value.span, format!("found {}", value.type_name())),
                ),
            },
            Some("all-evals") => all_evals = boolean(value, "all-evals", diags),
            Some("append-only") => append_only = Some((boolean(value, "append-only", diags), key.span)),
            Some("eval-min-prefill-ep") => match value.kind {
                NodeKind::Int(ep) if ep >= 1 => eval_min_prefill_ep = Some(ep),
                _ => diags.push(
                    Diag::error(
                        "ix::changelog::invalid-field",
                        "`eval-min-prefill-ep` must be an integer of at least 1",
                    )
                    .at(value.span, format!("found {}", value.type_name())),
                ),
            },
            Some("scenario-type") => {
                let items = string_list(value, "scenario-type", diags);
                let mut scenarios = Vec::new();
                for item in items {
                    match Scenario::parse(&item.value) {
                        Some(scenario) => scenarios.push(scenario),
                        None => diags.push(
                            Diag::error(
                                "ix::changelog::invalid-field",
                                format!("unknown scenario type `{}`", item.value),
                            )
                            .at(item.span, "expected `fixed-seq-len` or `agentic-coding`"),
                        ),
                    }
                }
                scenario_type = Some(scenarios);
            }
            _ => diags.push(Diag::error("ix::changelog::unknown-field", "unknown field in a changelog entry").at(
                key.span,
                "not one of `config-keys`, `description`, `pr-link`, `evals-only`, `all-evals`, \
                     `append-only`, `eval-min-prefill-ep`, `scenario-type`",
            )),
        }
    }
    if let Some((true, span)) = append_only
        && (evals_only || all_evals || eval_min_prefill_ep.is_some())
    {
        diags.push(
            Diag::error(
                "ix::changelog::append-only-combined",
                "`append-only` cannot be combined with `evals-only`, `all-evals` or `eval-min-prefill-ep`",
            )
            .at(span, "append-only entry")
            .help("an append-only entry adds throughput points only; put eval changes in their own entry"),
        );
    }
    for (present, field) in
        [(keys.is_some(), "config-keys"), (description.is_some(), "description"), (pr_link.is_some(), "pr-link")]
    {
        if !present {
            diags.push(
                Diag::error("ix::changelog::missing-field", format!("the entry has no `{field}`"))
                    .at(node.span, format!("`{field}` is required")),
            );
        }
    }
    if diags.len() > n_before {
        return None;
    }
    Some(Entry {
        config_keys: keys.unwrap_or_default(),
        description: description.unwrap_or_default().into_iter().map(|d| d.value).collect(),
        pr_link: pr_link.unwrap_or_default(),
        evals_only,
        all_evals,
        append_only: append_only.is_some_and(|(on, _)| on),
        eval_min_prefill_ep,
        scenario_type,
        span: node.span,
    })
}

/// Parses and validates the added entries. `file` is the head file's id in the caller's source
/// map; spans are placed in it.
pub fn parse_entries(added: &AddedLines, file: FileId, head_text: &str) -> Result<Vec<Entry>, Vec<Diag>> {
    let text = added.text();
    let map = SpanMap {
        added_starts: line_starts(&text),
        head_starts: line_starts(head_text),
        added,
        head_len: head_text.len(),
    };
    if text.trim().is_empty() {
        return Err(vec![
            Diag::error("ix::changelog::no-additions", "no additions found in the changelog file")
                .help("add an entry at the end of the file"),
        ]);
    }
    let root = yaml::parse(file, &text).map_err(|diag| vec![map.diag(diag)])?;
    let items = match &root.kind {
        NodeKind::Null => {
            return Err(vec![Diag::error(
                "ix::changelog::no-entries",
                "no valid YAML entries found in the changelog additions",
            )]);
        }
        NodeKind::Seq(items) => items,
        _ => {
            return Err(vec![
                map.diag(
                    Diag::error("ix::changelog::not-a-list", "the changelog additions must be list entries")
                        .at(root.span, format!("found {}", root.type_name())),
                ),
            ]);
        }
    };
    let mut diags = Vec::new();
    let mut entries = Vec::new();
    for item in items {
        if let Some(mut entry) = entry(item, &mut diags) {
            entry.span = map.span(entry.span);
            for key in &mut entry.config_keys {
                key.span = map.span(key.span);
            }
            entries.push(entry);
        }
    }
    if diags.is_empty() { Ok(entries) } else { Err(diags.into_iter().map(|d| map.diag(d)).collect()) }
}

/// Whole-key match where `*` is any run of characters and everything else is literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Resolves each entry's keys to config keys, in master-config order, deduplicated per entry.
pub fn resolve_keys(sweep: &Sweep, entries: &[Entry]) -> Result<Vec<Vec<String>>, Vec<Diag>> {
    let mut diags = Vec::new();
    let mut resolved = Vec::new();
    for entry in entries {
        let mut keys: Vec<String> = Vec::new();
        for key in &entry.config_keys {
            let matched: Vec<&str> = sweep
                .entries
                .iter()
                .map(|e| e.key.value.as_str())
                .filter(|k| if key.value.contains('*') { wildcard_match(&key.value, k) } else { *k == key.value })
                .collect();
            if matched.is_empty() {
                let (code, message) = if key.value.contains('*') {
                    ("ix::changelog::wildcard-no-match", format!("no config key matches the wildcard `{}`", key.value))
                } else {
                    ("ix::changelog::unknown-key", format!("config key `{}` is not in the master configs", key.value))
                };
                diags.push(Diag::error(code, message).at(key.span, "matches nothing"));
            }
            for k in matched {
                if !keys.iter().any(|have| have == k) {
                    keys.push(k.to_string());
                }
            }
        }
        resolved.push(keys);
    }
    if diags.is_empty() { Ok(resolved) } else { Err(diags) }
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards_match_whole_keys() {
        assert!(wildcard_match("dsr1*", "dsr1-fp8-b200"));
        assert!(wildcard_match("*-trt", "gptoss-fp4-b200-trt"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(wildcard_match("a*", "a"));
        assert!(!wildcard_match("a*b", "ab-"));
        assert!(!wildcard_match("x", "xy"));
    }
}
