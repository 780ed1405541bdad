//! `.ix` sweeps: golden diagnostics, `ix fmt`, `ix lower`, the conformance suite re-run with
//! lowered `.ix` inputs, and property tests for the printer, the checker and lowering equivalence.
//!
//! Golden files: `tests/data/dsl/ok/*.ix` must check clean, be canonical and round-trip through
//! the IR; `tests/data/dsl/err/*.ix` have their rendered diagnostics (plain, fixed width) in the
//! insta snapshot `NAME.snap` next to them. A missing or changed snapshot fails (`cargo insta
//! review`).

use std::path::{Path, PathBuf};

use ix::diag::{self, RenderOptions};
use ix::expand::{self, FullSweep, KeyOrder, NodeMode, TestConfig};
use ix::ir::to_dsl::{ToDsl, to_dsl};
use ix::ir::{
    Concurrency, ConfigEntry, MultiPoint, RunnerTable, RunnerType, SearchPoint, SeqLenConfig, SinglePoint,
    SpecDecoding, Sweep, Worker, inferencex, lower,
};
use ix::source::{FileId, SourceMap, Span, Spanned};
use ix::syntax::{self, format::format_file};
use ix::workspace;
use proptest::prelude::*;

use crate::util::{ix, project_root, reference_dir};

fn golden_files(kind: &str) -> Vec<PathBuf> {
    let dir = project_root().join("tests/data/dsl").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ix"))
        .collect();
    files.sort();
    files
}

/// Checks one file the way `ix check` does; returns the rendered diagnostics and the error count.
fn check_file(path: &Path) -> (String, usize, usize, Sweep) {
    let relative = path.strip_prefix(project_root()).unwrap_or(path).to_string_lossy().into_owned();
    let mut sources = SourceMap::new();
    let text = std::fs::read_to_string(path).unwrap();
    let file = sources.add(relative, text.into());
    let mut diags = Vec::new();
    let lowered = workspace::lower_dsl_file(&mut sources, file, &mut diags);
    let n_errors = diags.iter().filter(|d| d.is_error()).count();
    (diag::render(&sources, &diags, RenderOptions::plain()), n_errors, diags.len(), lowered.sweep)
}

