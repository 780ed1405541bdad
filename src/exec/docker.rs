//! The `docker run` command line for a benchmark task, shaped like the reference's Docker
//! launchers (§8.1): host network, IPC and GPUs, the work folder mounted at `/workspace/`,
//! an explicit `-e NAME` list and `bash <script>` as the entry point.
//!
//! Values are passed as `-e NAME` without `=value`: Docker copies them from its own environment,
//! so no config value ever appears in an argv element that something could re-parse.
//!
//! With podman (`ContainerEngine::Podman`) the same command line gets podman's global flags, no
//! `--shm-size` (podman refuses it with `--ipc=host`), GPUs through CDI, and explicit ulimits
//! clamped to this process's hard limits (podman otherwise asks for more and the runtime refuses).

use std::ffi::OsString;
use std::path::Path;

use crate::image::{ContainerEngine, ImageRef, ResolveOptions};

/// Options of the Docker executor.
#[derive(Clone, Debug)]
pub struct DockerOpts {
    /// Pass `--runtime=nvidia --gpus=all`.
    pub gpus: bool,
    /// The Hugging Face cache folder on the host, mounted at the same path.
    pub hf_hub_cache: Option<String>,
    /// The CLI that runs containers (`IX_CONTAINER_ENGINE`, default docker).
    pub engine: ContainerEngine,
}

/// Where the repository (benchmarks, runners) is mounted inside the container.
pub const REPO_MOUNT: &str = "/ix/repo";

