//! Tests of the fast YAML path: hand-picked inputs it must accept or decline, and random
//! YAML-like texts; each accepted text is checked against saphyr's tree, spans included. The
//! InferenceX reference files are checked from `crate::fuzz` (this module reads no files: the
//! front ends stay free of `std::fs`, tests included, as `tests/it/tidy.rs` checks).

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::yaml::check_fast_path;

/// Asserts the fast path agrees with saphyr on `text` (at two bases) and says whether it
/// accepted.
fn check(text: &str) -> bool {
    let accepted = check_fast_path(text, 0).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(check_fast_path(text, 17), Ok(accepted), "{text:?} at base 17");
    accepted
}

#[test]
fn accepts_the_config_subset_with_saphyr_spans() {
    let accepted = [
        "",
        "# only a comment\n",
        "   \n\n",
        "a: 1\n",
        "a: 1",
        "a:\n",
        "a:",
        "a:  \n",
        "a: # c\n",
        "a:\nb: 2\n",
        "a:\n  b: 2\n",
        "a:\n- x\n- y\n",
        "a:\n  - x\n  - y\n",
        "- a\n- b\n",
        "  a: 1\n  b: 2\n",
        "a: 'x'\n",
        "a: 'it''s'\n",
        "a: \"x\\ny\\\"z\\\\\"\n",
        "a: [1, 2]\n",
        "a: [1, 2, ]\n",
        "a: []\n",
        "a: [ ]\n",
        "a: {}\n",
        "a: { tp: 8, conc-start: 4 }\n",
        "a: {b: 1, c: [2, {d: e}]}  # c\n",
        "a: [1, [2, 3]]\n",
        "a: x  \n",
        "a: x # c\n",
        "a: b c   d # e\n",
        "a: b#c\n",
        "a : 1\n",
        "a: 1\r\nb:\r\n- 2\r\n",
        "é: ü # ñ\n",
        "\"a\": 1\n'b': 2\n",
        "image: lmsysorg/sglang:v0.5.5-cu129\n",
        "a: x,y [z] {w}\n",
        "- - a\n  - b\n- c\n",
        "- a: 1\n  b: 2\n- c: 3\n",
        "a:\n- b: 1\n  c:\n  - d\n  e: 2\nf: 3\n",
        "a: 1\na: 2\n",
        "a: -1\nb: .5\nc: ~\nd: true\ne: 0x10\nf: 1e3\n",
        "a:\n\n  # deeper comment\n  b: 1\n\n\n",
        "a: [\"A=1\", 'B', c d]\n",
    ];
    for text in accepted {
        assert!(check(text), "declined {text:?}");
    }
}

#[test]
fn declines_what_it_does_not_fully_understand() {
    let declined = [
        "x\n",
        "[1, 2]\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "<<: {a: 1}\n",
        "? a\n: b\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: |\n  x\n",
        "a: >\n  x\n",
        "a: b\n  c\n",
        "a:\n  b\n",
        "a: 'x\n  y'\n",
        "a: [1,\n  2]\n",
        "a:\tb\n",
        "\u{feff}a: 1\n",
        "a: 1\rb: 2\n",
        "a: \"\\u00e9\"\n",
        "a: \"\\x41\"\n",
        "-\n- a\n",
        "- # c\n- a\n",
        "a: [x: 1]\n",
        "a: {b}\n",
        "a: {b: }\n",
        "a: [a -]\n",
        "a: b: c\n",
        "a: - b\n",
        "a: [1]# c\n",
        "a: 1\n- b\n",
        "a:\n  - x\n  b: 1\n",
        "a: 1\n b: 2\n",
        "a: \u{85}\n",
    ];
    for text in declined {
        assert!(!check(text), "accepted {text:?}");
    }
    let long_key = format!("{}: 1\n", "k".repeat(1100));
    assert!(!check(&long_key));
    let deep = format!("a: {}{}\n", "[".repeat(super::MAX_DEPTH), "]".repeat(super::MAX_DEPTH));
    assert!(!check(&deep));
}

#[test]
fn the_alphabet_check_reads_bytes_as_the_char_by_char_definition_reads_chars() {
    let special =
        |ch: char| matches!(ch, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}');
    let probes = (0x20u32..0x3100).chain(0xfe00..=0xffff).chain([0x1f600, 0x10ffff]).filter_map(char::from_u32);
    for ch in probes {
        for text in [format!("{ch}"), format!("a: {ch}\n"), format!("é{ch}ü")] {
            assert_eq!(super::in_alphabet(&text), !special(ch) && ch != '\u{7f}', "{text:?}");
        }
    }
    assert!(super::in_alphabet("a: 1\r\n"));
    assert!(!super::in_alphabet("a: 1\r"));
    assert!(!super::in_alphabet("a:\tb"));
}