#[test]
fn err_cases_match_their_diagnostic_snapshots() {
    let mut failures = Vec::new();
    let mut seen_codes = String::new();
    for path in golden_files("err") {
        let (rendered, n_errors, _, _) = check_file(&path);
        seen_codes.push_str(&rendered);
        if n_errors == 0 {
            failures.push(format!("{}: no error", path.display()));
            continue;
        }
        // An insta snapshot beside the case (`NAME.snap`): a missing or changed one fails and
        // writes `NAME.snap.new` (`cargo insta review` to accept).
        let dir = path.parent().unwrap().to_path_buf();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ snapshot_path => dir, prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
    // Every `ix::dsl::*` code the sources can emit has an err case.
    for source in [
        "src/ir/lower/mod.rs",
        "src/ir/lower/point.rs",
        "src/ir/lower/head.rs",
        "src/syntax/mod.rs",
        "src/workspace.rs",
    ] {
        let text = std::fs::read_to_string(project_root().join(source)).unwrap();
        for code in text.split('"').filter(|s| s.starts_with("ix::dsl::")) {
            if !seen_codes.contains(code) {
                failures.push(format!("no err case emits `{code}` (from {source})"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ok_cases_check_clean_are_canonical_and_round_trip() {
    for path in golden_files("ok") {
        let (rendered, _, n_diags, sweep) = check_file(&path);
        assert_eq!(n_diags, 0, "{}:\n{rendered}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        let (ast, _) = syntax::parse(FileId(0), &text);
        assert_eq!(format_file(&ast.unwrap()), text, "{} is not canonical", path.display());
        assert!(!sweep.entries.is_empty(), "{}", path.display());
        let again = dsl_round_trip(&sweep);
        assert_eq!(erase(&again), erase(&sweep), "{}", path.display());
    }
}

#[test]
fn project_sweeps_check_clean_and_are_formatted() {
    let mut files: Vec<String> = std::fs::read_dir(project_root().join("sweeps"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ix"))
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let out = ix(["check"]).args_from(&files.iter().map(String::as_str).collect::<Vec<_>>()).run().expect_code(0);
    assert!(out.stderr.contains("no errors"), "{}", out.stderr);
    assert!(!out.stderr.contains('⚠'), "{}", out.stderr);
    let _ =
        ix(["fmt", "--check"]).args_from(&files.iter().map(String::as_str).collect::<Vec<_>>()).run().expect_code(0);
}

#[test]
fn grammar_md_carries_the_current_grammar() {
    let grammar = std::fs::read_to_string(project_root().join("grammar/ix.pest")).unwrap();
    let doc = std::fs::read_to_string(project_root().join("GRAMMAR.md")).unwrap();
    assert!(doc.contains(&format!("```pest\n{grammar}```")), "GRAMMAR.md's appendix is stale: copy grammar/ix.pest");
    // Every diagnostic code is documented.
    for source in ["src/ir/lower/mod.rs", "src/ir/lower/point.rs", "src/ir/lower/head.rs"] {
        let lower = std::fs::read_to_string(project_root().join(source)).unwrap();
        for code in lower.split('"').filter_map(|s| s.strip_prefix("ix::dsl::")) {
            assert!(doc.contains(&format!("`{code}`")), "GRAMMAR.md does not list `{code}`");
        }
    }
}

#[test]
fn demo_sweep_expands_to_local_jobs() {
    let root = project_root();
    let out = ix(["matrix", "full-sweep", "--single-node", "--config-files", "sweeps/demo.ix"])
        .args_from(&["--runner-config", "sweeps/runners.yaml"])
        .current_dir(&root)
        .run()
        .expect_code(0);
    let jobs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 9, "3 engines x 3 concurrencies: {}", out.stdout);
    for job in jobs {
        assert_eq!(job["runner"], "local");
        assert_eq!(job["isl"], 128);
        assert_eq!(job["osl"], 32);
        assert_eq!(job["model-prefix"], "tiny");
        assert_eq!(job["precision"], "fp32");
    }
    let frameworks: Vec<&str> = jobs.iter().map(|job| job["framework"].as_str().unwrap()).collect();
    assert!(frameworks.contains(&"sim") && frameworks.contains(&"sim-fast") && frameworks.contains(&"sim-slow"));
}

#[test]
fn inline_runner_types_join_the_runner_table() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "enum precision { fp32 }\nenum framework { sim }\n\nrunner laptop { laptop_0, laptop_1 }\n\n\
                 sweep tiny-fp32-laptop-sim {\n  image \"i\"\n  model \"m\"\n  prefix tiny\n  precision fp32\n  \
                 framework sim\n  runner laptop\n  at 1k/1k: tp 1 conc 1..=4\n}\n";
    std::fs::write(dir.path().join("s.ix"), sweep).unwrap();
    let runners = project_root().join("sweeps/runners.yaml");
    let out =
        ix(["matrix", "runner-model-sweep", "--single-node", "--runner-type", "laptop", "--config-files", "s.ix"])
            .args_from(&["--runner-config", runners.to_string_lossy().as_ref()])
            .current_dir(dir.path())
            .run()
            .expect_code(0);
    let jobs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let nodes: Vec<&str> = jobs.as_array().unwrap().iter().map(|job| job["runner"].as_str().unwrap()).collect();
    assert_eq!(nodes, ["laptop_0", "laptop_1"], "{}", out.stdout);
}

#[test]
fn check_reports_dsl_diagnostics_as_json() {
    let out = ix(["check", "--format", "json", "tests/data/dsl/err/points.ix"])
        .current_dir(&project_root())
        .run()
        .expect_code(1);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let codes: Vec<&str> = diags.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"ix::dsl::unknown-item"), "{codes:?}");
    assert!(codes.len() >= 5, "all diagnostics of the file in one run: {codes:?}");
    let first = &diags[0];
    assert_eq!(first["path"], "tests/data/dsl/err/points.ix");
    assert_eq!(first["start"]["line"], 10);
    assert_eq!(first["help"], "did you mean `tp`?");
}

#[test]
fn fmt_rewrites_then_is_idempotent_and_check_fails_on_unformatted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("messy.ix");
    let messy = "# a comment\nsweep   s:t{   # header\n image \"i\"\n\n\n  at 1024/1k,8192/1024 {\n tp 8 conc 4..=64 ep 2   # c\n}\n}\ntemplate t {\n  model \"m\"\n}\n";
    std::fs::write(&path, messy).unwrap();
    let file = path.to_string_lossy().into_owned();
    let out = ix(["fmt", "--check", file.as_str()]).run().expect_code(1);
    assert!(out.stderr.contains("would reformat"), "{}", out.stderr);
    let _ = ix(["fmt", file.as_str()]).run().expect_code(0);
    let once = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        once,
        "# a comment\n\nsweep s : t {  # header\n  image \"i\"\n\n  at 1k/1k, 8k/1k {\n    tp 8 ep 2 conc 4..=64  # c\n  }\n}\n\ntemplate t {\n  model \"m\"\n}\n"
    );
    let _ = ix(["fmt", "--check", file.as_str()]).run().expect_code(0);
    let _ = ix(["fmt", file.as_str()]).run().expect_code(0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), once);
}

#[test]
fn fmt_reports_syntax_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ix");
    std::fs::write(&path, "sweep s {\n  at 1k: tp 8\n}\n").unwrap();
    let out = ix(["fmt", path.to_string_lossy().as_ref()]).run().expect_code(1);
    assert!(out.stderr.contains("ix::dsl::syntax"), "{}", out.stderr);
}

/// Lowers both vendor files with the real binary into `dir/configs/*.ix`; returns their texts.
fn lower_vendor_files(reference: &Path, dir: &Path) -> Vec<(String, usize, usize)> {
    std::fs::create_dir_all(dir.join("configs")).unwrap();
    let mut figures = Vec::new();
    for name in ["nvidia-master", "amd-master"] {
        let yaml = reference.join(format!("configs/{name}.yaml"));
        let out = ix(["lower", yaml.to_string_lossy().as_ref()]).run().expect_code(0);
        std::fs::write(dir.join(format!("configs/{name}.ix")), &out.stdout).unwrap();
        let yaml_lines = std::fs::read_to_string(&yaml).unwrap().lines().count();
        figures.push((name.to_string(), out.stdout.lines().count(), yaml_lines));
    }
    figures
}

#[test]
fn lowered_nvidia_file_is_at_most_15_percent_of_the_yaml() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let figures = lower_vendor_files(&reference, dir.path());
    let (_, ix_lines, yaml_lines) = &figures[0];
    assert!(ix_lines * 100 <= yaml_lines * 15, "{figures:?}");
}

#[test]
fn lowered_file_referencing_runners_yaml_finds_unknown_runner_types() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let runners = reference.join("configs/runners.yaml").to_string_lossy().into_owned();
    let yaml = reference.join("configs/nvidia-master.yaml").to_string_lossy().into_owned();
    let out = ix(["lower", "--runners", runners.as_str(), yaml.as_str()]).run().expect_code(0);
    assert!(out.stdout.contains(&format!("runners \"{runners}\"")), "{}", &out.stdout[..200]);
    // A runners file is read only inside the project or the sweep's folder (issue 17 item 4).
    std::fs::copy(&runners, dir.path().join("runners.yaml")).unwrap();
    let text = out.stdout.replace(&format!("runners \"{runners}\""), "runners \"runners.yaml\"");
    std::fs::write(dir.path().join("nvidia.ix"), text).unwrap();
    let out = ix(["check", "--format", "json", "nvidia.ix"]).current_dir(dir.path()).run().expect_code(1);
    let diags: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let errors: Vec<&str> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    // The reference only notices this when a job is generated for the runner type (case 44).
    assert_eq!(errors, ["unknown runner type `h200-multinode-slurm`"; 2], "{}", out.stdout);
}

