//! The project's own sweeps (`sweeps/{nvidia,amd}.ix`), benchmark scripts and node launchers:
//! every job resolves to an existing script and launcher, no script in `benchmarks/` is dead,
//! and the scripts and launchers do what their engines and sites need — checked by running
//! them with stand-in engines (`ix bench sim-server` behind a `vllm`/`trtllm-serve`/`python3`
//! shim) and stand-in `docker`/`sbatch`/`srtctl` commands that record their argv.

use crate::util::{ix, ix_bin, project_root};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `ix plan FILES --format json` against the project, with a fresh state store.
fn plan_json(files: &[&str], runners: &str) -> (Value, String) {
    let state = tempfile::tempdir().expect("tempdir");
    let root = project_root();
    let mut cmd = ix(["plan"]);
    for file in files {
        cmd = cmd.arg(root.join(file));
    }
    let out = cmd
        .arg("--runner-config")
        .arg(root.join(runners))
        .arg("--project-dir")
        .arg(&root)
        .arg("--state-dir")
        .arg(state.path())
        .args_from(&["--format", "json"])
        .run()
        .expect_code(0);
    (serde_json::from_str(&out.stdout).expect("plan JSON"), out.stderr)
}

fn bench_tasks(plan: &Value) -> Vec<&Value> {
    plan["tasks"].as_array().expect("tasks").iter().filter(|t| t["kind"] == "bench").collect()
}

#[test]
fn project_sweeps_resolve_every_script_and_launcher() {
    let (plan, stderr) = plan_json(&["sweeps/nvidia.ix", "sweeps/amd.ix"], "sweeps/runners.yaml");
    assert!(!stderr.contains("missing-script"), "missing scripts:\n{stderr}");
    assert!(!stderr.contains("missing-launcher"), "missing launchers:\n{stderr}");
    let benches = bench_tasks(&plan);
    assert!(benches.len() > 300, "the project sweeps expand to hundreds of jobs, got {}", benches.len());
    let root = project_root();
    let mut scripts = BTreeSet::new();
    let mut launchers = BTreeSet::new();
    for task in &benches {
        let script = task["script"].as_str().unwrap_or_else(|| panic!("no script in {task}"));
        let launcher = task["launcher"].as_str().unwrap_or_else(|| panic!("no launcher in {task}"));
        assert!(root.join(script).is_file(), "{script} of {} is missing", task["id"]);
        assert!(root.join(launcher).is_file(), "{launcher} of {} is missing", task["id"]);
        scripts.insert(script.to_string());
        launchers.insert(launcher.to_string());
    }
    // One script per model x precision x GPU x engine family of the sweeps (13) and one
    // launcher per node prefix of sweeps/runners.yaml (5).
    assert_eq!(scripts.len(), 13, "{scripts:?}");
    assert_eq!(
        launchers.into_iter().collect::<Vec<_>>(),
        [
            "runners/launch_b200-lab.sh",
            "runners/launch_gb200-rack.sh",
            "runners/launch_h200-lab.sh",
            "runners/launch_mi300x-lab.sh",
            "runners/launch_mi355x-lab.sh"
        ]
    );
}

#[test]
fn every_benchmark_script_is_used_by_a_job_or_is_a_library() {
    let mut used: BTreeSet<String> = BTreeSet::new();
    for (files, runners) in [
        (&["sweeps/nvidia.ix", "sweeps/amd.ix"][..], "sweeps/runners.yaml"),
        (&["sweeps/demo.ix"][..], "runners/runners.yaml"),
    ] {
        let (plan, _) = plan_json(files, runners);
        for task in bench_tasks(&plan) {
            let script = task["script"].as_str().expect("script");
            used.insert(script.trim_start_matches("benchmarks/").to_string());
        }
    }
    let dir = project_root().join("benchmarks");
    let all: BTreeSet<String> = fs::read_dir(&dir)
        .expect("benchmarks/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sh"))
        .collect();
    // A script a used script runs or sources by name (the demo's dispatcher, the library) is live.
    let mut live = used.clone();
    live.insert("benchmark_lib.sh".into());
    loop {
        let before = live.len();
        for name in live.clone() {
            let text = fs::read_to_string(dir.join(&name)).unwrap_or_default();
            live.extend(all.iter().filter(|other| text.contains(other.as_str())).cloned());
        }
        if live.len() == before {
            break;
        }
    }
    let dead: Vec<&String> = all.iter().filter(|s| !live.contains(*s)).collect();
    assert!(dead.is_empty(), "scripts no job uses: {dead:?}");
}

