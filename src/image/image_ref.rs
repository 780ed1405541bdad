//! `ImageRef`: a container image reference parsed and normalized as Docker does
//! (distribution/reference), and `Digest`: an immutable `sha256:<64 hex>` manifest digest.
//!
//! Owns the grammar only: no network, no engine. `ubuntu` is `docker.io/library/ubuntu:latest`,
//! `localhost:5000/x` keeps its registry and port, `name@sha256:…` is a pin.

use std::fmt;

/// The registry of references that name none (Docker Hub).
pub const DOCKER_HUB: &str = "docker.io";

/// A `sha256:<64 lowercase hex>` content digest: an image manifest's immutable identity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`; other algorithms and lengths are rejected.
    pub fn parse(text: &str) -> Result<Digest, String> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(format!("`{text}` is not a digest (expected `sha256:<64 hex digits>`)"));
        };
        if algorithm != "sha256" {
            return Err(format!("digest algorithm `{algorithm}` is not supported (expected `sha256`)"));
        }
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format!("`{text}` is not a sha256 digest (expected 64 lowercase hex digits after `sha256:`)"));
        }
        Ok(Digest(text.to_string()))
    }

    /// The whole digest, `sha256:…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalized image reference: `registry/repository[:tag][@digest]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// An image reference that Docker would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("invalid image reference `{text}`: {reason}")]
#[diagnostic(code(ix::image::invalid_reference))]
pub struct ImageRefError {
    pub text: String,
    pub reason: String,
}

impl ImageRefError {
    /// The same problem as a stage diagnostic (the same code), for
    /// callers that attach the span of the config value.
    pub fn to_diag(&self) -> crate::diag::Diag {
        crate::diag::Diag::error("ix::image::invalid_reference", self.to_string())
            .help("an image is `[REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]`, e.g. `vllm/vllm-openai:v0.9.0`")
    }
}

impl ImageRef {
    /// Parses `text` as Docker does: a missing registry is `docker.io`, a one-part Docker Hub
    /// name gets `library/`, a missing tag means `latest` (unless a digest pins the image).
    pub fn parse(text: &str) -> Result<ImageRef, ImageRefError> {
        let fail = |reason: &str| ImageRefError { text: text.to_string(), reason: reason.to_string() };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        if text.starts_with('-') {
            return Err(fail("it starts with `-` (it would be read as a command-line option)"));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(&format!("it contains the character {c:?}")));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest).map_err(|reason| fail(&reason))?)),
            None => (text, None),
        };
        // A tag is what follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(|reason| fail(&reason))?;
        }
        if name.is_empty() {
            return Err(fail("the repository name is empty"));
        }
        if name.len() > 255 {
            return Err(fail("the name is longer than 255 characters"));
        }
        // enroot (and InferenceX's Slurm configs) write `REGISTRY#REPOSITORY`.
        let (registry, path) = match name.split_once('#') {
            Some((registry, path)) => (Some(registry), path),
            None => split_registry(name),
        };
        if let Some(registry) = registry {
            check_registry(registry).map_err(|reason| fail(&reason))?;
        }
        check_path(path).map_err(|reason| fail(&reason))?;
        let registry = match registry {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(registry) => registry,
        };
        let repository =
            if registry == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path.to_string() };
        // Without a digest the tag is `latest` when none is written, so `ubuntu` equals
        // `docker.io/library/ubuntu:latest`; a digest alone names no tag.
        let tag = match (tag, &digest) {
            (None, None) => Some("latest"),
            (tag, _) => tag,
        };
        Ok(ImageRef { registry: registry.to_string(), repository, tag: tag.map(str::to_string), digest })
    }

    /// The registry host, with its port when it has one (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry (`library/ubuntu`, `vllm/vllm-openai`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, `latest` when none was written.
    pub fn tag(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The pinned digest, for `name@sha256:…` references.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `registry/repository`, the name `RepoDigests` entries carry.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host that serves the registry API (Docker Hub's is `registry-1.docker.io`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB { "registry-1.docker.io" } else { &self.registry }
    }

    /// This image pinned to `digest`, the tag it was resolved from written out for display
    /// (`ubuntu` becomes `docker.io/library/ubuntu:latest@sha256:…`).
    pub fn with_digest(&self, digest: Digest) -> ImageRef {
        ImageRef { tag: Some(self.tag().to_string()), digest: Some(digest), ..self.clone() }
    }

    /// What to hand a container engine to pull or run: `name@digest` when pinned, else
    /// `name:tag`. Engines differ on `name:tag@digest`, so it is never produced here.
    pub fn engine_reference(&self) -> String {
        match &self.digest {
            Some(digest) => format!("{}@{digest}", self.name()),
            None => format!("{}:{}", self.name(), self.tag()),
        }
    }
}

