//! Aggregate records to the summary tables of REFERENCE-SEMANTICS.md §9.3: which records, which
//! columns, which row order. Rendering (markdown, CSV, JSON) lives in `crate::report::summary`.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::collect::{CollectError, json_files_under, map_parallel, read_json};

/// One aggregate record and the file it came from.
#[derive(Clone, Debug)]
pub struct Record {
    pub path: PathBuf,
    pub fields: Map<String, Value>,
}

/// Options for [`summarize`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// When set, a record lacking a metric gives an empty cell instead of an error.
    pub lenient: bool,
}

/// A cell of a summary table, typed so each output format can render it its own way.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A metric; the markdown renderer formats it with 4 decimals first, as the reference does.
    Float(f64),
    Missing,
}

/// One titled table (`Single-Node Results` or `Multi-Node Results`).
#[derive(Clone, Debug)]
pub struct Section {
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// The summary: its non-empty sections, single-node first.
#[derive(Clone, Debug)]
pub struct SummaryTable {
    pub sections: Vec<Section>,
}

/// Why a summary could not be built.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SummaryError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Collect(#[from] CollectError),
    #[error("record `{}` lacks `{key}`", path.display())]
    #[diagnostic(
        code(ix::results::record_missing_key),
        help("was this metric family turned off in the benchmark? pass `--lenient` to leave such cells empty")
    )]
    MissingKey { path: PathBuf, key: String },
}

const METRIC_HEADERS: [&str; 7] = [
    "TTFT (ms)",
    "TPOT (ms)",
    "Interactivity (tok/s/user)",
    "E2EL (s)",
    "TPUT per GPU",
    "Output TPUT per GPU",
    "Input TPUT per GPU",
];

/// (record key, factor) for each metric column.
const METRIC_KEYS: [(&str, f64); 7] = [
    ("median_ttft", 1000.0),
    ("median_tpot", 1000.0),
    ("median_intvty", 1.0),
    ("median_e2el", 1.0),
    ("tput_per_gpu", 1.0),
    ("output_tput_per_gpu", 1.0),
    ("input_tput_per_gpu", 1.0),
];

const SINGLE_SORT: [&str; 9] =
    ["infmax_model_prefix", "hw", "framework", "precision", "isl", "osl", "tp", "ep", "conc"];
const MULTI_SORT: [&str; 11] = [
    "infmax_model_prefix",
    "hw",
    "framework",
    "precision",
    "isl",
    "osl",
    "prefill_tp",
    "prefill_ep",
    "decode_tp",
    "decode_ep",
    "conc",
];