/// Lines from the master configs and runner files, to mutate.
const REAL_LINES: &[&str] = &[
    "dsr1-fp4-b200-dynamo-trt:",
    "  image: nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:0.8.1.post1",
    "  router: { name: dynamo-router, version: \"0.8.1.post1\" }",
    "  multinode: true",
    "  scenarios:",
    "    fixed-seq-len:",
    "    - isl: 8192",
    "      search-space:",
    "      - spec-decoding: \"mtp\"",
    "        conc-list: [10, 15, 30, 60]",
    "          additional-settings:",
    "          # https://github.com/NVIDIA/srt-slurm/blob/main/recipes/x.yaml",
    "          - \"CONFIG_FILE=recipes/trtllm/b200-fp4/8k1k/mtp/ctx1_gen1.yaml\"",
    "    - { tp: 8, ep: 8, dp-attn: true, conc-start: 4, conc-end: 64 }",
    "  image: lmsysorg/sglang:v0.5.14-cu130@sha256:5027e95bf6ec",
    "    - 'mi355x-amds_0'",
    "  h100:",
    "    - h100-cw_00",
    "        conc-list: [ 4, 8 ]",
    "        decode: { num-worker: 2, tp: 8, ep: 8, dp-attn: false }",
];

const KEYS: &[&str] = &[
    "a",
    "tp",
    "conc-start",
    "\"q k\"",
    "'s k'",
    "x y",
    "a:b",
    "<<",
    "-k",
    "1",
    "true",
    "é",
    "?x",
    "k#h",
    "[a]",
    "",
    "a\t",
];

const VALUES: &[&str] = &[
    "",
    "1",
    "-1",
    "8.5",
    "true",
    "null",
    "~",
    "lmsysorg/sglang:v0.5.5-cu129",
    "[1, 2]",
    "[ 1, 2, ]",
    "[]",
    "{}",
    "{ tp: 8, conc-start: 4 }",
    "{a: [1, {b: c}]}",
    "'it''s'",
    "\"x\\ny\\\"z\"",
    "\"\\u00e9\"",
    "\"\\x41\"",
    "a b",
    "a #b",
    "a#b",
    "a: b",
    "&x a",
    "*x",
    "!!str a",
    "|",
    ">",
    "'open",
    "\"open",
    "[a,",
    "{a",
    "x,y",
    "[a: 1]",
    "{a}",
    "{a: }",
    "[a -]",
    "[-a, --]",
    "-",
    "- x",
    "\t1",
    "é ü",
    "--- ",
    "...",
    "%x",
    "@x",
    "`x",
    "[\"A=1\"]",
    "[a , b ,c]",
    "{ a : b }",
    "[[], {}]",
    "\"\"",
    "''",
    "a :b",
    "[a:b, c :d]",
    "{\"a\": 1}",
    "{'a':1}",
];

const ODD: &[&str] = &[
    ":", " :", ": ", "#", " #", "-", "- ", "[", "]", "{", "}", ",", "'", "\"", "\t", " ", "&", "*", "!", "|", "?",
    "\r", "\n", "\n  ", "\\", "é", "\u{2028}",
];

fn line() -> impl Strategy<Value = String> {
    let indent =
        prop_oneof![4 => (0usize..4).prop_map(|n| "  ".repeat(n)), 1 => (0usize..9).prop_map(|n| " ".repeat(n))];
    let prefix = proptest::sample::select(&["", "", "", "- ", "- ", "- - ", "-", "-  "][..]);
    let separator = proptest::sample::select(&[" ", " ", "  ", "", "\t"][..]);
    let comment = proptest::sample::select(&["", "", "", " # c", "# c", "  #", " #é"][..]);
    let entry = (proptest::sample::select(KEYS), separator, proptest::sample::select(VALUES), comment.clone())
        .prop_map(|(key, separator, value, comment)| format!("{key}:{separator}{value}{comment}"));
    let item = (proptest::sample::select(VALUES), comment).prop_map(|(value, comment)| format!("{value}{comment}"));
    let mutated = (proptest::sample::select(REAL_LINES), any::<usize>(), proptest::sample::select(ODD), any::<bool>())
        .prop_map(|(line, at, odd, mutate)| {
            let mut line = line.to_string();
            if mutate {
                let mut at = at % (line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                line.insert_str(at, odd);
            }
            line
        });
    let body =
        prop_oneof![4 => entry, 2 => item, 3 => mutated, 1 => Just(String::new()), 1 => Just("# note".to_string())];
    let end = prop_oneof![12 => Just("\n"), 1 => Just("\r\n"), 1 => Just("")];
    (indent, prefix, body, end).prop_map(|(indent, prefix, body, end)| format!("{indent}{prefix}{body}{end}"))
}

/// A nested value to render as block YAML: a leaf is a value's text.
#[derive(Clone, Debug)]
enum Tree {
    Leaf(&'static str),
    Seq(Vec<Tree>),
    Map(Vec<(&'static str, Tree)>),
}

const GOOD_KEYS: &[&str] = &["a", "tp", "conc-list", "search-space", "\"q k\"", "'s'", "x y", "a:b", "1", "é", "k#h"];

const GOOD_VALUES: &[&str] = &[
    "1",
    "-1",
    "0.8",
    "true",
    "~",
    "mtp",
    "lmsysorg/sglang:v0.5.5-cu129",
    "[1, 2]",
    "[ 4 ]",
    "[]",
    "{}",
    "{ tp: 8, conc-start: 4 }",
    "{a: [1, {b: c}]}",
    "'it''s'",
    "\"x\\ny\"",
    "a b",
    "a#b",
    "\"A=1\"",
    "[\"A=1\", 'b']",
];

fn tree() -> impl Strategy<Value = Tree> {
    let key = prop_oneof![6 => proptest::sample::select(GOOD_KEYS), 1 => proptest::sample::select(KEYS)];
    let leaf = prop_oneof![6 => proptest::sample::select(GOOD_VALUES), 1 => proptest::sample::select(VALUES)];
    leaf.prop_map(Tree::Leaf).prop_recursive(5, 40, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Tree::Seq),
            proptest::collection::vec((key.clone(), inner), 1..4).prop_map(Tree::Map),
        ]
    })
}

/// Renders `tree` as block YAML, each choice of layout (indent step, indentless sequences,
/// comments, blank lines, line ends) taken from `choices` in turn.
struct Render<'a> {
    out: String,
    choices: &'a [u8],
    next: usize,
}

