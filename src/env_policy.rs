//! Which environment variables a config may set: the one policy behind multi-node
//! `additional-settings` (YAML) and `env [...]` (DSL), applied at check time by both front ends
//! and again by every executor right before it hands an environment to a process.
//!
//! The rule is a hybrid: a name must be a shell identifier (`[A-Za-z_][A-Za-z0-9_]*`), and it
//! must not be one of the names (or prefixes) in [`DENIED`], each of which makes bash, the
//! dynamic loader, an interpreter or a launcher (Docker, Slurm, enroot, git) run something or
//! look programs up somewhere else. A setting must also not override a variable of `ix`'s own
//! contract ([`crate::exec::contract`]) or an `IX_*` name. Values are free text (they arrive as
//! environment values, byte for byte, and are never parsed by a shell), except NUL, which an
//! environment cannot carry.
//!
//! Pure: no IO. [`refusal_diag`] is the one message both front ends show. docs/SECURITY.md lists the rule with the reason for every entry.

use crate::diag::Diag;
use crate::exec::contract::{REQUIRED, REQUIRED_MULTINODE};
use crate::source::Span;

/// A name or a name prefix (`*` at the end) a config may not set, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeniedName {
    pub pattern: &'static str,
    pub reason: &'static str,
}

const fn deny(pattern: &'static str, reason: &'static str) -> DeniedName {
    DeniedName { pattern, reason }
}

