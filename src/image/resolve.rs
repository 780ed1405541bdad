//! Resolving image tags to manifest digests over the registry HTTP API, without pulling:
//! `HEAD /v2/<repository>/manifests/<tag>` with the OCI and Docker v2 manifest (and index)
//! media types, reading `Docker-Content-Digest`.
//!
//! Anonymous only: a `401` with a `Bearer` challenge is answered by fetching a token from the
//! challenge's realm and retrying; a registry that wants credentials is an error for that image.
//! Many images resolve in parallel; each gets its own result, so one bad image fails alone.
//! Pinned references (`name@sha256:…`) resolve to their pin without any request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;

use super::{Digest, ImageRef};

/// The manifest media types asked for, so that the digest is the one `docker pull` records:
/// an index (manifest list) for multi-platform images, else the image manifest.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// How to reach registries.
#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// Per HTTP request (manifest and token requests alike).
    pub timeout: Duration,
    /// Registries (`host` or `host:port`) spoken to over plain http; loopback hosts always are.
    pub insecure_registries: Vec<String>,
    /// At most this many images are resolved at once.
    pub max_parallel: usize,
}

impl Default for ResolveOptions {
    fn default() -> ResolveOptions {
        ResolveOptions { timeout: Duration::from_secs(10), insecure_registries: Vec::new(), max_parallel: 32 }
    }
}

impl ResolveOptions {
    /// The defaults, with `IX_INSECURE_REGISTRIES` (hosts separated by commas or spaces) and
    /// `IX_REGISTRY_TIMEOUT` (seconds) applied; an unreadable timeout keeps the default.
    pub fn from_env() -> ResolveOptions {
        let mut options = ResolveOptions::default();
        if let Ok(list) = std::env::var("IX_INSECURE_REGISTRIES") {
            options.insecure_registries =
                list.split([',', ' ']).filter(|host| !host.is_empty()).map(str::to_string).collect();
        }
        if let Some(secs) = std::env::var("IX_REGISTRY_TIMEOUT").ok().and_then(|t| t.trim().parse::<f64>().ok())
            && secs.is_finite()
            && secs > 0.0
        {
            options.timeout = Duration::from_secs_f64(secs);
        }
        options
    }

    /// Whether `registry` (`host[:port]`) is spoken to over http (and without TLS
    /// verification by container engines): loopback hosts and the listed ones.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let host = host_of(registry);
        let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        loopback || self.insecure_registries.iter().any(|listed| listed == registry || listed == host)
    }
}

/// `host` of `host[:port]` or `[v6]:port`.
fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry.split_once(']').map_or(registry, |(host, _)| &host[1..]);
    }
    registry.split_once(':').map_or(registry, |(host, _)| host)
}

/// Why one image could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ResolveError {
    #[error("cannot resolve `{image}`: cannot reach `{url}`: {reason}")]
    #[diagnostic(code(ix::image::registry_unreachable))]
    Unreachable { image: String, url: String, reason: String },
    #[error("cannot resolve `{image}`: tag `{tag}` not found in `{repository}` (HTTP 404 from `{url}`)")]
    #[diagnostic(code(ix::image::manifest_unknown))]
    NotFound { image: String, repository: String, tag: String, url: String },
    #[error("cannot resolve `{image}`: the registry answered HTTP {status} for `{url}`")]
    #[diagnostic(code(ix::image::registry_status))]
    Status { image: String, url: String, status: u16 },
    #[error("cannot resolve `{image}`: the registry refuses anonymous access ({challenge})")]
    #[diagnostic(
        code(ix::image::unauthorized),
        help("`ix` asks registries anonymously; pin the image as `NAME@sha256:DIGEST` to use it without a registry")
    )]
    Unauthorized { image: String, challenge: String },
    #[error("cannot resolve `{image}`: the token request to `{realm}` failed: {reason}")]
    #[diagnostic(code(ix::image::token))]
    Token { image: String, realm: String, reason: String },
    #[error("cannot resolve `{image}`: `{url}` answered without a sha256 `Docker-Content-Digest` header ({found})")]
    #[diagnostic(code(ix::image::missing_digest))]
    MissingDigest { image: String, url: String, found: String },
    #[error("cannot resolve `{image}`: {reason}")]
    #[diagnostic(code(ix::image::runtime))]
    Runtime { image: String, reason: String },
}

