//! The canonical encoding of task keys and the blake3 hashes over it (ENGINE-NOTES §7).
//!
//! Encoding rules, all written by hand (never serde text):
//! - a field is `tag:u16 LE`, `len:u64 LE`, then its value bytes;
//! - fields are written in ascending tag order, whatever order the key lists them in;
//! - a string is its UTF-8 bytes; an integer is `i64 LE`; a bool is one byte;
//! - a list is its count (`u64 LE`) then each item as `len:u64 LE` + bytes;
//! - a map is sorted by encoded key, then written as a list of `key, value` pairs;
//! - an option is a presence byte, then the value;
//! - enums are written as their stable name, never their discriminant.
//!
//! Domain separation: one `derive_key` context per use, versioned; bumping [`TASK_CONTEXT`]
//! invalidates every key on purpose.

use std::fmt;

/// Context of task hashes.
pub const TASK_CONTEXT: &str = "ix 2026-11 task-key v1";
/// Context of the whole-plan graph hash.
pub const GRAPH_CONTEXT: &str = "ix 2026-11 plan-graph v1";
/// Context of file digests (scripts, launchers, sourced files).
pub const FILE_CONTEXT: &str = "ix 2026-11 file v1";

/// A 32-byte blake3 hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn to_hex(self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        out
    }

    pub fn from_hex(text: &str) -> Option<Digest> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (idx, pair) in bytes.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[idx] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Digest(out))
    }

    /// The first 8 hex digits, for display.
    pub fn short(self) -> String {
        let mut out = String::with_capacity(8);
        for byte in &self.0[..4] {
            out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        out
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The digest of a file's bytes.
pub fn file_digest(bytes: &[u8]) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(FILE_CONTEXT);
    hasher.update(bytes);
    Digest(*hasher.finalize().as_bytes())
}

/// A value of one key field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Digest(Digest),
    List(Vec<Value>),
    /// Sorted by encoded key when encoded; insertion order is irrelevant.
    Map(Vec<(String, Value)>),
    Opt(Option<Box<Value>>),
    /// A value shown with a label that is not hashed (an image digest with the reference it
    /// was written as): encodes exactly as the value.
    Labeled(Box<Value>, String),
}

impl Value {
    /// Appends the canonical bytes of this value.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Str(text) => out.extend_from_slice(text.as_bytes()),
            Value::Int(value) => out.extend_from_slice(&value.to_le_bytes()),
            Value::Bool(value) => out.push(u8::from(*value)),
            Value::Digest(digest) => out.extend_from_slice(&digest.0),
            Value::List(items) => {
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for item in items {
                    write_framed(out, item);
                }
            }
            Value::Map(pairs) => {
                let mut encoded: Vec<(Vec<u8>, &Value)> = pairs
                    .iter()
                    .map(|(key, value)| {
                        let mut bytes = Vec::new();
                        Value::Str(key.clone()).encode(&mut bytes);
                        (bytes, value)
                    })
                    .collect();
                encoded.sort_by(|a, b| a.0.cmp(&b.0));
                out.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
                for (key, value) in encoded {
                    out.extend_from_slice(&(key.len() as u64).to_le_bytes());
                    out.extend_from_slice(&key);
                    write_framed(out, value);
                }
            }
            Value::Opt(None) => out.push(0),
            Value::Opt(Some(value)) => {
                out.push(1);
                value.encode(out);
            }
            Value::Labeled(value, _) => value.encode(out),
        }
    }

    /// A short human rendering for manifests and `--why`.
    pub fn display(&self) -> String {
        match self {
            Value::Str(text) => text.clone(),
            Value::Int(value) => value.to_string(),
            Value::Bool(value) => value.to_string(),
            Value::Digest(digest) => format!("blake3:{}", digest.short()),
            Value::List(items) => {
                format!("[{}]", items.iter().map(Value::display).collect::<Vec<_>>().join(", "))
            }
            Value::Map(pairs) => {
                let mut pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", v.display())).collect();
                pairs.sort();
                format!("{{{}}}", pairs.join(", "))
            }
            Value::Opt(None) => "(none)".to_string(),
            Value::Opt(Some(value)) => value.display(),
            Value::Labeled(value, label) => format!("{label} {}", value.display()),
        }
    }
}

fn write_framed(out: &mut Vec<u8>, value: &Value) {
    let mut bytes = Vec::new();
    value.encode(&mut bytes);
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(&bytes);
}

