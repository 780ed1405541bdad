//! Issue 17 (docs/SECURITY.md). Hostile configs: a config from a pull request must never make
//! `ix` execute anything. Each case is a multi-node entry whose `additional-settings` try one
//! way of running a command (which does run on a checkout without the setting policy); the
//! suite proves `ix check` rejects it at its span and `ix run` with the local executor starts
//! nothing. `slurm.rs` runs the same cases against a real Slurm cluster. Paths derived from
//! config values stay inside the project. Nothing a task started outlives a killed `ix run`.

use std::path::{Path, PathBuf};

use crate::run::{MULTINODE_SCRIPT, Project};
use crate::util::ix;

/// One hostile case: a label and the settings it adds to the prefill worker.
pub(crate) struct Hostile {
    pub(crate) label: &'static str,
    pub(crate) settings: Vec<String>,
}

/// A folder holding the marker every case tries to create, and a fake `bash` on a `PATH`.
pub(crate) struct Trap {
    dir: tempfile::TempDir,
}

impl Trap {
    pub(crate) fn new() -> Trap {
        let trap = Trap { dir: tempfile::tempdir().expect("tempdir") };
        let bin = trap.dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let fake = bin.join("bash");
        // A builtin redirection, since the PATH it runs under need not hold `touch`.
        std::fs::write(&fake, format!("#!/bin/sh\n: > '{}'\n", trap.marker().display())).expect("fake bash");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        trap
    }