// ---- running the scripts with stand-in engines ------------------------------------------

/// The stand-in engine: records its argv, then serves `ix bench sim-server` on the port flag
/// (`--port`, or ATOM's `--server-port`) of the host the `srun` stand-in placed it on. `python3 -m <module>` runs it for the Python-module
/// engines. With `ENGINE_FAIL=1` it exits at once, like a server that crashes on start.
const ENGINE_SHIM: &str = r#"#!/usr/bin/env bash
if [ "$(basename "$0")" = python3 ]; then
  [ "$1" = -m ] || exit 127
  printf '%s\n' "$2" > "$PWD/engine-module.txt"
  shift 2
fi
printf '%s\n' "$@" > "$PWD/engine-argv.txt"
[ "${ENGINE_FAIL:-0}" = 1 ] && { echo "engine: out of memory" >&2; exit 3; }
port=""
while [ $# -gt 0 ]; do
  case "$1" in --port|--server-port) port="$2"; shift 2 ;; *) shift ;; esac
done
exec "$IX_BIN" bench sim-server --host "${SHIM_HOST:-127.0.0.1}" --port "$port" --model "$MODEL"
"#;

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let sandbox = Sandbox { dir: tempfile::tempdir().expect("tempdir") };
        for sub in ["bin", "work", "model"] {
            fs::create_dir(sandbox.path(sub)).expect("mkdir");
        }
        fs::copy(project_root().join("tests/data/bench/words-tokenizer.json"), sandbox.path("model/tokenizer.json"))
            .expect("tokenizer");
        for name in ["vllm", "trtllm-serve", "python3"] {
            sandbox.tool(name, ENGINE_SHIM);
        }
        sandbox
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn tool(&self, name: &str, text: &str) {
        let path = self.path("bin").join(name);
        fs::write(&path, text).expect("write tool");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Runs `bash FILE` in `work/` with the stand-ins first on PATH and `env` on top of a
    /// complete single-node contract.
    fn run(&self, file: &Path, env: &[(&str, &str)]) -> Output {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let path = format!("{}:{}", self.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut cmd = Command::new("bash");
        cmd.arg(file).current_dir(self.path("work")).env("PATH", path).env("IX_BIN", ix_bin());
        let model = self.path("model");
        let port = port.to_string();
        let contract = [
            ("MODEL", model.to_str().expect("utf-8")),
            ("TP", "8"),
            ("EP_SIZE", "1"),
            ("DP_ATTENTION", "false"),
            ("CONC", "2"),
            ("ISL", "64"),
            ("OSL", "8"),
            ("MAX_MODEL_LEN", "200"),
            ("RANDOM_RANGE_RATIO", "0.8"),
            ("RESULT_FILENAME", "res"),
            ("PORT", &port),
            ("SPEC_DECODING", "none"),
            ("RUN_EVAL", "false"),
            ("HEALTH_POLL_INTERVAL", "0.1"),
        ];
        for (key, value) in contract.iter().chain(env) {
            cmd.env(key, value);
        }
        cmd.output().expect("run bash")
    }
}

fn script(name: &str) -> PathBuf {
    project_root().join("benchmarks").join(name)
}

fn argv(sandbox: &Sandbox) -> Vec<String> {
    sandbox.read("work/engine-argv.txt").lines().map(str::to_string).collect()
}

fn has_pair(argv: &[String], flag: &str, value: &str) -> bool {
    argv.windows(2).any(|w| w[0] == flag && w[1] == value)
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The result file the client wrote holds the run's concurrency and every prompt completed.
fn assert_result(sandbox: &Sandbox, conc: u64) {
    let result: Value = serde_json::from_str(&sandbox.read("work/res.json")).expect("result JSON");
    assert_eq!(result["max_concurrency"], conc);
    assert_eq!(result["completed"], conc * 10);
}

#[test]
fn vllm_script_serves_benchmarks_and_maps_dp_attention() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .run(&script("qwen3_bf16_b200.sh"), &[("FRAMEWORK", "vllm"), ("EP_SIZE", "8"), ("DP_ATTENTION", "true")]);
    assert_ok(&out);
    let argv = argv(&sandbox);
    assert_eq!(argv[0], "serve");
    assert!(has_pair(&argv, "--data-parallel-size", "8"), "{argv:?}");
    assert!(has_pair(&argv, "--tensor-parallel-size", "1"), "{argv:?}");
    assert!(argv.contains(&"--enable-expert-parallel".to_string()), "{argv:?}");
    assert!(has_pair(&argv, "--max-num-seqs", "2") && has_pair(&argv, "--max-model-len", "200"), "{argv:?}");
    assert_result(&sandbox, 2);
}

#[test]
fn shared_script_picks_the_engine_from_framework() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&script("llama70b_fp8_b200.sh"), &[("FRAMEWORK", "sglang"), ("CONC", "3")]);
    assert_ok(&out);
    assert_eq!(sandbox.read("work/engine-module.txt").trim(), "sglang.launch_server");
    let argv = argv(&sandbox);
    assert!(has_pair(&argv, "--tp-size", "8") && has_pair(&argv, "--max-running-requests", "3"), "{argv:?}");
    assert!(has_pair(&argv, "--kv-cache-dtype", "fp8_e4m3"), "{argv:?}");
    assert_result(&sandbox, 3);

    let other = Sandbox::new();
    let out = other.run(&script("llama70b_fp8_b200.sh"), &[("FRAMEWORK", "trt")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not serve framework 'trt'"));
}

#[test]
fn trt_script_writes_its_llm_api_options_at_run_time() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&script("llama70b_fp8_b200_trt.sh"), &[("FRAMEWORK", "trt"), ("TP", "4")]);
    assert_ok(&out);
    let argv = argv(&sandbox);
    assert!(has_pair(&argv, "--backend", "pytorch") && has_pair(&argv, "--tp_size", "4"), "{argv:?}");
    let options = sandbox.path("work/extra-llm-api-options.yaml");
    assert!(has_pair(&argv, "--extra_llm_api_options", options.to_str().expect("utf-8")), "{argv:?}");
    let yaml = sandbox.read("work/extra-llm-api-options.yaml");
    assert!(yaml.contains("enable_attention_dp: false\n"), "{yaml}");
    assert!(yaml.contains("  max_batch_size: 2\n"), "{yaml}");
    assert!(!yaml.contains("speculative_config"), "{yaml}");
    assert_result(&sandbox, 2);

    // MTP and attention DP as the library writes them for a spec-decoding job.
    let lib = project_root().join("benchmarks/benchmark_lib.sh");
    let file = sandbox.path("mtp.yaml");
    let out = Command::new("bash")
        .args(["-c", "source \"$1\" && write_trtllm_options \"$2\"", "_"])
        .arg(&lib)
        .arg(&file)
        .env("SPEC_DECODING", "mtp")
        .env("DP_ATTENTION", "true")
        .env("CONC", "64")
        .output()
        .expect("bash");
    assert_ok(&out);
    let yaml = fs::read_to_string(&file).expect("mtp.yaml");
    assert!(yaml.contains("enable_attention_dp: true\n") && yaml.contains("  max_batch_size: 64\n"), "{yaml}");
    assert!(yaml.contains("speculative_config:\n  decoding_type: MTP\n  num_nextn_predict_layers: 3\n"), "{yaml}");
    // A non-numeric value never reaches the YAML.
    let out = Command::new("bash")
        .args(["-c", "source \"$1\" && write_trtllm_options \"$2\"", "_"])
        .arg(&lib)
        .arg(sandbox.path("bad.yaml"))
        .env("CONC", "4\nevil: true")
        .output()
        .expect("bash");
    assert_eq!(out.status.code(), Some(1));
    assert!(!sandbox.path("bad.yaml").exists());
}

