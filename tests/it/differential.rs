//! `ci/differential.sh` (the live differential test against InferenceX at its pinned commits,
//! run by the `differential` job of `.github/workflows/ci.yml`) proven on stand-in checkouts:
//! InferenceX's layout (`.github/configs/` at 6e97ccc73, `configs/` at 843c6254f) holding the
//! reference's real configs, with stand-in tools that replay what the real tools printed for
//! the recorded conformance cases (`../shared/reference/conformance`). The script must find
//! every case equal, and a stand-in that prints one job fewer must make it fail on that case.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{ix_bin, project_root, reference_dir};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The stand-in generator: prints the recorded output of the case with the same arguments
/// (`.github/configs/` read as the reference's `configs/` for the Feb layout) and exits with
/// its code; `STANDIN_CORRUPT=1` drops the last job.
const GENERATOR: &str = r#"import json, os, sys
cases, feb = sys.argv[1], sys.argv[2] == "feb"
args = " ".join(sys.argv[3:])
if feb:
    args = args.replace(".github/configs/", "configs/")
for name in sorted(os.listdir(cases)):
    path = os.path.join(cases, name, "args")
    if os.path.isfile(path) and open(path).read().strip() == args:
        code = int(open(os.path.join(cases, name, "exit-code")).read())
        if code == 0:
            jobs = json.load(open(os.path.join(cases, name, "expected.json")))
            if os.environ.get("STANDIN_CORRUPT") == "1" and jobs:
                jobs = jobs[:-1]
            print(json.dumps(jobs))
        else:
            print("error (recorded)", file=sys.stderr)
        sys.exit(code)
# No recorded case: no output and success, which the script must report as a difference.
print("no recorded case for: " + args, file=sys.stderr)
"#;

/// The stand-in `process_result.py`: the recorded record of the case with this
/// `RESULT_FILENAME`, written as `agg_<RESULT_FILENAME>.json`, and its exit code.
const PROCESSOR: &str = r#"import os, shutil, sys
cases = sys.argv[1]
def env_of(case):
    return dict(l.split("=", 1) for l in open(os.path.join(cases, case, "env")).read().splitlines() if l)
names = sorted(os.listdir(cases))
# The variables the cases set (Python and its launchers may add others of their own).
known = set().union(*(env_of(case) for case in names))
given = {k: v for k, v in os.environ.items() if k in known}
for case in names:
    env = env_of(case)
    if env == given:
        code = int(open(os.path.join(cases, case, "exit-code")).read())
        if code == 0:
            shutil.copy(os.path.join(cases, case, "expected.json"), "agg_" + env["RESULT_FILENAME"] + ".json")
        sys.exit(code)
# No recorded case: no record and success, which the script must report as a difference.
"#;

/// The stand-in `summarize.py`: the recorded table of the case whose `results/` folder it is given.
const SUMMARIZER: &str = r#"import os, sys
case = os.path.dirname(os.path.abspath(sys.argv[1]).rstrip("/"))
code = int(open(os.path.join(case, "exit-code")).read())
if code == 0:
    sys.stdout.write(open(os.path.join(case, "expected.md")).read())
sys.exit(code)
"#;

