//! What `build` reads: the sweep, jobs and runners, project files and image digests (through
//! traits, so the build does no IO), and what changed since the last build.

use super::*;

/// What `build` needs to know about a file of the project.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileFacts {
    pub digest: Digest,
    /// Files it sources (`source F` / `. F`), as project-relative paths that exist.
    pub sourced: Vec<String>,
}

/// Read access to project files (relative paths), memoized by the caller.
pub trait ProjectFiles {
    /// `None` when the file does not exist.
    fn facts(&self, path: &str) -> Option<FileFacts>;
}

/// What the images of a plan are known to resolve to: a pin in the reference, a registry's
/// answer (`--resolve-images`, `ix run`), or the digest the image's last launch recorded.
pub trait ImageDigests {
    /// The id of `image` for `runner_type`'s launch task `launch_id` ([`ImageId::unresolved`]
    /// when nothing is known).
    fn image_id(&self, launch_id: &str, runner_type: &str, launcher: &str, image: &str) -> ImageId;
}

/// No image knowledge beyond pins in the references themselves.
pub struct PinsOnly;

impl ImageDigests for PinsOnly {
    fn image_id(&self, _launch_id: &str, _runner_type: &str, _launcher: &str, image: &str) -> ImageId {
        pinned(image).unwrap_or_else(|| ImageId::unresolved(image))
    }
}

/// The id of a reference pinned by digest (`name@sha256:<64 hex>`), which needs no registry.
pub fn pinned(image: &str) -> Option<ImageId> {
    let reference = crate::image::ImageRef::parse(image).ok()?;
    let digest = reference.digest()?;
    Some(ImageId { digest: digest.to_string(), reference: image.to_string() })
}

/// The id of the launch task that makes `image` available to `runner_type` on `node`.
pub fn launch_id(runner_type: &str, node: &str, image: &str) -> String {
    format!("launch/{runner_type}/{}/{}", naming::node_prefix(node), image_repository(image))
}

/// An image reference without its tag or digest, so a tag bump shows as "image changed" on the
/// same launch task (`nvcr.io/a/b:1.0` -> `nvcr.io/a/b`).
pub fn image_repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

/// What changed since the build a [`BuildMemo`] remembers, as the caller knows it.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// Sweep entries (indices) whose text changed; every other entry has the same text as in
    /// the last build (it may have moved), and the sweep has the same entries in the same order.
    pub entries: Vec<usize>,
    /// Project files (relative paths) whose bytes changed.
    pub files: Vec<String>,
}

/// Everything `build` reads.
pub struct BuildInput<'a> {
    pub sources: &'a SourceMap,
    pub sweep: &'a Sweep,
    pub runners: &'a RunnerTable,
    pub jobs: &'a [Job],
    pub files: &'a dyn ProjectFiles,
    /// What each image is known to resolve to.
    pub images: &'a dyn ImageDigests,
    /// How eval tasks run.
    pub evals: &'a EvalSettings,
    /// What changed since the memo's build, when the caller knows (enables patching).
    pub changes: Option<&'a Changes>,
    /// Runs of each bench task (`ix run --repeat`); 0 and 1 both mean one.
    pub repeat: u32,
}
