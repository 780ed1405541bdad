//! The `docker run` command line for a benchmark task, shaped like the reference's Docker
//! launchers (§8.1): host network, IPC and GPUs, the work folder mounted at `/workspace/`,
//! an explicit `-e NAME` list and `bash <script>` as the entry point.
//!
//! Values are passed as `-e NAME` without `=value`: Docker copies them from its own environment,
//! so no config value ever appears in an argv element that something could re-parse.

use std::ffi::OsString;
use std::path::Path;

/// Options of the Docker executor.
#[derive(Clone, Debug)]
pub struct DockerOpts {
    /// Pass `--runtime=nvidia --gpus=all`.
    pub gpus: bool,
    /// The Hugging Face cache folder on the host, mounted at the same path.
    pub hf_hub_cache: Option<String>,
}

/// Where the repository (benchmarks, runners) is mounted inside the container.
pub const REPO_MOUNT: &str = "/ix/repo";

/// The argv (without the leading `docker`) to run `script_rel` (relative to `repo`) in `image`.
pub fn argv(
    opts: &DockerOpts,
    name: &str,
    image: &str,
    workdir: &Path,
    repo: &Path,
    script_rel: &Path,
    env_names: &[&str],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> =
        ["run", "--rm", "--init", "--network=host", "--ipc=host"].map(OsString::from).to_vec();
    argv.push(format!("--name={name}").into());
    if opts.gpus {
        argv.push("--runtime=nvidia".into());
        argv.push("--gpus=all".into());
        argv.push("--privileged".into());
    }
    for arg in ["--shm-size=16g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"] {
        argv.push(arg.into());
    }
    if let Some(cache) = &opts.hf_hub_cache {
        argv.push("-v".into());
        argv.push(format!("{cache}:{cache}").into());
    }
    argv.push("-v".into());
    let mut mount = workdir.as_os_str().to_owned();
    mount.push(":/workspace/");
    argv.push(mount);
    argv.push("-v".into());
    let mut mount = repo.as_os_str().to_owned();
    mount.push(format!(":{REPO_MOUNT}:ro"));
    argv.push(mount);
    argv.push("-w".into());
    argv.push("/workspace/".into());
    for env_name in env_names {
        argv.push("-e".into());
        argv.push((*env_name).into());
    }
    argv.push("--entrypoint=/bin/bash".into());
    argv.push(image.into());
    argv.push(Path::new(REPO_MOUNT).join(script_rel).into_os_string());
    argv
}

/// Whether a Docker engine answers (`docker info` succeeds).
pub fn engine_available() -> bool {
    std::process::Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_never_holds_values_and_ends_with_image_and_script() {
        let opts = DockerOpts { gpus: true, hf_hub_cache: Some("/mnt/hf".into()) };
        let argv = argv(
            &opts,
            "ix-abc",
            "img; rm -rf /",
            Path::new("/w/t"),
            Path::new("/repo"),
            Path::new("benchmarks/x.sh"),
            &["MODEL", "TP"],
        );
        let text: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            text,
            [
                "run",
                "--rm",
                "--init",
                "--network=host",
                "--ipc=host",
                "--name=ix-abc",
                "--runtime=nvidia",
                "--gpus=all",
                "--privileged",
                "--shm-size=16g",
                "--ulimit",
                "memlock=-1",
                "--ulimit",
                "stack=67108864",
                "-v",
                "/mnt/hf:/mnt/hf",
                "-v",
                "/w/t:/workspace/",
                "-v",
                "/repo:/ix/repo:ro",
                "-w",
                "/workspace/",
                "-e",
                "MODEL",
                "-e",
                "TP",
                "--entrypoint=/bin/bash",
                "img; rm -rf /",
                "/ix/repo/benchmarks/x.sh"
            ]
        );
    }
}
