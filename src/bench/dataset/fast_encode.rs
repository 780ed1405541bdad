//! A fast path for counting and encoding random prompts with a GPT-2-style byte-level BPE
//! tokenizer, giving exactly the ids of `Tokenizer::encode_fast(text, false)`.
//!
//! The `tokenizers` pipeline builds an `Encoding` per call (a `String` per token, offsets, byte
//! alignments per split), which dominates the random dataset's cost. For a tokenizer without a
//! normalizer, truncation or padding, with a `ByteLevel` pre-tokenizer (GPT-2 regex, no prefix
//! space), a deterministic BPE model and an id-neutral post-processor, the ids are the
//! concatenation of the BPE ids of each regex piece. This module splits with the same regex
//! (the same `fancy-regex` engine as the library), maps bytes the same way, and caches the ids of
//! each piece per thread; cache misses ask the library's own model. Texts holding an added
//! token's content, or any regex error, fall back to the library (`None`).
//!
//! `FastDecoder` does the same for `Tokenizer::decode(ids, false)` with a `ByteLevel` decoder: a
//! table of each id's bytes, built once with the library's own `id_to_token` and the decoder's
//! char → byte rule, then one lossy UTF-8 conversion.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::LazyLock;

use tokenizers::{DecoderWrapper, Model, ModelWrapper, PostProcessorWrapper, PreTokenizerWrapper, Tokenizer};

/// The GPT-2 split pattern, as `tokenizers`' `ByteLevel` pre-tokenizer spells it.
const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

static GPT2_RE: LazyLock<Option<fancy_regex::Regex>> = LazyLock::new(|| fancy_regex::Regex::new(GPT2_PATTERN).ok());

/// GPT-2's byte → char table (printable bytes map to themselves, the rest to 256 + n).
static BYTE_CHARS: LazyLock<[char; 256]> = LazyLock::new(|| {
    let mut table = ['\0'; 256];
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut n = 0u32;
    for b in 0..=255u8 {
        table[b as usize] = if printable(b) {
            char::from(b)
        } else {
            n += 1;
            char::from_u32(256 + n - 1).unwrap_or('\0')
        };
    }
    table
});

/// Keys of encoders (never reused; 0 means none).
static NEXT_KEY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// FxHash (rustc's): the cache's keys are short, trusted strings.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
        }
        for &byte in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(SEED);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// Pieces up to this many bytes are keyed inline (no pointer to chase on a lookup).
const SHORT: usize = 23;

/// Per-thread cache: regex piece (original text) → its BPE ids, as a (start, len) range of
/// `arena`. Short pieces are keyed by their bytes plus length in one array.
#[derive(Default)]
struct PieceCache {
    short: FxMap<[u8; SHORT + 1], (u32, u32)>,
    long: FxMap<Box<str>, (u32, u32)>,
    arena: Vec<u32>,
}

impl PieceCache {
    fn short_key(piece: &str) -> Option<[u8; SHORT + 1]> {
        let bytes = piece.as_bytes();
        if bytes.len() > SHORT {
            return None;
        }
        let mut key = [0u8; SHORT + 1];
        key[..bytes.len()].copy_from_slice(bytes);
        key[SHORT] = bytes.len() as u8;
        Some(key)
    }

    fn get(&self, piece: &str) -> Option<&[u32]> {
        let (start, len) = match PieceCache::short_key(piece) {
            Some(key) => *self.short.get(&key)?,
            None => *self.long.get(piece)?,
        };
        self.arena.get(start as usize..(start + len) as usize)
    }

    fn insert(&mut self, piece: &str, ids: &[u32]) {
        let range = (self.arena.len() as u32, ids.len() as u32);
        self.arena.extend_from_slice(ids);
        match PieceCache::short_key(piece) {
            Some(key) => self.short.insert(key, range),
            None => self.long.insert(piece.into(), range),
        };
    }

    fn clear(&mut self) {
        self.short.clear();
        self.long.clear();
        self.arena.clear();
    }
}

thread_local! {
    static CACHE: RefCell<PieceCache> = RefCell::new(PieceCache::default());
    /// The `key` of the encoder whose pieces `CACHE` holds.
    static CACHE_OWNER: Cell<usize> = const { Cell::new(0) };
}

/// The fast encoder for one tokenizer, when its pipeline allows it.
pub(super) struct FastEncoder<'t> {
    model: &'t ModelWrapper,
    regex: &'static fancy_regex::Regex,
    /// Added tokens' contents and ids, longest first.
    added: Vec<(String, u32)>,
    /// First bytes of the added tokens' contents.
    added_first: [bool; 256],
    /// Distinguishes tokenizers in the per-thread cache.
    key: usize,
}

