//! Per-GPU-SKU job success counts (REFERENCE-SEMANTICS.md §9.5), computed from a list of job
//! outcomes rather than from the GitHub API.
//!
//! Deliberate difference: SKUs keep `runners.yaml` order and a job goes to the first SKU in that
//! order, where the reference iterates an unordered set.

use serde_json::{Map, Value};

/// Why success rates could not be computed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SuccessRateError {
    #[error("the job list must be a JSON array of `{{\"name\", \"conclusion\"}}` objects (or `{{\"jobs\": [...]}}`)")]
    #[diagnostic(code(ix::results::bad_job_list))]
    BadJobList,
    #[error("the runners file is not a YAML mapping: {0}")]
    #[diagnostic(code(ix::results::bad_runners))]
    BadRunners(String),
}

/// Counts for one SKU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkuCount {
    pub n_success: u64,
    pub total: u64,
}

/// GPU SKUs from a runners.yaml text: top-level keys cut at the first `-`, first occurrence kept.
pub fn skus_from_runners(yaml: &str) -> Result<Vec<String>, SuccessRateError> {
    use saphyr::LoadableYamlNode;
    let docs = saphyr::Yaml::load_from_str(yaml).map_err(|err| SuccessRateError::BadRunners(err.to_string()))?;
    let mapping = docs
        .first()
        .and_then(|doc| doc.as_mapping())
        .ok_or_else(|| SuccessRateError::BadRunners("expected a mapping of runner types".into()))?;
    let mut skus: Vec<String> = Vec::new();
    for key in mapping.keys() {
        let Some(key) = key.as_str() else { continue };
        let sku = key.split('-').next().unwrap_or(key).to_string();
        if !skus.contains(&sku) {
            skus.push(sku);
        }
    }
    Ok(skus)
}

/// The SKU a job name belongs to: the first SKU found in the lower-cased name at a word boundary
/// and followed by a non-word character or the end (`b200` matches `b200-trt`, not `gb200`).
pub fn sku_of<'a>(job_name: &str, skus: &'a [String]) -> Option<&'a str> {
    let name = job_name.to_lowercase();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    skus.iter().map(String::as_str).find(|sku| {
        !sku.is_empty()
            && name.match_indices(sku).any(|(start, _)| {
                let before = name[..start].chars().next_back();
                let after = name[start + sku.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
    })
}

/// Counts jobs per SKU. Skipped jobs are ignored; every other job counts toward `total`, jobs
/// whose conclusion is `success` toward `n_success`. Every SKU appears, zeros included.
pub fn success_rates(jobs: &Value, skus: &[String]) -> Result<Vec<(String, SkuCount)>, SuccessRateError> {
    let list = match jobs {
        Value::Array(list) => list,
        Value::Object(object) => object.get("jobs").and_then(Value::as_array).ok_or(SuccessRateError::BadJobList)?,
        _ => return Err(SuccessRateError::BadJobList),
    };
    let mut counts: Vec<(String, SkuCount)> = skus.iter().map(|sku| (sku.clone(), SkuCount::default())).collect();
    for job in list {
        let job = job.as_object().ok_or(SuccessRateError::BadJobList)?;
        let name = job.get("name").and_then(Value::as_str).ok_or(SuccessRateError::BadJobList)?;
        let conclusion = job.get("conclusion").and_then(Value::as_str).unwrap_or("");
        if conclusion == "skipped" {
            continue;
        }
        if let Some(sku) = sku_of(name, skus)
            && let Some((_, count)) = counts.iter_mut().find(|(candidate, _)| candidate == sku)
        {
            count.total += 1;
            count.n_success += u64::from(conclusion == "success");
        }
    }
    Ok(counts)
}

/// The `<OUTNAME>.json` document: `{sku: {n_success, total}}`.
pub fn to_json(counts: &[(String, SkuCount)]) -> Value {
    let object: Map<String, Value> = counts
        .iter()
        .map(|(sku, count)| {
            let mut entry = Map::new();
            entry.insert("n_success".into(), count.n_success.into());
            entry.insert("total".into(), count.total.into());
            (sku.clone(), Value::Object(entry))
        })
        .collect();
    Value::Object(object)
}
