//! Running one child process (or one Slurm job) to its end: process groups, timeouts and
//! cancellation.
//!
//! Every child starts in its own process group, so a timeout or a Ctrl-C kills the whole tree
//! (the benchmark script, its server, its client), first with SIGTERM, then with SIGKILL; what
//! must survive a `kill -9` of `ix` itself is the job of [`super::reaper`].

use std::fs::File;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;
use tokio::time::Instant;

use super::reaper::ProcessLedger;
use super::slurm;

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Exit status (a signal counts as 128 + signal number).
    Exited(i32),
    TimedOut,
    Cancelled,
    /// It never started.
    SpawnFailed(String),
}

/// Grace between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);

fn signal_group(pgid: u32, signal: i32) {
    if let Ok(pgid) = i32::try_from(pgid)
        && pgid > 0
    {
        // SAFETY: sends a signal to the process group we created; no memory is touched.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }
}

fn status_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Waits until the deadline (if any) passes or cancel turns true.
async fn until_stop(deadline: Option<Instant>, cancel: &mut watch::Receiver<bool>) -> End {
    let timeout = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    let cancelled = async {
        loop {
            if *cancel.borrow() {
                return;
            }
            if cancel.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = timeout => End::TimedOut,
        () = cancelled => End::Cancelled,
    }
}

/// Runs `cmd` with stdout and stderr appended to `log`, in a process group of its own whose
/// leader dies with `ix` (`PR_SET_PDEATHSIG`) and which `ledger` lists while it runs. When the
/// leader ends, whatever is left of its group is killed: nothing a task started outlives it.
pub async fn run_child(
    mut cmd: Command,
    log: &Path,
    timeout: Option<Duration>,
    cancel: &mut watch::Receiver<bool>,
    ledger: Option<&ProcessLedger>,
) -> End {
    let (out, err) = match File::options().create(true).append(true).open(log).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok(files) => files,
        Err(err) => return End::SpawnFailed(format!("cannot open log `{}`: {err}", log.display())),
    };
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0).kill_on_drop(true);
    let parent = std::process::id();
    // SAFETY: the closure runs in the child between fork and exec and only makes two
    // async-signal-safe calls (prctl, getppid); it allocates nothing (a raw OS error is not
    // boxed).
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            // `ix` died before the death signal was armed.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(err) => return End::SpawnFailed(err.to_string()),
    };
    let pgid = child.id().unwrap_or(0);
    let group = ProcessLedger::group_of(pgid);
    if let (Some(ledger), Some(group)) = (ledger, &group) {
        ledger.add(group.clone());
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let end = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => End::Exited(status_code(status)),
            Err(err) => End::SpawnFailed(err.to_string()),
        },
        stop = until_stop(deadline, cancel) => {
            signal_group(pgid, libc::SIGTERM);
            if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_err() {
                signal_group(pgid, libc::SIGKILL);
                let _ = child.wait().await;
            }
            stop
        }
    };
    // Stragglers: members that ignored SIGTERM, or that the script left behind when it exited.
    signal_group(pgid, libc::SIGKILL);
    if let (Some(ledger), Some(group)) = (ledger, &group) {
        ledger.remove(group);
    }
    end
}

/// Runs a Slurm batch job: submits it, polls its state, `scancel`s it on timeout or cancel.
/// The job id is appended to the log as `ix: slurm job <id>` and sent through `on_job_id`.
pub async fn run_slurm_job(
    sbatch_argv: Vec<std::ffi::OsString>,
    env: &[(String, String)],
    log: &Path,
    timeout: Option<Duration>,
    cancel: &mut watch::Receiver<bool>,
    on_job_id: &(dyn Fn(u64) + Sync),
) -> End {
    run_slurm_job_with(None, sbatch_argv, env, log, timeout, cancel, on_job_id).await
}

/// How many `scontrol show job` failures in a row (other than "Invalid job id") end the wait:
/// about a minute of an unreachable controller.
const SCONTROL_FAILURES: u32 = 200;

