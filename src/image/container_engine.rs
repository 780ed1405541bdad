//! `ContainerEngine`: the node's container engine (`docker`, the default, or `podman`), and
//! [`pull`]: pulling an image with it and reading back the registry manifest digest it got.
//!
//! The digest comes from `image inspect`'s `RepoDigests` (`name@sha256:…`), the registry's
//! `Docker-Content-Digest`; podman's own `.Digest` can differ (it may store a converted manifest).
//! Owns no scheduling: the executor's `run` command line lives in `exec::docker`.

use std::process::{Command, Stdio};

use super::resolve::{ResolveOptions, resolve_all_blocking};
use super::{Digest, ImageRef};

/// Which container CLI runs and pulls images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContainerEngine {
    /// `docker`.
    #[default]
    Docker,
    /// `podman`, run with `--runtime runc --cgroup-manager=cgroupfs` (what works on hosts whose
    /// cgroups are in hybrid mode, where podman's default crun fails; ci/containers.sh installs runc).
    Podman,
}

/// The value of `IX_CONTAINER_ENGINE` (or `--container-engine`) is neither `docker` nor `podman`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("unknown container engine `{0}` (expected `docker` or `podman`)")]
#[diagnostic(code(ix::image::unknown_engine))]
pub struct UnknownEngine(pub String);

impl std::str::FromStr for ContainerEngine {
    type Err = UnknownEngine;

    fn from_str(text: &str) -> Result<ContainerEngine, UnknownEngine> {
        match text {
            "docker" => Ok(ContainerEngine::Docker),
            "podman" => Ok(ContainerEngine::Podman),
            _ => Err(UnknownEngine(text.to_string())),
        }
    }
}

impl ContainerEngine {
    /// `IX_CONTAINER_ENGINE` when set and non-empty, else Docker.
    pub fn from_env() -> Result<ContainerEngine, UnknownEngine> {
        match std::env::var("IX_CONTAINER_ENGINE") {
            Ok(name) if !name.is_empty() => name.parse(),
            _ => Ok(ContainerEngine::Docker),
        }
    }

    /// The executable.
    pub fn program(self) -> &'static str {
        match self {
            ContainerEngine::Docker => "docker",
            ContainerEngine::Podman => "podman",
        }
    }

    /// Flags that go before every subcommand.
    pub fn global_args(self) -> &'static [&'static str] {
        match self {
            ContainerEngine::Docker => &[],
            ContainerEngine::Podman => &["--runtime", "runc", "--cgroup-manager=cgroupfs"],
        }
    }

    /// The engine's command with its global flags, ready for a subcommand.
    pub fn command(self) -> Command {
        let mut command = Command::new(self.program());
        command.args(self.global_args());
        command
    }

    /// Whether the engine answers (`docker info` / `podman info` succeeds).
    pub fn available(self) -> bool {
        self.command()
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// The arguments (after [`ContainerEngine::global_args`]) that pull `image`; podman skips
    /// TLS verification for insecure (loopback or listed) registries, as Docker does for loopback.
    pub fn pull_args(self, image: &ImageRef, insecure: bool) -> Vec<String> {
        let mut args = vec!["pull".to_string()];
        if self == ContainerEngine::Podman && insecure {
            args.push("--tls-verify=false".into());
        }
        args.push(image.engine_reference());
        args
    }
}

/// Why an image could not be pulled, or its digest not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum PullError {
    #[error("cannot run `{program}`: {reason}")]
    #[diagnostic(code(ix::image::engine_missing), help("install it, or pick the engine with `IX_CONTAINER_ENGINE`"))]
    Spawn { program: String, reason: String },
    #[error("`{command}` failed ({status}): {output}")]
    #[diagnostic(code(ix::image::pull_failed))]
    Failed { command: String, status: String, output: String },
    #[error("`{image}` was pulled but `{engine}` records no registry digest for `{name}` (RepoDigests: {found})")]
    #[diagnostic(code(ix::image::no_repo_digest))]
    NoRepoDigest { image: String, engine: String, name: String, found: String },
    #[error(
        "`{image}` was pulled but its registry digest is unclear: RepoDigests has {found}, the registry says {registry}"
    )]
    #[diagnostic(code(ix::image::ambiguous_digest))]
    Ambiguous { image: String, found: String, registry: String },
}

/// Pulls `image` with `engine` and returns the registry manifest digest the engine recorded.
///
/// A pinned image must come back with its pin. When the engine holds several registry digests for
/// the name (an image built locally and pushed keeps its local manifest's digest too), the
/// registry is asked which one the tag names.
pub fn pull(engine: ContainerEngine, image: &ImageRef, options: &ResolveOptions) -> Result<Digest, PullError> {
    let insecure = options.is_insecure(image.registry());
    run(engine, &engine.pull_args(image, insecure))?;
    let inspect = [
        "image".to_string(),
        "inspect".into(),
        "--format".into(),
        "{{json .RepoDigests}}".into(),
        image.engine_reference(),
    ];
    let json = run(engine, &inspect)?;
    let found = repo_digests(&image.name(), &json);
    let found_text = || if found.is_empty() { json.trim().to_string() } else { join(&found) };
    if let Some(pin) = image.digest() {
        return match found.contains(pin) {
            true => Ok(pin.clone()),
            false => Err(PullError::NoRepoDigest {
                image: image.to_string(),
                engine: engine.program().into(),
                name: image.name(),
                found: found_text(),
            }),
        };
    }
    match found.as_slice() {
        [] => Err(PullError::NoRepoDigest {
            image: image.to_string(),
            engine: engine.program().into(),
            name: image.name(),
            found: found_text(),
        }),
        [digest] => Ok(digest.clone()),
        _ => {
            let asked = resolve_all_blocking(std::slice::from_ref(image), options).pop();
            match asked {
                Some(Ok(digest)) if found.contains(&digest) => Ok(digest),
                Some(Ok(digest)) => Err(PullError::Ambiguous {
                    image: image.to_string(),
                    found: found_text(),
                    registry: digest.to_string(),
                }),
                Some(Err(error)) => Err(PullError::Ambiguous {
                    image: image.to_string(),
                    found: found_text(),
                    registry: error.to_string(),
                }),
                None => Err(PullError::Ambiguous {
                    image: image.to_string(),
                    found: found_text(),
                    registry: "nothing".into(),
                }),
            }
        }
    }
}

