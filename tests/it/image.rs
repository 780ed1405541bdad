//! `ix image resolve` against a small registry written in this test (tokio, plain HTTP/1.1 on
//! loopback) for what the real registry here does not do: the anonymous bearer-token flow
//! (401 with `WWW-Authenticate: Bearer`, a token from the realm, the retried HEAD), registries
//! that refuse anonymous access, a registry too slow to answer, one that sends the digest only
//! with GET. tests/it/containers.rs runs the same verb against Debian's real docker-registry.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::ix;

const TOKEN: &str = "good-token";

fn digest(fill: char) -> String {
    format!("sha256:{}", fill.to_string().repeat(64))
}

/// One request as the mock registry saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    authorization: String,
}

/// The mock registry; dropping it stops its thread.
struct MockRegistry {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MockRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl MockRegistry {
    fn start() -> MockRegistry {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let port = listener.local_addr().expect("addr").port();
                port_tx.send(port).expect("send port");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            tokio::spawn(serve(stream, port, log.clone()));
                        }
                    }
                }
            });
        });
        let port = port_rx.recv_timeout(Duration::from_secs(10)).expect("mock registry port");
        MockRegistry { port, seen, stop: Some(stop), thread: Some(thread) }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

async fn serve(mut stream: tokio::net::TcpStream, port: u16, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buffer).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_string();
    let target = request_line.next().unwrap_or("").to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let authorization = headers.get("authorization").cloned().unwrap_or_default();
    log.lock().expect("log").push(Seen {
        method: method.clone(),
        target: target.clone(),
        authorization: authorization.clone(),
    });
    let (status, extra, body) = route(&method, &target, &headers, port).await;
    let mut response = format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in extra {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    if method != "HEAD" {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The registry's behaviour: `team/app` wants a bearer token, `locked/app` gets a token that does
/// not work, `basic/app` wants a password, `slow/app` never answers in time, `getonly/app` sends
/// the digest only with GET.
async fn route(
    method: &str,
    target: &str,
    headers: &BTreeMap<String, String>,
    port: u16,
) -> (&'static str, Vec<(&'static str, String)>, String) {
    let challenge = |repo: &str| {
        format!(
            r#"Bearer realm="http://127.0.0.1:{port}/token",service="mock-registry",scope="repository:{repo}:pull""#
        )
    };
    if let Some(query) = target.strip_prefix("/token?") {
        let params: BTreeMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        let token = match (params.get("service"), params.get("scope")) {
            (Some(&"mock-registry"), Some(&"repository%3Ateam%2Fapp%3Apull")) => TOKEN,
            (Some(&"mock-registry"), Some(&"repository%3Alocked%2Fapp%3Apull")) => "useless-token",
            _ => return ("400 Bad Request", vec![], "bad token request".into()),
        };
        return ("200 OK", vec![("Content-Type", "application/json".into())], format!(r#"{{"token":"{token}"}}"#));
    }
    let Some((repo, tag)) = target.strip_prefix("/v2/").and_then(|rest| rest.split_once("/manifests/")) else {
        return ("404 Not Found", vec![], String::new());
    };
    let accept = headers.get("accept").cloned().unwrap_or_default();
    let accepts_all = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
    .iter()
    .all(|media_type| accept.contains(media_type));
    if !accepts_all {
        return ("406 Not Acceptable", vec![], String::new());
    }
    let bearer = headers.get("authorization").and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    let found = |fill| ("200 OK", vec![("Docker-Content-Digest", digest(fill))], "{}".to_string());
    match repo {
        "team/app" if bearer != TOKEN => {
            ("401 Unauthorized", vec![("WWW-Authenticate", challenge("team/app"))], String::new())
        }
        "team/app" => match tag {
            "v1" => found('1'),
            "v2" => found('2'),
            _ => ("404 Not Found", vec![], r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.into()),
        },
        "locked/app" => ("401 Unauthorized", vec![("WWW-Authenticate", challenge("locked/app"))], String::new()),
        "basic/app" => ("401 Unauthorized", vec![("WWW-Authenticate", r#"Basic realm="mock""#.into())], String::new()),
        "slow/app" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            found('5')
        }
        "getonly/app" if method == "GET" => found('3'),
        "getonly/app" => ("200 OK", vec![], String::new()),
        _ => ("404 Not Found", vec![], String::new()),
    }
}

/// Rendered diagnostics without whitespace and miette's `│` gutters, so that messages can be
/// found whatever the wrapping (which may break inside a URL, after a `/`).
fn flat(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

#[test]
fn bearer_flow_resolves_and_each_bad_image_fails_alone() {
    let registry = MockRegistry::start();
    let host = registry.host();
    let pin = digest('9');
    let images = [
        format!("{host}/team/app:v1"),
        format!("{host}/team/app:missing"),
        format!("{host}/locked/app:v1"),
        format!("{host}/basic/app:v1"),
        format!("{host}/slow/app:v1"),
        format!("{host}/getonly/app:v1"),
        format!("{host}/team/app:v2"),
        format!("{host}/team/app@{pin}"),
        "Not/Valid".into(),
    ];
    let out = ix(["image", "resolve", "--timeout", "0.5"]).args_from(&images.each_ref().map(String::as_str)).run();
    let out = out.expect_code(1);
    assert_eq!(
        out.stdout,
        format!(
            "{host}/team/app:v1 {}\n{host}/getonly/app:v1 {}\n{host}/team/app:v2 {}\n{host}/team/app@{pin} {pin}\n",
            digest('1'),
            digest('3'),
            digest('2')
        )
    );
    for expected in [
        format!("tag `missing` not found in `team/app` (HTTP 404 from `http://{host}/v2/team/app/manifests/missing`)"),
        format!(
            "cannot resolve `{host}/locked/app:v1`: the registry refuses anonymous access (HTTP 401 with an anonymous token)"
        ),
        format!(r#"cannot resolve `{host}/basic/app:v1`: the registry refuses anonymous access (Basic realm="mock")"#),
        format!(
            "cannot resolve `{host}/slow/app:v1`: cannot reach `http://{host}/v2/slow/app/manifests/v1`: no answer within 0.5s"
        ),
        "invalid image reference `Not/Valid`".into(),
    ] {
        let stderr = flat(&out.stderr);
        assert!(stderr.contains(&flat(&expected)), "missing `{expected}` in stderr:\n{}", out.stderr);
    }

    let seen = registry.seen();
    // The pin asked nothing; the token came from the realm with the challenge's service and scope,
    // and the retried HEAD carried it.
    assert!(!seen.iter().any(|s| s.target.contains(&pin[7..])), "{seen:?}");
    assert!(
        seen.iter()
            .any(|s| s.method == "GET"
                && s.target == "/token?service=mock-registry&scope=repository%3Ateam%2Fapp%3Apull"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|s| s.method == "HEAD"
            && s.target == "/v2/team/app/manifests/v1"
            && s.authorization == format!("Bearer {TOKEN}")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|s| s.method == "GET" && s.target == "/v2/getonly/app/manifests/v1"), "{seen:?}");
}

#[test]
fn resolves_only_good_images_with_exit_zero_and_https_elsewhere() {
    let registry = MockRegistry::start();
    let host = registry.host();
    let out = ix(["image", "resolve", &format!("{host}/team/app:v2"), &format!("{host}/team/app:v2")]).run();
    let out = out.expect_code(0);
    assert_eq!(out.stdout, format!("{host}/team/app:v2 {0}\n{host}/team/app:v2 {0}\n", digest('2')));

    // A registry that is neither loopback nor listed is asked over https; a listed one over http.
    let remote = "192.0.2.1:9/x:v1";
    let out = ix(["image", "resolve", "--timeout", "0.3", remote]).run().expect_code(1);
    assert!(flat(&out.stderr).contains(&flat("`https://192.0.2.1:9/v2/x/manifests/v1`")), "{}", out.stderr);
    let out =
        ix(["image", "resolve", "--timeout", "0.3", remote]).env("IX_INSECURE_REGISTRIES", "a.lan, 192.0.2.1:9").run();
    let out = out.expect_code(1);
    assert!(flat(&out.stderr).contains(&flat("`http://192.0.2.1:9/v2/x/manifests/v1`")), "{}", out.stderr);
}

#[test]
fn leading_dashes_and_bad_timeouts_are_refused() {
    let out = ix(["image", "resolve", "--", "-v", "ubuntu@sha256:1234"]).run().expect_code(1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("invalid image reference `-v`: it starts with `-`"), "{}", out.stderr);
    assert!(out.stderr.contains("ix::image::invalid_reference"), "{}", out.stderr);
    let out = ix(["image", "resolve", "--timeout", "0", "x@sha256:1234"]).run().expect_code(2);
    assert!(out.stderr.contains("`--timeout` must be a positive number of seconds"), "{}", out.stderr);
}
