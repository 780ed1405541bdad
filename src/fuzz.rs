//! Fuzz targets over everything that parses untrusted bytes (issue #17): the YAML master-config
//! front end, the `.ix` DSL front end, and the result parsers (raw benchmark results, aggregate
//! records, server streams). Test-only.
//!
//! Each target starts from a checked-in corpus (`tests/data/fuzz/<target>/`, every file run as
//! is first) and then runs proptest over mutations of it: byte flips, deletions, duplications and
//! insertions of target-specific tokens (aliases, huge numbers, brackets, stray UTF-8). A target
//! checks more than "no panic": spans stay inside the text, diagnostics stay bounded, what the
//! fast YAML path accepts parses to saphyr's very tree, and what the YAML front end accepts
//! lowers to `.ix` text the DSL accepts and reads back to the same sweep (item 9). The fast YAML
//! path is also checked against saphyr on every YAML file of the InferenceX reference tree.
//!
//! `cargo test` runs a few hundred cases per target. `ci/fuzz.sh` runs each for a time budget
//! (`IX_FUZZ_SECONDS`, the three side by side) under a memory cap; a failure prints the minimal
//! input, to be added to the corpus once fixed. What it does not cover: the tokenizer-backed
//! dataset loaders, the HTTP layer, the filesystem.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use crate::diag::{self, Diag, RenderOptions};
use crate::source::{FileId, SourceMap};

/// The corpus of one target, sorted by file name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("fuzz corpus `{}`: {err}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the `{target}` corpus needs seeds, found {}", files.len());
    files
}

/// One edit of a corpus input; positions are taken modulo the input's length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation(dictionary: &'static [&'static str]) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip(at, byte)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete(at, len)),
        1 => (any::<usize>(), 1usize..256).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        3 => (any::<usize>(), proptest::sample::select(dictionary))
            .prop_map(|(at, token)| Mutation::Insert(at, token.as_bytes().to_vec())),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Flip(at, byte) => {
                if !bytes.is_empty() {
                    bytes[at % len] ^= byte | 1;
                }
            }
            Mutation::Delete(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Duplicate(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Insert(at, token) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, token.iter().copied());
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Runs `check` on every corpus file of `target`, then on mutated corpus inputs: 256 cases, or
/// rounds of 256 until `IX_FUZZ_SECONDS` have passed when that is set (the targets are separate
/// tests, so they run side by side).
fn fuzz(target: &str, dictionary: &'static [&'static str], check: impl Fn(&[u8]) -> Result<(), TestCaseError>) {
    let seeds = corpus(target);
    for (name, bytes) in &seeds {
        if let Err(err) = check(bytes) {
            panic!("fuzz `{target}`: corpus file `{name}` fails: {err}");
        }
    }
    let inputs: Vec<Vec<u8>> = seeds.into_iter().map(|(_, bytes)| bytes).collect();
    let strategy = (0..inputs.len(), proptest::collection::vec(mutation(dictionary), 0..8))
        .prop_map(move |(idx, mutations)| apply(inputs[idx].clone(), &mutations));
    let budget = std::env::var("IX_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok());
    let deadline = budget.map(|seconds| Instant::now() + Duration::from_secs(seconds));
    let (mut rounds, mut cases) = (0u64, 0u64);
    loop {
        let config = Config { cases: 256, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new(config);
        match runner.run(&strategy, |bytes| check(&bytes)) {
            Ok(()) => {}
            Err(TestError::Fail(reason, bytes)) => panic!(
                "fuzz `{target}` failed: {reason}\nminimal input ({} bytes, add it to tests/data/fuzz/{target}/ once fixed):\n{:?}",
                bytes.len(),
                String::from_utf8_lossy(&bytes)
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz `{target}` aborted: {reason}"),
        }
        rounds += 1;
        cases += 256;
        if deadline.is_none_or(|deadline| Instant::now() >= deadline) {
            break;
        }
    }
    if budget.is_some() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("fuzz `{target}`: {cases} cases in {rounds} rounds, no failure");
        }
    }
}

/// Diagnostics are bounded: a few kilobytes each, whatever the input (issue #17, item 3).
fn check_diags(sources: &SourceMap, diags: &[Diag]) -> Result<(), TestCaseError> {
    for diag in diags {
        if let Some(label) = &diag.primary {
            let text = &sources.get(label.span.file).text;
            prop_assert!(label.span.end as usize <= text.len(), "span past the end: {diag:?}");
        }
        let rendered = diag::render(sources, std::slice::from_ref(diag), RenderOptions::plain());
        prop_assert!(rendered.len() < 16 * 1024, "a {}-byte diagnostic: {}", rendered.len(), diag.code);
    }
    let json = diag::to_json(sources, diags);
    prop_assert_eq!(json.len(), diags.len());
    Ok(())
}

/// A sweep printed with spans erased, to compare sweeps read from different texts.
fn erase_spans(sweep: &crate::ir::Sweep) -> String {
    let text = format!("{sweep:?}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("Span { file:") {
        out.push_str(&rest[..at]);
        out.push('_');
        rest = rest[at..].find('}').map_or("", |end| &rest[at + end + 1..]);
    }
    out.push_str(rest);
    out
}

const YAML_TOKENS: &[&str] = &[
    "*a",
    "&a ",
    "&a [*a, *a, *a, *a]\n",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\n",
    "\n  ",
    "\n    - ",
    "#",
    "'",
    "\"",
    "!!str ",
    "---\n",
    "9223372036854775807",
    "-9223372036854775808",
    "0",
    "-1",
    "1e400",
    "0x10",
    "true",
    "null",
    "~",
    "\u{e9}",
    "\u{202e}",
    "\t",
    "num-worker: 0",
    "conc-list: [",
    "conc-start: ",
    "conc-end: ",
    "isl: ",
    "osl: ",
    "tp: ",
    "ep: ",
    "dp-attn: ",
    "image: -x",
    "multinode: true",
    "multinode: false",
    "disagg: true",
    "spec-decoding: mtp",
    "additional-settings: [\"A=1\"]",
    "prefill:",
    "decode:",
    "search-space:",
    "seq-len-configs:",
];

#[test]
fn fuzz_yaml_front_end() {
    fuzz("yaml", YAML_TOKENS, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        // The fast YAML path, where it accepts, builds saphyr's very tree.
        crate::yaml::check_fast_path(&text, 0).map_err(TestCaseError::fail)?;
        let mut sources = SourceMap::new();
        let file = sources.add("fuzz.yaml".to_string(), Arc::from(text.as_ref()));
        let (sweep, diags) = crate::ir::inferencex::lower_master_configs(&sources, &[file]);
        check_diags(&sources, &diags)?;
        let _ = crate::expand::select::check_job_count(&sweep, crate::expand::select::DEFAULT_MAX_JOBS);
        if diags.iter().any(Diag::is_error) || sweep.entries.is_empty() {
            return Ok(());
        }
        // Item 9: what the YAML front end accepts lowers to `.ix` and reads back the same.
        let dsl = crate::syntax::format::format_file(&crate::ir::to_dsl::to_dsl(&sweep, &Default::default()));
        let (ast, syntax_diags) = crate::syntax::parse(FileId(0), &dsl);
        prop_assert!(syntax_diags.is_empty(), "`ix lower` output does not parse: {syntax_diags:?}\n{dsl}");
        let Some(ast) = ast else { return Err(TestCaseError::fail(format!("no AST for\n{dsl}"))) };
        let (lowered, dsl_diags) = crate::ir::lower::lower(&ast, &crate::ir::RunnerTable::default());
        let errors: Vec<&Diag> = dsl_diags.iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "`ix lower` output is rejected: {errors:?}\n{dsl}");
        prop_assert_eq!(erase_spans(&lowered.sweep), erase_spans(&sweep), "round trip changed the sweep\n{}", dsl);
        Ok(())
    });
}

