//! Nothing a task started outlives `ix run`, even after `kill -9` of `ix`.
//!
//! Three layers, each covering what the one before cannot:
//! - every task's process group leader gets `PR_SET_PDEATHSIG` (SIGKILL when `ix` dies), set in
//!   [`super::process::run_child`];
//! - a [`ProcessLedger`] in the state store (`<state>/procs`) lists what is running: the process
//!   group of every local or Docker task, the name of every Docker container and the id of every
//!   Slurm job; a [`Watchdog`] (a fixed `sh` script in its own process group, holding a pipe from
//!   `ix`) kills, removes or `scancel`s everything listed the moment that pipe closes without
//!   `ix` having said `done`, i.e. when `ix` died;
//! - the next `ix run` on the same store calls [`reap_leftovers`] before it starts anything, for
//!   the case where the watchdog died too.
//!
//! A process group is killed only while it is provably the one recorded: same boot
//! (`/proc/sys/kernel/random/boot_id`), and, when its leader still exists, the same start time;
//! a group whose leader is gone cannot have been reused while any member lives.
//! Nothing here takes config values: the ledger holds numbers and `ix-<hash>` names only.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// One thing a run started that must not outlive it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Running {
    /// A local process group: its id, and its leader's start time in clock ticks since boot.
    Group { pgid: u32, start_ticks: u64 },
    /// A Docker container, by name.
    Container(String),
    /// A Slurm job, by id.
    SlurmJob(u64),
}

impl Running {
    fn line(&self, boot_id: &str) -> String {
        match self {
            Running::Group { pgid, start_ticks } => format!("pg {pgid} {boot_id} {start_ticks}"),
            Running::Container(name) => format!("docker {name}"),
            Running::SlurmJob(id) => format!("slurm {id}"),
        }
    }

    fn parse(line: &str) -> Option<(Running, Option<&str>)> {
        let mut words = line.split_whitespace();
        match words.next()? {
            "pg" => {
                let pgid = words.next()?.parse().ok()?;
                let boot_id = words.next()?;
                let start_ticks = words.next()?.parse().ok()?;
                Some((Running::Group { pgid, start_ticks }, Some(boot_id)))
            }
            "docker" => {
                let name = words.next()?;
                is_container_name(name).then(|| (Running::Container(name.to_string()), None))
            }
            "slurm" => Some((Running::SlurmJob(words.next()?.parse().ok()?), None)),
            _ => None,
        }
    }
}

/// Only names `ix` gives its containers (`ix-` and hex) are ever removed.
fn is_container_name(name: &str) -> bool {
    name.strip_prefix("ix-").is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// This boot's id; empty when unknown (then recorded groups are never reaped by a later run).
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|id| id.trim().to_string()).unwrap_or_default()
}

/// The start time (clock ticks since boot) of process `pid`, field 22 of `/proc/<pid>/stat`.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What a run has running, mirrored in a file of the state store after every change.
#[derive(Debug)]
pub struct ProcessLedger {
    path: PathBuf,
    boot_id: String,
    running: Mutex<BTreeMap<Running, ()>>,
}

impl ProcessLedger {
    /// An empty ledger at `path` (normally `<state>/procs`), written on the first change.
    pub fn new(path: &Path) -> ProcessLedger {
        ProcessLedger { path: path.to_path_buf(), boot_id: boot_id(), running: Mutex::new(BTreeMap::new()) }
    }

    /// The file the ledger is mirrored in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn add(&self, item: Running) {
        self.update(|running| {
            running.insert(item, ());
        });
    }

    pub fn remove(&self, item: &Running) {
        self.update(|running| {
            running.remove(item);
        });
    }

    /// The running process group led by `pid` (a child `ix` just spawned into its own group).
    pub fn group_of(pid: u32) -> Option<Running> {
        Some(Running::Group { pgid: pid, start_ticks: start_ticks(pid)? })
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<Running, ()>)) {
        let Ok(mut running) = self.running.lock() else { return };
        change(&mut running);
        let text: String = running.keys().map(|item| item.line(&self.boot_id) + "\n").collect();
        // Best effort: a ledger that cannot be written leaves only the death signal and the
        // watchdog's last good copy.
        let _ = super::atomic::write_atomic(&self.path, text.as_bytes());
    }
}

/// The watchdog's fixed script: `$1` is the ledger. It ignores the signals a terminal sends its
/// foreground group, waits for `done` on stdin, and on anything else (end of file: `ix` died)
/// kills, removes and cancels what the ledger lists.
const WATCHDOG: &str = r#"trap '' INT TERM HUP
IFS= read -r line || line=
[ "$line" = "done" ] && exit 0
[ -f "$1" ] || exit 0
while read -r kind id _; do
  case "$kind" in
    pg) kill -KILL "-$id" 2>/dev/null ;;
    docker) docker rm -f "$id" >/dev/null 2>&1 ;;
    slurm) scancel "$id" >/dev/null 2>&1 ;;
  esac
done < "$1"
"#;

/// A watchdog process guarding one run (see the module doc).
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Starts the watchdog for the ledger at `ledger`.
    pub fn start(ledger: &Path) -> std::io::Result<Watchdog> {
        use std::os::unix::process::CommandExt;
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("ix-watchdog")
            .arg(ledger)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        Ok(Watchdog { child })
    }

    /// The run ended normally: the watchdog exits without touching anything.
    pub fn disarm(mut self) {
        if let Some(mut stdin) = self.child.stdin.take() {
            let _ = stdin.write_all(b"done\n");
        }
        let _ = self.child.wait();
    }
}

