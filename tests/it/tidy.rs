//! Layering rules checked on the source text, as rust-analyzer's tidy tests do: the front ends
//! (`yaml`, `syntax`, `ir`) are pure functions of text, so they can run in an editor, a fuzzer or
//! a salsa query without surprises.

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

/// The non-comment code of a Rust file (line comments and doc comments dropped).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn front_ends_use_no_filesystem_environment_salsa_or_network() {
    let root = project_root().join("src");
    let mut files = vec![root.join("yaml.rs")];
    rust_files(&root.join("syntax"), &mut files);
    rust_files(&root.join("ir"), &mut files);
    let forbidden = [
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
    let mut found = Vec::new();
    for file in &files {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for (idx, line) in text.lines().enumerate() {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!("{}:{}: `{word}`: {}", file.display(), idx + 1, line.trim()));
                }
            }
        }
    }
    assert!(files.len() > 5, "the front-end files were found: {files:?}");
    assert!(found.is_empty(), "the front ends must stay pure:\n{}", found.join("\n"));
}