/// The digest of every image, in order: pins as written, tags as their registry says now.
/// Identical references are asked once.
pub async fn resolve_all(images: &[ImageRef], options: &ResolveOptions) -> Vec<Result<Digest, ResolveError>> {
    // reqwest is built without a bundled crypto provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .user_agent(concat!("ix/", env!("CARGO_PKG_VERSION")))
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            let reason = format!("cannot build the HTTP client: {}", describe(&error));
            return images
                .iter()
                .map(|image| Err(ResolveError::Runtime { image: image.to_string(), reason: reason.clone() }))
                .collect();
        }
    };
    // Each image is either its pin or the index of a distinct reference to ask for.
    let mut unique: Vec<&ImageRef> = Vec::new();
    let mut slot_of: HashMap<&ImageRef, usize> = HashMap::new();
    let slots: Vec<Result<Digest, usize>> = images
        .iter()
        .map(|image| match image.digest() {
            Some(pin) => Ok(pin.clone()),
            None => Err(*slot_of.entry(image).or_insert_with(|| {
                unique.push(image);
                unique.len() - 1
            })),
        })
        .collect();
    let tokens = Mutex::new(HashMap::new());
    let resolved: Vec<Result<Digest, ResolveError>> = futures_util::stream::iter(unique)
        .map(|image| resolve_tag(&client, image, options, &tokens))
        .buffered(options.max_parallel.max(1))
        .collect()
        .await;
    slots.into_iter().map(|slot| slot.or_else(|slot| resolved[slot].clone())).collect()
}

/// [`resolve_all`] for synchronous callers; it runs on its own thread and runtime, so it may be
/// called from inside an async task too.
pub fn resolve_all_blocking(images: &[ImageRef], options: &ResolveOptions) -> Vec<Result<Digest, ResolveError>> {
    let all_fail = |reason: String| {
        images
            .iter()
            .map(|image| Err(ResolveError::Runtime { image: image.to_string(), reason: reason.clone() }))
            .collect()
    };
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(resolve_all(images, options)),
            Err(error) => all_fail(format!("cannot start the HTTP runtime: {error}")),
        });
        worker.join().unwrap_or_else(|_| all_fail("the resolver thread panicked".into()))
    })
}

/// Asks the registry for the current digest of one unpinned image.
async fn resolve_tag(
    client: &reqwest::Client,
    image: &ImageRef,
    options: &ResolveOptions,
    tokens: &Mutex<HashMap<String, String>>,
) -> Result<Digest, ResolveError> {
    let scheme = if options.is_insecure(image.registry()) { "http" } else { "https" };
    let url = format!("{scheme}://{}/v2/{}/manifests/{}", image.api_host(), image.repository(), image.tag());
    let token_key = format!("{}/{}", image.api_host(), image.repository());
    let mut token = tokens.lock().ok().and_then(|tokens| tokens.get(&token_key).cloned());
    let mut fetched = false;
    let mut method = reqwest::Method::HEAD;
    loop {
        let mut request = client.request(method.clone(), &url).header(reqwest::header::ACCEPT, MANIFEST_ACCEPT);
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        let unreachable = |error: reqwest::Error| ResolveError::Unreachable {
            image: image.to_string(),
            url: url.clone(),
            reason: describe_with_timeout(&error, options.timeout),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        match status {
            401 if !fetched => {
                let challenge = header_text(&response, reqwest::header::WWW_AUTHENTICATE);
                let Some(bearer) = BearerChallenge::parse(&challenge) else {
                    let challenge =
                        if challenge.is_empty() { "no `WWW-Authenticate` challenge".into() } else { challenge };
                    return Err(ResolveError::Unauthorized { image: image.to_string(), challenge });
                };
                let fresh = fetch_token(client, image, &bearer, options).await?;
                if let Ok(mut tokens) = tokens.lock() {
                    tokens.insert(token_key.clone(), fresh.clone());
                }
                token = Some(fresh);
                fetched = true;
            }
            401 | 403 => {
                let challenge = header_text(&response, reqwest::header::WWW_AUTHENTICATE);
                let challenge = if token.is_some() {
                    format!("HTTP {status} with an anonymous token")
                } else {
                    format!("HTTP {status} {challenge}").trim_end().to_string()
                };
                return Err(ResolveError::Unauthorized { image: image.to_string(), challenge });
            }
            404 => {
                return Err(ResolveError::NotFound {
                    image: image.to_string(),
                    repository: image.repository().to_string(),
                    tag: image.tag().to_string(),
                    url,
                });
            }
            200..=299 => {
                let found = header_text(&response, "docker-content-digest");
                if let Ok(digest) = Digest::parse(found.trim()) {
                    return Ok(digest);
                }
                // A few registries only send the digest with GET; ask once more that way.
                if method == reqwest::Method::HEAD && found.is_empty() {
                    method = reqwest::Method::GET;
                    continue;
                }
                let found = if found.is_empty() { "none".to_string() } else { format!("`{found}`") };
                return Err(ResolveError::MissingDigest { image: image.to_string(), url, found });
            }
            _ => return Err(ResolveError::Status { image: image.to_string(), url, status }),
        }
    }
}

fn header_text(response: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> String {
    response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or("").to_string()
}

/// Gets an anonymous token for the challenge (`GET realm?service=…&scope=…`).
async fn fetch_token(
    client: &reqwest::Client,
    image: &ImageRef,
    bearer: &BearerChallenge,
    options: &ResolveOptions,
) -> Result<String, ResolveError> {
    let token_error =
        |reason: String| ResolveError::Token { image: image.to_string(), realm: bearer.realm.clone(), reason };
    let scope = bearer.scope.clone().unwrap_or_else(|| format!("repository:{}:pull", image.repository()));
    let mut query = vec![("scope", scope.as_str())];
    if let Some(service) = &bearer.service {
        query.insert(0, ("service", service.as_str()));
    }
    let url = reqwest::Url::parse_with_params(&bearer.realm, &query)
        .map_err(|error| token_error(format!("the realm is not a URL: {error}")))?;
    let response =
        client.get(url).send().await.map_err(|error| token_error(describe_with_timeout(&error, options.timeout)))?;
    if !response.status().is_success() {
        return Err(token_error(format!("HTTP {}", response.status().as_u16())));
    }
    let body: serde_json::Value =
        response.json().await.map_err(|error| token_error(format!("unreadable answer: {}", describe(&error))))?;
    ["token", "access_token"]
        .iter()
        .find_map(|key| body.get(key).and_then(serde_json::Value::as_str).filter(|t| !t.is_empty()))
        .map(str::to_string)
        .ok_or_else(|| token_error("the answer holds no `token`".into()))
}

/// The parameters of a `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerChallenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

impl BearerChallenge {
    /// Parses a `Bearer` challenge (scheme case-insensitive, values quoted or bare); `None` for
    /// another scheme or a challenge without a realm.
    pub fn parse(header: &str) -> Option<BearerChallenge> {
        let header = header.trim_start();
        let (scheme, mut rest) = header.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut params: HashMap<String, String> = HashMap::new();
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let (key, after) = rest.split_once('=')?;
            let key = key.trim().to_ascii_lowercase();
            let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = None;
                while let Some((idx, c)) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|(_, c)| c)),
                        '"' => {
                            end = Some(idx + 1);
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end?..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.insert(key, value);
            rest = after;
        }
        Some(BearerChallenge {
            realm: params.remove("realm").filter(|realm| !realm.is_empty())?,
            service: params.remove("service"),
            scope: params.remove("scope"),
        })
    }
}