#[test]
fn ix_and_yaml_files_mix_in_one_matrix_run() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    lower_vendor_files(&reference, dir.path());
    let runners = reference.join("configs/runners.yaml").to_string_lossy().into_owned();
    let nvidia_yaml = reference.join("configs/nvidia-master.yaml").to_string_lossy().into_owned();
    let amd_yaml = reference.join("configs/amd-master.yaml").to_string_lossy().into_owned();
    let run = |files: &[&str]| {
        ix(["matrix", "full-sweep", "--multi-node", "--runner-config", runners.as_str(), "--config-files"])
            .args_from(files)
            .current_dir(dir.path())
            .run()
    };
    let yaml_only = run(&[nvidia_yaml.as_str(), amd_yaml.as_str()]).expect_code(0);
    let mixed = run(&[nvidia_yaml.as_str(), "configs/amd-master.ix"]).expect_code(0);
    assert_eq!(mixed.stdout, yaml_only.stdout);
    assert!(yaml_only.stdout.len() > 1000);
    // The same keys from a `.ix` and a `.yaml` file are duplicates.
    let duplicate = run(&[amd_yaml.as_str(), "configs/amd-master.ix"]).expect_code(1);
    assert!(duplicate.stderr.contains("ix::config::duplicate-config-key"), "{}", duplicate.stderr);
    assert!(duplicate.stderr.contains("configs/amd-master.ix"), "{}", duplicate.stderr);
}