impl Render<'_> {
    fn choice(&mut self, n: u8) -> u8 {
        let byte = self.choices[self.next % self.choices.len()];
        self.next += 1;
        byte % n
    }

    fn end_line(&mut self) {
        match self.choice(16) {
            0 => self.out.push_str("  # note\n"),
            1 => self.out.push_str("\n\n"),
            2 => self.out.push_str("\r\n"),
            3 => self.out.push_str(" \n    # a deeper comment\n"),
            _ => self.out.push('\n'),
        }
    }

    /// A node after `- ` or `key:` on the current line; `col` is where the line's content is.
    fn value(&mut self, tree: &Tree, col: usize, after_key: bool) {
        match tree {
            Tree::Leaf(text) => {
                self.out.push(' ');
                self.out.push_str(text);
                self.end_line();
            }
            Tree::Seq(items) if after_key => {
                self.end_line();
                let inner = if self.choice(2) == 0 { col } else { col + 1 + self.choice(3) as usize };
                self.seq(items, inner, true);
            }
            Tree::Map(entries) if after_key => {
                self.end_line();
                let inner = col + 1 + self.choice(3) as usize;
                self.map(entries, inner, true);
            }
            Tree::Seq(items) => {
                self.out.push(' ');
                self.seq(items, col + 2, false);
            }
            Tree::Map(entries) => {
                self.out.push(' ');
                self.map(entries, col + 2, false);
            }
        }
    }

    fn seq(&mut self, items: &[Tree], col: usize, indent_first: bool) {
        for (idx, item) in items.iter().enumerate() {
            if idx > 0 || indent_first {
                self.out.push_str(&" ".repeat(col));
            }
            self.out.push('-');
            self.value(item, col, false);
        }
    }

    fn map(&mut self, entries: &[(&str, Tree)], col: usize, indent_first: bool) {
        for (idx, (key, value)) in entries.iter().enumerate() {
            if idx > 0 || indent_first {
                self.out.push_str(&" ".repeat(col));
            }
            self.out.push_str(key);
            self.out.push(':');
            self.value(value, col, true);
        }
    }
}

fn render(tree: &Tree, choices: &[u8]) -> String {
    let mut render = Render { out: String::new(), choices, next: 0 };
    match tree {
        Tree::Seq(items) => render.seq(items, 0, true),
        Tree::Map(entries) => render.map(entries, 0, true),
        leaf => render.map(&[("root", leaf.clone())], 0, true),
    }
    render.out
}

/// Runs `check_fast_path` on many texts, at two bases; fails on any difference from saphyr
/// and unless the fast path accepted at least `min_accepted_percent` of the parses.
fn run_random(texts: impl Strategy<Value = String>, cases: u32, min_accepted_percent: usize) {
    let (parses, accepted) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&texts, |text| {
        for base in [0, 3] {
            parses.fetch_add(1, Ordering::Relaxed);
            match check_fast_path(&text, base) {
                Ok(true) => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(err) => return Err(TestCaseError::fail(err)),
            }
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    // The texts must exercise the fast path, not only its declines.
    let (parses, accepted) = (parses.into_inner(), accepted.into_inner());
    assert!(accepted * 100 >= parses * min_accepted_percent, "the fast path accepted {accepted} of {parses} parses");
}

#[test]
fn random_lines_parse_as_saphyr_parses_them_or_are_declined() {
    run_random(proptest::collection::vec(line(), 1..12).prop_map(|lines| lines.concat()), 6000, 3);
}

#[test]
fn random_documents_and_their_mutations_parse_as_saphyr_parses_them_or_are_declined() {
    let edit = (any::<usize>(), proptest::sample::select(ODD), 0usize..3);
    let texts = (tree(), proptest::collection::vec(any::<u8>(), 1..24), proptest::collection::vec(edit, 0..3))
        .prop_map(|(tree, choices, edits)| {
            let mut text = render(&tree, &choices);
            for (at, odd, deleted) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + deleted).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, odd);
            }
            text
        });
    run_random(texts, 6000, 30);
}