#[test]
fn atom_script_uses_atoms_server_port_flag() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&script("gptoss_fp4_mi355x_atom.sh"), &[("FRAMEWORK", "atom"), ("TP", "1")]);
    assert_ok(&out);
    assert_eq!(sandbox.read("work/engine-module.txt").trim(), "atom.entrypoints.openai_server");
    let argv = argv(&sandbox);
    assert!(argv.contains(&"--server-port".to_string()) && has_pair(&argv, "--tensor-parallel-size", "1"), "{argv:?}");
    assert_result(&sandbox, 2);
}

#[test]
fn a_dying_server_stops_the_script_with_its_log() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&script("dsr1_fp8_mi355x.sh"), &[("FRAMEWORK", "sglang"), ("ENGINE_FAIL", "1")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exited before it was ready") && stderr.contains("engine: out of memory"), "{stderr}");
    assert!(!sandbox.path("work/res.json").exists());
}

#[test]
fn a_missing_contract_variable_is_named_before_anything_starts() {
    let sandbox = Sandbox::new();
    let out =
        sandbox.run(&script("gptoss_fp4_mi300x.sh"), &[("FRAMEWORK", "vllm"), ("CONC", ""), ("MAX_MODEL_LEN", "")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("  - CONC\n") && stderr.contains("  - MAX_MODEL_LEN\n"), "{stderr}");
    assert!(!sandbox.path("work/engine-argv.txt").exists());
}

// ---- multi-node scripts: the srtctl recipe path --------------------------------------------

const MULTI_NODE: &[(&str, &str)] = &[
    ("FRAMEWORK", "dynamo-trt"),
    ("PRECISION", "fp4"),
    ("CONC_LIST", "8 16"),
    ("PREFILL_NUM_WORKERS", "1"),
    ("PREFILL_TP", "4"),
    ("PREFILL_EP", "4"),
    ("PREFILL_DP_ATTN", "true"),
    ("DECODE_NUM_WORKERS", "4"),
    ("DECODE_TP", "8"),
    ("DECODE_EP", "8"),
    ("DECODE_DP_ATTN", "false"),
    ("SPEC_DECODING", "mtp"),
    ("IS_MULTINODE", "true"),
    ("ISL", "1024"),
    ("OSL", "1024"),
];

/// `srtctl apply -f R` records R, "submits" job 4242 and leaves its results where srt-slurm
/// puts them; `squeue` reports the job finished.
const SRTCTL_SHIM: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$@" > "$PWD/srtctl-argv.txt"
mkdir -p logs/4242_1P_4D_20261128/results
echo '{"conc": 8}' > logs/4242_1P_4D_20261128/results/results_concurrency_8_isl_1024.json
echo '{"conc": 16}' > logs/4242_1P_4D_20261128/results/results_concurrency_16_isl_1024.json
echo "Submitted batch job 4242"
"#;

#[test]
fn dynamo_trt_script_submits_the_conventional_srtctl_recipe_and_names_results() {
    let sandbox = Sandbox::new();
    sandbox.tool("srtctl", SRTCTL_SHIM);
    sandbox.tool("squeue", "#!/usr/bin/env bash\nexit 0\n");
    let recipes = sandbox.path("recipes");
    let recipe = recipes.join("dynamo-trt/gb200-fp4/1024_1024/mtp/ctx1_gen4_tep8.yaml");
    fs::create_dir_all(recipe.parent().expect("parent")).expect("mkdir");
    fs::write(&recipe, "name: test\n").expect("recipe");
    let mut env = MULTI_NODE.to_vec();
    env.push(("SRT_RECIPES_DIR", recipes.to_str().expect("utf-8")));
    let out = sandbox.run(&script("dsr1_fp4_gb200_dynamo-trt.sh"), &env);
    assert_ok(&out);
    assert_eq!(sandbox.read("work/srtctl-argv.txt"), format!("apply\n-f\n{}\n", recipe.display()));
    for conc in [8, 16] {
        let name = format!("work/res_results_conc{conc}_gpus_36_ctx_4_gen_32.json");
        assert_eq!(sandbox.read(&name).trim(), format!("{{\"conc\": {conc}}}"));
    }

    // CONFIG_FILE wins over the convention; a recipe that does not exist is an error.
    let other = Sandbox::new();
    let mut env = MULTI_NODE.to_vec();
    env.push(("FRAMEWORK", "dynamo-sglang"));
    env.push(("CONFIG_FILE", "/nonexistent/recipe.yaml"));
    let out = other.run(&script("dsr1_fp8_gb200_dynamo-sglang.sh"), &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("srtctl recipe /nonexistent/recipe.yaml does not exist"));
}

/// `srun [OPTION...] COMMAND...`: runs COMMAND here, on the loopback address named by
/// `--nodelist` (127.0.0.x stand in for the nodes), and records the options.
const SRUN_SHIM: &str = r#"#!/usr/bin/env bash
node=127.0.0.1
while [ $# -gt 0 ]; do
  case "$1" in
    --nodelist=*) node="${1#--nodelist=}"; shift ;;
    -*) printf '%s\n' "$1" >> "$PWD/srun-options.txt"; shift ;;
    *) break ;;
  esac