/// The innermost cause of a reqwest error ("Connection refused"), which its own text hides.
fn describe(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

fn describe_with_timeout(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("no answer within {:.1}s (IX_REGISTRY_TIMEOUT)", timeout.as_secs_f64())
    } else {
        describe(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse_like_registries_send_them() {
        let hub = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#;
        assert_eq!(
            BearerChallenge::parse(hub),
            Some(BearerChallenge {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull".into()),
            })
        );
        let bare = BearerChallenge::parse("bearer realm=http://h/t, scope=\"a,b\\\"c\"").expect("parse");
        assert_eq!((bare.realm.as_str(), bare.service, bare.scope.as_deref()), ("http://h/t", None, Some("a,b\"c")));
        assert_eq!(BearerChallenge::parse(r#"Basic realm="registry""#), None);
        assert_eq!(BearerChallenge::parse(r#"Bearer service="x""#), None);
        assert_eq!(BearerChallenge::parse(r#"Bearer realm="unterminated"#), None);
        assert_eq!(BearerChallenge::parse(""), None);
    }

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let options =
            ResolveOptions { insecure_registries: vec!["reg.lan".into(), "other:5000".into()], ..Default::default() };
        for registry in [
            "127.0.0.1:5055",
            "127.1.2.3",
            "localhost",
            "localhost:80",
            "[::1]:5000",
            "[::1]",
            "reg.lan:443",
            "other:5000",
        ] {
            assert!(options.is_insecure(registry), "{registry}");
        }
        for registry in ["docker.io", "nvcr.io", "other:5001", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!options.is_insecure(registry), "{registry}");
        }
    }

    #[test]
    fn pinned_images_resolve_without_any_request() {
        let hex = "ab".repeat(32);
        // Port 1 on loopback answers nothing: any request would fail.
        let image = ImageRef::parse(&format!("127.0.0.1:1/x:v1@sha256:{hex}")).expect("parse");
        let results = resolve_all_blocking(&[image], &ResolveOptions::default());
        assert_eq!(results, [Ok(Digest::parse(&format!("sha256:{hex}")).expect("digest"))]);
    }
}