/// The full normalized form: `registry/repository[:tag][@digest]` (without a tag only for a
/// digest written without one).
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Docker's rule: the first component is a registry when it has a `.` or a `:`, is `localhost`,
/// or has an upper-case letter (repository paths are lower case).
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    if bytes.is_empty() {
        return Err("the tag after `:` is empty".into());
    }
    if bytes.len() > 128 || !word(bytes[0]) || !bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-') {
        return Err(format!("tag `{tag}` is not valid (up to 128 of `A-Za-z0-9_.-`, not starting with `.` or `-`)"));
    }
    Ok(())
}

fn check_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("registry `{registry}` is not a host name, IP address or `[IPv6]`, with an optional `:PORT`");
    let (host, port) = if let Some(inner) = registry.strip_prefix('[') {
        let (ipv6, after) = inner.split_once(']').ok_or_else(bad)?;
        if ipv6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(bad());
        }
        match after {
            "" => (None, None),
            _ => (None, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let component_ok = |c: &str| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
        };
        if !host.split('.').all(component_ok) {
            return Err(bad());
        }
    }
    if let Some(port) = port
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
    {
        return Err(format!("registry `{registry}` has an invalid port `{port}` (expected 1 to 65535)"));
    }
    Ok(())
}

/// Each `/`-separated component: lower-case alphanumerics separated by `.`, `_`, `__` or dashes.
fn check_path(path: &str) -> Result<(), String> {
    for component in path.split('/') {
        if component.is_empty() {
            return Err(format!("repository `{path}` has an empty path component"));
        }
        if component.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(format!("repository `{path}` must be lower case"));
        }
        let b = component.as_bytes();
        let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
        let mut ok = alnum(b[0]) && alnum(b[b.len() - 1]);
        let mut idx = 0;
        while ok && idx < b.len() {
            if alnum(b[idx]) {
                idx += 1;
                continue;
            }
            let start = idx;
            while idx < b.len() && !alnum(b[idx]) {
                idx += 1;
            }
            let separator = &component[start..idx];
            ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|x| x == b'-');
        }
        if !ok {
            return Err(format!(
                "repository component `{component}` is not valid (lower-case letters and digits, separated by `.`, `_`, `__` or `-`)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// `(input, registry, repository, tag, digest)` after normalization.
    fn check(input: &str, registry: &str, repository: &str, tag: &str, pinned: bool) {
        let image = ImageRef::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(
            (image.registry(), image.repository(), image.tag(), image.digest().is_some()),
            (registry, repository, tag, pinned),
            "{input}"
        );
    }

    #[test]
    fn normalizes_like_docker() {
        check("ubuntu", "docker.io", "library/ubuntu", "latest", false);
        check("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", false);
        check("vllm/vllm-openai:v0.9.0", "docker.io", "vllm/vllm-openai", "v0.9.0", false);
        check("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", false);
        check("index.docker.io/vllm/vllm-openai", "docker.io", "vllm/vllm-openai", "latest", false);
        check("localhost/ixtest:1", "localhost", "ixtest", "1", false);
        check("localhost:5000/a/b/c:x_y", "localhost:5000", "a/b/c", "x_y", false);
        check("127.0.0.1:5055/ixtest:v1", "127.0.0.1:5055", "ixtest", "v1", false);
        check("[::1]:5000/ixtest", "[::1]:5000", "ixtest", "latest", false);
        check("nvcr.io/nvidia/sglang:25.01-py3", "nvcr.io", "nvidia/sglang", "25.01-py3", false);
        check("lmsysorg/sglang:v0.4.6.post1-rocm630", "docker.io", "lmsysorg/sglang", "v0.4.6.post1-rocm630", false);
        check("a__b/c-d---e.f_g", "docker.io", "a__b/c-d---e.f_g", "latest", false);
        check("Registry/x", "Registry", "x", "latest", false);
        check(
            "nvcr.io#nvidia/tensorrt-llm/release:1.2.0rc6.post3",
            "nvcr.io",
            "nvidia/tensorrt-llm/release",
            "1.2.0rc6.post3",
            false,
        );
        check(
            "rocm/7.0:rocm7.0_ubuntu_22.04_vllm_0.10.1_instinct_20250927_rc1",
            "docker.io",
            "rocm/7.0",
            "rocm7.0_ubuntu_22.04_vllm_0.10.1_instinct_20250927_rc1",
            false,
        );
        check(&format!("ubuntu@sha256:{HEX}"), "docker.io", "library/ubuntu", "latest", true);
        check(&format!("ubuntu:22.04@sha256:{HEX}"), "docker.io", "library/ubuntu", "22.04", true);
    }

    #[test]
    fn displays_the_full_form_and_engine_reference() {
        let image = ImageRef::parse("ubuntu").expect("parse");
        assert_eq!(image.to_string(), "docker.io/library/ubuntu:latest");
        assert_eq!(image.engine_reference(), "docker.io/library/ubuntu:latest");
        assert_eq!(image.api_host(), "registry-1.docker.io");
        let pinned = ImageRef::parse(&format!("localhost:5000/x:v1@sha256:{HEX}")).expect("parse");
        assert_eq!(pinned.to_string(), format!("localhost:5000/x:v1@sha256:{HEX}"));
        assert_eq!(pinned.engine_reference(), format!("localhost:5000/x@sha256:{HEX}"));
        let digest_only = ImageRef::parse(&format!("x@sha256:{HEX}")).expect("parse");
        assert_eq!(digest_only.to_string(), format!("docker.io/library/x@sha256:{HEX}"));
        assert_eq!(image, ImageRef::parse("docker.io/library/ubuntu:latest").expect("parse"));
        let enroot = ImageRef::parse("nvcr.io#nvidia/sglang:25.01").expect("parse");
        assert_eq!(enroot, ImageRef::parse("nvcr.io/nvidia/sglang:25.01").expect("parse"));
        let repinned = image.with_digest(Digest::parse(&format!("sha256:{HEX}")).expect("digest"));
        assert_eq!(repinned.to_string(), format!("docker.io/library/ubuntu:latest@sha256:{HEX}"));
        assert_eq!(ImageRef::parse(&repinned.to_string()).expect("round trip"), repinned);
    }

    #[test]
    fn rejects_malformed_references_with_the_reason() {
        let cases = [
            ("", "empty"),
            ("-v", "starts with `-`"),
            ("--privileged", "starts with `-`"),
            ("img; rm -rf /", "character"),
            ("Ubuntu", "lower case"),
            ("ubuntu:", "tag after `:` is empty"),
            ("ubuntu:.x", "tag `.x`"),
            ("ubuntu:a/b", "invalid port `a`"),
            ("a//b", "empty path component"),
            ("a/b/", "empty path component"),
            ("_a", "repository component `_a`"),
            ("a..b", "repository component `a..b`"),
            ("a___b", "repository component `a___b`"),
            ("host:99999/x", "invalid port `99999`"),
            ("host:/x", "invalid port ``"),
            ("-host.io/x", "starts with `-`"),
            ("#x/y", "registry ``"),
            ("a#b#c", "repository component `b#c`"),
            ("bad-.io/x", "registry `bad-.io`"),
            ("[zz]:5000/x", "registry `[zz]:5000`"),
            ("ubuntu@sha256:abc", "64 lowercase hex"),
            (&format!("ubuntu@sha256:{}", HEX.to_uppercase()), "64 lowercase hex"),
            (&format!("ubuntu@sha512:{HEX}"), "`sha512` is not supported"),
            ("ubuntu@latest", "not a digest"),
            (&format!("{}:1", "a".repeat(256)), "longer than 255"),
            (&format!("x:{}", "t".repeat(129)), "not valid"),
        ];
        for (input, reason) in cases {
            let error = ImageRef::parse(input).expect_err(input);
            assert!(error.to_string().contains(reason), "{input}: {error}");
            assert!(error.to_string().starts_with(&format!("invalid image reference `{input}`")), "{error}");
        }
    }

    #[test]
    fn digests_are_sha256_with_64_lowercase_hex() {
        let digest = Digest::parse(&format!("sha256:{HEX}")).expect("digest");
        assert_eq!(digest.hex(), HEX);
        assert_eq!(digest.as_str(), format!("sha256:{HEX}"));
        assert!(Digest::parse(HEX).is_err());
        assert!(Digest::parse(&format!("sha256:{}", &HEX[1..])).is_err());
        assert!(Digest::parse(&format!("sha256:{HEX}0")).is_err());
    }
}
