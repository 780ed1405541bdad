//! Naming rules of REFERENCE-SEMANTICS §8.2 (benchmark script), §8.3 (node launcher) and §7.4
//! (`RESULT_FILENAME`), as pure functions of a [`Job`] and the runner node it runs on.
//!
//! Nothing here touches the filesystem: `plan` checks that the named files exist. The front ends
//! call [`file_name_diag`] on every value that becomes part of a file name.

use crate::diag::Diag;
use crate::expand::{Job, JobShape, Scenario};
use crate::ir::Format;
use crate::source::Spanned;

/// Why a config value cannot be part of a file name, if it cannot: model prefixes, precisions,
/// frameworks, config keys and node names all end up in script, launcher and result file names
/// (§7.4, §8.2, §8.3), so a `/` would leave the intended folder and a NUL or control character
/// would fail only after the benchmark ran.
pub fn file_name_problem(value: &str) -> Option<&'static str> {
    if value.contains('/') {
        Some("contains `/`, which would make the file name a path")
    } else if value.contains('\0') {
        Some("contains a NUL byte")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

/// The diagnostic for `value` (the field `what`) when it cannot be part of a file name, under a
/// front end's `code`. The value is not quoted: the label sits under it.
pub fn file_name_diag(code: &'static str, what: &str, value: &Spanned<String>) -> Option<Diag> {
    let problem = file_name_problem(&value.value)?;
    Some(Diag::error(code, format!("{what} cannot be part of a file name")).at(value.span, problem).help(format!(
        "{what} becomes part of file names (scripts, launchers, results); use letters, digits, `-`, `_`, `.`"
    )))
}

/// The node-name prefix up to the first `_` (`b200-nv_0` -> `b200-nv`).
pub fn node_prefix(node: &str) -> &str {
    node.split('_').next().unwrap_or(node)
}

/// The GPU family a launcher fixes (`b200-dgxc-slurm` -> `b200`, `mi355x-amds` -> `mi355x`).
pub fn gpu_of_node(node: &str) -> &str {
    let prefix = node_prefix(node);
    prefix.split('-').next().unwrap_or(prefix)
}

/// `runners/launch_<node prefix>.sh`, relative to the project root.
pub fn launcher_path(node: &str) -> String {
    format!("runners/launch_{}.sh", node_prefix(node))
}

/// `MODEL_CODE`: `EXP_NAME` up to the first `_` (the model prefix).
pub fn model_code(job: &Job) -> &str {
    job.exp_name.split('_').next().unwrap_or(&job.exp_name)
}

/// The benchmark script a job runs on `node`, relative to the project root (§8.2).
///
/// Single-node: `benchmarks/<code>_<precision>_<gpu><fw><spec>.sh`, where `<fw>` is `_trt` iff the
/// framework is `trt` (on MI355X `_atom` iff `atom`) and `<spec>` is `_mtp` iff spec decoding is
/// `mtp`; H100, MI300X and MI325X launchers use no suffixes.
/// Multi-node: `benchmarks/<code>_<precision>_<gpu>_<framework>.sh` on every cluster (the
/// reference's srtctl paths take a recipe instead; here the recipe is a job field, see COMPAT.md).
pub fn script_path(job: &Job, node: &str) -> String {
    if job.head.format == Format::Head {
        return script_candidates(job, node).swap_remove(0);
    }
    let gpu = gpu_of_node(node);
    let code = model_code(job);
    match job.shape {
        JobShape::Multi { .. } => format!("benchmarks/{code}_{}_{gpu}_{}.sh", job.precision, job.framework),
        JobShape::Single { .. } => {
            let plain = matches!(gpu, "h100" | "mi300x" | "mi325x");
            let fw = match (plain, gpu, job.framework.as_str()) {
                (true, _, _) => "",
                (false, "mi355x", "atom") => "_atom",
                (false, "mi355x", _) => "",
                (false, _, "trt") => "_trt",
                _ => "",
            };
            let spec = if !plain && job.spec_decoding.as_str() == "mtp" { "_mtp" } else { "" };
            format!("benchmarks/{code}_{}_{gpu}{fw}{spec}.sh", job.precision)
        }
    }
}

/// The benchmark scripts a job of today's InferenceX layout may run on `node`, in the order the
/// launchers try them (INFERENCEX-HEAD §7); the first that exists is the one. Feb-2026 jobs have
/// exactly one, [`script_path`].
///
/// Single-node: `benchmarks/single_node/{fixed_seq_len,agentic}/<code>_<precision>_<gpu>…sh`.
/// B200, B300, H200-DGXC-Slurm, RTX 6000 Pro and MI355X launchers try `_<framework><_mtp>`
/// first, then the Feb suffixes (`_trt` for trt, `_atom` on MI355X, then `_mtp`); H200 CW/NB
/// use `<_trt><_mtp>`; H100, MI300X and MI325X only `<_mtp>`.
/// Multi-node: `benchmarks/multi_node/[agentic/]<code>_<precision>_<gpu>_<framework>.sh`.
pub fn script_candidates(job: &Job, node: &str) -> Vec<String> {
    if job.head.format == Format::Feb {
        return vec![script_path(job, node)];
    }
    let gpu = gpu_of_node(node);
    let prefix = node_prefix(node);
    let code = model_code(job);
    let precision = &job.precision;
    let framework = job.framework.as_str();
    let agentic = job.head.scenario == Scenario::AgenticCoding;
    if job.is_multinode() {
        let sub = if agentic { "agentic/" } else { "" };
        return vec![format!("benchmarks/multi_node/{sub}{code}_{precision}_{gpu}_{framework}.sh")];
    }
    let dir = if agentic { "benchmarks/single_node/agentic" } else { "benchmarks/single_node/fixed_seq_len" };
    let mtp = if job.spec_decoding.as_str() == "mtp" { "_mtp" } else { "" };
    let trt = if framework == "trt" { "_trt" } else { "" };
    match gpu {
        "h100" | "mi300x" | "mi325x" => vec![format!("{dir}/{code}_{precision}_{gpu}{mtp}.sh")],
        "h200" if prefix != "h200-dgxc-slurm" => vec![format!("{dir}/{code}_{precision}_{gpu}{trt}{mtp}.sh")],
        _ => {
            let feb = match (gpu, framework) {
                ("mi355x", "atom") => "_atom",
                ("mi355x", _) => "",
                _ => trt,
            };
            let mut candidates = vec![
                format!("{dir}/{code}_{precision}_{gpu}_{framework}{mtp}.sh"),
                format!("{dir}/{code}_{precision}_{gpu}{feb}{mtp}.sh"),
            ];
            candidates.dedup();
            candidates
        }
    }
}

/// `RESULT_FILENAME` of §7.4 (without `.json`): the job's [`result_stem`] and the node the
/// task runs on. The one builder of the name: the graph names a job's result with its planned
/// node, the scheduler with the node it actually runs on.
pub fn result_filename(stem: &str, node: &str) -> String {
    format!("{stem}_{node}")
}

/// `RESULT_FILENAME` without its `_<node>` end: what the job alone decides. Today's single-node
/// name adds pp, dcp and pcp.
pub fn result_stem(job: &Job) -> String {
    let spec = job.spec_decoding.as_str();
    if job.head.format == Format::Head
        && let JobShape::Single { tp, ep, dp_attn, conc } = &job.shape
    {
        let (pp, dcp, pcp) = job.head.parallel.values();
        return format!(
            "{}_{}_{}_tp{tp}-pp{pp}-dcp{dcp}-pcp{pcp}-ep{ep}-dpa{dp_attn}_disagg-{}_spec-{spec}_conc{conc}",
            job.exp_name, job.precision, job.framework, job.disagg
        );
    }
    match &job.shape {
        JobShape::Single { tp, ep, dp_attn, conc } => format!(
            "{}_{}_{}_tp{tp}-ep{ep}-dpa{dp_attn}_disagg-{}_spec-{spec}_conc{conc}",
            job.exp_name, job.precision, job.framework, job.disagg
        ),
        JobShape::Multi { prefill, decode, conc } => {
            let concs: Vec<String> = conc.iter().map(i64::to_string).collect();
            format!(
                "{}_{}_{}_prefill-tp{}-ep{}-dp{}-nw{}_decode-tp{}-ep{}-dp{}-nw{}_disagg-{}_spec-{spec}_conc{}",
                job.exp_name,
                job.precision,
                job.framework,
                prefill.tp,
                prefill.ep,
                prefill.dp_attn,
                prefill.num_worker,
                decode.tp,
                decode.ep,
                decode.dp_attn,
                decode.num_worker,
                job.disagg,
                concs.join("x")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{gpu_of_node, launcher_path, result_filename, result_stem, script_path};
    use crate::expand::{Job, JobOrigin, JobShape};
    use crate::ir::{SpecDecoding, Worker};
    use crate::source::{FileId, Span};

    fn job(framework: &str, spec: SpecDecoding, shape: JobShape) -> Job {
        let span = Span::new(FileId(0), 0, 0);
        Job {
            image: "img".into(),
            model: "m".into(),
            model_prefix: "dsr1".into(),
            precision: "fp8".into(),
            framework: framework.into(),
            runner: "b200".into(),
            isl: 1024,
            osl: 1024,
            shape,
            spec_decoding: spec,
            max_model_len: 2248,
            exp_name: "dsr1_1k1k".into(),
            disagg: false,
            run_eval: false,
            origin: JobOrigin {
                key: "k".into(),
                entry_idx: 0,
                seq_idx: 0,
                point_idx: 0,
                entry_span: span,
                point_span: span,
            },
            head: Default::default(),
        }
    }

    fn single(conc: i64) -> JobShape {
        JobShape::Single { tp: 8, ep: 1, dp_attn: false, conc }
    }

    #[test]
    fn script_names_follow_section_8_2() {
        let trt_mtp = job("trt", SpecDecoding::Mtp, single(4));
        assert_eq!(script_path(&trt_mtp, "b200-nv_0"), "benchmarks/dsr1_fp8_b200_trt_mtp.sh");
        assert_eq!(script_path(&trt_mtp, "h100-cr_0"), "benchmarks/dsr1_fp8_h100.sh");
        assert_eq!(
            script_path(&job("atom", SpecDecoding::None, single(4)), "mi355x-amds_0"),
            "benchmarks/dsr1_fp8_mi355x_atom.sh"
        );
        assert_eq!(
            script_path(&job("trt", SpecDecoding::None, single(4)), "mi355x-amds_0"),
            "benchmarks/dsr1_fp8_mi355x.sh"
        );
        assert_eq!(
            script_path(&job("vllm", SpecDecoding::None, single(4)), "b200-dgxc_1"),
            "benchmarks/dsr1_fp8_b200.sh"
        );
        let worker = Worker {
            num_worker: 1,
            tp: 4,
            ep: 4,
            dp_attn: true,
            additional_settings: None,
            parallel: Default::default(),
            hardware: None,
        };
        let multi = job(
            "dynamo-sglang",
            SpecDecoding::None,
            JobShape::Multi { prefill: worker.clone(), decode: worker, conc: vec![1, 2] },
        );
        assert_eq!(script_path(&multi, "gb200-nv_0"), "benchmarks/dsr1_fp8_gb200_dynamo-sglang.sh");
        assert_eq!(
            result_filename(&result_stem(&multi), "gb200-nv_0"),
            "dsr1_1k1k_fp8_dynamo-sglang_prefill-tp4-ep4-dptrue-nw1_decode-tp4-ep4-dptrue-nw1_disagg-false_spec-none_conc1x2_gb200-nv_0"
        );
        assert_eq!(
            result_filename(&result_stem(&trt_mtp), "b200-nv_0"),
            "dsr1_1k1k_fp8_trt_tp8-ep1-dpafalse_disagg-false_spec-mtp_conc4_b200-nv_0"
        );
    }

    #[test]
    fn todays_scripts_live_under_single_node_and_multi_node() {
        let mut fixed = job("sglang", SpecDecoding::Mtp, single(4));
        fixed.head.format = crate::ir::Format::Head;
        assert_eq!(
            super::script_candidates(&fixed, "b200-dgxc_1"),
            [
                "benchmarks/single_node/fixed_seq_len/dsr1_fp8_b200_sglang_mtp.sh",
                "benchmarks/single_node/fixed_seq_len/dsr1_fp8_b200_mtp.sh"
            ]
        );
        assert_eq!(script_path(&fixed, "h100-cw_0"), "benchmarks/single_node/fixed_seq_len/dsr1_fp8_h100_mtp.sh");
        assert_eq!(script_path(&fixed, "h200-nb_0"), "benchmarks/single_node/fixed_seq_len/dsr1_fp8_h200_mtp.sh");
        let mut agentic = job("atom", SpecDecoding::None, single(8));
        agentic.head.format = crate::ir::Format::Head;
        agentic.head.scenario = crate::expand::Scenario::AgenticCoding;
        agentic.exp_name = "dsr1_tp8_conc8_kvnone".into();
        assert_eq!(
            super::script_candidates(&agentic, "mi355x-amds_0"),
            ["benchmarks/single_node/agentic/dsr1_fp8_mi355x_atom.sh"]
        );
        assert_eq!(
            result_filename(&result_stem(&fixed), "b200-dgxc_1"),
            "dsr1_1k1k_fp8_sglang_tp8-pp1-dcp1-pcp1-ep1-dpafalse_disagg-false_spec-mtp_conc4_b200-dgxc_1"
        );
        let worker = Worker {
            num_worker: 1,
            tp: 4,
            ep: 4,
            dp_attn: true,
            additional_settings: None,
            parallel: Default::default(),
            hardware: None,
        };
        let mut multi = job(
            "dynamo-vllm",
            SpecDecoding::None,
            JobShape::Multi { prefill: worker.clone(), decode: worker, conc: vec![8] },
        );
        multi.head.format = crate::ir::Format::Head;
        multi.head.scenario = crate::expand::Scenario::AgenticCoding;
        assert_eq!(script_path(&multi, "gb300-nv_0"), "benchmarks/multi_node/agentic/dsr1_fp8_gb300_dynamo-vllm.sh");
    }

    #[test]
    fn launcher_and_gpu_follow_the_node_prefix() {
        assert_eq!(launcher_path("b200-nv_0"), "runners/launch_b200-nv.sh");
        assert_eq!(launcher_path("b200-dgxc-slurm_0"), "runners/launch_b200-dgxc-slurm.sh");
        assert_eq!(gpu_of_node("mi355x-amds_3"), "mi355x");
    }
}
