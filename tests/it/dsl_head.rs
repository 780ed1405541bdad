//! `.ix` files in today's InferenceX format (`format head`): every HEAD conformance case with the
//! lowered masters and archive files substituted for the YAML, and `ix lower` round trips over
//! every master-config file the YAML front end accepts, in both formats.

use std::path::{Path, PathBuf};

use ix::ir::to_dsl::{ToDsl, to_dsl};
use ix::ir::{RunnerTable, Sweep, inferencex, lower};
use ix::source::{FileId, SourceMap};
use ix::syntax::{self, format::format_file};

use crate::util::{ix, project_root, reference_dir};

/// Debug text of a sweep with every span blanked.
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

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|entries| entries.map(|entry| entry.unwrap().path()).collect()).unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "yaml") && !path.ends_with("runners.yaml"));
    files.retain(|path| !["perf-changelog.yaml", "ci-priority.yaml"].iter().any(|name| path.ends_with(name)));
    files.sort();
    files
}

/// The master-config YAML of `path` when the front end accepts it.
fn accepted(path: &Path) -> Option<Sweep> {
    let mut sources = SourceMap::new();
    let file = sources.add(path.to_string_lossy().into_owned(), std::fs::read_to_string(path).unwrap().into());
    let (sweep, diags) = inferencex::lower_master_configs(&sources, &[file]);
    (!diags.iter().any(|d| d.is_error())).then_some(sweep)
}

/// `.ix` text -> IR, asserting it parses and checks clean.
fn dsl_ir(text: &str, what: &str) -> Sweep {
    let (ast, diags) = syntax::parse(FileId(0), text);
    assert!(diags.is_empty(), "{what}: {diags:?}");
    let ast = ast.unwrap();
    assert_eq!(format_file(&ast), text, "{what}: printing is not canonical");
    let (lowered, diags) = lower::lower(&ast, &RunnerTable::default());
    assert!(!diags.iter().any(|d| d.is_error()), "{what}: {diags:?}");
    lowered.sweep
}

#[test]
fn lower_round_trips_every_accepted_master_config_of_both_formats() {
    let Some(reference) = reference_dir() else { return };
    let mut files = yaml_files(&reference.join("configs"));
    files.extend(yaml_files(&reference.join("head/configs")));
    files.extend(yaml_files(&reference.join("head/configs/deprecated")));
    files.extend(yaml_files(&reference.join("head/configs/invalid")));
    files.extend(yaml_files(&project_root().join("tests/data/fuzz/yaml")));
    let mut checked = Vec::new();
    for path in &files {
        let Some(sweep) = accepted(path) else { continue };
        let what = path.display().to_string();
        let text = format_file(&to_dsl(&sweep, &ToDsl::default()));
        let again = dsl_ir(&text, &what);
        assert_eq!(erase(&again), erase(&sweep), "{what}: the `.ix` file means something else");
        // Lowering the lowered file again prints the same text.
        assert_eq!(format_file(&to_dsl(&again, &ToDsl::default())), text, "{what}: second lowering differs");
        checked.push((sweep.format(), path.file_name().unwrap().to_string_lossy().into_owned()));
    }
    let head = checked.iter().filter(|(format, _)| *format == ix::ir::Format::Head).count();
    // Both masters of each format, the 11 archive files that validate, the valid `invalid/` inputs.
    assert!(head >= 15 && checked.len() - head >= 2, "{checked:?}");
}

/// Lowers today's masters and the archive files that validate into `dir/configs/`, next to the
/// reference's other files; returns `(name, .ix lines, .yaml lines)` of each lowered file.
fn lower_head_configs(reference: &Path, dir: &Path) -> Vec<(String, usize, usize)> {
    let configs = reference.join("head/configs");
    std::fs::create_dir_all(dir.join("configs/deprecated")).unwrap();
    for name in ["runners.yaml", "perf-changelog.yaml", "ci-priority.yaml", "invalid"] {
        std::os::unix::fs::symlink(configs.join(name), dir.join("configs").join(name)).unwrap();
    }
    let mut figures = Vec::new();
    let mut yamls: Vec<PathBuf> = yaml_files(&configs);
    yamls.extend(yaml_files(&configs.join("deprecated")));
    for yaml in yamls {
        let relative = yaml.strip_prefix(&configs).unwrap().to_string_lossy().into_owned();
        let out = ix(["lower", yaml.to_string_lossy().as_ref()]).run();
        if out.code != 0 {
            // An archive file that fails validation stays YAML (case 27 reads it).
            std::os::unix::fs::symlink(&yaml, dir.join("configs").join(&relative)).unwrap();
            continue;
        }
        std::fs::write(dir.join("configs").join(relative.replace(".yaml", ".ix")), &out.stdout).unwrap();
        let yaml_lines = std::fs::read_to_string(&yaml).unwrap().lines().count();
        figures.push((relative, out.stdout.lines().count(), yaml_lines));
    }
    figures
}