done
printf '%s %s\n' "$node" "$*" >> "$PWD/srun-commands.txt"
SHIM_HOST="$node" exec "$@"
"#;

#[test]
fn sglang_disagg_script_places_workers_per_node_behind_the_pd_router() {
    let sandbox = Sandbox::new();
    sandbox.tool("srun", SRUN_SHIM);
    sandbox.tool("scontrol", "#!/usr/bin/env bash\nprintf '127.0.0.1\\n127.0.0.2\\n127.0.0.3\\n'\n");
    sandbox.tool("unsquashfs", "#!/usr/bin/env bash\nexit 0\n");
    let worker_port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let worker_port = worker_port.to_string();
    let squash = sandbox.path("image.sqsh");
    let mut env = MULTI_NODE.to_vec();
    env.extend_from_slice(&[
        ("FRAMEWORK", "sglang-disagg"),
        ("PRECISION", "fp8"),
        ("SPEC_DECODING", "none"),
        ("IMAGE", "lmsysorg/sglang:v0.5.4-rocm700-mi35x"),
        ("IX_SQUASH_FILE", squash.to_str().expect("utf-8")),
        ("SLURM_JOB_NODELIST", "node[1-3]"),
        ("PREFILL_TP", "8"),
        ("DECODE_NUM_WORKERS", "2"),
        ("DECODE_DP_ATTN", "true"),
        ("CONC_LIST", "2 4"),
        ("ISL", "64"),
        ("OSL", "8"),
        ("WORKER_PORT", &worker_port),
    ]);
    let out = sandbox.run(&script("dsr1_fp8_mi355x_sglang-disagg.sh"), &env);
    assert_ok(&out);
    let commands = sandbox.read("work/srun-commands.txt");
    // The workers start in the background, so their lines come in any order.
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 4, "{commands}");
    let worker = |node: &str| -> &str {
        let prefix = format!("{node} python3 -m sglang.launch_server");
        let found: Vec<&&str> = lines.iter().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(found.len(), 1, "one worker on {node}:\n{commands}");
        found[0]
    };
    for (node, role) in [("127.0.0.1", "prefill"), ("127.0.0.2", "decode"), ("127.0.0.3", "decode")] {
        let line = worker(node);
        assert!(line.contains(&format!("--disaggregation-mode {role}")), "{line}");
    }
    assert!(worker("127.0.0.2").contains("--enable-dp-attention --dp-size 8"), "{commands}");
    let router = lines.iter().find(|l| l.contains("sglang_router")).expect("router line");
    assert!(router.starts_with("127.0.0.1 python3 -m sglang_router.launch_router --pd-disaggregation"), "{router}");
    let p = format!("--prefill http://127.0.0.1:{worker_port} 8998");
    let d = format!("--decode http://127.0.0.2:{worker_port} --decode http://127.0.0.3:{worker_port}");
    assert!(router.contains(&p) && router.contains(&d), "{router}");
    let options = sandbox.read("work/srun-options.txt");
    assert!(options.contains(&format!("--container-image={}", squash.display())), "{options}");
    // One client run per CONC_LIST value, named for the multi-node result step
    // (prefill 1 x tp8, decode 2 x tp8: 24 GPUs).
    for conc in [2u64, 4] {
        let name = format!("work/res_conc{conc}_gpus_24_ctx_8_gen_16.json");
        let result: Value = serde_json::from_str(&sandbox.read(&name)).expect("result JSON");
        assert_eq!(result["max_concurrency"], conc);
        assert_eq!(result["completed"], conc * 10);
    }
}

