//! The Slurm executor: `sbatch` of a fixed wrapper script, job id tracking through `squeue`,
//! `scancel` on cancel or timeout.
//!
//! Like the reference's enroot/pyxis launchers (§8.3), the container variant imports the image
//! into a squash file named from the image (`/ : @ #` replaced by `_`) and runs the script with
//! `srun --container-image ... --container-mounts <work>:/workspace/`. The wrapper text is fixed:
//! every value reaches it through the environment (`--export=ALL`).

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

/// Options of the Slurm executor.
#[derive(Clone, Debug, Default)]
pub struct SlurmOpts {
    pub partition: Option<String>,
    /// Ask for `--gres=gpu:<TP>` and an exclusive node.
    pub gpus: bool,
    /// Run inside the task's image with enroot/pyxis.
    pub container: bool,
    /// Where squash files are kept (container mode).
    pub squash_dir: Option<String>,
}

/// The wrapper sbatch runs: plain.
pub const WRAPPER_PLAIN: &str = "#!/bin/bash\nset -euo pipefail\ncd \"$IX_WORKDIR\"\nexec bash \"$IX_ENTRY\"\n";

/// The wrapper sbatch runs: enroot/pyxis container.
pub const WRAPPER_CONTAINER: &str = r#"#!/bin/bash
set -euo pipefail
if ! unsquashfs -l "$IX_SQUASH_FILE" >/dev/null 2>&1; then
  rm -f "$IX_SQUASH_FILE"
  srun --ntasks=1 enroot import -o "$IX_SQUASH_FILE" "docker://${IX_IMPORT_IMAGE:-$IMAGE}"
fi
exec srun --ntasks=1 --container-image="$IX_SQUASH_FILE" \
  --container-mounts="$IX_WORKDIR:/workspace/,$IX_REPO:/ix/repo" \
  --container-mount-home --container-workdir=/workspace/ \
  --no-container-entrypoint --export=ALL \
  bash "$IX_ENTRY"
"#;

/// The squash file name for an image, as the reference launchers derive it.
pub fn squash_name(image: &str) -> String {
    let mut name: String = image.chars().map(|c| if matches!(c, '/' | ':' | '@' | '#') { '_' } else { c }).collect();
    name.push_str(".sqsh");
    name
}

/// The squash file a Slurm task's image is imported to and the reference it is imported from:
/// with a digest, the reference pinned to it (`name@sha256:…`) and a file named after it, so a
/// moved tag gets a squash file of its own and a cached one always holds the keyed digest.
pub fn import_target(image: &str, digest: Option<&str>) -> (String, String) {
    match digest {
        Some(digest) => {
            let name = image.split('@').next().unwrap_or(image);
            let name = match name.rfind(':') {
                Some(colon) if !name[colon..].contains('/') => &name[..colon],
                _ => name,
            };
            let pinned = format!("{name}@{digest}");
            (squash_name(&pinned), pinned)
        }
        None => (squash_name(image), image.to_string()),
    }
}

/// The `sbatch` argv (without `sbatch`).
pub fn sbatch_argv(
    opts: &SlurmOpts,
    job_name: &str,
    tp: i64,
    log: &Path,
    workdir: &Path,
    wrapper: &Path,
    time_limit: Option<Duration>,
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["--parsable".into(), format!("--job-name={job_name}").into()];
    argv.push("--nodes=1".into());
    argv.push("--ntasks=1".into());
    if let Some(partition) = &opts.partition {
        argv.push(format!("--partition={partition}").into());
    }
    if opts.gpus {
        argv.push(format!("--gres=gpu:{tp}").into());
        argv.push("--exclusive".into());
    }
    if let Some(limit) = time_limit {
        argv.push(format!("--time={}", limit.as_secs().div_ceil(60).max(1)).into());
    }
    let mut output = OsString::from("--output=");
    output.push(log);
    argv.push(output);
    let mut chdir = OsString::from("--chdir=");
    chdir.push(workdir);
    argv.push(chdir);
    argv.push("--open-mode=append".into());
    argv.push("--export=ALL".into());
    argv.push(wrapper.into());
    argv
}

/// Parses `sbatch --parsable` output: `<id>` or `<id>;<cluster>`.
pub fn parse_job_id(stdout: &str) -> Option<u64> {
    stdout.lines().find(|l| !l.trim().is_empty())?.trim().split(';').next()?.parse().ok()
}

/// Whether a failed `scontrol show job`'s stderr says the job is gone (purged after it ended:
/// "Invalid job id specified"). Any other failure (a busy or restarting controller, a timeout)
/// says nothing about the job.
pub fn job_gone(stderr: &str) -> bool {
    stderr.contains("Invalid job id")
}

/// Parses `scontrol show job -o` output into (state, exit code).
pub fn parse_job_state(text: &str) -> Option<(String, i32)> {
    let mut state = None;
    let mut code = None;
    for field in text.split_whitespace() {
        if let Some(value) = field.strip_prefix("JobState=") {
            state = Some(value.to_string());
        } else if let Some(value) = field.strip_prefix("ExitCode=") {
            code = value.split(':').next().and_then(|c| c.parse().ok());
        }
    }
    Some((state?, code.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbatch_argv_with_gpus() {
        let opts = SlurmOpts { partition: Some("gpu".into()), gpus: true, container: true, squash_dir: None };
        let argv = sbatch_argv(
            &opts,
            "ix-1",
            8,
            Path::new("/l/x.log"),
            Path::new("/w"),
            Path::new("/w/ix-wrapper.sh"),
            Some(Duration::from_secs(90)),
        );
        let text: Vec<String> = argv.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            text,
            [
                "--parsable",
                "--job-name=ix-1",
                "--nodes=1",
                "--ntasks=1",
                "--partition=gpu",
                "--gres=gpu:8",
                "--exclusive",
                "--time=2",
                "--output=/l/x.log",
                "--chdir=/w",
                "--open-mode=append",
                "--export=ALL",
                "/w/ix-wrapper.sh"
            ]
        );
    }

    #[test]
    fn squash_names_and_parsing() {
        assert_eq!(squash_name("nvcr.io/nvidia/x:1.0@sha#a"), "nvcr.io_nvidia_x_1.0_sha_a.sqsh");
        let digest = format!("sha256:{}", "ab".repeat(32));
        let (file, import) = import_target("nvcr.io/nvidia/x:1.0", Some(&digest));
        assert_eq!(import, format!("nvcr.io/nvidia/x@{digest}"));
        assert_eq!(file, format!("nvcr.io_nvidia_x_sha256_{}.sqsh", "ab".repeat(32)));
        assert_eq!(
            import_target("host:5000/x:1", None),
            ("host_5000_x_1.sqsh".to_string(), "host:5000/x:1".to_string())
        );
        assert_eq!(parse_job_id("42\n"), Some(42));
        assert_eq!(parse_job_id("42;cl\n"), Some(42));
        assert_eq!(
            parse_job_state("JobId=4 JobName=x JobState=FAILED Reason=x ExitCode=3:0 X=1"),
            Some(("FAILED".into(), 3))
        );
    }
}