/// A stand-in checkout at `dir`: `configs` copied to `config_dir`, the stand-in tools (each a
/// shell wrapper passing its replay folder) where InferenceX keeps them.
fn stand_in(dir: &Path, configs: &Path, config_dir: &str, cases: &Path, layout: &str) {
    copy_dir(configs, &dir.join(config_dir));
    let utils = dir.join("utils");
    std::fs::create_dir_all(utils.join("matrix_logic")).unwrap();
    std::fs::write(dir.join("generator.py"), GENERATOR).unwrap();
    std::fs::write(dir.join("processor.py"), PROCESSOR).unwrap();
    std::fs::write(dir.join("summarizer.py"), SUMMARIZER).unwrap();
    // The script runs `python TOOL ARGS`: each tool is a Python file that runs its replay.
    let wrap = |tool: &str, extra: &[String]| {
        let extra: Vec<String> = extra.iter().map(|arg| format!("{arg:?}")).collect();
        format!(
            "import runpy, sys\nsys.argv = [{tool:?}] + [{}] + sys.argv[1:]\nrunpy.run_path({tool:?}, run_name=\"__main__\")\n",
            extra.join(", ")
        )
    };
    let root = dir.to_string_lossy().into_owned();
    let process_cases = cases.join("process-result").to_string_lossy().into_owned();
    std::fs::write(
        utils.join("matrix_logic/generate_sweep_configs.py"),
        wrap(&format!("{root}/generator.py"), &[cases.to_string_lossy().into_owned(), layout.to_string()]),
    )
    .unwrap();
    std::fs::write(utils.join("process_result.py"), wrap(&format!("{root}/processor.py"), &[process_cases])).unwrap();
    std::fs::write(utils.join("summarize.py"), wrap(&format!("{root}/summarizer.py"), &[])).unwrap();
}

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("args").is_file() || path.join("env").is_file() || path.join("results").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every recorded case the stand-ins can replay, as lines of the script's case list. Feb cases
/// without `--runner-config` are left out: they record the reference run where
/// `.github/configs/runners.yaml` does not exist, which a checkout always has.
fn case_list(reference: &Path) -> String {
    let mut lines = Vec::new();
    for case in case_dirs(&reference.join("conformance")) {
        let args = std::fs::read_to_string(case.join("args")).unwrap();
        if args.contains("--runner-config") {
            lines.push(format!("feb matrix {}", args.trim().replace("configs/", ".github/configs/")));
        }
    }
    for case in case_dirs(&reference.join("head/conformance")) {
        let args = std::fs::read_to_string(case.join("args")).unwrap();
        if !args.contains("invalid/") && !args.contains("../") {
            lines.push(format!("head matrix {}", args.trim()));
        }
    }
    for case in case_dirs(&reference.join("conformance/process-result")) {
        lines.push(format!("feb process-result {}", case.display()));
    }
    for case in case_dirs(&reference.join("conformance/summarize")) {
        lines.push(format!("feb summarize {}", case.join("results").display()));
    }
    lines.join("\n") + "\n"
}

fn run_script(feb: &Path, head: &Path, cases: &Path, corrupt: bool) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(project_root().join("ci/differential.sh")).arg(feb).arg(head).arg(cases);
    cmd.env("IX", ix_bin()).env("NO_COLOR", "1");
    if corrupt {
        cmd.env("STANDIN_CORRUPT", "1");
    }
    cmd.output().expect("bash runs ci/differential.sh")
}

#[test]
fn the_differential_script_agrees_with_the_recorded_reference_and_catches_a_difference() {
    let Some(reference) = reference_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (feb, head) = (dir.path().join("inferencex-feb"), dir.path().join("inferencex-head"));
    stand_in(&feb, &reference.join("configs"), ".github/configs", &reference.join("conformance"), "feb");
    stand_in(&head, &reference.join("head/configs"), "configs", &reference.join("head/conformance"), "head");
    let cases = dir.path().join("cases.txt");
    std::fs::write(&cases, case_list(&reference)).unwrap();

    let out = run_script(&feb, &head, &cases, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let agreed = stdout.lines().filter(|line| line.starts_with("ok   ")).count();
    assert!(agreed >= 95, "every recorded case compared: {agreed}\n{stdout}");
    assert!(stdout.contains("ok   feb process-result") && stdout.contains("ok   feb summarize"), "{stdout}");

    // A generator that drops the last job of each list: the script names the case.
    let first: String = case_list(&reference).lines().take(2).map(|line| format!("{line}\n")).collect();
    std::fs::write(&cases, first).unwrap();
    let out = run_script(&feb, &head, &cases, true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DIFF feb matrix full-sweep --single-node"), "{stdout}");
    assert!(stdout.contains("items !="), "the difference is named: {stdout}");
}

/// The repository's own case list names only inputs that exist.
#[test]
fn the_differential_case_list_names_existing_inputs() {
    let root = project_root();
    let text = std::fs::read_to_string(root.join("ci/differential-cases.txt")).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|line| !line.trim().is_empty() && !line.starts_with('#')) {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(matches!(words[0], "feb" | "head"), "{line}");
        assert!(matches!(words[1], "matrix" | "process-result" | "summarize"), "{line}");
        if words[1] == "process-result" {
            assert!(root.join(words[2]).join("env").is_file(), "{line}");
            assert!(root.join(words[2]).join("input.json").is_file(), "{line}");
        }
        n += 1;
    }
    assert!(n > 80, "{n} cases");
}