/// Kills, removes and cancels what a run that died left in the ledger at `path`, then deletes
/// the ledger; returns what was still running. Call it with the store locked, before anything
/// starts.
pub fn reap_leftovers(path: &Path) -> Vec<Running> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let this_boot = boot_id();
    let mut reaped = Vec::new();
    for (item, recorded_boot) in text.lines().filter_map(Running::parse) {
        let alive = match &item {
            Running::Group { pgid, start_ticks: recorded } => {
                let same_boot = !this_boot.is_empty() && recorded_boot == Some(this_boot.as_str());
                // The leader, if it still exists, must be the process recorded.
                let leader_ok = start_ticks(*pgid).is_none_or(|now| now == *recorded);
                same_boot && leader_ok && kill_group(*pgid)
            }
            Running::Container(name) => {
                Command::new("docker").args(["rm", "-f", name]).output().is_ok_and(|out| out.status.success())
            }
            Running::SlurmJob(id) => Command::new("scancel")
                .arg(id.to_string())
                .output()
                .is_ok_and(|out| out.status.success() && out.stderr.is_empty()),
        };
        if alive {
            reaped.push(item);
        }
    }
    let _ = std::fs::remove_file(path);
    reaped
}

/// SIGKILLs process group `pgid`; true when it existed.
fn kill_group(pgid: u32) -> bool {
    let Ok(pgid) = i32::try_from(pgid) else { return false };
    if pgid <= 1 {
        return false;
    }
    // SAFETY: sends a signal to a process group recorded by an earlier run and checked above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_lines_round_trip_and_foreign_lines_are_ignored() {
        for item in [
            Running::Group { pgid: 42, start_ticks: 7 },
            Running::Container("ix-0123abcd".into()),
            Running::SlurmJob(9),
        ] {
            let line = item.line("boot");
            assert_eq!(Running::parse(&line).map(|(parsed, _)| parsed), Some(item), "{line}");
        }
        for foreign in ["docker my-db", "docker ix-", "pg x boot 1", "rm -rf /", "slurm 1;id"] {
            assert_eq!(Running::parse(foreign), None, "{foreign}");
        }
    }

    /// Field 22 is found after the command name, even one holding spaces and `)`: a process
    /// started after this one has a start time at least this one's.
    #[test]
    fn start_ticks_reads_past_a_command_name_with_spaces() {
        let own = start_ticks(std::process::id()).expect("own start time");
        assert_eq!(start_ticks(std::process::id()), Some(own));
        let dir = tempfile::tempdir().expect("tempdir");
        let odd = dir.path().join("a) b c");
        std::fs::copy("/bin/sleep", &odd).expect("copy sleep");
        let mut child = Command::new(&odd).arg("60").spawn().expect("spawn");
        let comm = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).expect("stat");
        assert!(comm.contains("(a) b c)"), "{comm}");
        let ticks = start_ticks(child.id());
        let _ = child.kill();
        let _ = child.wait();
        assert!(ticks.is_some_and(|ticks| ticks >= own), "{ticks:?} < {own}");
    }

    /// The watchdog kills the listed groups when its pipe closes without `done` (`ix` died), and
    /// touches nothing after `done`.
    #[test]
    fn the_watchdog_kills_listed_groups_only_when_ix_dies() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("procs");
        let spawn = || Command::new("sleep").arg("60").process_group(0).spawn().expect("sleep");
        // Disarmed: the group survives.
        let mut survivor = spawn();
        let ledger = ProcessLedger::new(&path);
        ledger.add(ProcessLedger::group_of(survivor.id()).expect("group"));
        Watchdog::start(&path).expect("watchdog").disarm();
        assert!(survivor.try_wait().expect("try_wait").is_none(), "a disarmed watchdog killed");
        let _ = survivor.kill();
        let _ = survivor.wait();
        // `ix` dies: its end of the pipe closes without `done`.
        let mut victim = spawn();
        let ledger = ProcessLedger::new(&path);
        ledger.add(ProcessLedger::group_of(victim.id()).expect("group"));
        let mut watchdog = Watchdog::start(&path).expect("watchdog");
        drop(watchdog.child.stdin.take());
        let _ = watchdog.child.wait();
        let status = victim.wait().expect("wait");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    }

    /// A group recorded by a "killed run" is reaped by the next one; a recorded group whose
    /// leader's start time differs (a reused id) is left alone.
    #[test]
    fn leftovers_are_reaped_only_when_provably_the_recorded_group() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("procs");
        let spawn = || Command::new("sleep").arg("60").process_group(0).spawn().expect("sleep");
        let mut victim = spawn();
        let mut bystander = spawn();
        let ledger = ProcessLedger::new(&path);
        let victim_group = ProcessLedger::group_of(victim.id()).expect("group");
        ledger.add(victim_group.clone());
        let wrong = start_ticks(bystander.id()).expect("ticks") + 1;
        ledger.add(Running::Group { pgid: bystander.id(), start_ticks: wrong });
        assert_eq!(reap_leftovers(&path), vec![victim_group]);
        let status = victim.wait().expect("wait");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        assert!(bystander.try_wait().expect("try_wait").is_none(), "a reused group id was killed");
        assert!(!path.exists());
        let _ = bystander.kill();
        let _ = bystander.wait();
    }
}
