//! Task records as stored on disk (`ix.state-record/v1`) and as handed to the store.
//!
//! The JSON shape is an edge type: core types (`ManifestEntry`, `Digest`) are not `Serialize`,
//! so this file converts them by hand.

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::dag::hash::Digest;
use crate::dag::task_key::{ManifestEntry, Origin};

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "success" => Some(Outcome::Success),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// Where an artifact's bytes come from when recording.
#[derive(Clone, Debug)]
pub enum ArtifactSource {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

/// What the executor hands to [`crate::state::StateStore::record`].
#[derive(Clone, Debug)]
pub struct TaskRecord {
    pub id: String,
    pub kind: String,
    pub outcome: Outcome,
    pub manifest: Vec<ManifestEntry>,
    pub artifacts: Vec<(String, ArtifactSource)>,
}

/// A stored artifact: its name and CAS address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRef {
    pub name: String,
    pub digest: Digest,
    pub size: u64,
}

/// What a plan needs of a record: its hash, outcome and artifacts (not its manifest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordHead {
    pub hash: Digest,
    pub outcome: Outcome,
    pub artifacts: std::sync::Arc<[ArtifactRef]>,
}

/// A record as read back from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub hash: Digest,
    pub id: String,
    pub kind: String,
    pub outcome: Outcome,
    pub manifest: Vec<ManifestEntry>,
    pub artifacts: Vec<ArtifactRef>,
}

impl StoredRecord {
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let manifest: Vec<Value> = self
            .manifest
            .iter()
            .map(|entry| {
                let mut value = json!({ "name": entry.name, "value": entry.value });
                if let Some(origin) = &entry.origin {
                    value["origin"] = json!({ "file": &*origin.file, "line": origin.line, "col": origin.col });
                }
                value
            })
            .collect();
        let artifacts: Vec<Value> = self
            .artifacts
            .iter()
            .map(|a| json!({ "name": a.name, "blake3": a.digest.to_hex(), "size": a.size }))
            .collect();
        let value = json!({
            "schema": "ix.state-record/v1",
            "hash": self.hash.to_hex(),
            "id": self.id,
            "kind": self.kind,
            "outcome": self.outcome.as_str(),
            "manifest": manifest,
            "artifacts": artifacts,
        });
        value.to_string().into_bytes()
    }

    /// The head of a record: its hash, outcome and artifact addresses, without building its
    /// manifest (a plan needs only these for every task whose record exists).
    pub(crate) fn head_from_json(bytes: &[u8]) -> Option<RecordHead> {
        #[derive(serde::Deserialize)]
        struct Head<'a> {
            #[serde(borrow)]
            schema: Cow<'a, str>,
            #[serde(borrow)]
            hash: Cow<'a, str>,
            #[serde(borrow)]
            outcome: Cow<'a, str>,
            #[serde(borrow)]
            artifacts: Vec<RawArtifact<'a>>,
        }
        let head: Head<'_> = serde_json::from_slice(bytes).ok()?;
        if head.schema != "ix.state-record/v1" {
            return None;
        }
        let artifacts = head
            .artifacts
            .into_iter()
            .map(|a| {
                Some(ArtifactRef { name: a.name.into_owned(), digest: Digest::from_hex(&a.blake3)?, size: a.size })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(RecordHead {
            hash: Digest::from_hex(&head.hash)?,
            outcome: Outcome::parse(&head.outcome)?,
            artifacts: artifacts.into(),
        })
    }

    pub(crate) fn from_json(bytes: &[u8]) -> Option<StoredRecord> {
        // Typed and borrowing: a plan reads thousands of records, and a generic `Value` tree
        // (with its ordered maps) took most of that time.
        let raw: RawRecord<'_> = serde_json::from_slice(bytes).ok()?;
        if raw.schema != "ix.state-record/v1" {
            return None;
        }
        let manifest = raw
            .manifest
            .into_iter()
            .map(|entry| ManifestEntry {
                name: entry.name.into_owned().into(),
                value: entry.value.into_owned(),
                origin: entry.origin.map(|o| Origin { file: (*o.file).into(), line: o.line, col: o.col }),
            })
            .collect();
        let artifacts = raw
            .artifacts
            .into_iter()
            .map(|a| {
                Some(ArtifactRef { name: a.name.into_owned(), digest: Digest::from_hex(&a.blake3)?, size: a.size })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(StoredRecord {
            hash: Digest::from_hex(&raw.hash)?,
            id: raw.id.into_owned(),
            kind: raw.kind.into_owned(),
            outcome: Outcome::parse(&raw.outcome)?,
            manifest,
            artifacts,
        })
    }
}

/// The JSON shape of a stored record (strings borrowed from the file where they can be).
#[derive(serde::Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow)]
    schema: Cow<'a, str>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    outcome: Cow<'a, str>,
    #[serde(borrow)]
    manifest: Vec<RawEntry<'a>>,
    #[serde(borrow)]
    artifacts: Vec<RawArtifact<'a>>,
}

#[derive(serde::Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
    #[serde(borrow)]
    origin: Option<RawOrigin<'a>>,
}

#[derive(serde::Deserialize)]
struct RawOrigin<'a> {
    #[serde(borrow)]
    file: Cow<'a, str>,
    line: u32,
    col: u32,
}

#[derive(serde::Deserialize)]
struct RawArtifact<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    blake3: Cow<'a, str>,
    size: u64,
}
