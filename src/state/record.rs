//! Task records as stored on disk (`ix.state-record/v1`) and as handed to the store.
//!
//! The JSON shape is an edge type: core types (`ManifestEntry`, `Digest`) are not `Serialize`,
//! so this file converts them by hand.

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

    pub(crate) fn from_json(bytes: &[u8]) -> Option<StoredRecord> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        if value.get("schema")?.as_str()? != "ix.state-record/v1" {
            return None;
        }
        let manifest = value
            .get("manifest")?
            .as_array()?
            .iter()
            .map(|entry| {
                let origin = entry.get("origin").and_then(|o| {
                    Some(Origin {
                        file: o.get("file")?.as_str()?.into(),
                        line: u32::try_from(o.get("line")?.as_u64()?).ok()?,
                        col: u32::try_from(o.get("col")?.as_u64()?).ok()?,
                    })
                });
                Some(ManifestEntry {
                    name: entry.get("name")?.as_str()?.to_string().into(),
                    value: entry.get("value")?.as_str()?.to_string(),
                    origin,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let artifacts = value
            .get("artifacts")?
            .as_array()?
            .iter()
            .map(|a| {
                Some(ArtifactRef {
                    name: a.get("name")?.as_str()?.to_string(),
                    digest: Digest::from_hex(a.get("blake3")?.as_str()?)?,
                    size: a.get("size")?.as_u64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(StoredRecord {
            hash: Digest::from_hex(value.get("hash")?.as_str()?)?,
            id: value.get("id")?.as_str()?.to_string(),
            kind: value.get("kind")?.as_str()?.to_string(),
            outcome: Outcome::parse(value.get("outcome")?.as_str()?)?,
            manifest,
            artifacts,
        })
    }
}