/// A field or manifest name: usually a static string, owned when built from a path or an id.
pub type Name = std::borrow::Cow<'static, str>;

/// One field of a key: a stable tag, a stable name (shown in manifests) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub tag: u16,
    pub name: Name,
    pub value: Value,
}

/// The canonical bytes of a list of fields: kind name first, then fields in tag order.
///
/// Two fields with the same tag are ordered by name, so keys with repeated tags (one per
/// sourced file, one per upstream task) are still independent of listing order.
pub fn encode_fields(kind: &str, fields: &[Field]) -> Vec<u8> {
    encode_field_refs(kind, fields.iter().collect())
}

/// [`encode_fields`] over borrowed fields.
pub fn encode_field_refs(kind: &str, mut order: Vec<&Field>) -> Vec<u8> {
    order.sort_by(|a, b| a.tag.cmp(&b.tag).then_with(|| a.name.cmp(&b.name)));
    let mut out = Vec::with_capacity(64 * order.len());
    out.extend_from_slice(&(kind.len() as u64).to_le_bytes());
    out.extend_from_slice(kind.as_bytes());
    for field in order {
        out.extend_from_slice(&field.tag.to_le_bytes());
        // Reserve the length, write name and value in place, then patch the length.
        let len_at = out.len();
        out.extend_from_slice(&0u64.to_le_bytes());
        out.extend_from_slice(&(field.name.len() as u64).to_le_bytes());
        out.extend_from_slice(field.name.as_bytes());
        field.value.encode(&mut out);
        let len = (out.len() - len_at - 8) as u64;
        out[len_at..len_at + 8].copy_from_slice(&len.to_le_bytes());
    }
    out
}

/// The task hash of a key's fields.
pub fn hash_fields(kind: &str, fields: &[Field]) -> Digest {
    hash_field_refs(kind, fields.iter().collect())
}

/// [`hash_fields`] over borrowed fields.
pub fn hash_field_refs(kind: &str, fields: Vec<&Field>) -> Digest {
    let mut hasher = blake3::Hasher::new_derive_key(TASK_CONTEXT);
    hasher.update(&encode_field_refs(kind, fields));
    Digest(*hasher.finalize().as_bytes())
}

/// The hash of a whole plan graph: every (id, task hash) pair, sorted by id.
pub fn graph_hash<'a>(tasks: impl Iterator<Item = (&'a str, Digest)>) -> Digest {
    let mut pairs: Vec<(&str, Digest)> = tasks.collect();
    pairs.sort();
    let mut hasher = blake3::Hasher::new_derive_key(GRAPH_CONTEXT);
    hasher.update(&(pairs.len() as u64).to_le_bytes());
    for (id, digest) in pairs {
        hasher.update(&(id.len() as u64).to_le_bytes());
        hasher.update(id.as_bytes());
        hasher.update(&digest.0);
    }
    Digest(*hasher.finalize().as_bytes())
}