// ---- launchers ------------------------------------------------------------------------------

/// Runs `runners/<launcher>` on benchmark `script` with a recording stand-in for `tool` and returns its argv.
fn launch(launcher: &str, script: &str, tool: &str, env: &[(&str, &str)]) -> (Output, Vec<String>, Sandbox) {
    let sandbox = Sandbox::new();
    // `docker rm` (the launchers' cleanup) is not the call under test.
    sandbox.tool(tool, "#!/usr/bin/env bash\n[ \"$1\" = rm ] && exit 0\nprintf '%s\\n' \"$@\" > \"$LAUNCH_ARGV\"\n");
    let root = project_root();
    let record = sandbox.path("argv.txt");
    let script = root.join("benchmarks").join(script);
    let squash = sandbox.path("squash");
    let mut all = vec![
        ("IX_SQUASH_DIR", squash.to_str().expect("utf-8")),
        ("IX_BENCHMARK_SCRIPT", script.to_str().expect("utf-8")),
        ("IX_REPO", root.to_str().expect("utf-8")),
        ("IMAGE", "vllm/vllm-openai:v0.11.0"),
        ("LAUNCH_ARGV", record.to_str().expect("utf-8")),
        ("HF_HUB_CACHE", ""),
    ];
    all.extend_from_slice(env);
    let out = sandbox.run(&root.join("runners").join(launcher), &all);
    let argv = fs::read_to_string(&record).unwrap_or_default().lines().map(str::to_string).collect();
    (out, argv, sandbox)
}