impl<'t> FastEncoder<'t> {
    /// `Some` when `tokenizer`'s `encode_fast(text, false)` ids are the concatenation of the BPE
    /// ids of the GPT-2 regex pieces.
    pub(super) fn new(tokenizer: &'t Tokenizer) -> Option<FastEncoder<'t>> {
        if tokenizer.get_normalizer().is_some()
            || tokenizer.get_truncation().is_some()
            || tokenizer.get_padding().is_some()
        {
            return None;
        }
        match tokenizer.get_pre_tokenizer() {
            Some(PreTokenizerWrapper::ByteLevel(byte_level))
                if byte_level.use_regex && !byte_level.add_prefix_space => {}
            _ => return None,
        }
        match tokenizer.get_post_processor() {
            None | Some(PostProcessorWrapper::ByteLevel(_)) => {}
            _ => return None,
        }
        let model = tokenizer.get_model();
        match model {
            ModelWrapper::BPE(bpe) if bpe.dropout.is_none() => {}
            _ => return None,
        }
        let regex = GPT2_RE.as_ref()?;
        let added_tokens = tokenizer.get_added_tokens_decoder();
        // The library splits added tokens out before pre-tokenizing. With no strip or word-boundary
        // options and one kind (all normalized or none; there is no normalizer), that split is a
        // leftmost-longest search, done here.
        let plain = added_tokens.values().all(|t| !t.lstrip && !t.rstrip && !t.single_word && !t.content.is_empty());
        let one_kind = added_tokens.values().all(|t| t.normalized) || added_tokens.values().all(|t| !t.normalized);
        if !plain || !one_kind {
            return None;
        }
        let mut added: Vec<(String, u32)> = added_tokens.into_iter().map(|(id, token)| (token.content, id)).collect();
        // Longest first, so the first match at a position is the longest.
        added.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let mut added_first = [false; 256];
        for (content, _) in &added {
            if let Some(&first) = content.as_bytes().first() {
                added_first[first as usize] = true;
            }
        }
        Some(FastEncoder {
            model,
            regex,
            added,
            added_first,
            key: NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The leftmost added token in `text[from..]` (longest at that position): start, end, id.
    fn next_added(&self, text: &str, from: usize) -> Option<(usize, usize, u32)> {
        let bytes = text.as_bytes();
        (from..bytes.len()).find_map(|at| {
            if !self.added_first[bytes[at] as usize] {
                return None;
            }
            self.added
                .iter()
                .find(|(content, _)| bytes[at..].starts_with(content.as_bytes()))
                .map(|(content, id)| (at, at + content.len(), *id))
        })
    }

    /// The ids of `text`, appended to `out`; `false` (with `out` unspecified) when the library
    /// must do it.
    pub(super) fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> bool {
        out.clear();
        if text.is_empty() {
            return false;
        }
        CACHE.with(|cell| {
            let mut cache = cell.borrow_mut();
            if CACHE_OWNER.with(|owner| owner.replace(self.key)) != self.key {
                // A different tokenizer used this thread before: start over.
                cache.clear();
            }
            let mut mapped = String::new();
            let mut from = 0;
            loop {
                let next = self.next_added(text, from);
                let segment = &text[from..next.map_or(text.len(), |(start, _, _)| start)];
                let mut prev = 0;
                for found in self.regex.find_iter(segment) {
                    let Ok(found) = found else { return false };
                    if found.start() != prev {
                        // Cannot happen with this pattern (it matches every character); be safe.
                        return false;
                    }
                    prev = found.end();
                    let piece = found.as_str();
                    if let Some(ids) = cache.get(piece) {
                        out.extend_from_slice(ids);
                        continue;
                    }
                    mapped.clear();
                    mapped.extend(piece.bytes().map(|b| BYTE_CHARS[b as usize]));
                    let Ok(tokens) = self.model.tokenize(&mapped) else { return false };
                    let start = out.len();
                    out.extend(tokens.iter().map(|token| token.id));
                    cache.insert(piece, &out[start..]);
                }
                if prev != segment.len() {
                    return false;
                }
                match next {
                    Some((_, end, id)) => {
                        out.push(id);
                        from = end;
                    }
                    None => return true,
                }
            }
        })
    }
}

/// The fast decoder for one tokenizer, when its decoder is `ByteLevel`.
pub(super) struct FastDecoder {
    /// Each id's decoded bytes; `None` for ids the library skips.
    bytes: Vec<Option<Box<[u8]>>>,
}

impl FastDecoder {
    /// `Some` when `tokenizer.decode(ids, false)` is the lossy UTF-8 of the ids' byte-level bytes.
    pub(super) fn new(tokenizer: &Tokenizer) -> Option<FastDecoder> {
        if !matches!(tokenizer.get_decoder(), Some(DecoderWrapper::ByteLevel(_))) {
            return None;
        }
        let mut char_bytes = HashMap::new();
        for (byte, &ch) in BYTE_CHARS.iter().enumerate() {
            char_bytes.insert(ch, byte as u8);
        }
        let added_max = tokenizer.get_added_tokens_decoder().keys().max().map_or(0, |&id| id as usize + 1);
        let len = tokenizer.get_model().get_vocab_size().max(added_max);
        let bytes = (0..len as u32)
            .map(|id| {
                let token = tokenizer.id_to_token(id)?;
                let mapped: Option<Vec<u8>> = token.chars().map(|ch| char_bytes.get(&ch).copied()).collect();
                Some(mapped.unwrap_or_else(|| token.as_bytes().to_vec()).into_boxed_slice())
            })
            .collect();
        Some(FastDecoder { bytes })
    }

    /// The text of `ids`; `None` when an id lies beyond the table (the library decides).
    pub(super) fn decode(&self, ids: &[u32], buf: &mut Vec<u8>) -> Option<String> {
        buf.clear();
        for &id in ids {
            if let Some(bytes) = self.bytes.get(id as usize)? {
                buf.extend_from_slice(bytes);
            }
        }
        Some(String::from_utf8_lossy(buf).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::dataset::tests::{gpt2, words};
    use crate::bench::numpy_rng::NumpyRng;

    fn library(tokenizer: &Tokenizer, text: &str) -> Vec<u32> {
        tokenizer.encode_fast(text, false).expect("encode").get_ids().to_vec()
    }

    #[test]
    fn gpt2_ids_equal_the_library_and_added_tokens_fall_back() {
        let tokenizer = gpt2();
        let fast = FastEncoder::new(&tokenizer).expect("GPT-2 takes the fast path");
        let mut texts: Vec<String> = [
            "Hello world",
            "  two  spaces\n\n\tand tabs   ",
            "it's we'll they're I'm",
            "数字 123 ４５６ ½ émigré",
            "a\u{a0}b\u{2028}c",
            "🙂🙂 x",
            " ",
            "\n",
            "x<|im_start|",
            "tail   ",
            "<|endoftext|>",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut rng = NumpyRng::new(3);
        let vocab = tokenizer.get_vocab_size(false) as i64;
        for _ in 0..40 {
            let start = rng.randint(0, vocab);
            let ids: Vec<u32> = (0..300).map(|j| ((start + j) % 50259) as u32).collect();
            texts.push(tokenizer.decode(&ids, false).expect("decode"));
            let random: Vec<u32> = rng.randint_n(0, 50259, 300).into_iter().map(|id| id as u32).collect();
            texts.push(tokenizer.decode(&random, false).expect("decode"));
        }
        let mut out = Vec::new();
        for text in &texts {
            assert!(fast.encode_into(text, &mut out), "{text:?}");
            assert_eq!(out, library(&tokenizer, text), "{text:?}");
            // Second time from the cache.
            assert!(fast.encode_into(text, &mut out));
            assert_eq!(out, library(&tokenizer, text), "{text:?}");
        }
        for text in ["a <|endoftext|> b", "<|im_end|>", "<|im_start|><|im_end|>x <|endoftext|", "  <|endoftext|>\n\n"] {
            assert!(fast.encode_into(text, &mut out), "{text:?}");
            assert_eq!(out, library(&tokenizer, text), "{text:?}");
        }
        assert!(!fast.encode_into("", &mut out));
    }

    #[test]
    fn gpt2_decode_equals_the_library() {
        let tokenizer = gpt2();
        let fast = FastDecoder::new(&tokenizer).expect("GPT-2 takes the fast path");
        let mut rng = NumpyRng::new(5);
        let mut buf = Vec::new();
        let all: Vec<u32> = (0..tokenizer.get_vocab_size(true) as u32 + 5).collect();
        assert_eq!(fast.decode(&all[..50259], &mut buf), Some(tokenizer.decode(&all[..50259], false).expect("decode")));
        assert_eq!(fast.decode(&all, &mut buf), None, "ids beyond the table go to the library");
        for _ in 0..50 {
            let ids: Vec<u32> = rng.randint_n(0, 50259, 200).into_iter().map(|id| id as u32).collect();
            assert_eq!(fast.decode(&ids, &mut buf), Some(tokenizer.decode(&ids, false).expect("decode")));
        }
    }

    #[test]
    fn other_pipelines_take_the_library_path() {
        assert!(FastEncoder::new(&words()).is_none());
        assert!(FastDecoder::new(&words()).is_none());
    }
}