/// [`run_slurm_job`] with Slurm's commands taken from `bin_dir` (a stand-in controller in
/// tests) instead of `PATH`.
async fn run_slurm_job_with(
    bin_dir: Option<&Path>,
    sbatch_argv: Vec<std::ffi::OsString>,
    env: &[(String, String)],
    log: &Path,
    timeout: Option<Duration>,
    cancel: &mut watch::Receiver<bool>,
    on_job_id: &(dyn Fn(u64) + Sync),
) -> End {
    let program = |name: &str| bin_dir.map_or_else(|| std::path::PathBuf::from(name), |dir| dir.join(name));
    let output = Command::new(program("sbatch")).args(&sbatch_argv).envs(env.iter().cloned()).output().await;
    let output = match output {
        Ok(output) if output.status.success() => output,
        Ok(output) => {
            return End::SpawnFailed(format!("sbatch failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
        Err(err) => return End::SpawnFailed(format!("cannot run `sbatch`: {err}")),
    };
    let Some(job_id) = slurm::parse_job_id(&String::from_utf8_lossy(&output.stdout)) else {
        return End::SpawnFailed("sbatch printed no job id".into());
    };
    on_job_id(job_id);
    if let Ok(mut file) = File::options().create(true).append(true).open(log) {
        use std::io::Write;
        let _ = writeln!(file, "ix: slurm job {job_id}");
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut failures = 0;
    loop {
        let poll = tokio::time::sleep(Duration::from_millis(300));
        tokio::select! {
            () = poll => {}
            stop = until_stop(deadline, cancel) => {
                let _ = Command::new(program("scancel")).arg(job_id.to_string()).output().await;
                return stop;
            }
        }
        let shown = Command::new(program("scontrol")).args(["show", "job", "-o", &job_id.to_string()]).output().await;
        let Ok(shown) = shown else { continue };
        if !shown.status.success() {
            let stderr = String::from_utf8_lossy(&shown.stderr);
            if slurm::job_gone(&stderr) {
                // Purged from the controller: it ended; the result file decides.
                return End::Exited(0);
            }
            // The controller did not answer (busy, restarting): the job may well still run.
            failures += 1;
            if failures >= SCONTROL_FAILURES {
                let _ = Command::new(program("scancel")).arg(job_id.to_string()).output().await;
                return End::SpawnFailed(format!(
                    "`scontrol show job {job_id}` failed {failures} times in a row: {}",
                    stderr.trim()
                ));
            }
            continue;
        }
        failures = 0;
        let Some((state, code)) = slurm::parse_job_state(&String::from_utf8_lossy(&shown.stdout)) else {
            continue;
        };
        match state.as_str() {
            "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | "REQUEUED" | "RESIZING" => {}
            "COMPLETED" => return End::Exited(code),
            _ => return End::Exited(if code == 0 { 1 } else { code }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in Slurm controller in a folder: `sbatch` prints job id 42; `scontrol` answers
    /// each call with the next line of `answers` (`fail:<stderr>` exits 1 with that message).
    fn controller(answers: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = |name: &str, body: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script("sbatch", "echo 42\n");
        script("scancel", "echo cancelled >> \"$(dirname \"$0\")/scancel.log\"\n");
        std::fs::write(dir.path().join("answers"), answers.join("\n") + "\n").unwrap();
        script(
            "scontrol",
            "dir=$(dirname \"$0\")\nn=$(cat \"$dir/count\" 2>/dev/null || echo 0)\nn=$((n + 1))\necho \"$n\" > \"$dir/count\"\n\
             line=$(sed -n \"${n}p\" \"$dir/answers\")\n[ -n \"$line\" ] || line=$(tail -n 1 \"$dir/answers\")\n\
             case $line in fail:*) echo \"${line#fail:}\" >&2; exit 1 ;; *) echo \"$line\" ;; esac\n",
        );
        dir
    }

    fn run(dir: &Path) -> End {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (_keep, mut cancel) = watch::channel(false);
        let log = dir.join("job.log");
        runtime.block_on(run_slurm_job_with(Some(dir), Vec::new(), &[], &log, None, &mut cancel, &|_| {}))
    }

    /// A controller that does not answer for a while says nothing about the job: the wait goes
    /// on until the job's own state is known (the flake this fixes read it as "job ended").
    #[test]
    fn a_failed_scontrol_is_not_a_finished_job() {
        let dir = controller(&[
            "fail:slurm_load_jobs error: Socket timed out on send/recv operation",
            "fail:slurm_load_jobs error: Unable to contact slurm controller (connect failure)",
            "JobId=42 JobState=RUNNING ExitCode=0:0",
            "JobId=42 JobState=COMPLETED ExitCode=3:0",
        ]);
        assert!(matches!(run(dir.path()), End::Exited(3)));
        assert_eq!(std::fs::read_to_string(dir.path().join("count")).unwrap().trim(), "4");
    }

    /// "Invalid job id": the job ended and was purged; the result file decides.
    #[test]
    fn an_invalid_job_id_is_a_finished_job() {
        let dir = controller(&[
            "JobId=42 JobState=RUNNING ExitCode=0:0",
            "fail:slurm_load_jobs error: Invalid job id specified",
        ]);
        assert!(matches!(run(dir.path()), End::Exited(0)));
        assert_eq!(std::fs::read_to_string(dir.path().join("count")).unwrap().trim(), "2");
        assert!(!dir.path().join("scancel.log").exists());
    }
}
