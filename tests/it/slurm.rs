//! `ix run --executor slurm` against a real one-node Slurm cluster that this test starts in a
//! temporary folder and stops again (SLURM-LOCAL.md): jobs appear in `squeue`, complete and are
//! recorded; interrupting `ix run` scancels its jobs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::run::{OK_SCRIPT, Project, SCRIPT, entry, summary_line};

/// A running cluster; dropping it kills its daemons by the pids in their pid files.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    started_munged: bool,
}

fn sh(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn kill_pid_file(path: &Path) {
    if let Some(pid) = std::fs::read_to_string(path).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
        // SAFETY: signals a daemon this test started, by the pid it wrote.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

fn munge_works() -> bool {
    Command::new("sh").args(["-c", "munge -n | unmunge"]).output().is_ok_and(|o| o.status.success())
}

impl Cluster {
    fn start() -> Option<Cluster> {
        if sh("which", &["slurmctld"]).is_none() {
            if std::env::var("IX_ALLOW_MISSING_SLURM").as_deref() == Ok("1") {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("slurm is not installed; skipped by IX_ALLOW_MISSING_SLURM=1");
                }
                return None;
            }
            panic!("slurmctld not found: run ci/slurm.sh (or set IX_ALLOW_MISSING_SLURM=1 to skip on purpose)");
        }
        let mut started_munged = false;
        if !munge_works() {
            let status =
                Command::new("bash").arg(crate::util::project_root().join("tests/slurm/start-munge.sh")).status();
            assert!(status.is_ok_and(|s| s.success()), "munged did not start");
            started_munged = true;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let host = sh("hostname", &["-s"]).expect("hostname").trim().to_string();
        let cpus = sh("nproc", &[]).expect("nproc").trim().to_string();
        let d = dir.path().display();
        let conf = dir.path().join("slurm.conf");
        let text = format!(
            "ClusterName=ixtest\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\n\
             SlurmctldPort={}\nSlurmdPort={}\n\
             StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nMpiDefault=none\n\
             SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
             ReturnToService=2\nJobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             MinJobAge=600\n\
             NodeName={host} CPUs={cpus} RealMemory=1000 State=UNKNOWN\n\
             PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port()
        );
        std::fs::create_dir_all(dir.path().join("state")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("spool")).expect("mkdir");
        std::fs::write(&conf, text).expect("write slurm.conf");
        let cluster = Cluster { dir, conf, started_munged };
        for (daemon, args) in [("slurmctld", vec!["-c", "-f"]), ("slurmd", vec!["-f"])] {
            let status = Command::new(daemon).args(&args).arg(&cluster.conf).env("SLURM_CONF", &cluster.conf).status();
            assert!(status.is_ok_and(|s| s.success()), "{daemon} did not start: {}", cluster.logs());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state = cluster.cmd("sinfo", &["-h", "-o", "%T"]).unwrap_or_default();
            if state.trim() == "idle" {
                break;
            }
            assert!(Instant::now() < deadline, "the node never became idle ({state}): {}", cluster.logs());
            std::thread::sleep(Duration::from_millis(300));
        }
        Some(cluster)
    }

    fn cmd(&self, cmd: &str, args: &[&str]) -> Option<String> {
        let out = Command::new(cmd).args(args).env("SLURM_CONF", &self.conf).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("--- slurmctld.log\n{}\n--- slurmd.log\n{}", read("slurmctld.log"), read("slurmd.log"))
    }

    /// Names of the jobs in the queue.
    fn queue(&self) -> Vec<String> {
        self.cmd("squeue", &["-h", "-o", "%j %T"]).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        kill_pid_file(&self.dir.path().join("slurmd.pid"));
        kill_pid_file(&self.dir.path().join("slurmctld.pid"));
        if self.started_munged {
            kill_pid_file(Path::new("/run/munge/munged.pid"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// One cluster at a time: the tests of this module share the host's node name.
static CLUSTER_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn slurm_executor_runs_records_and_scancels_on_a_real_cluster() {
    let _lock = CLUSTER_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(cluster) = Cluster::start() else { return };
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-start: 1, conc-end: 2");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let args = ["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"];
    let spawn = |sleep: &str| {
        Command::new(crate::util::ix_bin())
            .args(args)
            .args(["--executor", "slurm"])
            .current_dir(project.path())
            .env("SLURM_CONF", &cluster.conf)
            .env("SLEEP_SECS", sleep)
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn ix")
    };
    // Jobs appear in squeue while they run, then complete and are recorded.
    let child = spawn("2");
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.is_empty() && Instant::now() < deadline {
        seen = cluster.queue().into_iter().filter(|j| j.starts_with("ix-")).collect();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!seen.is_empty(), "no ix job ever showed in squeue: {}", cluster.logs());
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}\n{}", cluster.logs());
    // launch, two bench + two result tasks, collect, summary, report.
    let line = stdout.lines().find(|l| l.contains(" done, ")).unwrap_or("");
    assert_eq!(line, "8 done, 0 reused, 0 failed, 0 skipped, 0 cancelled", "{stdout}");
    assert!(stderr.contains("is job "), "{stderr}");
    assert_eq!(project.results().len(), 2);

    // Interrupting ix cancels its running jobs.
    project.write(&format!("benchmarks/{SCRIPT}"), &format!("{OK_SCRIPT}# slow\n"));
    let child = spawn("120");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cluster.queue().iter().any(|j| j.starts_with("ix-") && j.ends_with("RUNNING")) {
        assert!(Instant::now() < deadline, "no running job: {:?}", cluster.queue());
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: signals the ix child this test spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("(interrupted)"), "{stdout}");
    let deadline = Instant::now() + Duration::from_secs(45);
    while cluster.queue().iter().any(|j| j.starts_with("ix-") && !j.ends_with("CANCELLED")) {
        assert!(Instant::now() < deadline, "jobs left after cancel: {:?}", cluster.queue());
        std::thread::sleep(Duration::from_millis(200));
    }

    // Back to the recorded script: the next run completes what the interrupted one left, and
    // the engine's plan then reuses everything.
    project.write(&format!("benchmarks/{SCRIPT}"), OK_SCRIPT);
    let out = crate::util::ix(args)
        .args_from(&["--executor", "slurm"])
        .current_dir(project.path())
        .env("SLURM_CONF", &cluster.conf)
        .run()
        .expect_code(0);
    assert_eq!(summary_line(&out), "nothing to run: all 8 tasks are up to date (state .ix)", "{}", out.stderr);
    let plan = crate::util::ix([
        "plan",
        "configs/master.yaml",
        "--runner-config",
        "configs/runners.yaml",
        "--state-dir",
        ".ix",
    ])
    .args_from(&["--format", "json"])
    .current_dir(project.path())
    .run()
    .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).expect("plan json");
    assert!(doc["tasks"].as_array().expect("tasks").iter().all(|t| t["action"] == "reuse"), "{}", plan.stdout);
}

/// Issue 17 item 1 against a real cluster: no hostile setting reaches `sbatch` or runs anything
/// (`BASH_ENV` would run in the job's wrapper script, `SBATCH_*` would change the submission).
#[test]
fn slurm_executor_runs_nothing_for_any_hostile_setting() {
    let _lock = CLUSTER_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(cluster) = Cluster::start() else { return };
    let trap = crate::security::Trap::new();
    let run = |project: &Project| {
        crate::util::ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
            .args_from(&["--executor", "slurm"])
            .current_dir(project.path())
            .env("SLURM_CONF", &cluster.conf)
            .run()
    };
    for case in trap.cases() {
        let project = crate::security::hostile_project(&case);
        let out = run(&project);
        assert_eq!(out.code, 1, "{}: {}\n{}", case.label, out.stdout, out.stderr);
        assert!(out.stderr.contains("ix::config::forbidden-setting"), "{}: {}", case.label, out.stderr);
        assert!(!trap.marker().exists(), "{}: a hostile setting ran a command", case.label);
        assert!(!crate::security::anything_ran(project.path()), "{}: a task started", case.label);
    }
    let jobs = cluster.cmd("scontrol", &["show", "jobs", "-o"]).unwrap_or_default();
    assert!(!jobs.contains("JobName=ix-"), "a job was submitted: {jobs}");
    // The same entry with a benign setting does go through this cluster.
    let benign = crate::security::Hostile { label: "benign", settings: vec!["CONFIG_FILE=a.yaml".into()] };
    let out = run(&crate::security::hostile_project(&benign));
    assert_eq!(out.code, 0, "{}\n{}\n{}", out.stdout, out.stderr, cluster.logs());
    let jobs = cluster.cmd("scontrol", &["show", "jobs", "-o"]).unwrap_or_default();
    assert!(jobs.contains("JobName=ix-"), "the benign job never reached the cluster: {jobs}");
}

/// Issue 17 item 7 on a real cluster: after `kill -9` of `ix run`, its running Slurm job is
/// cancelled (by the watchdog, from the ledger in the store) instead of running on.
#[test]
fn slurm_jobs_do_not_outlive_a_killed_run() {
    let _lock = CLUSTER_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(cluster) = Cluster::start() else { return };
    let master = entry("tiny-fp32-local-sim", "sim", "img", "conc-list: [1]");
    let project = Project::new(&master, &[(SCRIPT, OK_SCRIPT)]);
    let mut child = Command::new(crate::util::ix_bin())
        .args(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args(["--executor", "slurm"])
        .current_dir(project.path())
        .env("SLURM_CONF", &cluster.conf)
        .env("SLEEP_SECS", "120")
        .env("CI", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ix");
    // `ix` writes the ledger line right after `sbatch` returns; on a loaded machine the job can be
    // running before that line is written, so wait for both.
    let ledger = || std::fs::read_to_string(project.path().join(".ix/procs")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(cluster.queue().iter().any(|j| j.starts_with("ix-") && j.ends_with("RUNNING"))
        && ledger().lines().any(|l| l.starts_with("slurm ")))
    {
        assert!(Instant::now() < deadline, "no running job in the ledger: {:?} {}", cluster.queue(), ledger());
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: signals the ix child this test spawned.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(45);
    while cluster.queue().iter().any(|j| j.starts_with("ix-") && !j.ends_with("CANCELLED")) {
        assert!(Instant::now() < deadline, "the job outlived ix: {:?}", cluster.queue());
        std::thread::sleep(Duration::from_millis(200));
    }
}