/// Every name a config may not set. Patterns ending in `*` are prefixes.
pub const DENIED: &[DeniedName] = &[
    // bash and sh
    deny("BASH_ENV", "bash runs the file it names (after expanding `$(...)` in it) before every script"),
    deny("ENV", "sh and bash in POSIX mode run the file it names at startup"),
    deny("BASH_FUNC_*", "bash imports exported functions from these, which can replace any command"),
    deny("SHELLOPTS", "turns on shell options such as `xtrace` in every bash that starts"),
    deny("BASHOPTS", "turns on shell options in every bash that starts"),
    deny("PS4", "bash expands it (including `$(...)`) before every traced command"),
    deny("PS0", "bash expands it (including `$(...)`) in interactive shells"),
    deny("PS1", "bash expands it (including `$(...)`) in interactive shells"),
    deny("PS2", "bash expands it (including `$(...)`) in interactive shells"),
    deny("PS3", "bash expands it (including `$(...)`) in `select`"),
    deny("PROMPT_COMMAND", "bash runs it as a command in interactive shells"),
    deny("IFS", "changes how bash splits words, so script text parses differently"),
    deny("CDPATH", "changes which folder `cd` enters"),
    deny("GLOBIGNORE", "changes what globs match"),
    deny("EXECIGNORE", "changes which programs bash considers executable"),
    deny("BASH_XTRACEFD", "redirects trace output to any file descriptor"),
    deny("BASH_LOADABLES_PATH", "`enable -f` loads shared objects from these folders"),
    deny("BASH_COMPAT", "changes bash's parsing and expansion rules"),
    deny("POSIXLY_CORRECT", "changes how bash and coreutils parse their input"),
    deny("SHELL", "programs run it as the user's shell"),
    deny("HOME", "bash, git, pip and ssh read startup and configuration files (some of which run commands) under it"),
    deny("XDG_*", "programs read configuration files (git's can run commands) from these folders"),
    // program lookup
    deny("PATH", "decides which `bash` (and every other program) runs"),
    // the dynamic loader and libc
    deny("LD_*", "the dynamic loader loads or audits shared objects named by these"),
    deny("GCONV_PATH", "glibc loads character-set converters (shared objects) from it"),
    deny("GLIBC_TUNABLES", "changes glibc's behaviour at process start"),
    deny("LOCPATH", "glibc loads locale data from it"),
    deny("NLSPATH", "glibc loads message catalogs from it"),
    deny("HOSTALIASES", "changes how host names resolve"),
    deny("MALLOC_*", "changes glibc's allocator"),
    // interpreters
    deny("PYTHON*", "Python reads startup code, module paths and options from these"),
    deny("PERL5OPT", "Perl runs with these options (including `-M` module loads)"),
    deny("PERL5LIB", "Perl loads modules from these folders"),
    deny("PERLLIB", "Perl loads modules from these folders"),
    deny("PERL5DB", "Perl runs it as debugger code"),
    deny("RUBYOPT", "Ruby runs with these options (including `-r` requires)"),
    deny("RUBYLIB", "Ruby loads libraries from these folders"),
    deny("NODE_OPTIONS", "Node.js runs with these options (including `--require`)"),
    deny("NODE_PATH", "Node.js loads modules from these folders"),
    deny("JAVA_TOOL_OPTIONS", "every JVM runs with these options (including agents)"),
    deny("_JAVA_OPTIONS", "every JVM runs with these options (including agents)"),
    deny("JDK_JAVA_OPTIONS", "the `java` launcher runs with these options"),
    deny("CLASSPATH", "the JVM loads classes from it"),
    deny("LUA_INIT", "Lua runs it as code at startup"),
    deny("TCLLIBPATH", "Tcl loads packages from it"),
    // tools that run configured commands
    deny("GIT_*", "git runs commands named by several of these (`GIT_SSH_COMMAND`, `GIT_EXTERNAL_DIFF`, configs)"),
    deny("SSH_ASKPASS", "ssh runs the program it names"),
    deny("EDITOR", "programs run it as a command"),
    deny("VISUAL", "programs run it as a command"),
    deny("PAGER", "programs run it as a command"),
    deny("BROWSER", "programs run it as a command"),
    deny("PIP_*", "pip reads its index, its configuration and its build options from these"),
    deny("UV_*", "uv reads its index, its configuration and its build options from these"),
    // where code and weights are downloaded from, and whom TLS trusts
    deny("HF_*", "Hugging Face libraries download (and may run) models and code from where these point"),
    deny("http_proxy", "routes downloads (models, packages, code) through another server"),
    deny("https_proxy", "routes downloads (models, packages, code) through another server"),
    deny("HTTP_PROXY", "routes downloads (models, packages, code) through another server"),
    deny("HTTPS_PROXY", "routes downloads (models, packages, code) through another server"),
    deny("ALL_PROXY", "routes downloads (models, packages, code) through another server"),
    deny("all_proxy", "routes downloads (models, packages, code) through another server"),
    deny("SSL_CERT_FILE", "changes which TLS certificates are trusted"),
    deny("SSL_CERT_DIR", "changes which TLS certificates are trusted"),
    deny("REQUESTS_CA_BUNDLE", "changes which TLS certificates are trusted"),
    deny("CURL_CA_BUNDLE", "changes which TLS certificates are trusted"),
    deny("DOCKER_*", "the `docker` command reads its daemon, its configuration and credential helpers from these"),
    deny("ENROOT_*", "enroot reads its configuration (including hooks) from these"),
    deny("PYXIS_*", "pyxis reads its container options from these"),
    // Slurm's commands read their options from these
    deny("SBATCH_*", "`sbatch` reads its options from these (output files, containers, exported variables)"),
    deny("SALLOC_*", "`salloc` reads its options from these"),
    deny("SRUN_*", "`srun` reads its options from these (containers, exported variables)"),
    deny("SLURM_CONF", "Slurm's commands read their configuration (including prolog programs) from it"),
    deny("SLURM_PROLOG", "`srun` runs the program it names"),
    deny("SLURM_EPILOG", "`srun` runs the program it names"),
    deny("SLURM_TASK_PROLOG", "`srun` runs the program it names in every task"),
    deny("SLURM_TASK_EPILOG", "`srun` runs the program it names in every task"),
    deny("SLURM_TEST_EXEC", "`srun` checks programs through it"),
    deny("SLURM_CONTAINER", "`srun` runs the job in the OCI container it names"),
    deny("SLURM_EXPORT_ENV", "changes which variables `srun` passes to the job"),
    deny("SLURM_WORKING_DIR", "changes the folder `srun` runs the job in"),
];