#[test]
fn head_conformance_cases_match_with_lowered_ix_inputs() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let figures = lower_head_configs(&reference, dir.path());
    let lowered: Vec<String> = figures.iter().map(|(name, _, _)| format!("configs/{name}")).collect();
    // Both masters and the 11 archive files that validate (3 fail on purpose: disagg without p2p).
    assert!(lowered.len() >= 13, "{figures:?}");
    let substitute = |text: &str| {
        lowered.iter().fold(text.to_string(), |text, yaml| text.replace(yaml.as_str(), &yaml.replace(".yaml", ".ix")))
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(reference.join("head/conformance"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("args").is_file())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 52);
    let mut failures = Vec::new();
    let mut substituted = 0;
    for case in &cases {
        let original = std::fs::read_to_string(case.join("args")).unwrap();
        let args = substitute(&original);
        substituted += usize::from(args != original);
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
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
    // The others read only `invalid/` inputs or the archive file that fails validation.
    assert!(substituted >= 36, "only {substituted} cases read a lowered file");
}

#[test]
fn lowered_head_masters_are_at_most_15_percent_of_the_yaml() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let figures = lower_head_configs(&reference, dir.path());
    for master in ["nvidia-master.yaml", "amd-master.yaml"] {
        let (_, ix_lines, yaml_lines) = figures.iter().find(|(name, _, _)| name == master).unwrap();
        assert!(ix_lines * 100 <= yaml_lines * 15, "{master}: {ix_lines} of {yaml_lines} lines");
    }
}

#[test]
fn shipped_head_sweeps_are_todays_masters_lowered() {
    let Some(reference) = reference_dir() else { return };
    for vendor in ["nvidia", "amd"] {
        let yaml = reference.join(format!("head/configs/{vendor}-master.yaml"));
        let out = ix(["lower", yaml.to_string_lossy().as_ref()]).run().expect_code(0);
        let shipped = std::fs::read_to_string(project_root().join(format!("sweeps/inferencex-{vendor}.ix"))).unwrap();
        assert_eq!(shipped, out.stdout, "sweeps/inferencex-{vendor}.ix is stale: re-run `ix lower`");
    }
}

#[test]
fn hardware_declarations_size_dram_offload_like_runners_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "sweep s { image \"i\"; model \"m\"; prefix p; precision fp8; framework sglang; runner \"cluster:x\"; \
                 agentic dram 0.8: tp 8 kv dram hicache conc [4] }\n";
    let declared = format!(
        "format head\nrunner \"cluster:x\" {{ x_0 }}\nhardware \"cluster:x\" {{ cpu-dram-mib 3095781, gpus-per-node 8 }}\n\n{sweep}"
    );
    std::fs::write(dir.path().join("declared.ix"), declared).unwrap();
    std::fs::write(dir.path().join("bare.ix"), format!("format head\n\n{sweep}")).unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "labels:\n  other: [o_0]\n").unwrap();
    std::fs::write(
        dir.path().join("runners.yaml"),
        "labels:\n  cluster:x: [x_0]\nhardware:\n  cluster:x: { available-cpu-dram-mib: 3_095_781, gpus-per-node: 8 }\n",
    )
    .unwrap();
    let matrix = |file: &str, runners: &str| {
        ix(["matrix", "full-sweep", "--config-files", file, "--runner-config", runners]).current_dir(dir.path()).run()
    };
    let from_ix = matrix("declared.ix", "empty.yaml").expect_code(0);
    let from_yaml = matrix("bare.ix", "runners.yaml").expect_code(0);
    assert_eq!(from_ix.stdout, from_yaml.stdout);
    assert!(from_ix.stdout.contains("\"total-cpu-dram-gb\": 2399"), "{}", from_ix.stdout);
    // Without either, sizing fails as InferenceX's generator does.
    let missing = matrix("bare.ix", "empty.yaml").expect_code(1);
    assert!(missing.stderr.contains("ix::matrix::missing-runner-hardware"), "{}", missing.stderr);
}