#[test]
fn conformance_cases_match_with_lowered_ix_inputs() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    lower_vendor_files(&reference, dir.path());
    let runners = reference.join("configs/runners.yaml").to_string_lossy().into_owned();
    let substitute = |text: &str| {
        text.replace("configs/nvidia-master.yaml", "configs/nvidia-master.ix")
            .replace("configs/amd-master.yaml", "configs/amd-master.ix")
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(reference.join("conformance"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("args").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 52);
    let mut failures = Vec::new();
    for case in &cases {
        let args =
            substitute(&std::fs::read_to_string(case.join("args")).unwrap()).replace("configs/runners.yaml", &runners);
        let expected_code: i32 = std::fs::read_to_string(case.join("exit-code")).unwrap().trim().parse().unwrap();
        let cmd = args.split_whitespace().fold(ix(["matrix"]).current_dir(dir.path()), |cmd, arg| cmd.arg(arg));
        let out = cmd.run();
        if out.code != expected_code {
            failures.push(format!("{}: exit {} (expected {expected_code}): {}", case.display(), out.code, out.stderr));
            continue;
        }
        if expected_code == 0 {
            let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let expected: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap()).unwrap();
            if got != expected {
                failures.push(format!("{}: job lists differ", case.display()));
            }
        } else if let Ok(contains) = std::fs::read_to_string(case.join("error-contains")) {
            for needle in substitute(&contains).lines().filter(|line| !line.is_empty()) {
                if !out.stderr.contains(needle) {
                    failures.push(format!("{}: stderr lacks `{needle}`:\n{}", case.display(), out.stderr));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

// ---- property tests -------------------------------------------------------------------------

/// Debug text of a sweep with every span blanked, for comparisons that ignore positions.
fn erase(sweep: &Sweep) -> String {
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

/// IR -> `.ix` text -> parse -> check -> IR.
fn dsl_round_trip(sweep: &Sweep) -> Sweep {
    let text = format_file(&to_dsl(sweep, &ToDsl::default()));
    let (ast, diags) = syntax::parse(FileId(0), &text);
    assert!(diags.is_empty(), "{diags:?}\n{text}");
    let ast = ast.unwrap();
    assert_eq!(format_file(&ast), text, "printing is not idempotent");
    let (lowered, diags) = lower::lower(&ast, &RunnerTable::default());
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}\n{text}");
    lowered.sweep
}

fn span() -> Span {
    Span { file: FileId(0), start: 0, end: 0 }
}

fn s<T>(value: T) -> Spanned<T> {
    Spanned::new(value, span())
}

fn arb_conc() -> impl Strategy<Value = Concurrency> {
    prop_oneof![
        (1i64..20, 0i64..200).prop_map(|(start, extra)| Concurrency::range(s(start), s(start + extra))),
        prop::collection::vec(1i64..5000, 1..5).prop_map(|list| Concurrency::list(s(list))),
    ]
}

fn arb_spec() -> impl Strategy<Value = SpecDecoding> {
    prop_oneof![Just(SpecDecoding::None), Just(SpecDecoding::Mtp), Just(SpecDecoding::DraftModel)]
}

fn arb_worker() -> impl Strategy<Value = Worker> {
    let width = prop_oneof![Just(1i64), Just(2), Just(4), Just(8), Just(16)];
    // Setting names a config may use (`env_policy`: not `ix`'s own variables, nor ones that make
    // a program run something): a prefix no policy rule names.
    let settings = prop::option::of(prop::collection::vec("S_[A-Z]{1,4}=[a-z0-9 \"\\\\/._-]{0,12}", 0..3));
    (1i64..6, width.clone(), width, any::<bool>(), settings).prop_map(|(num_worker, tp, ep, dp_attn, settings)| {
        Worker {
            num_worker,
            tp,
            ep,
            dp_attn,
            additional_settings: settings,
            parallel: Default::default(),
            hardware: None,
        }
    })
}

fn arb_point(multinode: bool) -> BoxedStrategy<SearchPoint> {
    if multinode {
        (arb_spec(), arb_worker(), arb_worker(), arb_conc())
            .prop_map(|(spec_decoding, prefill, decode, conc)| {
                SearchPoint::Multi(MultiPoint {
                    spec_decoding,
                    prefill,
                    decode,
                    conc,
                    router: None,
                    kv_p2p_transfer: None,
                    span: span(),
                })
            })
            .boxed()
    } else {
        (1i64..9, prop::option::of(1i64..9), prop::option::of(any::<bool>()), arb_spec(), arb_conc())
            .prop_map(|(tp, ep, dpa, spec_decoding, conc)| {
                SearchPoint::Single(SinglePoint {
                    tp: s(tp),
                    ep: ep.map(s),
                    dp_attn: dpa.map(s),
                    spec_decoding,
                    conc,
                    parallel: Default::default(),
                    router: None,
                    span: span(),
                })
            })
            .boxed()
    }
}

fn arb_entry() -> impl Strategy<Value = (ConfigEntry, ())> {
    let seq = prop_oneof![Just((1024i64, 1024i64)), Just((1024, 8192)), Just((8192, 1024)), Just((128, 32))];
    (
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["fp4", "fp8", "int8"]),
        prop::sample::select(vec!["vllm", "sglang", "dynamo-trt", "my engine"]),
        prop::sample::select(vec!["r1", "r2"]),
        prop::sample::select(vec!["m/one", "m \"two\""]),
        "[a-z]{1,4}",
    )
        .prop_flat_map(move |(multinode, disagg, precision, framework, runner, model, prefix)| {
            let block = (seq.clone(), prop::collection::vec(arb_point(multinode), 0..3));
            prop::collection::vec(block, 0..4).prop_map(move |blocks| {
                let seq_len_configs = blocks
                    .into_iter()
                    .map(|((isl, osl), search_space)| SeqLenConfig {
                        isl: s(isl),
                        osl: s(osl),
                        search_space,
                        span: span(),
                    })
                    .collect();
                let entry = ConfigEntry {
                    key: s(String::new()),
                    image: s("img:1".to_string()),
                    model: s(model.to_string()),
                    model_prefix: s(prefix.clone()),
                    precision: s(precision.to_string()),
                    framework: s(framework.to_string()),
                    runner: s(runner.to_string()),
                    multinode,
                    disagg,
                    seq_len_configs,
                    format: Default::default(),
                    router: None,
                    kv_p2p_transfer: None,
                    agentic: Vec::new(),
                    span: span(),
                };
                (entry, ())
            })
        })
}

fn arb_sweep() -> impl Strategy<Value = Sweep> {
    prop::collection::vec(arb_entry(), 1..5).prop_map(|entries| Sweep {
        entries: entries
            .into_iter()
            .enumerate()
            .map(|(idx, (mut entry, ()))| {
                entry.key = s(format!("{}-{}-{idx}", entry.model_prefix.value, entry.precision.value));
                entry
            })
            .collect(),
    })
}

/// The sweep as InferenceX master-config YAML (JSON strings are valid YAML scalars).
fn to_yaml(sweep: &Sweep) -> String {
    let q = |text: &str| serde_json::to_string(text).unwrap();
    let mut out = String::new();
    for entry in &sweep.entries {
        out += &format!("{}:\n", q(&entry.key.value));
        for (key, value) in [
            ("image", &entry.image),
            ("model", &entry.model),
            ("model-prefix", &entry.model_prefix),
            ("precision", &entry.precision),
            ("framework", &entry.framework),
            ("runner", &entry.runner),
        ] {
            out += &format!("  {key}: {}\n", q(&value.value));
        }
        out += &format!("  multinode: {}\n", entry.multinode);
        if entry.disagg {
            out += "  disagg: true\n";
        }
        if entry.seq_len_configs.is_empty() {
            out += "  seq-len-configs: []\n";
            continue;
        }
        out += "  seq-len-configs:\n";
        for seq in &entry.seq_len_configs {
            out += &format!("  - isl: {}\n    osl: {}\n", seq.isl.value, seq.osl.value);
            if seq.search_space.is_empty() {
                out += "    search-space: []\n";
                continue;
            }
            out += "    search-space:\n";
            for point in &seq.search_space {
                let mut lines = Vec::new();
                let spec = match point {
                    SearchPoint::Single(p) => p.spec_decoding,
                    SearchPoint::Multi(p) => p.spec_decoding,
                };
                if spec != SpecDecoding::None {
                    lines.push(format!("spec-decoding: {}", q(spec.as_str())));
                }
                match point {
                    SearchPoint::Single(p) => {
                        lines.push(format!("tp: {}", p.tp.value));
                        if let Some(ep) = &p.ep {
                            lines.push(format!("ep: {}", ep.value));
                        }
                        if let Some(dpa) = &p.dp_attn {
                            lines.push(format!("dp-attn: {}", dpa.value));
                        }
                    }
                    SearchPoint::Multi(p) => {
                        for (role, w) in [("prefill", &p.prefill), ("decode", &p.decode)] {
                            lines.push(format!("{role}:"));
                            lines.push(format!("  num-worker: {}", w.num_worker));
                            lines.push(format!("  tp: {}", w.tp));
                            lines.push(format!("  ep: {}", w.ep));
                            lines.push(format!("  dp-attn: {}", w.dp_attn));
                            if let Some(settings) = &w.additional_settings {
                                let items: Vec<String> = settings.iter().map(|v| q(v)).collect();
                                lines.push(format!("  additional-settings: [{}]", items.join(", ")));
                            }
                        }
                    }
                }
                let conc = point.concurrency();
                if let (Some(start), Some(end)) = (&conc.start, &conc.end) {
                    lines.push(format!("conc-start: {}", start.value));
                    lines.push(format!("conc-end: {}", end.value));
                }
                if let Some(list) = &conc.list {
                    let items: Vec<String> = list.value.iter().map(i64::to_string).collect();
                    lines.push(format!("conc-list: [{}]", items.join(", ")));
                }
                for (idx, line) in lines.iter().enumerate() {
                    out += if idx == 0 { "    - " } else { "      " };
                    out += line;
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn jobs(sweep: &Sweep) -> Vec<serde_json::Value> {
    let runners = RunnerTable {
        types: ["r1", "r2"]
            .iter()
            .map(|name| RunnerType {
                name: s(name.to_string()),
                nodes: vec![s(format!("{name}_0")), s(format!("{name}_1"))],
            })
            .collect(),
        ..RunnerTable::default()
    };
    let mut out = Vec::new();
    for mode in [NodeMode::Single, NodeMode::Multi] {
        let list = expand::full_sweep(sweep, &runners, &FullSweep::new(mode)).unwrap_or_default();
        out.extend(list.iter().map(|job| job.to_json(KeyOrder::Sweep)));
    }
    let keys = sweep.entries.iter().map(|e| e.key.value.clone()).collect();
    let list = expand::test_config(sweep, &TestConfig { config_keys: keys, conc: None }).unwrap_or_default();
    out.extend(list.iter().map(|job| job.to_json(KeyOrder::Sweep)));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_sweeps_round_trip_through_the_dsl(sweep in arb_sweep()) {
        let again = dsl_round_trip(&sweep);
        prop_assert_eq!(erase(&again), erase(&sweep));
    }

    #[test]
    fn yaml_lowered_and_dsl_lowered_sweeps_give_the_same_jobs(sweep in arb_sweep()) {
        let yaml = to_yaml(&sweep);
        let mut sources = SourceMap::new();
        let file = sources.add("random.yaml".to_string(), yaml.clone().into());
        let (from_yaml, diags) = inferencex::lower_master_configs(&sources, &[file]);
        prop_assert!(diags.is_empty(), "{:?}\n{}", diags, yaml);
        let from_dsl = dsl_round_trip(&from_yaml);
        prop_assert_eq!(erase(&from_dsl), erase(&from_yaml));
        prop_assert_eq!(jobs(&from_dsl), jobs(&from_yaml));
    }
}

/// Token soup that looks enough like `.ix` to reach deep into the parser and the checker.
fn arb_source() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "sweep",
        "template",
        "enum",
        "runner",
        "runners",
        "at",
        "{",
        "}",
        ":",
        ",",
        "\n",
        "\n",
        " ",
        "tp",
        "ep",
        "dpa",
        "spec",
        "mtp",
        "conc",
        "step",
        "x2",
        "x0",
        "+3",
        "env",
        "[",
        "]",
        "4..=64",
        "0..=1",
        "9..=2",
        "4..",
        "..=8",
        "1k/1k",
        "0/1k",
        "128/32",
        "prefill",
        "decode",
        "x",
        "dep8",
        "tep0",
        "tp4",
        "{tp 8 ep 2 dpa}",
        "1",
        "0",
        "99999999999999999999",
        "\"s\"",
        "\"CONFIG_FILE=ctx1_gen2_dep8_x.yaml\"",
        "# c",
        "image",
        "model",
        "prefix",
        "precision",
        "fp8",
        "fp9",
        "framework",
        "vllm",
        "multinode",
        "disagg",
        "true",
        "s",
        "t",
        "é",
        "\t",
        "\r\n",
        "\"",
        "format head\n",
        "agentic",
        "dram",
        "0.8",
        ";",
        "kv",
        "none",
        "hicache",
        "router",
        "p2p",
        "pp",
        "dcp",
        "pcp",
        "hw",
        "hardware",
        "cpu-dram-mib",
    ]);
    prop_oneof![prop::collection::vec(token, 0..80).prop_map(|tokens| tokens.concat()), any::<String>(),]
}

/// Cases of the no-panic property: 512 in CI, more with `IX_FUZZ_CASES=N` for a long run.
fn fuzz_cases() -> u32 {
    std::env::var("IX_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(512)
}

/// Valid files with random edits: reaches the checker with nearly-right input.
fn arb_mutated() -> impl Strategy<Value = String> {
    let seeds: Vec<String> = [
        "sweeps/nvidia.ix",
        "sweeps/amd.ix",
        "sweeps/demo.ix",
        "tests/data/dsl/ok/single-node.ix",
        "tests/data/dsl/ok/head.ix",
    ]
    .iter()
    .map(|path| std::fs::read_to_string(project_root().join(path)).unwrap())
    .collect();
    let edit = (any::<prop::sample::Index>(), 0usize..12, arb_source());
    (prop::sample::select(seeds), prop::collection::vec(edit, 1..6)).prop_map(|(mut text, edits)| {
        for (at, delete, insert) in edits {
            let mut start = at.index(text.len().max(1)).min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = (start + delete).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let insert: String = insert.chars().take(8).collect();
            text.replace_range(start..end, &insert);
        }
        text
    })
}

fn parse_check_format(text: &str) -> Result<(), TestCaseError> {
    let (ast, diags) = syntax::parse(FileId(0), text);
    if let Some(ast) = ast {
        prop_assert!(diags.is_empty());
        let (_, check_diags) = lower::lower(&ast, &RunnerTable::default());
        let formatted = format_file(&ast);
        let (again, diags) = syntax::parse(FileId(0), &formatted);
        prop_assert!(diags.is_empty(), "{:?}\n{}", diags, formatted);
        prop_assert_eq!(format_file(&again.unwrap()), formatted);
        let mut sources = SourceMap::new();
        sources.add("fuzz.ix".to_string(), text.into());
        let _ = diag::render(&sources, &check_diags, RenderOptions::plain());
    } else {
        let mut sources = SourceMap::new();
        sources.add("fuzz.ix".to_string(), text.into());
        let _ = diag::render(&sources, &diags, RenderOptions::plain());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), ..ProptestConfig::default() })]

    /// Edited valid files: parse, check, format and render never panic.
    #[test]
    fn edited_sweeps_never_panic(text in arb_mutated()) {
        parse_check_format(&text)?;
    }

    /// Parse, check, format and re-parse never panic; formatting a parsed file is idempotent.
    #[test]
    fn parse_and_check_never_panic(text in arb_source()) {
        parse_check_format(&text)?;
    }
}