/// The engine's id of `image` in its local store (`image inspect --format {{.Id}}`), the identity
/// of an image built or imported there and never pushed, which no registry can name.
pub fn local_id(engine: ContainerEngine, image: &ImageRef) -> Result<Digest, PullError> {
    let args = ["image".to_string(), "inspect".into(), "--format".into(), "{{.Id}}".into(), image.engine_reference()];
    let id = run(engine, &args)?;
    let id = id.trim();
    // Docker prints `sha256:<hex>`, podman the bare hex.
    let text = if id.starts_with("sha256:") { id.to_string() } else { format!("sha256:{id}") };
    Digest::parse(&text).map_err(|reason| PullError::Failed {
        command: format!("{} image inspect", engine.program()),
        status: "unexpected output".into(),
        output: reason,
    })
}

fn join(digests: &[Digest]) -> String {
    digests.iter().map(Digest::as_str).collect::<Vec<_>>().join(", ")
}

/// Runs `engine <global args> <args>`, returning stdout, or the failure with its output.
fn run(engine: ContainerEngine, args: &[String]) -> Result<String, PullError> {
    let output = engine
        .command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| PullError::Spawn { program: engine.program().into(), reason: error.to_string() })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    }
    let command = std::iter::once(engine.program())
        .chain(engine.global_args().iter().copied())
        .chain(args.iter().map(String::as_str));
    Err(PullError::Failed {
        command: command.collect::<Vec<_>>().join(" "),
        status: output.status.to_string(),
        output: text,
    })
}

/// The digests of `name` (`registry/repository`) in a `{{json .RepoDigests}}` answer, in order,
/// without repeats. Entries are normalized first: Docker writes Docker Hub names short
/// (`ubuntu@sha256:…`).
pub fn repo_digests(name: &str, json: &str) -> Vec<Digest> {
    let entries: Vec<String> =
        serde_json::from_str::<Option<Vec<String>>>(json.trim()).ok().flatten().unwrap_or_default();
    let mut digests: Vec<Digest> = Vec::new();
    for entry in entries {
        let Ok(entry) = ImageRef::parse(&entry) else { continue };
        if let Some(digest) = entry.digest()
            && entry.name() == name
            && !digests.contains(digest)
        {
            digests.push(digest.clone());
        }
    }
    digests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_digests_keep_only_the_image_name_and_normalize_docker_hub() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let json = format!(
            r#"["127.0.0.1:5055/ixtest@sha256:{a}","127.0.0.1:5055/ixtest@sha256:{b}","localhost/ixtest@sha256:{a}","127.0.0.1:5055/ixtest@sha256:{a}","bogus"]"#
        );
        let found = repo_digests("127.0.0.1:5055/ixtest", &json);
        assert_eq!(found.iter().map(Digest::hex).collect::<Vec<_>>(), [a.as_str(), b.as_str()]);
        let hub = format!(r#"["ubuntu@sha256:{a}"]"#);
        assert_eq!(repo_digests("docker.io/library/ubuntu", &hub).len(), 1);
        assert!(repo_digests("docker.io/library/ubuntu", "null").is_empty());
        assert!(repo_digests("docker.io/library/ubuntu", "not json").is_empty());
    }

    #[test]
    fn podman_skips_tls_verification_only_for_insecure_registries() {
        let image = ImageRef::parse("127.0.0.1:5055/ixtest:v1").expect("parse");
        assert_eq!(
            ContainerEngine::Podman.pull_args(&image, true),
            ["pull", "--tls-verify=false", "127.0.0.1:5055/ixtest:v1"]
        );
        assert_eq!(ContainerEngine::Podman.pull_args(&image, false), ["pull", "127.0.0.1:5055/ixtest:v1"]);
        assert_eq!(ContainerEngine::Docker.pull_args(&image, true), ["pull", "127.0.0.1:5055/ixtest:v1"]);
        let hub = ImageRef::parse("ubuntu").expect("parse");
        assert_eq!(ContainerEngine::Docker.pull_args(&hub, false), ["pull", "docker.io/library/ubuntu:latest"]);
    }

    #[test]
    fn engines_parse_by_name() {
        assert_eq!("podman".parse::<ContainerEngine>(), Ok(ContainerEngine::Podman));
        assert_eq!("docker".parse::<ContainerEngine>(), Ok(ContainerEngine::Docker));
        assert_eq!(
            "Podman".parse::<ContainerEngine>().map_err(|e| e.to_string()),
            Err("unknown container engine `Podman` (expected `docker` or `podman`)".to_string())
        );
    }
}
