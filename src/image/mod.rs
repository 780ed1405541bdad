//! Container images: references parsed as Docker does ([`ImageRef`], [`Digest`]), their current
//! manifest digests asked of registries over HTTP ([`resolve_all`]), and pulls on the node's
//! container engine ([`ContainerEngine`], [`pull`]).
//!
//! A leaf module: it knows nothing of tasks, keys or plans. The launch task and `ix plan
//! --resolve-images` call it; `ix image resolve` exposes it on the command line.

mod container_engine;
mod image_ref;
mod resolve;

pub use container_engine::{ContainerEngine, PullError, UnknownEngine, local_id, pull, repo_digests};
pub use image_ref::{DOCKER_HUB, Digest, ImageRef, ImageRefError};
pub use resolve::{BearerChallenge, MANIFEST_ACCEPT, ResolveError, ResolveOptions, resolve_all, resolve_all_blocking};