/// How a column's cell is taken from a record.
#[derive(Clone, Copy)]
enum Source {
    Plain(&'static str),
    Upper(&'static str),
}

const SINGLE_COLUMNS: [(&str, Source); 11] = [
    ("Model", Source::Plain("infmax_model_prefix")),
    ("Served Model", Source::Plain("model")),
    ("Hardware", Source::Upper("hw")),
    ("Framework", Source::Upper("framework")),
    ("Precision", Source::Upper("precision")),
    ("ISL", Source::Plain("isl")),
    ("OSL", Source::Plain("osl")),
    ("TP", Source::Plain("tp")),
    ("EP", Source::Plain("ep")),
    ("DP Attention", Source::Plain("dp_attention")),
    ("Conc", Source::Plain("conc")),
];

const MULTI_COLUMNS: [(&str, Source); 18] = [
    ("Model", Source::Plain("infmax_model_prefix")),
    ("Served Model", Source::Plain("model")),
    ("Hardware", Source::Upper("hw")),
    ("Framework", Source::Upper("framework")),
    ("Precision", Source::Upper("precision")),
    ("ISL", Source::Plain("isl")),
    ("OSL", Source::Plain("osl")),
    ("Prefill TP", Source::Plain("prefill_tp")),
    ("Prefill EP", Source::Plain("prefill_ep")),
    ("Prefill DP Attn", Source::Plain("prefill_dp_attention")),
    ("Prefill Workers", Source::Plain("prefill_num_workers")),
    ("Prefill GPUs", Source::Plain("num_prefill_gpu")),
    ("Decode TP", Source::Plain("decode_tp")),
    ("Decode EP", Source::Plain("decode_ep")),
    ("Decode DP Attn", Source::Plain("decode_dp_attention")),
    ("Decode Workers", Source::Plain("decode_num_workers")),
    ("Decode GPUs", Source::Plain("num_decode_gpu")),
    ("Conc", Source::Plain("conc")),
];

/// Every aggregate record under `dir` (sorted by path): JSON objects with an `is_multinode` key.
/// Other JSON documents (lists, objects without that key) are not records and are left out. A
/// file that cannot be read, is not JSON, or holds a bare scalar or `null` (what a lost artifact
/// becomes) is malformed: the reference skips it silently, which loses rows; here it is an error
/// naming every such file ([`CollectError::Malformed`]) unless `skip_malformed`, which leaves the
/// files out and lists them in [`Loaded::skipped`].
pub fn load_records(dir: &Path, skip_malformed: bool) -> Result<Loaded, CollectError> {
    let paths = json_files_under(dir)?;
    let read = map_parallel(&paths, |path| {
        let bytes = std::fs::read(path).map_err(|err| err.to_string())?;
        summary_fields(&bytes).map(|fields| fields.map(|fields| Record { path: path.to_path_buf(), fields }))
    });
    let mut loaded = Loaded::default();
    for (path, result) in paths.into_iter().zip(read) {
        match result {
            Ok(Some(record)) => loaded.records.push(record),
            Ok(None) => {}
            Err(reason) => loaded.skipped.push((path, reason)),
        }
    }
    loaded.into_result(skip_malformed)
}

/// Records loaded from a folder, and the malformed files left out (with why).
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<Record>,
    pub skipped: Vec<(PathBuf, String)>,
}

impl Loaded {
    fn into_result(self, skip_malformed: bool) -> Result<Loaded, CollectError> {
        if self.skipped.is_empty() || skip_malformed {
            Ok(self)
        } else {
            Err(CollectError::Malformed { files: self.skipped })
        }
    }
}

/// Whether the summary reads this record key; the others are skipped without being built.
fn is_summary_key(key: &str) -> bool {
    matches!(
        key,
        "is_multinode"
            | "infmax_model_prefix"
            | "model"
            | "hw"
            | "framework"
            | "precision"
            | "isl"
            | "osl"
            | "tp"
            | "ep"
            | "dp_attention"
            | "conc"
            | "prefill_tp"
            | "prefill_ep"
            | "prefill_dp_attention"
            | "prefill_num_workers"
            | "num_prefill_gpu"
            | "decode_tp"
            | "decode_ep"
            | "decode_dp_attention"
            | "decode_num_workers"
            | "num_decode_gpu"
            | "median_ttft"
            | "median_tpot"
            | "median_intvty"
            | "median_e2el"
            | "tput_per_gpu"
            | "output_tput_per_gpu"
            | "input_tput_per_gpu"
            // Agentic aggregates (`ix bench serve --dataset-name weka`): their own section.
            | "scenario_type"
            | "request_metrics"
            | "server_metrics"
            | "num_requests_successful"
    )
}

/// Whether a record is an agentic-coding aggregate (AGENTIC.md §5.4) rather than a
/// fixed-sequence-length one.
pub fn is_agentic(record: &Record) -> bool {
    is_agentic_fields(&record.fields)
}

/// [`is_agentic`] on a bare JSON object (a raw result that is already an aggregate).
pub fn is_agentic_fields(fields: &serde_json::Map<String, Value>) -> bool {
    fields.get("scenario_type").and_then(Value::as_str) == Some("agentic-coding")
}

/// Columns of the agentic section: identity, then metrics read by JSON pointer (ms for latency).
const AGENTIC_COLUMNS: [(&str, &str, f64); 13] = [
    ("Model", "/infmax_model_prefix", 1.0),
    ("Served Model", "/model", 1.0),
    ("Hardware", "/hw", 1.0),
    ("Framework", "/framework", 1.0),
    ("Precision", "/precision", 1.0),
    ("TP", "/tp", 1.0),
    ("Users", "/conc", 1.0),
    ("Requests", "/num_requests_successful", 1.0),
    ("Median TTFT (ms)", "/request_metrics/latency/ttft/p50", 1000.0),
    ("Median Intvty (tok/s/user)", "/request_metrics/latency/intvty/p50", 1.0),
    ("Total Tput per GPU (tok/s)", "/request_metrics/throughput/per_gpu/total_tput_tps", 1.0),
    ("Theoretical Cache Hit Rate", "/request_metrics/cache/theoretical_cache_hit_rate", 1.0),
    ("Server Cache Hit Rate", "/server_metrics/cache/overall_cache_hit_rate", 1.0),
];

/// The `Agentic Results` section: one row per aggregate, sorted by model, hardware, framework,
/// TP and users; absent values are empty cells (agentic aggregates carry nulls by design).
fn agentic_section(records: Vec<&Record>) -> Section {
    let object = |record: &Record| Value::Object(record.fields.clone());
    let mut rows: Vec<(Vec<Value>, Vec<Cell>)> = records
        .iter()
        .map(|record| {
            let value = object(record);
            let cells = AGENTIC_COLUMNS
                .iter()
                .map(|(_, pointer, factor)| match value.pointer(pointer) {
                    Some(Value::Number(n)) if *factor != 1.0 => Cell::Float(n.as_f64().unwrap_or(f64::NAN) * factor),
                    Some(other) => value_cell(other, false),
                    None => Cell::Missing,
                })
                .collect();
            let keys = ["/infmax_model_prefix", "/hw", "/framework", "/tp", "/conc"]
                .iter()
                .map(|pointer| value.pointer(pointer).cloned().unwrap_or(Value::Null))
                .collect();
            (keys, cells)
        })
        .collect();
    rows.sort_by(|a, b| {
        a.0.iter().zip(&b.0).map(|(x, y)| compare_values(x, y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    });
    Section {
        title: "Agentic Results",
        headers: AGENTIC_COLUMNS.iter().map(|(header, _, _)| *header).collect(),
        rows: rows.into_iter().map(|(_, cells)| cells).collect(),
    }
}

/// The summary's keys of a JSON object with `is_multinode`; `None` for other objects and lists;
/// an error for invalid JSON and for a bare scalar or `null`.
pub(crate) fn summary_fields(bytes: &[u8]) -> Result<Option<Map<String, Value>>, String> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    /// What a document is, as far as the summary cares.
    enum Shape {
        Record(Map<String, Value>),
        NotRecord,
        Scalar,
    }
    struct Wanted;
    impl<'de> Visitor<'de> for Wanted {
        type Value = Shape;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut fields = Map::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if is_summary_key(&key) {
                    fields.insert(key.into_owned(), map.next_value::<Value>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(if fields.contains_key("is_multinode") { Shape::Record(fields) } else { Shape::NotRecord })
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Shape::NotRecord)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Shape::Scalar)
        }
    }
    impl<'de> DeserializeSeed<'de> for Wanted {
        type Value = Shape;
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let shape = Wanted.deserialize(&mut deserializer).map_err(|err| format!("not valid JSON: {err}"))?;
    deserializer.end().map_err(|err| format!("not valid JSON: {err}"))?;
    match shape {
        Shape::Record(fields) => Ok(Some(fields)),
        Shape::NotRecord => Ok(None),
        Shape::Scalar => Err("holds a bare value (or `null`), not a record".to_string()),
    }
}

/// Records for the report: like [`load_records`], but `path` may also be a single file, and
/// lists of records (as written by `ix results collect`) are flattened. Malformed files (and list
/// items that are not objects) are errors unless `skip_malformed`, as in [`load_records`].
pub fn load_report_records(path: &Path, skip_malformed: bool) -> Result<Loaded, CollectError> {
    let files = if path.is_file() { vec![path.to_path_buf()] } else { json_files_under(path)? };
    let mut loaded = Loaded::default();
    for path in files {
        let items = match read_json(&path) {
            Ok(Value::Array(items)) => items,
            Ok(item @ Value::Object(_)) => vec![item],
            Ok(_) => {
                loaded.skipped.push((path, "holds a bare value (or `null`), not a record".to_string()));
                continue;
            }
            Err(err) => {
                let reason = match &err {
                    CollectError::Io { source, .. } => source.to_string(),
                    CollectError::InvalidJson { source, .. } => format!("not valid JSON: {source}"),
                    other => other.to_string(),
                };
                loaded.skipped.push((path, reason));
                continue;
            }
        };
        let mut bad_items = 0;
        for item in items {
            match item {
                Value::Object(fields) if fields.contains_key("is_multinode") => {
                    loaded.records.push(Record { path: path.clone(), fields })
                }
                Value::Object(_) => {}
                _ => bad_items += 1,
            }
        }
        if bad_items > 0 {
            loaded.skipped.push((path, format!("{bad_items} list item(s) are not objects")));
        }
    }
    loaded.into_result(skip_malformed)
}

/// Whether a record describes a multi-node job (Python truthiness of `is_multinode`).
pub fn is_multinode(record: &Record) -> bool {
    truthy(record.fields.get("is_multinode").unwrap_or(&Value::Null))
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Builds the summary sections from records, in the reference's row order.
pub fn summarize(records: &[Record], options: SummaryOptions) -> Result<SummaryTable, SummaryError> {
    let (agentic, fixed): (Vec<&Record>, Vec<&Record>) = records.iter().partition(|record| is_agentic(record));
    let (multi, single): (Vec<&Record>, Vec<&Record>) = fixed.into_iter().partition(|record| is_multinode(record));
    let mut sections = Vec::new();
    if !single.is_empty() {
        sections.push(section("Single-Node Results", single, &SINGLE_SORT, &SINGLE_COLUMNS, options)?);
    }
    if !multi.is_empty() {
        sections.push(section("Multi-Node Results", multi, &MULTI_SORT, &MULTI_COLUMNS, options)?);
    }
    if !agentic.is_empty() {
        sections.push(agentic_section(agentic));
    }
    Ok(SummaryTable { sections })
}

fn section(
    title: &'static str,
    records: Vec<&Record>,
    sort_keys: &[&str],
    columns: &[(&'static str, Source)],
    options: SummaryOptions,
) -> Result<Section, SummaryError> {
    for record in &records {
        for key in sort_keys {
            if !record.fields.contains_key(*key) {
                return Err(missing(record, key));
            }
        }
    }
    // Look the sort keys up once per record, not once per comparison.
    let keys: Vec<Vec<&Value>> =
        records.iter().map(|record| sort_keys.iter().map(|key| &record.fields[*key]).collect()).collect();
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| {
        keys[a]
            .iter()
            .zip(&keys[b])
            .map(|(x, y)| compare_values(x, y))
            .find(|ordering| ordering.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let records: Vec<&Record> = order.into_iter().map(|idx| records[idx]).collect();
    let mut headers: Vec<&'static str> = columns.iter().map(|(header, _)| *header).collect();
    headers.extend(METRIC_HEADERS);
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let mut row = Vec::with_capacity(headers.len());
        for (_, source) in columns {
            let (key, upper) = match *source {
                Source::Plain(key) => (key, false),
                Source::Upper(key) => (key, true),
            };
            let cell = match record.fields.get(key) {
                Some(value) => value_cell(value, upper),
                None if options.lenient => Cell::Missing,
                None => return Err(missing(record, key)),
            };
            row.push(cell);
        }
        for (key, factor) in METRIC_KEYS {
            let cell = match record.fields.get(key).map(Value::as_f64) {
                Some(Some(value)) => Cell::Float(value * factor),
                _ if options.lenient => Cell::Missing,
                _ => return Err(missing(record, key)),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    Ok(Section { title, headers, rows })
}

fn missing(record: &Record, key: &str) -> SummaryError {
    SummaryError::MissingKey { path: record.path.clone(), key: key.to_string() }
}

fn value_cell(value: &Value, upper: bool) -> Cell {
    match value {
        Value::String(text) if upper => Cell::Text(text.to_uppercase()),
        Value::String(text) => Cell::Text(text.clone()),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Cell::Int(int),
            None => Cell::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::Bool(true) => Cell::Text(if upper { "TRUE" } else { "True" }.into()),
        Value::Bool(false) => Cell::Text(if upper { "FALSE" } else { "False" }.into()),
        Value::Null => Cell::Missing,
        other => Cell::Text(other.to_string()),
    }
}

/// A total order on JSON scalars for sorting: numbers numerically, then strings, then the rest.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(value: &Value) -> u8 {
        match value {
            Value::Null => 0,
            Value::Bool(_) | Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Array(_) => 3,
            Value::Object(_) => 4,
        }
    }
    fn as_number(value: &Value) -> f64 {
        match value {
            Value::Bool(flag) => f64::from(u8::from(*flag)),
            other => other.as_f64().unwrap_or(f64::NAN),
        }
    }
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.cmp(b),
        _ if rank(a) == 1 && rank(b) == 1 => as_number(a).total_cmp(&as_number(b)),
        _ => rank(a).cmp(&rank(b)).then_with(|| a.to_string().cmp(&b.to_string())),
    }
}