/// Every node's span moved by `by` bytes.
fn shifted(node: &crate::yaml::Node, by: u32) -> crate::yaml::Node {
    use crate::yaml::{Node, NodeKind};
    let kind = match &node.kind {
        NodeKind::Seq(items) => NodeKind::Seq(items.iter().map(|item| shifted(item, by)).collect()),
        NodeKind::Map(entries) => {
            NodeKind::Map(entries.iter().map(|(key, value)| (shifted(key, by), shifted(value, by))).collect())
        }
        kind => kind.clone(),
    };
    let mut span = node.span;
    span.start += by;
    span.end += by;
    Node { span, kind }
}

fn yaml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
            out.push(path);
        }
    }
}

/// The fast YAML path against saphyr on every YAML file of the InferenceX reference tree (real
/// inputs, the other seeds of the YAML target): where it accepts, the trees are equal, also at a
/// non-zero base; and it accepts the masters and runner files, or it would speed nothing up.
#[test]
fn yaml_fast_path_agrees_with_saphyr_on_every_reference_yaml_file() {
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    if !reference.is_dir() {
        assert_eq!(std::env::var("IX_ALLOW_MISSING_REFERENCE").as_deref(), Ok("1"), "no {}", reference.display());
        return;
    }
    let mut files = Vec::new();
    yaml_files(&reference, &mut files);
    let must_accept = [
        "head/configs/nvidia-master.yaml",
        "head/configs/amd-master.yaml",
        "head/configs/runners.yaml",
        "configs/nvidia-master.yaml",
        "configs/amd-master.yaml",
        "configs/runners.yaml",
    ];
    for name in must_accept {
        assert!(files.contains(&reference.join(name)), "no {name} under {}", reference.display());
    }
    let mut n_accepted = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("reference file");
        let accepted = crate::yaml::check_fast_path(&text, 0).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let wanted = must_accept.iter().any(|name| *path == reference.join(name));
        assert!(accepted || !wanted, "the fast path declines {}", path.display());
        n_accepted += usize::from(accepted);
        let base: u32 = 123_457;
        assert_eq!(
            crate::yaml::check_fast_path(&text, base as usize),
            Ok(accepted),
            "{} at base {base}",
            path.display()
        );
        if let (Ok(at_zero), Ok(at_base)) =
            (crate::yaml::parse(FileId(0), &text), crate::yaml::parse_part(FileId(0), &text, base as usize))
        {
            assert_eq!(shifted(&at_zero, base), at_base, "{} at base {base}", path.display());
        }
    }
    assert!(n_accepted >= must_accept.len(), "{n_accepted} of {} files accepted", files.len());
}