/// [`graph_hash`] of `pairs` (ids unique), reusing `order`: the sorted order of a previous
/// graph's ids. When it still sorts `pairs` (the usual re-plan: same ids), checking it takes
/// n - 1 comparisons instead of a sort; otherwise it is recomputed. Same digest as
/// [`graph_hash`].
pub fn graph_hash_in_order(pairs: &[(&str, Digest)], order: &mut Vec<usize>) -> Digest {
    let still_sorted = order.len() == pairs.len()
        && order.iter().all(|idx| *idx < pairs.len())
        && order.windows(2).all(|two| pairs[two[0]] < pairs[two[1]]);
    if !still_sorted {
        order.clear();
        order.extend(0..pairs.len());
        order.sort_by(|a, b| pairs[*a].cmp(&pairs[*b]));
    }
    // One buffer, one update: the same bytes as `graph_hash`'s many small updates.
    let mut bytes = Vec::with_capacity(8 + pairs.iter().map(|(id, _)| id.len() + 40).sum::<usize>());
    bytes.extend_from_slice(&(pairs.len() as u64).to_le_bytes());
    for idx in order.iter() {
        let (id, digest) = pairs[*idx];
        bytes.extend_from_slice(&(id.len() as u64).to_le_bytes());
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&digest.0);
    }
    let mut hasher = blake3::Hasher::new_derive_key(GRAPH_CONTEXT);
    hasher.update(&bytes);
    Digest(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{Digest, Field, Value, graph_hash, graph_hash_in_order, hash_fields};
    use proptest::prelude::*;

    #[test]
    fn graph_hash_in_order_equals_graph_hash_with_a_stale_or_reused_order() {
        let digest = |byte: u8| Digest([byte; 32]);
        let first = [("bench/b", digest(1)), ("bench/a", digest(2)), ("collect/x", digest(3))];
        let mut order = Vec::new();
        assert_eq!(graph_hash_in_order(&first, &mut order), graph_hash(first.iter().copied()));
        assert_eq!(order, vec![1, 0, 2]);
        // Same ids, one hash changed: the order is reused.
        let changed = [("bench/b", digest(9)), ("bench/a", digest(2)), ("collect/x", digest(3))];
        assert_eq!(graph_hash_in_order(&changed, &mut order), graph_hash(changed.iter().copied()));
        assert_ne!(graph_hash(changed.iter().copied()), graph_hash(first.iter().copied()));
        // Ids changed and one added: the stale order is replaced.
        let other = [("bench/c", digest(1)), ("bench/a", digest(2)), ("a", digest(4)), ("collect/x", digest(3))];
        assert_eq!(graph_hash_in_order(&other, &mut order), graph_hash(other.iter().copied()));
        assert_eq!(order, vec![2, 1, 0, 3]);
        // A stale order of the right length that no longer sorts is replaced too.
        let swapped = [("bench/a", digest(1)), ("bench/c", digest(2)), ("a", digest(4)), ("collect/x", digest(3))];
        assert_eq!(graph_hash_in_order(&swapped, &mut order), graph_hash(swapped.iter().copied()));
    }

    fn field(tag: u16, name: &str, value: Value) -> Field {
        Field { tag, name: name.to_string().into(), value }
    }

    #[test]
    fn hex_round_trips() {
        let digest = Digest([0xab; 32]);
        assert_eq!(Digest::from_hex(&digest.to_hex()), Some(digest));
        assert_eq!(Digest::from_hex("zz"), None);
    }

    #[test]
    fn string_and_list_framing_do_not_collide() {
        let a = [field(1, "x", Value::List(vec![Value::Str("ab".into()), Value::Str("c".into())]))];
        let b = [field(1, "x", Value::List(vec![Value::Str("a".into()), Value::Str("bc".into())]))];
        assert_ne!(hash_fields("k", &a), hash_fields("k", &b));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<String>().prop_map(Value::Str),
            any::<i64>().prop_map(Value::Int),
            any::<bool>().prop_map(Value::Bool),
        ]
    }

    proptest! {
        #[test]
        fn field_order_never_changes_the_hash(values in prop::collection::vec(arb_value(), 1..8), seed in any::<u64>()) {
            let fields: Vec<Field> = values.into_iter().enumerate()
                .map(|(idx, value)| field(idx as u16, &format!("f{idx}"), value)).collect();
            let mut shuffled = fields.clone();
            let len = shuffled.len();
            for idx in 0..len {
                let other = (seed.wrapping_mul(idx as u64 + 7) % len as u64) as usize;
                shuffled.swap(idx, other);
            }
            prop_assert_eq!(hash_fields("bench", &fields), hash_fields("bench", &shuffled));
        }

        #[test]
        fn map_order_never_changes_the_hash(pairs in prop::collection::btree_map("[a-z]{1,6}", any::<i64>(), 1..8)) {
            let forward: Vec<(String, Value)> = pairs.iter().map(|(k, v)| (k.clone(), Value::Int(*v))).collect();
            let mut backward = forward.clone();
            backward.reverse();
            prop_assert_eq!(
                hash_fields("k", &[field(1, "m", Value::Map(forward))]),
                hash_fields("k", &[field(1, "m", Value::Map(backward))])
            );
        }

        #[test]
        fn changing_any_field_changes_the_hash(values in prop::collection::vec(any::<i64>(), 1..8), pick in any::<usize>(), delta in 1i64..1000) {
            let fields: Vec<Field> = values.iter().enumerate()
                .map(|(idx, value)| field(idx as u16, &format!("f{idx}"), Value::Int(*value))).collect();
            let mut changed = fields.clone();
            let idx = pick % changed.len();
            if let Value::Int(value) = changed[idx].value { changed[idx].value = Value::Int(value.wrapping_add(delta)); }
            prop_assert_ne!(hash_fields("bench", &fields), hash_fields("bench", &changed));
        }
    }
}
