//! Layering rules checked on the source text, as rust-analyzer's tidy tests do: the front ends
//! (`yaml`, `syntax`, `ir`) and expansion (`expand`) are pure functions of text and values, so
//! they can run in an editor, a fuzzer or a salsa query without surprises; the lower stages
//! (`db`, `expand`) never reach up into planning, the session or the CLI.

use std::path::{Path, PathBuf};

use crate::util::project_root;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The non-comment code of a Rust file (line comments and doc comments dropped), with grouped
/// imports spelled out: `use crate::{db, plan::X};` also reads as `crate::db` and `crate::plan`.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    // A `use` item may span lines: join each one before expanding it.
    // (the item so far, how many lines it spans)
    let mut pending: Option<(String, usize)> = None;
    for line in lines {
        let trimmed = line.trim();
        let (item, spans) = match pending.take() {
            Some((mut item, spans)) => {
                item.push(' ');
                item.push_str(trimmed);
                (item, spans + 1)
            }
            None if trimmed.starts_with("use ") || trimmed.starts_with("pub use ") => (trimmed.to_string(), 1),
            None => {
                out.push(line.to_string());
                continue;
            }
        };
        if !item.ends_with(';') {
            pending = Some((item, spans));
            continue;
        }
        let mut expanded = item.clone();
        if let Some(open) = item.find("::{") {
            let prefix = item[..open].trim_start_matches("pub ").trim_start_matches("use ").trim();
            let inner = item[open + 3..].trim_end_matches(';').trim_end_matches('}');
            for name in inner.split(',') {
                let name = name.trim().split("::").next().unwrap_or("").trim_matches(|c| c == '{' || c == '}');
                if !name.is_empty() {
                    expanded.push_str(&format!(" {prefix}::{name}"));
                }
            }
        }
        out.push(expanded);
        // Keep line numbers: the joined lines become empty ones.
        out.extend(std::iter::repeat_n(String::new(), spans - 1));
    }
    out.join("\n")
}

/// Every line of `files` (code only) holding one of `forbidden`, as `path:line: `word`: line`.
fn violations(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for (idx, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!("{}:{}: `{word}`: {}", file.display(), idx + 1, line.trim()));
                }
            }
        }
    }
    found
}

/// Side effects and the modules that carry them: what pure stages must not use.
const IMPURE: [&str; 12] = [
    "std::fs",
    "fs::",
    "std::env",
    "env::var",
    "salsa",
    "std::net",
    "reqwest",
    "tokio",
    "std::process",
    "crate::db",
    "crate::workspace",
    "crate::exec",
];

fn files_of(root: &Path, modules: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for module in modules {
        let file = root.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        let dir = root.join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
    }
    files
}

#[test]
fn front_ends_and_expansion_use_no_filesystem_environment_salsa_or_network() {
    let root = project_root().join("src");
    let files = files_of(&root, &["yaml", "syntax", "ir", "expand"]);
    assert!(files.len() > 8, "the front-end and expansion files were found: {files:?}");
    assert!(files.iter().any(|f| f.ends_with("expand/select.rs")), "{files:?}");
    let found = violations(&files, &IMPURE);
    assert!(found.is_empty(), "the front ends and expansion must stay pure:\n{}", found.join("\n"));
}

#[test]
fn db_and_expand_do_not_reach_up_into_plan_session_or_cli() {
    let root = project_root().join("src");
    let files = files_of(&root, &["db", "expand"]);
    assert!(files.iter().any(|f| f.ends_with("db.rs")), "{files:?}");
    let found = violations(&files, &["crate::plan", "crate::session", "crate::cli"]);
    assert!(found.is_empty(), "`db` and `expand` are below planning:\n{}", found.join("\n"));
}

/// The scanner itself finds what it must: direct paths, grouped and multi-line imports, and not
/// comments.
#[test]
fn the_tidy_scanner_sees_grouped_imports_and_skips_comments() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.rs");
    std::fs::write(
        &file,
        "// crate::plan in a comment\nuse crate::{\n    db,\n    plan::Plan,\n};\nfn f() { std::fs::read(\"x\"); }\n",
    )
    .unwrap();
    let found = violations(std::slice::from_ref(&file), &["crate::plan", "crate::db", "std::fs"]);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found.iter().any(|line| line.contains("`crate::db`")), "{found:#?}");
    assert!(!found.iter().any(|line| line.contains("sample.rs:1:")), "{found:#?}");
}

/// Functions of `src/` (at least `MIN_LINES` long) whose bodies are the same text, trimmed line
/// by line: one piece of logic written twice. rustfmt puts a function's closing brace at the
/// indentation of its `fn` line, which is what ends a body here.
fn duplicate_bodies(files: &[PathBuf]) -> Vec<String> {
    const MIN_LINES: usize = 8;
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut idx = 0;
        while idx < lines.len() {
            let line = lines[idx];
            let trimmed = line.trim_start();
            let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "pub(super) fn ", "async fn ", "pub async fn "]
                .iter()
                .any(|prefix| trimmed.starts_with(prefix));
            if !is_fn || trimmed.ends_with(';') {
                idx += 1;
                continue;
            }
            let indent = line.len() - trimmed.len();
            let close = format!("{}}}", " ".repeat(indent));
            let end = (idx + 1..lines.len()).find(|&j| lines[j] == close).unwrap_or(lines.len());
            if end - idx >= MIN_LINES {
                let body: Vec<&str> = lines[idx + 1..end].iter().map(|l| l.trim()).collect();
                let at = format!("{}:{}", file.display(), idx + 1);
                if let Some(first) = seen.insert(body.join("\n"), at.clone()) {
                    found.push(format!("{at} repeats {first}"));
                }
            }
            idx = end.max(idx + 1);
        }
    }
    found
}

#[test]
fn no_function_body_is_written_twice() {
    let mut files = Vec::new();
    rust_files(&project_root().join("src"), &mut files);
    files.sort();
    assert!(files.len() > 50, "{files:?}");
    let found = duplicate_bodies(&files);
    assert!(found.is_empty(), "the same logic in two places (make one call the other):\n{}", found.join("\n"));
    // The scan finds a copy.
    let dir = tempfile::tempdir().unwrap();
    let body = "fn a(x: u32) -> u32 {\n    let y = x + 1;\n    let z = y * 2;\n    let w = z - 3;\n    let v = w / 4;\n    let u = v % 5;\n    let t = u + 6;\n    t * 7\n}\n";
    std::fs::write(dir.path().join("one.rs"), body).unwrap();
    std::fs::write(dir.path().join("two.rs"), format!("// a copy\n{}", body.replace("fn a", "pub fn b"))).unwrap();
    let copies = duplicate_bodies(&[dir.path().join("one.rs"), dir.path().join("two.rs")]);
    assert_eq!(copies.len(), 1, "{copies:?}");
}
