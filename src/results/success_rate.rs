//! Per-GPU-SKU job success counts (REFERENCE-SEMANTICS.md §9.5), from a list of job outcomes,
//! either given as a file or listed from the GitHub API (`fetch_run_jobs`).
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

/// Where to list a workflow run's jobs: the GitHub REST API of `repository`, run `run_id`.
#[derive(Clone, Debug)]
pub struct GithubRun {
    /// `GITHUB_API_URL`, e.g. `https://api.github.com`.
    pub api_url: String,
    /// `GITHUB_REPOSITORY`, `owner/name`.
    pub repository: String,
    /// `GITHUB_RUN_ID`.
    pub run_id: String,
    /// `GITHUB_TOKEN`.
    pub token: String,
}

/// Why the jobs of a run could not be listed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FetchError {
    #[error("missing environment variables for the GitHub API: {}", .0.join(", "))]
    #[diagnostic(code(ix::results::github_env), help("or pass `--jobs FILE` with the job list"))]
    MissingEnv(Vec<String>),
    #[error("the GitHub API refused the token (HTTP {status})")]
    #[diagnostic(code(ix::results::github_auth))]
    Unauthorized { status: u16 },
    #[error("the GitHub API answered HTTP {status} for `{url}`")]
    #[diagnostic(code(ix::results::github_status))]
    Status { status: u16, url: String },
    #[error("cannot reach the GitHub API at `{url}`")]
    #[diagnostic(code(ix::results::github_http))]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot start the HTTP runtime")]
    #[diagnostic(code(ix::results::runtime))]
    Runtime(#[source] std::io::Error),
}

impl GithubRun {
    /// Reads `GITHUB_TOKEN`, `GITHUB_REPOSITORY`, `GITHUB_RUN_ID` and `GITHUB_API_URL` (default
    /// `https://api.github.com`) through `lookup`.
    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<GithubRun, FetchError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let missing: Vec<String> = ["GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"]
            .iter()
            .filter(|name| get(name).is_none())
            .map(|name| name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(FetchError::MissingEnv(missing));
        }
        Ok(GithubRun {
            api_url: get("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            repository: get("GITHUB_REPOSITORY").unwrap_or_default(),
            run_id: get("GITHUB_RUN_ID").unwrap_or_default(),
            token: get("GITHUB_TOKEN").unwrap_or_default(),
        })
    }
}

/// Lists every job of the run, earlier attempts included (`filter=all`), following pagination.
/// Returns the jobs as a JSON array of the API's job objects.
pub fn fetch_run_jobs(run: &GithubRun) -> Result<Value, FetchError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FetchError::Runtime)?;
    runtime.block_on(fetch_run_jobs_async(run))
}

async fn fetch_run_jobs_async(run: &GithubRun) -> Result<Value, FetchError> {
    // reqwest is built without a bundled crypto provider; installing one twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent(concat!("ix/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|source| FetchError::Http { url: run.api_url.clone(), source })?;
    let mut jobs = Vec::new();
    for page in 1.. {
        let url = format!(
            "{}/repos/{}/actions/runs/{}/jobs?filter=all&per_page=100&page={page}",
            run.api_url.trim_end_matches('/'),
            run.repository,
            run.run_id
        );
        let http = |source| FetchError::Http { url: url.clone(), source };
        let response = client
            .get(&url)
            .bearer_auth(&run.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(http)?;
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            return Err(FetchError::Unauthorized { status });
        }
        if !response.status().is_success() {
            return Err(FetchError::Status { status, url });
        }
        let body: Value = response.json().await.map_err(http)?;
        let page_jobs = body.get("jobs").and_then(Value::as_array).cloned().unwrap_or_default();
        let total = body.get("total_count").and_then(Value::as_u64).unwrap_or(0) as usize;
        let n_page_jobs = page_jobs.len();
        jobs.extend(page_jobs);
        if n_page_jobs < 100 || jobs.len() >= total {
            break;
        }
    }
    Ok(Value::Array(jobs))
}