/// The argv (without the leading program, with the engine's global flags) to run `script_rel`
/// (relative to `repo`) in `image`.
pub fn argv(
    opts: &DockerOpts,
    name: &str,
    image: &str,
    workdir: &Path,
    repo: &Path,
    script_rel: &Path,
    env_names: &[&str],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = opts.engine.global_args().iter().map(OsString::from).collect();
    argv.extend(["run", "--rm", "--init", "--network=host", "--ipc=host"].map(OsString::from));
    argv.push(format!("--name={name}").into());
    if opts.gpus {
        match opts.engine {
            ContainerEngine::Docker => argv.extend(["--runtime=nvidia", "--gpus=all"].map(OsString::from)),
            ContainerEngine::Podman => argv.extend(["--device", "nvidia.com/gpu=all"].map(OsString::from)),
        }
        argv.push("--privileged".into());
    }
    match opts.engine {
        ContainerEngine::Docker => {
            for arg in ["--shm-size=16g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"] {
                argv.push(arg.into());
            }
        }
        ContainerEngine::Podman => {
            argv.extend(podman_ulimits(&HostLimits::current()).into_iter().map(OsString::from));
            // When the image is missing podman pulls it; Docker speaks http to loopback
            // registries by itself, podman must be told (IX_INSECURE_REGISTRIES lists others).
            let insecure =
                ImageRef::parse(image).is_ok_and(|image| ResolveOptions::from_env().is_insecure(image.registry()));
            if insecure {
                argv.push("--tls-verify=false".into());
            }
        }
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

/// Hard resource limits of this process (`None`: unlimited). A podman container cannot be given
/// more where the runtime lacks `CAP_SYS_RESOURCE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostLimits {
    pub nofile: Option<u64>,
    pub nproc: Option<u64>,
    pub memlock: Option<u64>,
    pub stack: Option<u64>,
}

impl HostLimits {
    /// This process's hard limits (`getrlimit`); a limit that cannot be read counts as unlimited.
    pub fn current() -> HostLimits {
        let hard = |resource| {
            let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: getrlimit writes into the struct we own and reads nothing else.
            let ok = unsafe { libc::getrlimit(resource, &mut limit) } == 0;
            (ok && limit.rlim_max != libc::RLIM_INFINITY).then_some(limit.rlim_max)
        };
        HostLimits {
            nofile: hard(libc::RLIMIT_NOFILE),
            nproc: hard(libc::RLIMIT_NPROC),
            memlock: hard(libc::RLIMIT_MEMLOCK),
            stack: hard(libc::RLIMIT_STACK),
        }
    }
}

/// podman's `--ulimit` flags: Docker's `memlock=-1` and 64 MiB stack where the host allows them,
/// open files and processes set explicitly (podman's defaults exceed some hosts' hard limits;
/// processes are capped at 32768, the most runc accepted on the hosts this was verified on).
pub fn podman_ulimits(limits: &HostLimits) -> Vec<String> {
    let pair = |value: u64| format!("{value}:{value}");
    let memlock = limits.memlock.map_or_else(|| "-1".to_string(), pair);
    let stack = pair(limits.stack.map_or(67_108_864, |hard| hard.min(67_108_864)));
    let nofile = pair(limits.nofile.map_or(1_048_576, |hard| hard.min(1_048_576)));
    let nproc = pair(limits.nproc.map_or(32_768, |hard| hard.min(32_768)));
    [("memlock", memlock), ("stack", stack), ("nofile", nofile), ("nproc", nproc)]
        .into_iter()
        .flat_map(|(name, value)| ["--ulimit".to_string(), format!("{name}={value}")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_never_holds_values_and_ends_with_image_and_script() {
        let opts = DockerOpts { gpus: true, hf_hub_cache: Some("/mnt/hf".into()), engine: ContainerEngine::Docker };
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

    #[test]
    fn podman_gets_its_flags_cdi_gpus_and_no_shm_size() {
        let opts = DockerOpts { gpus: true, hf_hub_cache: None, engine: ContainerEngine::Podman };
        let argv = argv(&opts, "ix-abc", "img", Path::new("/w"), Path::new("/repo"), Path::new("b.sh"), &["TP"]);
        let text: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            text[..9],
            [
                "--runtime",
                "runc",
                "--cgroup-manager=cgroupfs",
                "run",
                "--rm",
                "--init",
                "--network=host",
                "--ipc=host",
                "--name=ix-abc"
            ]
        );
        assert_eq!(text[9..12], ["--device", "nvidia.com/gpu=all", "--privileged"]);
        assert!(!text.iter().any(|a| a.starts_with("--shm-size") || a.starts_with("--gpus")), "{text:?}");
        let ulimits: Vec<&str> =
            text.windows(2).filter(|w| w[0] == "--ulimit").map(|w| w[1].split('=').next().unwrap_or("")).collect();
        assert_eq!(ulimits, ["memlock", "stack", "nofile", "nproc"]);
        assert!(!text.iter().any(|a| a == "--tls-verify=false"), "{text:?}");
        assert_eq!(text[text.len() - 2..], ["img", "/ix/repo/b.sh"]);
    }

    #[test]
    fn podman_may_pull_from_loopback_registries_without_tls() {
        let opts = DockerOpts { gpus: false, hf_hub_cache: None, engine: ContainerEngine::Podman };
        let run = |image: &str| {
            let argv = argv(&opts, "n", image, Path::new("/w"), Path::new("/r"), Path::new("b.sh"), &[]);
            argv.iter().any(|a| a == "--tls-verify=false")
        };
        assert!(run("127.0.0.1:5000/x:v1"));
        assert!(run("localhost:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        assert!(!run("nvcr.io/nvidia/x:1"));
        let docker = DockerOpts { engine: ContainerEngine::Docker, ..opts.clone() };
        let argv = argv(&docker, "n", "127.0.0.1:5000/x:v1", Path::new("/w"), Path::new("/r"), Path::new("b.sh"), &[]);
        assert!(!argv.iter().any(|a| a == "--tls-verify=false"));
    }

    #[test]
    fn podman_ulimits_never_exceed_the_hard_limits() {
        let tight = HostLimits { nofile: Some(20_000), nproc: Some(96_369), memlock: Some(8_388_608), stack: None };
        assert_eq!(
            podman_ulimits(&tight),
            [
                "--ulimit",
                "memlock=8388608:8388608",
                "--ulimit",
                "stack=67108864:67108864",
                "--ulimit",
                "nofile=20000:20000",
                "--ulimit",
                "nproc=32768:32768"
            ]
        );
        let open = HostLimits { nofile: None, nproc: Some(1000), memlock: None, stack: Some(8_388_608) };
        assert_eq!(
            podman_ulimits(&open),
            [
                "--ulimit",
                "memlock=-1",
                "--ulimit",
                "stack=8388608:8388608",
                "--ulimit",
                "nofile=1048576:1048576",
                "--ulimit",
                "nproc=1000:1000"
            ]
        );
    }
}