#[test]
fn nvidia_lab_launchers_run_docker_with_all_gpus_and_the_site_cache() {
    for launcher in ["launch_h200-lab.sh", "launch_b200-lab.sh"] {
        let (out, argv, _sandbox) = launch(launcher, "qwen3_bf16_b200.sh", "docker", &[]);
        assert_ok(&out);
        assert!(argv.contains(&"--gpus=all".to_string()), "{launcher}: {argv:?}");
        assert!(has_pair(&argv, "-v", "/mnt/hf_hub_cache/:/mnt/hf_hub_cache/"), "{launcher}: {argv:?}");
        assert_eq!(argv.last().map(String::as_str), Some("/ix/repo/benchmarks/qwen3_bf16_b200.sh"));
    }
    let (out, argv, _sandbox) =
        launch("launch_h200-lab.sh", "qwen3_bf16_b200.sh", "docker", &[("IS_MULTINODE", "true")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(argv.is_empty());
}

#[test]
fn amd_lab_launchers_pass_rocm_devices_and_send_multi_node_jobs_to_slurm() {
    for launcher in ["launch_mi300x-lab.sh", "launch_mi355x-lab.sh"] {
        let (out, argv, _sandbox) = launch(launcher, "qwen3_bf16_b200.sh", "docker", &[]);
        assert_ok(&out);
        assert!(argv.contains(&"--device=/dev/kfd".to_string()), "{launcher}: {argv:?}");
        assert!(!argv.iter().any(|a| a.starts_with("--gpus")), "{launcher}: {argv:?}");
        assert!(has_pair(&argv, "-e", "FRAMEWORK"), "{launcher}: {argv:?}");
    }
    let env = [("IS_MULTINODE", "true"), ("PREFILL_NUM_WORKERS", "1"), ("DECODE_NUM_WORKERS", "1")];
    let (out, argv, _sandbox) = launch("launch_mi355x-lab.sh", "dsr1_fp8_mi355x_sglang-disagg.sh", "sbatch", &env);
    assert_ok(&out);
    assert!(argv.contains(&"--nodes=2".to_string()) && has_pair(&argv, "--partition", "mi355x"), "{argv:?}");
}

#[test]
fn gb200_launcher_runs_recipes_in_place_and_single_node_jobs_through_slurm() {
    // Multi-node: the script itself runs on the login node (srtctl submits the Slurm job).
    let (out, _argv, sandbox) =
        launch("launch_gb200-rack.sh", "dsr1_fp4_gb200_dynamo-trt.sh", "srtctl", &[("IS_MULTINODE", "true")]);
    assert_eq!(out.status.code(), Some(1), "the script ran and checked the multi-node contract");
    assert!(String::from_utf8_lossy(&out.stderr).contains("  - CONC_LIST\n"));
    drop(sandbox);
    // Single-node: at most the 4 GPUs of one GB200 node, then salloc through the Slurm launcher.
    let (out, argv, _sandbox) = launch("launch_gb200-rack.sh", "qwen3_bf16_b200.sh", "salloc", &[("TP", "8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(argv.is_empty() && String::from_utf8_lossy(&out.stderr).contains("at most 4 GPUs"));
    let (_out, argv, _sandbox) = launch("launch_gb200-rack.sh", "qwen3_bf16_b200.sh", "salloc", &[("TP", "4")]);
    assert!(argv.contains(&"--gres=gpu:4".to_string()) && has_pair(&argv, "--partition", "gb200"), "{argv:?}");
}

// ---- the whole chain: ix run -> site launcher -> Docker launcher -> script -> engine ---------

/// `docker run ... IMAGE /ix/repo/<script>` run on the host instead: the script from the
/// repository, in the working folder, with the forwarded environment.
const DOCKER_SHIM: &str = r#"#!/usr/bin/env bash
[ "$1" = rm ] && exit 0
printf '%s\n' "$@" > "$PWD/docker-argv.txt"
script="${!#}"
exec bash "$IX_REPO/${script#/ix/repo/}"
"#;

#[test]
fn ix_run_executes_a_project_task_through_its_site_launcher() {
    let sandbox = Sandbox::new();
    sandbox.tool("docker", DOCKER_SHIM);
    // The client finds the model's tokenizer in the Hugging Face cache.
    let snapshot = sandbox.path("hf/models--Qwen--Qwen3-235B-A22B/snapshots/0");
    fs::create_dir_all(&snapshot).expect("mkdir");
    fs::copy(sandbox.path("model/tokenizer.json"), snapshot.join("tokenizer.json")).expect("tokenizer");
    // Nodes whose digit gives a port (8888 + 7) no other test uses.
    let runners = sandbox.path("runners.yaml");
    fs::write(&runners, "h200:\n- h200-lab_7\nb200:\n- b200-lab_7\ngb200:\n- gb200-rack_7\n").expect("runners");
    let state = sandbox.path("state");
    let root = project_root();
    let run = |extra: &[&str]| {
        let path = format!("{}:{}", sandbox.path("bin").display(), std::env::var("PATH").unwrap_or_default());
        ix(["run", "--engine", "--config-files", "sweeps/nvidia.ix", "--runner-config"])
            .arg(&runners)
            .arg("--state")
            .arg(&state)
            .args_from(extra)
            .current_dir(&root)
            .env("PATH", path)
            .env("IX_BIN", ix_bin())
            .env("HF_HUB_CACHE", sandbox.path("hf"))
            .env("HEALTH_POLL_INTERVAL", "0.1")
            .run()
    };
    let listing = run(&["--dry-run"]).expect_code(0);
    let id = "bench/qwen3-bf16-b200-vllm/1k1k/tp8-ep8-dpa1-none/c16/b200-lab_7";
    let line = format!("{}{}", listing.stdout, listing.stderr);
    let hash = line
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(id))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no {id} in:\n{line}"))
        .to_string();
    let out = run(&["--task", &hash]).expect_code(0);
    assert!(format!("{}{}", out.stdout, out.stderr).contains("1 done"), "{}\n{}", out.stdout, out.stderr);
    let work: Vec<PathBuf> =
        fs::read_dir(state.join("work")).expect("work").map(|e| e.expect("entry").path()).collect();
    assert_eq!(work.len(), 1, "{work:?}");
    let result = work[0].join("qwen3_1k1k_bf16_vllm_tp8-ep8-dpatrue_disagg-false_spec-none_conc16_b200-lab_7.json");
    let result: Value = serde_json::from_str(&fs::read_to_string(&result).expect("result file")).expect("JSON");
    assert_eq!(result["max_concurrency"], 16);
    assert_eq!(result["completed"], 160);
    let docker = fs::read_to_string(work[0].join("docker-argv.txt")).expect("docker argv");
    assert!(docker.contains("--gpus=all\n") && docker.contains("vllm/vllm-openai:v0.11.0\n"), "{docker}");
    let engine = fs::read_to_string(work[0].join("engine-argv.txt")).expect("engine argv");
    assert!(engine.contains("--data-parallel-size\n8\n") && engine.contains("--port\n8895\n"), "{engine}");
}

/// One flag name for one meaning across verbs (`--state-dir` for the store, `--runner-config` for
/// the runners file): no verb's help offers another spelling of either (the old ones are hidden
/// aliases).
#[test]
fn verbs_name_the_store_and_the_runners_file_alike() {
    let verbs: [&[&str]; 9] = [
        &["plan"],
        &["run"],
        &["check"],
        &["collect-artifacts"],
        &["matrix", "full-sweep"],
        &["matrix", "test-config"],
        &["changelog", "check"],
        &["results", "success-rate"],
        &["state", "verify"],
    ];
    let mut seen_state = 0;
    let mut seen_runners = 0;
    for verb in verbs {
        let out = crate::util::ix(verb.iter().copied().chain(["--help"])).run();
        let help = format!("{}{}", out.stdout, out.stderr);
        for line in help.lines().map(str::trim_start) {
            let flag = line.split([' ', ',', '=']).next().unwrap_or_default();
            assert!(
                flag != "--state" && flag != "--runners" && flag != "--state-directory",
                "{verb:?} offers `{flag}`"
            );
        }
        seen_state += usize::from(help.contains("--state-dir"));
        seen_runners += usize::from(help.contains("--runner-config"));
        // Verbs that plan or expand sweeps read the runners file by one rule, and say so alike.
        if !matches!(verb[0], "check" | "results" | "state") {
            // The flag's help: its line and the indented lines after it, whitespace collapsed.
            let mut lines = help.lines().skip_while(|line| !line.trim_start().starts_with("--runner-config"));
            let first = lines.next().unwrap_or_default();
            let rest = lines.take_while(|line| !line.trim_start().starts_with('-') && !line.trim().is_empty());
            let text: Vec<&str> = std::iter::once(first).chain(rest).flat_map(str::split_whitespace).collect();
            let text = text.join(" ");
            assert!(
                text.contains("none when a `.ix` sweep declares or references its runner types"),
                "{verb:?}: {text}"
            );
        }
    }
    assert!(seen_state >= 3 && seen_runners >= 5, "the verbs name them ({seen_state}, {seen_runners})");
}