/// Why a name or a setting is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The setting has no `=`.
    NotAssignment,
    /// The name is not `[A-Za-z_][A-Za-z0-9_]*`.
    NotIdentifier,
    /// The name makes a program run something (see the reason).
    Denied(DeniedName),
    /// The name is a variable `ix` itself sets for every task.
    Contract,
    /// The value holds a NUL byte, which no environment can carry.
    NulInValue,
    /// A [`PATH_SETTINGS`] value that is absolute or climbs out with `..`.
    PathOutside,
}

/// Settings whose value is a file the scripts open (an srtctl recipe, an eval config), relative
/// to the recipes folder: the value must stay inside it (relative, no `..` component), so a
/// config cannot pick a file outside the reviewed tree.
pub const PATH_SETTINGS: &[&str] = &["CONFIG_FILE", "EVAL_CONFIG_FILE"];

impl Refusal {
    /// Why, as a sentence fragment for a diagnostic's label.
    pub fn describe(&self) -> String {
        match self {
            Refusal::NotAssignment => "a setting is `NAME=value`".to_string(),
            Refusal::NotIdentifier => "a name is letters, digits and `_`, not starting with a digit".to_string(),
            Refusal::Denied(denied) => denied.reason.to_string(),
            Refusal::Contract => "`ix` sets this variable itself for every task".to_string(),
            Refusal::NulInValue => "an environment value cannot hold a NUL byte".to_string(),
            Refusal::PathOutside => "this file must be a relative path without `..`".to_string(),
        }
    }
}

/// The diagnostic for a refused setting `text` at `span`, in the front end's `code`; `what`
/// names the field (`` `additional-settings` `` or `` `env` ``). The name is quoted escaped
/// and cut to 60 characters; the value never is.
pub fn refusal_diag(code: &'static str, what: &str, text: &str, span: Span, refusal: Refusal) -> Diag {
    let message = match text.split_once('=') {
        Some((name, _)) if refusal == Refusal::PathOutside => {
            format!("{what} may not point `{}` outside the project", quote_short(name))
        }
        Some((name, _)) => format!("{what} may not set `{}`", quote_short(name)),
        None => format!("{what} entries must be `NAME=value`"),
    };
    Diag::error(code, message).at(span, refusal.describe()).help(
        "settings are variables for the benchmark script only; docs/SECURITY.md lists the names a config may not set",
    )
}

/// `text` with control characters escaped, cut to 60 characters.
fn quote_short(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped,
    }
}

/// Whether `name` is a shell identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The entry of [`DENIED`] that `name` matches, if any.
pub fn denied(name: &str) -> Option<DeniedName> {
    DENIED.iter().copied().find(|rule| match rule.pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == rule.pattern,
    })
}

/// Whether `name` is one of the variables `ix` sets for every task (the contract of §7.4/§8.1
/// and every `IX_*` name).
pub fn is_contract(name: &str) -> bool {
    name.starts_with("IX_")
        || REQUIRED.contains(&name)
        || REQUIRED_MULTINODE.contains(&name)
        || crate::contract::EVAL_VARS.contains(&name)
}

/// Checks a name any process may be handed: an identifier not in [`DENIED`]. Contract names
/// pass (the executors set them).
pub fn check_name(name: &str) -> Result<(), Refusal> {
    if !is_identifier(name) {
        return Err(Refusal::NotIdentifier);
    }
    match denied(name) {
        Some(rule) => Err(Refusal::Denied(rule)),
        None => Ok(()),
    }
}

/// A config setting `NAME=value` split at its first `=` and checked: the name passes
/// [`check_name`] and is not a contract name; the value holds no NUL.
pub fn check_setting(text: &str) -> Result<(&str, &str), Refusal> {
    let (name, value) = text.split_once('=').ok_or(Refusal::NotAssignment)?;
    check_name(name)?;
    if is_contract(name) {
        return Err(Refusal::Contract);
    }
    if value.contains('\0') {
        return Err(Refusal::NulInValue);
    }
    if PATH_SETTINGS.contains(&name) && (value.starts_with('/') || value.split('/').any(|part| part == "..")) {
        return Err(Refusal::PathOutside);
    }
    Ok((name, value))
}

