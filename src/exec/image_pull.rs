//! Pulling an image with a container engine (`docker` or `podman`) and reading back the digest
//! it got: the registry's manifest digest from `RepoDigests`, or, for an image that exists only
//! in the engine's local store (built or imported there, never pushed), its image id.
//!
//! Arguments go to the engine as argv elements, never through a shell; a reference starting
//! with `-` is refused so that it cannot be read as an option.

use std::process::Command;

/// Pulls `image` with `engine` and returns its digest (`sha256:…`).
pub fn pull(engine: &str, image: &str) -> Result<String, String> {
    if image.starts_with('-') || image.is_empty() {
        return Err(format!("`{image}` is not an image reference"));
    }
    let mut pull = Command::new(engine);
    pull.arg("pull");
    if engine_is_podman(engine) && is_loopback_registry(image) {
        pull.arg("--tls-verify=false");
    }
    pull.arg("--").arg(image);
    let pulled = pull.output().map_err(|e| format!("cannot run `{engine} pull`: {e}"))?;
    let inspect = |format: &str| -> Option<String> {
        let out = Command::new(engine).args(["image", "inspect", "--format", format, "--", image]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if let Some(digest) = inspect("{{json .RepoDigests}}").and_then(|json| repo_digest(&json, image)) {
        return Ok(digest);
    }
    if !pulled.status.success() {
        let stderr = String::from_utf8_lossy(&pulled.stderr);
        let reason = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("no output");
        // Not in a registry, but built or imported into the local store: its id is its identity.
        if let Some(id) = inspect("{{.Id}}").filter(|id| !id.is_empty()) {
            return Ok(if id.starts_with("sha256:") { id } else { format!("sha256:{id}") });
        }
        return Err(format!("`{engine} pull {image}` failed: {reason}"));
    }
    Err(format!("`{engine}` pulled `{image}` but reports no digest for it"))
}

fn engine_is_podman(engine: &str) -> bool {
    std::path::Path::new(engine).file_name().is_some_and(|name| name == "podman")
}

/// Whether the reference names a registry on this host (127.0.0.1, localhost, [::1]).
fn is_loopback_registry(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    image.contains('/')
        && ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .any(|loopback| host == *loopback || host.starts_with(&format!("{loopback}:")))
}

/// The digest of the `RepoDigests` entry (`repo@sha256:…`) whose repository is `image`'s.
fn repo_digest(json: &str, image: &str) -> Option<String> {
    let digests: Vec<String> = serde_json::from_str(json).ok()?;
    let repository = crate::dag::image_repository(image.split('@').next().unwrap_or(image));
    let matching = |entry: &&String| entry.split('@').next().is_some_and(|repo| repo.ends_with(repository));
    let entry = digests.iter().find(matching).or(digests.first())?;
    entry.split_once('@').map(|(_, digest)| digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_digest_picks_the_images_repository() {
        let json = r#"["docker.io/library/other@sha256:aa","127.0.0.1:5055/ixtest@sha256:bb"]"#;
        assert_eq!(repo_digest(json, "127.0.0.1:5055/ixtest:v1").as_deref(), Some("sha256:bb"));
        assert_eq!(repo_digest("[]", "x"), None);
    }

    #[test]
    fn loopback_registries_are_recognised() {
        assert!(is_loopback_registry("127.0.0.1:5055/ixtest:v1"));
        assert!(is_loopback_registry("localhost/ixtest:1"));
        assert!(!is_loopback_registry("ghcr.io/org/image:1"));
        assert!(!is_loopback_registry("localhost"));
    }

    #[test]
    fn option_like_references_are_refused() {
        assert!(pull("docker", "--help").is_err());
    }
}