const DSL_TOKENS: &[&str] = &[
    "sweep s { ",
    "template t { ",
    " : t ",
    "}",
    "{",
    "[",
    "]",
    "(",
    ")",
    ",",
    "\n",
    "\"",
    "#",
    "at ",
    "1k/1k",
    "9223372036854775807/1",
    " tp 8 ",
    " ep 8 ",
    " dpa ",
    " conc ",
    "1..=64",
    "1..=1000000000000 step +1",
    "4.. ",
    " step x2 ",
    "[4, 8]",
    "prefill 1 x dep8 ",
    "decode 0 x tp8 ",
    "decode 4611686018427387904 x tp4 ",
    "env [\"A=1\"] ",
    "image \"-x\" ",
    "image \"i\" ",
    "model \"m\" ",
    "prefix p ",
    "precision fp8 ",
    "framework vllm ",
    "runner h100 ",
    "runner h100 { a b } ",
    "runners \"r.yaml\" ",
    "enum precision { fp8 } ",
    "multinode ",
    "disagg ",
    "spec mtp ",
    "\u{e9}",
    "-1",
    "0",
];

#[test]
fn fuzz_dsl_front_end() {
    fuzz("dsl", DSL_TOKENS, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let mut sources = SourceMap::new();
        let file = sources.add("fuzz.ix".to_string(), Arc::from(text.as_ref()));
        let (ast, mut diags) = crate::syntax::parse(file, &text);
        if let Some(ast) = &ast {
            let (lowered, lower_diags) = crate::ir::lower::lower(ast, &crate::ir::RunnerTable::default());
            diags.extend(lower_diags);
            let _ = crate::expand::select::check_job_count(&lowered.sweep, crate::expand::select::DEFAULT_MAX_JOBS);
            // The formatter's output parses and formats to itself.
            let formatted = crate::syntax::format::format_file(ast);
            let (again, again_diags) = crate::syntax::parse(FileId(0), &formatted);
            prop_assert!(again_diags.is_empty(), "formatted text does not parse: {again_diags:?}\n{formatted}");
            if let Some(again) = again {
                prop_assert_eq!(crate::syntax::format::format_file(&again), formatted);
            }
        }
        check_diags(&sources, &diags)
    });
}

const RESULT_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "-1",
    "0",
    "1e308",
    "1e400",
    "NaN",
    "-0",
    "9223372036854775807",
    "\"max_concurrency\": ",
    "\"median_ttft_ms\": ",
    "\"total_token_throughput\": ",
    "\"is_multinode\": ",
    "data: ",
    "data: [DONE]\n\n",
    "\n\n",
    "\r\n",
    "data: {\"error\": {\"message\": \"x\"}}\n\n",
    "data: {\"choices\": [{\"text\": \"a\"}]}\n\n",
    "{\"token\": {\"text\": \"a\"}}\n",
    "\u{e9}",
    "\u{fffd}",
];

#[test]
fn fuzz_result_parsers() {
    let env = |name: &str| -> Option<String> {
        Some(
            match name {
                "IS_MULTINODE" | "DISAGG" => "false",
                "ISL" | "OSL" | "TP" | "EP_SIZE" => "8",
                _ => "x",
            }
            .to_string(),
        )
    };
    let (job, _) = crate::results::job_from_env(&env).expect("a job from a complete environment");
    fuzz("result", RESULT_TOKENS, |bytes| {
        // Raw results to aggregate records, strict and lenient.
        if let Ok(raw) = serde_json::from_slice::<serde_json::Value>(bytes) {
            for lenient in [false, true] {
                let _ = crate::results::process(&job, &raw, crate::results::ProcessOptions { lenient });
            }
        }
        // Aggregate records as the summary reads them.
        let _ = crate::results::summary::summary_fields(bytes);
        // Server streams, in two reads split in the middle, for every framing.
        for api in [crate::bench::ApiKind::Completions, crate::bench::ApiKind::Chat, crate::bench::ApiKind::Tgi] {
            let mut outcome = crate::bench::client::new_outcome();
            let mut state = crate::bench::client::StreamState::new(api);
            let (first, second) = bytes.split_at(bytes.len() / 2);
            let now = Instant::now();
            let fed = state.feed(first, now, &mut outcome).and_then(|()| state.feed(second, now, &mut outcome));
            if fed.is_ok() {
                state.finish(&mut outcome);
            }
            prop_assert!(
                outcome.n_chunks as usize <= bytes.len(),
                "{} chunks from {} bytes",
                outcome.n_chunks,
                bytes.len()
            );
            prop_assert!(outcome.generated_text.len() <= bytes.len());
        }
        Ok(())
    });
}