/// The executor boundary: checks the whole environment a task is about to get. Every name must
/// pass [`check_name`], a contract name must appear once (so no setting overrides it; other
/// names may repeat, the last one wins as in the reference's exports), and no value may hold a
/// NUL. The error names the first offending variable.
pub fn check_task_env(env: &[(String, String)]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (name, value) in env {
        if let Err(refusal) = check_name(name) {
            return Err(format!("refusing to start a task with environment variable `{name}`: {}", refusal.describe()));
        }
        if !seen.insert(name.as_str()) && is_contract(name) {
            return Err(format!("refusing to start a task that sets environment variable `{name}` twice"));
        }
        if value.contains('\0') {
            return Err(format!("refusing to start a task: the value of `{name}` holds a NUL byte"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/SECURITY.md lists every denied name with its reason.
    #[test]
    fn security_md_lists_every_denied_name() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/SECURITY.md")).expect("doc");
        for rule in DENIED {
            let row = format!("| `{}` | {} |", rule.pattern, rule.reason);
            assert!(doc.contains(&row), "docs/SECURITY.md lacks the row: {row}");
        }
    }

    #[test]
    fn real_settings_pass() {
        for text in ["CONFIG_FILE=recipes/a.yaml", "PREFILL_NODES=1", "DECODE_MTP_SIZE=", "SLURM_PARTITION=x=y"] {
            assert!(check_setting(text).is_ok(), "{text}");
        }
        assert_eq!(check_setting("A=$(touch pwned)"), Ok(("A", "$(touch pwned)")));
    }

    #[test]
    fn each_class_is_refused_with_its_reason() {
        let refusal = |text: &str| check_setting(text).err();
        assert_eq!(refusal("no equals sign"), Some(Refusal::NotAssignment));
        for name in ["", "1A", "A-B", "A B", " A", "A\n", "BASH_FUNC_f%%", "Ä"] {
            assert_eq!(refusal(&format!("{name}=x")), Some(Refusal::NotIdentifier), "{name:?}");
        }
        for name in ["BASH_ENV", "ENV", "PATH", "LD_PRELOAD", "LD_AUDIT", "IFS", "PS4", "SHELLOPTS", "PYTHONPATH"] {
            assert!(matches!(refusal(&format!("{name}=x")), Some(Refusal::Denied(_))), "{name}");
        }
        for name in ["MODEL", "CONC_LIST", "RESULT_FILENAME", "IX_BIN", "IX_ANYTHING", "PORT"] {
            assert_eq!(refusal(&format!("{name}=x")), Some(Refusal::Contract), "{name}");
        }
        assert_eq!(refusal("A=x\0y"), Some(Refusal::NulInValue));
        for path in ["/etc/recipe.yaml", "../x.yaml", "a/../../b.yaml", ".."] {
            assert_eq!(refusal(&format!("CONFIG_FILE={path}")), Some(Refusal::PathOutside), "{path}");
        }
        assert!(check_setting("CONFIG_FILE=recipes/a..b/c.yaml").is_ok());
        assert!(check_setting("OTHER_FILE=/abs").is_ok());
        // Names that merely contain a denied word are fine.
        assert!(check_setting("MY_PATH=x").is_ok());
        assert!(check_setting("ENVIRONMENT=x").is_ok());
    }

    #[test]
    fn the_boundary_refuses_denied_names_and_duplicates() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
        };
        assert!(check_task_env(&env(&[("MODEL", "m"), ("IX_BIN", "/ix")])).is_ok());
        let error = check_task_env(&env(&[("MODEL", "m"), ("BASH_ENV", "$(id)")])).unwrap_err();
        assert!(error.contains("`BASH_ENV`"), "{error}");
        let error = check_task_env(&env(&[("MODEL", "m"), ("MODEL", "other")])).unwrap_err();
        assert!(error.contains("twice"), "{error}");
        // A setting repeated by prefill and decode is not a contract name: the last one wins.
        assert!(check_task_env(&env(&[("CONFIG_FILE", "a"), ("CONFIG_FILE", "b")])).is_ok());
        assert!(check_task_env(&env(&[("A B", "x")])).is_err());
    }
}
