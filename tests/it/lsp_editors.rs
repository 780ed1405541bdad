//! `ix lsp` with real clients: headless Neovim (Debian's `neovim`, its built-in LSP client) runs
//! `tests/data/lsp/nvim_e2e.lua`. Installed by `ci/editors.sh`.

use std::process::Command;

use crate::util::{ix_bin, project_root};

/// `sweeps/demo.ix` with the script and launcher its jobs need (so it has no warnings).
fn demo_project(dir: &std::path::Path) -> std::path::PathBuf {
    for file in ["benchmarks/tiny_fp32_local.sh", "runners/launch_local.sh"] {
        std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
        std::fs::copy(project_root().join(file), dir.join(file)).unwrap();
    }
    let file = dir.join("demo.ix");
    std::fs::copy(project_root().join("sweeps/demo.ix"), &file).unwrap();
    file
}

#[test]
fn neovim_sees_diagnostics_hovers_definitions_completion_and_formatting() {
    let dir = tempfile::tempdir().unwrap();
    let file = demo_project(dir.path());
    let log = dir.path().join("nvim.log");
    let script = project_root().join("tests/data/lsp/nvim_e2e.lua");
    let output = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("IX_BIN", ix_bin())
        .env("IX_FILE", &file)
        .env("IX_LOG", &log)
        .env("HOME", dir.path())
        .current_dir(dir.path())
        .output()
        .expect("nvim is installed by ci/editors.sh (apt neovim)");
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        output.status.success(),
        "nvim failed ({:?}):\n{log}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    for step in
        ["OK open", "OK diagnostic at", "OK cleared", "OK hover", "OK definition", "OK completion", "OK formatting"]
    {
        assert!(log.contains(step), "missing `{step}` in:\n{log}");
    }
}

#[test]
fn pytest_lsp_drives_the_server_through_a_whole_session() {
    let venv = std::env::var_os("IX_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache/ix")))
        .unwrap()
        .join("pytest-lsp-1.0");
    let python = venv.join("bin/python");
    assert!(python.exists(), "pytest-lsp is installed by ci/editors.sh into {}", venv.display());
    let dir = tempfile::tempdir().unwrap();
    let file = demo_project(dir.path());
    let output = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"])
        .arg(project_root().join("tests/data/lsp/test_ix_lsp.py"))
        .env("IX_BIN", ix_bin())
        .env("IX_FILE", &file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pytest-lsp failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}
