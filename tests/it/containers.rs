//! Images and containers against real parts (CONTAINERS-LOCAL.md): Debian's docker-registry on a
//! loopback port in a temporary folder, images built without network (`podman import` of a root
//! file system made from the host's own files) and pushed with skopeo. `ix image resolve` follows
//! a moved tag, `image::pull` with podman returns the registry's digest, and `ix run --executor
//! docker` with podman runs a bench task inside an image holding bash and this `ix`.
//!
//! Helpers for other tests (the end-to-end launch test): [`require_container_tools`],
//! [`Registry::start`], [`Rootfs`] (and [`ix_rootfs`]: bash, busybox and the `ix` under test),
//! [`LocalImage::push`], [`registry_digest`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ix::image::{ContainerEngine, Digest, ImageRef, PullError, ResolveOptions, pull};

use crate::run::{Project, SCRIPT, entry, summary_line};
use crate::util::{ix, ix_bin};

/// Whether podman, runc, skopeo, docker-registry, busybox, tar and curl are installed. When one is
/// missing the test fails naming ci/containers.sh, unless `IX_ALLOW_MISSING_CONTAINERS=1` (a
/// deliberate choice outside CI): then it says so and this returns false.
pub(crate) fn require_container_tools() -> bool {
    let missing: Vec<&str> = ["podman", "runc", "skopeo", "docker-registry", "busybox", "tar", "curl"]
        .into_iter()
        .filter(|tool| {
            !Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("IX_ALLOW_MISSING_CONTAINERS").as_deref() == Ok("1") {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{missing:?} not installed; skipped by IX_ALLOW_MISSING_CONTAINERS=1");
        }
        return false;
    }
    panic!("{missing:?} not installed: run ci/containers.sh (or set IX_ALLOW_MISSING_CONTAINERS=1 to skip on purpose)");
}

/// Runs a command, panicking with its output when it fails; returns stdout.
fn sh(program: &str, args: &[&str]) -> String {
    let out =
        Command::new(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn podman(args: &[&str]) -> String {
    let engine = ContainerEngine::Podman;
    let all: Vec<&str> = engine.global_args().iter().copied().chain(args.iter().copied()).collect();
    sh(engine.program(), &all)
}

/// Debian's docker-registry serving a temporary folder on a free loopback port; dropping it
/// kills the registry it started.
pub(crate) struct Registry {
    dir: tempfile::TempDir,
    child: Child,
    host: String,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    pub(crate) fn start() -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let host = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        let data = dir.path().join("data");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
                data.display()
            ),
        )
        .expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { dir, child, host };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http_status(&registry.host, "/v2/") != Some(200) {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer on {}:\n{}",
                registry.host,
                std::fs::read_to_string(registry.dir.path().join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

/// The status of `GET path` on `host`, over a plain socket (no client of `ix` involved).
fn http_status(host: &str, path: &str) -> Option<u16> {
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split(' ').nth(1)?.parse().ok()
}

/// The manifest digest the registry serves for `reference` (`host/repo:tag`), as skopeo reads it.
pub(crate) fn registry_digest(reference: &str) -> Digest {
    let text =
        sh("skopeo", &["inspect", "--tls-verify=false", "--format", "{{.Digest}}", &format!("docker://{reference}")]);
    Digest::parse(text.trim()).expect("skopeo prints a sha256 digest")
}

static IMAGE_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A root file system being assembled in a temporary folder.
pub(crate) struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    pub(crate) fn new() -> Rootfs {
        let rootfs = Rootfs { dir: tempfile::tempdir().expect("tempdir") };
        for folder in ["bin", "tmp", "etc"] {
            std::fs::create_dir_all(rootfs.dir.path().join(folder)).expect("mkdir");
        }
        rootfs
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel.trim_start_matches('/'))
    }

    /// Writes a file (parents created).
    pub(crate) fn file(self, rel: &str, text: &str) -> Rootfs {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
        self
    }

    /// The host's static busybox as `/bin/busybox`, with every applet it lists linked in `/bin`
    /// (`sh`, `sleep`, `cat`, ...), never replacing a file already there.
    pub(crate) fn busybox(self) -> Rootfs {
        let busybox = sh("sh", &["-c", "command -v busybox"]);
        std::fs::copy(busybox.trim(), self.path("bin/busybox")).expect("copy busybox");
        for applet in sh(busybox.trim(), &["--list"]).lines() {
            let link = self.path(&format!("bin/{applet}"));
            if !applet.is_empty() && !applet.contains('/') && std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink("busybox", link).expect("symlink applet");
            }
        }
        self
    }

    /// A host executable at `dest` inside the image, with every shared library `ldd` lists copied
    /// to the same path (the dynamic loader included). Linking the same file again elsewhere
    /// costs no space (`tar` keeps hard links).
    pub(crate) fn host_binary(self, host: &Path, dest: &str) -> Rootfs {
        let target = self.path(dest);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(host, &target).unwrap_or_else(|e| panic!("copy {}: {e}", host.display()));
        let ldd = sh("ldd", &[&host.to_string_lossy()]);
        for line in ldd.lines() {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`.
            let path = line.split("=>").last().unwrap_or("").split_whitespace().next().unwrap_or("");
            if path.starts_with('/') && std::fs::symlink_metadata(self.path(path)).is_err() {
                let copy = self.path(path);
                std::fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir");
                std::fs::copy(path, &copy).unwrap_or_else(|e| panic!("copy {path}: {e}"));
            }
        }
        self
    }

    /// A hard link to a file already in the image.
    pub(crate) fn link(self, existing: &str, dest: &str) -> Rootfs {
        let target = self.path(dest);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::hard_link(self.path(existing), target).expect("hard link");
        self
    }

    /// `podman import` of the folder as a new uniquely named local image.
    pub(crate) fn import(&self) -> LocalImage {
        let n = IMAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("localhost/ix-it-{}-{n}:latest", std::process::id());
        let tar = self.dir.path().with_extension("tar");
        sh("tar", &["-C", &self.dir.path().to_string_lossy(), "-cf", &tar.to_string_lossy(), "."]);
        let id = podman(&["import", "--quiet", &tar.to_string_lossy(), &name]).trim().to_string();
        let _ = std::fs::remove_file(&tar);
        LocalImage { name, id }
    }
}

/// An image with bash as `/bin/bash`, curl (the benchmark scripts' health checks), busybox's
/// applets, and the `ix` under test both as `/usr/local/bin/ix` and at its host path (so a
/// script's `$IX_BIN` works unchanged inside).
pub(crate) fn ix_rootfs() -> Rootfs {
    let ix = ix_bin().canonicalize().expect("ix binary");
    let host_path = ix.to_string_lossy().into_owned();
    let curl = sh("sh", &["-c", "command -v curl"]);
    Rootfs::new()
        .host_binary(Path::new("/bin/bash"), "/bin/bash")
        .host_binary(Path::new(curl.trim()), "/usr/bin/curl")
        .busybox()
        .host_binary(&ix, "/usr/local/bin/ix")
        .link("/usr/local/bin/ix", &host_path)
}

/// An image in podman's local storage; dropping it removes the name.
pub(crate) struct LocalImage {
    pub(crate) name: String,
    /// What `podman import` printed: the image id (`sha256:…`).
    pub(crate) id: String,
}

impl LocalImage {
    /// `skopeo copy` to `dest` (`host:port/repo:tag`), without TLS.
    pub(crate) fn push(&self, dest: &str) {
        sh(
            "skopeo",
            &[
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                &format!("containers-storage:{}", self.name),
                &format!("docker://{dest}"),
            ],
        );
    }
}

impl Drop for LocalImage {
    fn drop(&mut self) {
        forget_images(&[self.name.as_str()]);
    }
}

/// Removes local images by name (pulled ones too), ignoring names already gone.
fn forget_images(names: &[&str]) {
    let engine = ContainerEngine::Podman;
    let _ = engine.command().args(["rmi", "--force", "--ignore"]).args(names).output();
}

fn busybox_image(marker: &str) -> LocalImage {
    Rootfs::new().busybox().file("/ix-marker", marker).import()
}

/// `IMAGE DIGEST` lines of `ix image resolve`, as a map.
fn resolve(images: &[&str]) -> std::collections::BTreeMap<String, String> {
    let out = ix(["image", "resolve"]).args_from(images).run().expect_code(0);
    out.stdout
        .lines()
        .map(|line| {
            let (image, digest) = line.split_once(' ').expect("IMAGE DIGEST");
            (image.to_string(), digest.to_string())
        })
        .collect()
}

#[test]
fn resolve_follows_a_moved_tag_and_keeps_the_other_image() {
    if !require_container_tools() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let moving = format!("{host}/ixtest:v1");
    let other = format!("{host}/other:v1");
    busybox_image("a").push(&moving);
    busybox_image("b").push(&other);

    let first = resolve(&[&moving, &other]);
    assert_eq!(first[&moving], registry_digest(&moving).as_str());
    assert_eq!(first[&other], registry_digest(&other).as_str());
    assert_ne!(first[&moving], first[&other]);

    busybox_image("c").push(&moving);
    let pinned_old = format!("{host}/ixtest@{}", first[&moving]);
    let second = resolve(&[&moving, &other, &pinned_old]);
    assert_ne!(second[&moving], first[&moving], "the moved tag has a new digest");
    assert_eq!(second[&moving], registry_digest(&moving).as_str());
    assert_eq!(second[&other], first[&other], "the other image is unchanged");
    assert_eq!(second[&pinned_old], first[&moving], "a pin resolves to itself");

    // A missing tag fails alone.
    let out = ix(["image", "resolve", &format!("{host}/ixtest:nope"), &other]).run().expect_code(1);
    assert_eq!(out.stdout, format!("{other} {}\n", first[&other]));
    assert!(out.stderr.contains("tag `nope` not found in `ixtest`"), "{}", out.stderr);
}

#[test]
fn pull_with_podman_returns_the_registry_digest() {
    if !require_container_tools() {
        return;
    }
    let registry = Registry::start();
    let host = registry.host();
    let reference = format!("{host}/pulltest:v1");
    let image = ImageRef::parse(&reference).expect("parse");
    let options = ResolveOptions::default();
    let cleanup = [reference.clone(), format!("{host}/pulltest")];
    let _forget = Forget(cleanup.to_vec());

    // Built here and pushed: podman knows the local manifest's digest too, so the registry decides.
    let first = busybox_image("one");
    let local = ImageRef::parse(&first.name).expect("parse");
    assert_eq!(ix::image::local_id(ContainerEngine::Podman, &local).map(|id| id.to_string()), Ok(first.id.clone()));
    first.push(&reference);
    let pulled = pull(ContainerEngine::Podman, &image, &options).expect("pull");
    assert_eq!(pulled, registry_digest(&reference));
    let _forget_first = Forget(vec![format!("{host}/pulltest@{pulled}")]);

    // The tag moves to an image that exists only in the registry: one digest, the new one.
    let second = busybox_image("two");
    second.push(&reference);
    drop(second);
    let moved = pull(ContainerEngine::Podman, &image, &options).expect("pull moved tag");
    assert_eq!(moved, registry_digest(&reference));
    assert_ne!(moved, pulled);

    // A pin pulls exactly that manifest, even after its tag moved.
    let pinned = image.with_digest(pulled.clone());
    assert_eq!(pull(ContainerEngine::Podman, &pinned, &options), Ok(pulled));

    let missing = ImageRef::parse(&format!("{host}/pulltest:nope")).expect("parse");
    match pull(ContainerEngine::Podman, &missing, &options) {
        Err(PullError::Failed { command, .. }) => {
            assert!(
                command.starts_with("podman --runtime runc --cgroup-manager=cgroupfs pull --tls-verify=false"),
                "{command}"
            );
        }
        other => panic!("expected a failed pull, got {other:?}"),
    }
}

/// Forgets the named local images when dropped.
pub(crate) struct Forget(pub(crate) Vec<String>);

impl Drop for Forget {
    fn drop(&mut self) {
        forget_images(&self.0.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

/// A bench script that proves where it ran: the marker file and the `ix` of the image.
const CONTAINER_SCRIPT: &str = r#"#!/usr/bin/env bash
set -euo pipefail
marker=$(cat /ix-marker)
version=$("$IX_BIN" version)
printf '{"max_concurrency": %s, "model_id": "tiny-model", "total_token_throughput": 200.0, "output_throughput": 100.0, "median_ttft_ms": 10.0, "median_tpot_ms": 2.0, "median_e2el_ms": 70.0, "median_itl_ms": 2.0, "marker": "%s", "ix": "%s", "image": "%s", "pwd": "%s"}\n' \
  "$CONC" "$marker" "$version" "$IMAGE" "$PWD" > "$RESULT_FILENAME.json"
"#;

#[test]
fn podman_runs_a_bench_task_through_the_docker_executor() {
    if !require_container_tools() {
        return;
    }
    let registry = Registry::start();
    let reference = format!("{}/ixbench:v1", registry.host());
    let local = ix_rootfs().file("/ix-marker", "inside the image").import();
    local.push(&reference);
    drop(local);
    let digest =
        pull(ContainerEngine::Podman, &ImageRef::parse(&reference).expect("parse"), &ResolveOptions::default())
            .expect("pull");
    let pinned = format!("{}/ixbench@{digest}", registry.host());
    let _forget = Forget(vec![reference.clone(), pinned.clone()]);

    let project =
        Project::new(&entry("tiny-fp32-local-sim", "sim", &pinned, "conc-list: [1]"), &[(SCRIPT, CONTAINER_SCRIPT)]);
    // The engine chosen by the environment, as a CI job would.
    let out = ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--executor", "docker", "--docker-no-gpus"])
        .env("IX_CONTAINER_ENGINE", "podman")
        .env_remove("CI")
        .current_dir(project.path())
        .run();
    let out = out.expect_code(0);
    assert_eq!(summary_line(&out), "6 done, 0 reused, 0 failed, 0 skipped, 0 cancelled", "{}", out.stderr);
    let results = project.results();
    assert_eq!(results.len(), 1, "{results:?}");
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results[0]).expect("result")).expect("json");
    assert_eq!(raw["marker"], "inside the image");
    assert_eq!(raw["ix"], format!("ix {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(raw["image"], pinned.as_str());
    assert_eq!(raw["pwd"], "/workspace");
}

/// A one-job `.ix` sweep of the demo's `sim` engine (concurrency 1) in `image`.
fn sim_sweep(image: &str) -> String {
    format!(
        "enum precision {{ fp32 }}\nenum framework {{ sim }}\nrunner local {{ local_0 }}\n\
         template tiny {{\n  image \"{image}\"\n  model \"ix/tiny-sim\"\n  prefix tiny\n  precision fp32\n  runner local\n  at 128/32: tp 1 conc [1]\n}}\n\
         sweep tiny-fp32-local-sim : tiny {{\n  framework sim\n}}\n"
    )
}

#[test]
fn podman_runs_the_demo_simulator_benchmark_in_an_ix_image() {
    if !require_container_tools() {
        return;
    }
    let registry = Registry::start();
    let reference = format!("{}/ixsim:v1", registry.host());
    let local = ix_rootfs().import();
    local.push(&reference);
    drop(local);
    let digest =
        pull(ContainerEngine::Podman, &ImageRef::parse(&reference).expect("parse"), &ResolveOptions::default())
            .expect("pull");
    let pinned = format!("{}/ixsim@{digest}", registry.host());
    let _forget = Forget(vec![reference.clone(), pinned.clone()]);

    let project = tempfile::tempdir().expect("tempdir");
    for sub in ["benchmarks", "runners"] {
        copy_dir(&crate::util::project_root().join(sub), &project.path().join(sub));
    }
    std::fs::write(project.path().join("sim.ix"), sim_sweep(&pinned)).expect("write sweep");
    let out = ix(["run", "sim.ix", "--executor", "docker", "--container-engine", "podman", "--docker-no-gpus"])
        .current_dir(project.path())
        .env("CI", "1")
        .run();
    let logs: String = std::fs::read_dir(project.path().join(".ix/logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
        .collect();
    assert_eq!(out.code, 0, "{}\n{}\n{logs}", out.stdout, out.stderr);
    assert!(logs.contains("via docker"), "{logs}");
    let raw = std::fs::read_dir(project.path().join(".ix/work"))
        .expect("work")
        .flatten()
        .flat_map(|dir| std::fs::read_dir(dir.path()).into_iter().flatten().flatten())
        .find(|file| {
            let name = file.file_name().to_string_lossy().into_owned();
            name.starts_with("tiny_") && name.ends_with("_local_0.json")
        })
        .expect("raw result");
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(raw.path()).expect("read")).expect("json");
    assert_eq!(raw["completed"], 10, "{raw}");
    assert!(raw["median_ttft_ms"].as_f64().is_some_and(|ttft| ttft >= 15.0), "{raw}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn an_unknown_container_engine_is_a_usage_error() {
    let out = ix(["run", "sweeps/demo.ix", "--container-engine", "dockr"]).run().expect_code(2);
    assert!(out.stderr.contains("unknown container engine `dockr` (expected `docker` or `podman`)"), "{}", out.stderr);
    let out = ix(["run", "sweeps/demo.ix"]).env("IX_CONTAINER_ENGINE", "Podman").run().expect_code(2);
    assert!(out.stderr.contains("unknown container engine `Podman`"), "{}", out.stderr);
}

/// The ids of the tasks `ix plan --format json` would run.
fn planned_runs(project: &Path, extra: &[&str]) -> Vec<String> {
    let out = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml", "--format", "json"])
        .args_from(extra)
        .current_dir(project)
        .run()
        .expect_code(0);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan json");
    let mut ids: Vec<String> = doc["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["action"] == "run")
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

/// The digest each launch task recorded last (`launch.json` in the work folders), by image.
fn launched_digests(project: &Path) -> std::collections::BTreeMap<String, String> {
    let mut launches: Vec<(std::time::SystemTime, String, String)> = std::fs::read_dir(project.join(".ix/work"))
        .expect("work")
        .flatten()
        .filter_map(|dir| {
            let path = dir.path().join("launch.json");
            let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
            let launch: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
            Some((modified, launch["image"].as_str()?.to_string(), launch["digest"].as_str()?.to_string()))
        })
        .collect();
    launches.sort();
    launches.into_iter().map(|(_, image, digest)| (image, digest)).collect()
}

/// Issue 19 end to end: launch tasks pull tags from a real registry and record their digests,
/// bench tasks run inside the pulled images, and a tag moved in the registry reruns exactly its
/// image's tasks (`ix plan --resolve-images` says why, `ix run` resolves before it plans).
#[test]
fn a_moved_tag_reruns_exactly_its_images_tasks() {
    if !require_container_tools() {
        return;
    }
    let registry = Registry::start();
    let (moving, steady) = (format!("{}/ixa:v1", registry.host()), format!("{}/ixb:v1", registry.host()));
    ix_rootfs().file("/ix-marker", "a1").import().push(&moving);
    ix_rootfs().file("/ix-marker", "b1").import().push(&steady);
    let _forget = Forget(vec![moving.clone(), steady.clone()]);
    let master = format!(
        "{}{}",
        entry("tiny-a", "sim", &moving, "conc-list: [1]"),
        entry("tiny-b", "sim", &steady, "conc-list: [1]")
    );
    let project = Project::new(&master, &[(SCRIPT, CONTAINER_SCRIPT)]);
    let run = || {
        ix(["run", "--config-files", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
            .args_from(&["--executor", "docker", "--container-engine", "podman", "--docker-no-gpus"])
            .env_remove("CI")
            .current_dir(project.path())
            .run()
    };
    let first = run().expect_code(0);
    assert_eq!(summary_line(&first), "10 done, 0 reused, 0 failed, 0 skipped, 0 cancelled", "{}", first.stderr);
    let before = launched_digests(project.path());
    assert_eq!(before[&moving], registry_digest(&moving).to_string(), "the launch recorded the registry's digest");
    assert_eq!(before[&steady], registry_digest(&steady).to_string());
    let markers = |project: &Project| -> Vec<String> {
        let mut markers: Vec<String> = project
            .results()
            .iter()
            .map(|path| {
                let raw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                raw["marker"].as_str().unwrap().to_string()
            })
            .collect();
        markers.sort();
        markers
    };
    assert_eq!(markers(&project), ["a1", "b1"], "each bench ran inside its image");
    let docker = ["--executor", "docker"];
    assert!(planned_runs(project.path(), &docker).is_empty(), "recorded digests: nothing to run");

    // Move one tag in the registry.
    ix_rootfs().file("/ix-marker", "a2").import().push(&moving);
    let moved = registry_digest(&moving).to_string();
    assert_ne!(moved, before[&moving]);
    // Without asking the registry the plan keeps the recorded digests.
    assert!(planned_runs(project.path(), &docker).is_empty());
    let runs = planned_runs(project.path(), &["--executor", "docker", "--resolve-images"]);
    let expected: Vec<String> = vec![
        "bench/tiny-a/1k1k/tp1-ep1-dpa0-none/c1/local_0".into(),
        "collect/tiny-a".into(),
        format!("launch/local/local/{}/ixa", registry.host()),
        "report".into(),
        "result/tiny-a/1k1k/tp1-ep1-dpa0-none/c1/local_0".into(),
        "summary".into(),
    ];
    assert_eq!(runs, expected, "exactly the moved image's tasks");
    let human = ix(["plan", "configs/master.yaml", "--runner-config", "configs/runners.yaml"])
        .args_from(&["--executor", "docker", "--resolve-images"])
        .current_dir(project.path())
        .run()
        .expect_code(0);
    let short = |digest: &str| format!("{}…", &digest[..19]);
    let reason = format!("input changed: image {moving} {} -> {}", short(&before[&moving]), short(&moved));
    assert!(human.stdout.contains(&reason), "{}", human.stdout);

    // `ix run` resolves before it plans: it reruns exactly those, inside the new image.
    let second = run().expect_code(0);
    assert_eq!(summary_line(&second), "6 done, 4 reused, 0 failed, 0 skipped, 0 cancelled", "{}", second.stderr);
    assert_eq!(launched_digests(project.path())[&moving], moved);
    let report = std::fs::read_to_string(project.path().join("report.html")).unwrap();
    assert!(report.contains(&moved), "the report names the digest the numbers came from");
}