    /// The file a successful attack creates.
    pub(crate) fn marker(&self) -> PathBuf {
        self.dir.path().join("pwned")
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// Every way of running a command through a setting that the policy refuses.
    pub(crate) fn cases(&self) -> Vec<Hostile> {
        let touch = format!("touch '{}'", self.marker().display());
        let case = |label, settings: &[String]| Hostile { label, settings: settings.to_vec() };
        vec![
            // bash expands `$(...)` in BASH_ENV before it runs any script.
            case("BASH_ENV", &[format!("BASH_ENV=$({touch})")]),
            case("ENV", &[format!("ENV=$({touch})")]),
            // The launcher's `bash` is looked up on PATH.
            case("PATH", &[format!("PATH={}", self.bin().display())]),
            // An exported function replaces `printf`, which the script calls.
            case("BASH_FUNC_", &[format!("BASH_FUNC_printf%%=() {{ {touch}; }}")]),
            // xtrace from SHELLOPTS expands PS4 before every command.
            case("SHELLOPTS+PS4", &[format!("PS4=$({touch})"), "SHELLOPTS=xtrace".to_string()]),
            case("PS4", &[format!("PS4=$({touch})")]),
            case("SHELLOPTS", &["SHELLOPTS=xtrace".to_string()]),
            case("LD_PRELOAD", &[format!("LD_PRELOAD={}/evil.so", self.bin().display())]),
            case("LD_LIBRARY_PATH", &[format!("LD_LIBRARY_PATH={}", self.bin().display())]),
            case("IFS", &["IFS=/".to_string()]),
            case("PYTHONSTARTUP", &[format!("PYTHONSTARTUP={}/evil.py", self.bin().display())]),
            case("GIT_SSH_COMMAND", &[touch.replace("touch", "GIT_SSH_COMMAND=touch")]),
            case("HOME", &[format!("HOME={}", self.bin().display())]),
            case("SBATCH_EXPORT", &["SBATCH_EXPORT=NONE".to_string()]),
            case("SLURM_TASK_PROLOG", &[format!("SLURM_TASK_PROLOG={}/bash", self.bin().display())]),
            case("not an identifier", &["MODE; touch x=1".to_string()]),
            case("leading digit", &["1X=1".to_string()]),
            case("no =", &["PREFILL_MODE".to_string()]),
            case("contract IX_BIN", &[format!("IX_BIN={}/bash", self.bin().display())]),
            case("contract MODEL", &["MODEL=other".to_string()]),
        ]
    }
}

/// A multi-node master config whose prefill worker carries `settings` (YAML single-quoted).
pub(crate) fn hostile_master(settings: &[String]) -> String {
    let items: String =
        settings.iter().map(|s| format!("        - '{}'\n", s.replace('\'', "''"))).collect::<Vec<_>>().concat();
    format!(
        "tiny-fp32-local-simmn:\n  image: img\n  model: tiny-model\n  model-prefix: tiny\n  runner: local\n  precision: fp32\n  framework: simmn\n  multinode: true\n  disagg: true\n  seq-len-configs:\n  - isl: 1024\n    osl: 1024\n    search-space:\n    - conc-list: [4]\n      prefill:\n        num-worker: 1\n        tp: 2\n        ep: 2\n        dp-attn: false\n        additional-settings:\n        - 'PREFILL_MODE=fast'\n{items}      decode:\n        num-worker: 1\n        tp: 2\n        ep: 2\n        dp-attn: false\n"
    )
}

/// A project for one case, with the multi-node script the entry names.
pub(crate) fn hostile_project(case: &Hostile) -> Project {
    Project::new(&hostile_master(&case.settings), &[("tiny_fp32_local_simmn.sh", MULTINODE_SCRIPT)])
}

/// Whether any task log or work folder exists under the project's state dir.
pub(crate) fn anything_ran(project: &Path) -> bool {
    let non_empty = |dir: PathBuf| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    non_empty(project.join(".ix/logs")) || non_empty(project.join(".ix/work"))
}

/// `ix check` rejects each case with one diagnostic per hostile setting, each at its span.
#[test]
fn check_rejects_every_hostile_setting_at_its_span() {
    let trap = Trap::new();
    for case in trap.cases() {
        let project = hostile_project(&case);
        let out = ix(["check", "configs/master.yaml"]).current_dir(project.path()).env("NO_COLOR", "1").run();
        let out = out.expect_code(1);
        let n_refused = out.stderr.matches("ix::config::forbidden-setting").count();
        assert_eq!(n_refused, case.settings.len(), "{}: {}", case.label, out.stderr);
        // The label sits under the setting's text (its first characters are quoted in the snippet).
        for setting in &case.settings {
            let shown: String = setting.chars().take(8).collect();
            assert!(out.stderr.contains(&shown), "{}: {shown} not shown\n{}", case.label, out.stderr);
        }
    }
}

/// Issue 17 item 1: `ix run` with the local executor runs nothing for any hostile case.
#[test]
fn run_executes_nothing_for_any_hostile_setting_local() {
    let trap = Trap::new();
    // The trap works: the fake `bash` creates the marker when run.
    let probe = std::process::Command::new(trap.bin().join("bash")).status().expect("fake bash");
    assert!(probe.success() && trap.marker().exists());
    std::fs::remove_file(trap.marker()).expect("reset marker");
    for case in trap.cases() {
        let project = hostile_project(&case);
        let out = project.run(&[]);
        assert_eq!(out.code, 1, "{}: {}\n{}", case.label, out.stdout, out.stderr);
        assert!(out.stderr.contains("ix::config::forbidden-setting"), "{}: {}", case.label, out.stderr);
        assert!(!trap.marker().exists(), "{}: a hostile setting ran a command", case.label);
        assert!(!anything_ran(project.path()), "{}: a task started", case.label);
    }
    // The same project without the hostile settings runs, so the refusals above are the policy.
    let project = hostile_project(&Hostile { label: "benign", settings: vec!["CONFIG_FILE=a.yaml".into()] });
    let out = project.run(&[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

/// The DSL's `env [...]` goes through the same policy.
#[test]
fn dsl_env_settings_are_refused_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sweep = "runner local { local_0 }\nsweep s {\n  image \"i\"\n  model \"m\"\n  prefix p\n  precision fp4\n  framework dynamo-trt\n  runner local\n  multinode\n  disagg\n  at 1k/1k {\n    prefill 1 x dep4 env [\"BASH_ENV=$(touch pwned)\"] decode 1 x dep8 conc [1]\n  }\n}\n";
    std::fs::write(dir.path().join("s.ix"), sweep).expect("write");
    let out = ix(["check", "s.ix"]).current_dir(dir.path()).env("NO_COLOR", "1").run().expect_code(1);
    assert!(out.stderr.contains("ix::dsl::forbidden-setting"), "{}", out.stderr);
    assert!(out.stderr.contains("`env` may not set `BASH_ENV`"), "{}", out.stderr);
}

/// Issue 17 item 4: a value that would put a path into a script name is refused at check time,
/// and a script that resolves outside the project (a symlink) is never run.
#[test]
fn paths_from_config_values_stay_inside_the_project() {
    let outside = tempfile::tempdir().expect("tempdir");
    let marker = outside.path().join("pwned");
    let evil = format!("#!/usr/bin/env bash\n: > '{}'\n", marker.display());
    // `model-prefix: ../../<outside>/evil` names `benchmarks/../../<outside>/evil_fp32_local.sh`,
    // which exists (both folders are in the same temporary folder).
    let outside_name = outside.path().file_name().expect("name").to_string_lossy().into_owned();
    std::fs::write(outside.path().join("evil_fp32_local.sh"), &evil).expect("write");
    let prefix = format!("model-prefix: ../../{outside_name}/evil");
    let master = crate::run::entry("k", "sim", "img", "conc-list: [1]").replace("model-prefix: tiny", &prefix);
    // `benchmarks/` must exist for `benchmarks/../..` to resolve (as in every real project).
    let project = Project::new(&master, &[(crate::run::SCRIPT, crate::run::OK_SCRIPT)]);
    assert_eq!(project.path().parent(), outside.path().parent());
    let out = project.run(&[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ix::config::invalid-file-name"), "{}", out.stderr);
    assert!(!marker.exists(), "a script outside the project ran");
    assert!(!anything_ran(project.path()));

    // A benchmark script that is a symlink to a file outside the project counts as missing, and
    // the run starts nothing.
    let master = crate::run::entry("k", "sim", "img", "conc-list: [1]");
    let project = Project::new(&master, &[]);
    let target = outside.path().join("evil.sh");
    std::fs::write(&target, &evil).expect("write");
    std::fs::create_dir_all(project.path().join("benchmarks")).expect("mkdir");
    std::os::unix::fs::symlink(&target, project.path().join(format!("benchmarks/{}", crate::run::SCRIPT)))
        .expect("symlink");
    let out = project.run(&[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("ix::plan::missing-script"), "{}", out.stderr);
    assert!(!marker.exists(), "a script outside the project ran");
    assert!(!anything_ran(project.path()));
    // The same script inside the project does run (the symlink was the only difference).
    std::fs::remove_file(project.path().join(format!("benchmarks/{}", crate::run::SCRIPT))).expect("rm");
    project.write(&format!("benchmarks/{}", crate::run::SCRIPT), crate::run::OK_SCRIPT);
    let out = project.run(&[]).expect_code(0);
    assert!(crate::run::summary_line(&out).starts_with("6 done, 0 reused, 0 failed"), "{}", out.stdout);
}

/// Issue 17 item 4: `runners "..."` in a sweep reads only `.yaml` files inside the project or
/// the sweep's folder, so `ix check` never prints another file's content.
#[test]
fn sweeps_cannot_make_check_quote_other_files() {
    let root = tempfile::tempdir().expect("tempdir");
    let secret = "github.com:\n  oauth_token: SECRET-TOKEN-123\n";
    std::fs::write(root.path().join("hosts.yml"), secret).expect("write");
    let project = root.path().join("project");
    std::fs::create_dir_all(project.join("sweeps")).expect("mkdir");
    std::os::unix::fs::symlink(root.path().join("hosts.yml"), project.join("sweeps/link.yaml")).expect("symlink");
    for (name, reference) in [("a.ix", "../../hosts.yml"), ("b.ix", "/proc/self/environ"), ("c.ix", "link.yaml")] {
        std::fs::write(project.join("sweeps").join(name), format!("runners \"{reference}\"\n")).expect("write");
        let out =
            ix(["check", &format!("sweeps/{name}")]).current_dir(&project).env("IX_SECRET", "SECRET-ENV-456").run();
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(out.stderr.contains("ix::dsl::runners-file-refused"), "{name}: {}", out.stderr);
        assert!(!out.stderr.contains("SECRET"), "{name} leaked a secret: {}", out.stderr);
    }
    // Inside the project, a runners file is read (and its own mistakes are shown).
    std::fs::write(project.join("sweeps/runners.yaml"), "local: node_0\n").expect("write");
    std::fs::write(project.join("sweeps/d.ix"), "runners \"runners.yaml\"\n").expect("write");
    let out = ix(["check", "sweeps/d.ix"]).current_dir(&project).run();
    assert!(out.stderr.contains("ix::runners::not-a-list"), "{}", out.stderr);
}

/// A benchmark script that, on its first run, starts a background "server" (`sleep 300`),
/// writes `<server pid> <script pid>` to `$IX_TEST_PIDS` and waits; later runs just succeed.
const LINGERING_SCRIPT: &str = concat!(
    "#!/usr/bin/env bash\nset -euo pipefail\n",
    r#"if [ ! -e "$IX_TEST_PIDS" ]; then
  sleep 300 &
  echo "$! $$" > "$IX_TEST_PIDS.tmp"
  mv "$IX_TEST_PIDS.tmp" "$IX_TEST_PIDS"
  wait
fi
printf '{"max_concurrency": %s, "model_id": "m", "total_token_throughput": 2.0, "output_throughput": 1.0, "median_ttft_ms": 1.0, "median_tpot_ms": 1.0, "median_e2el_ms": 1.0, "median_itl_ms": 1.0}\n' "$CONC" > "$RESULT_FILENAME.json"
"#
);

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rfind(')').and_then(|end| stat[end + 1..].split_whitespace().next());
    state.is_some_and(|state| state != "Z")
}

fn wait_until(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Starts `ix run` on `project` and returns it with the `(server, script)` pids once the
/// script's background server runs.
fn start_lingering_run(project: &Project, pids_file: &Path) -> (std::process::Child, u32, u32) {
    let child = std::process::Command::new(crate::util::ix_bin())
        .args(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(project.path())
        .env("IX_TEST_PIDS", pids_file)
        .env("CI", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ix");
    wait_until("the script started its server", std::time::Duration::from_secs(30), || pids_file.exists());
    let text = std::fs::read_to_string(pids_file).expect("pids");
    let pids: Vec<u32> = text.split_whitespace().map(|p| p.parse().expect("pid")).collect();
    (child, pids[0], pids[1])
}

fn sigkill(pid: u32) {
    // SAFETY: signals a process this test started (or one of its children).
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
}

/// The pids of the children of `parent` whose command line contains `needle`.
fn children_of(parent: u32, needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat.rfind(')').and_then(|end| stat[end + 1..].split_whitespace().nth(1)?.parse::<u32>().ok());
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if ppid == Some(parent) && String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

/// Issue 17 item 7: after `kill -9` of `ix run`, the task's script and the server it started
/// are gone within seconds (the watchdog kills the task's process group).
#[test]
fn nothing_outlives_a_killed_run() {
    let master = crate::run::entry("k", "sim", "img", "conc-list: [1]");
    let project = Project::new(&master, &[(crate::run::SCRIPT, LINGERING_SCRIPT)]);
    let pids_file = project.path().join("pids");
    let (mut ix_run, server, script) = start_lingering_run(&project, &pids_file);
    assert!(alive(server) && alive(script));
    sigkill(ix_run.id());
    let _ = ix_run.wait();
    wait_until("the task's processes are gone", std::time::Duration::from_secs(10), || {
        !alive(server) && !alive(script)
    });
}

/// Issue 17 item 7: when the watchdog dies with `ix`, the task's leader still dies (death
/// signal), and the next run reaps the rest of its group from the ledger in the store.
#[test]
fn the_next_run_reaps_what_a_killed_run_left() {
    let master = crate::run::entry("k", "sim", "img", "conc-list: [1]");
    let project = Project::new(&master, &[(crate::run::SCRIPT, LINGERING_SCRIPT)]);
    let pids_file = project.path().join("pids");
    let (mut ix_run, server, script) = start_lingering_run(&project, &pids_file);
    let watchdogs = children_of(ix_run.id(), "ix-watchdog");
    assert_eq!(watchdogs.len(), 1, "one watchdog per run");
    sigkill(watchdogs[0]);
    sigkill(ix_run.id());
    let _ = ix_run.wait();
    wait_until("the task's leader died with ix", std::time::Duration::from_secs(10), || !alive(script));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(alive(server), "the server should outlive both (this is what the next run reaps)");
    let procs = std::fs::read_to_string(project.path().join(".ix/procs")).expect("the ledger is in the store");
    assert!(procs.starts_with("pg "), "{procs}");
    let out = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .current_dir(project.path())
        .env("IX_TEST_PIDS", &pids_file)
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("note: stopped 1 process group(s)"), "{}", out.stderr);
    wait_until("the leftover server is gone", std::time::Duration::from_secs(5), || !alive(server));
    assert!(!project.path().join(".ix/procs").exists(), "a finished run leaves no ledger");
}
