//! Shared helpers for the integration tests: a builder around the real `ix` binary and
//! the location of the shared reference data.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the `ix` binary under test.
pub(crate) fn ix_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ix"))
}

/// The project root (where `Cargo.toml` lives).
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the shared reference data lives: `$IX_REFERENCE_DIR`, else `../shared/reference`.
///
/// When it is absent the test fails and says where it looked, unless `IX_ALLOW_MISSING_REFERENCE=1`
/// is set (a deliberate choice outside CI); then `None` is returned and the caller skips.
pub(crate) fn reference_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("IX_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => project_root().join("../shared/reference"),
    };
    if dir.join("conformance").is_dir() {
        return Some(dir);
    }
    if std::env::var("IX_ALLOW_MISSING_REFERENCE").as_deref() == Ok("1") {
        #[allow(clippy::print_stderr)] // the one place a skipped test says so
        {
            eprintln!("reference data not found at {}; skipped by IX_ALLOW_MISSING_REFERENCE=1", dir.display());
        }
        return None;
    }
    panic!(
        "reference data not found at {} (set IX_REFERENCE_DIR, or IX_ALLOW_MISSING_REFERENCE=1 to skip on purpose)",
        dir.display()
    );
}

/// A command line for the real `ix` binary. Nothing runs until [`IxCmd::run`].
#[must_use]
pub(crate) struct IxCmd {
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
}

/// The result of running `ix`.
#[must_use]
pub(crate) struct IxOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The folder `ix` ran in, to find the task logs a failure names.
    pub cwd: Option<PathBuf>,
}

pub(crate) fn ix<I, S>(args: I) -> IxCmd
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    IxCmd { args: args.into_iter().map(Into::into).collect(), cwd: None, env: Vec::new(), stdin: None }
}

impl IxCmd {
    pub(crate) fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub(crate) fn args_from(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub(crate) fn current_dir(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    pub(crate) fn env_remove(mut self, key: &str) -> Self {
        self.env.push((key.into(), None));
        self
    }

    pub(crate) fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub(crate) fn run(self) -> IxOutput {
        let mut cmd = Command::new(ix_bin());
        cmd.args(&self.args).env("NO_COLOR", "1").env_remove("GITHUB_STEP_SUMMARY");
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn ix");
        if let Some(bytes) = self.stdin {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(&bytes).expect("write stdin");
        }
        let Output { status, stdout, stderr } = child.wait_with_output().expect("wait for ix");
        IxOutput {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            cwd: self.cwd,
        }
    }
}

impl IxOutput {
    /// Panics with both streams when the exit code differs.
    /// Panics with both streams (and the tail of each task log they name) when the exit code
    /// differs.
    pub(crate) fn expect_code(self, code: i32) -> Self {
        if self.code != code {
            panic!(
                "unexpected exit code {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}{}",
                self.code,
                self.stdout,
                self.stderr,
                self.task_logs()
            );
        }
        self
    }

    /// The last 40 lines of every `(log: PATH)` that stderr names.
    fn task_logs(&self) -> String {
        let mut out = String::new();
        for piece in self.stderr.split("(log: ").skip(1) {
            let Some(path) = piece.split(')').next() else { continue };
            let path = match &self.cwd {
                Some(cwd) => cwd.join(path),
                None => PathBuf::from(path),
            };
            let text = std::fs::read_to_string(&path).unwrap_or_else(|err| format!("(unreadable: {err})"));
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(40)..].join("\n");
            out.push_str(&format!("\n--- {}\n{tail}", path.display()));
        }
        out
    }
}
