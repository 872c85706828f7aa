//! Docker/OCI seccomp JSON → palisade policy TOML, meaning-preserving: the imported policy makes
//! the same decision as libseccomp on the original profile for every syscall and argument
//! (tests/policy_import.rs proves it for moby's default.json).
//!
//! Mapping: unconditional, ungated `SCMP_ACT_ALLOW` entries become the `allow` list; every
//! other entry becomes a `[[seccomp.rule]]` in file order (conditions keep Docker's 64-bit
//! width, written `argN:64` where palisade would otherwise compare 32 bits); `includes/excludes`
//! caps become `if_capability`/`unless_capability`, arches become `arches`; `minKernel` is taken
//! as satisfied (palisade requires a kernel newer than any minKernel in use) and noted.

use super::action::Action;
use super::arch::{self, Arch};
use super::condition::{is_int_parameter, Op};
use super::json::{arch_from_docker, parse_scmp_action, parse_scmp_op, JsonError, Profile, SyscallEntry};

/// Docker's default capability set (moby oci/caps/defaults.go).
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// The result of an import: the policy text and what could not be carried over exactly.
pub struct Imported {
    pub toml: String,
    pub notes: Vec<String>,
}

/// Converts a profile. `caps` is the capability set written into the policy, against which
/// capability-gated entries are evaluated.
pub fn import(profile: &Profile, name: &str, caps: &[String]) -> Result<Imported, JsonError> {
    let mut notes = Vec::new();
    let mut out = String::new();
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    out += &format!("# Imported by `palisade policy import` from a Docker/OCI seccomp profile.\n[policy]\nname = {}\n\n", q(name));
    out += "[capabilities]\n# Capability-gated entries of the profile are evaluated against this set.\n";
    out += &format!("keep = [{}]\n\n", caps.iter().map(|c| q(c)).collect::<Vec<_>>().join(", "));

    let default = parse_scmp_action(&profile.default_action, profile.default_errno_ret, profile.default_errno_ret)?;
    let (arches, unknown_arches) = super::json::profile_arches(profile);
    if !unknown_arches.is_empty() {
        notes.push(format!(
            "architectures palisade has no tables for are left out, so their syscalls are killed: {}",
            unknown_arches.join(", ")
        ));
    }
    out += "[seccomp]\n";
    out += &format!("default_action = {}\n", q(&default.to_string()));
    if !arches.is_empty() {
        out += &format!("architectures = [{}]\n", arches.iter().map(|a| q(a.name())).collect::<Vec<_>>().join(", "));
    }

    let mut allow: Vec<String> = Vec::new();
    let mut rules = String::new();
    for entry in &profile.syscalls {
        let names = entry_names(entry, &mut notes);
        if names.is_empty() {
            continue;
        }
        let action = parse_scmp_action(&entry.action, entry.errno_ret, None)?;
        if action == Action::Allow && entry.args.is_empty() && gating_is_empty(entry) {
            allow.extend(names);
            continue;
        }
        rules += &rule_text(entry, &names, action, &mut notes)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    allow.retain(|n| seen.insert(n.clone()));
    out += "allow = [\n";
    for chunk in allow.chunks(6) {
        out += &format!("    {},\n", chunk.iter().map(|n| q(n)).collect::<Vec<_>>().join(", "));
    }
    out += "]\n";
    out += &rules;
    Ok(Imported { toml: out, notes })
}

fn gating_is_empty(entry: &SyscallEntry) -> bool {
    entry.includes.arches.is_empty() && entry.includes.caps.is_empty() && entry.excludes.arches.is_empty() && entry.excludes.caps.is_empty()
}

fn entry_names(entry: &SyscallEntry, notes: &mut Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = entry.names.clone();
    names.extend(entry.name.clone());
    let (known, unknown): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| arch::known_syscall(n));
    if !unknown.is_empty() {
        notes.push(format!("syscalls palisade does not know are left out (libseccomp skips them too): {}", unknown.join(", ")));
    }
    known
}

fn rule_text(entry: &SyscallEntry, names: &[String], action: Action, notes: &mut Vec<String>) -> Result<String, JsonError> {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut text = String::from("\n[[seccomp.rule]]\n");
    text += &format!("syscalls = [{}]\n", names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", "));
    text += &format!("action = {}\n", q(&action.to_string()));
    if !entry.args.is_empty() {
        let mut conds = Vec::new();
        for arg in &entry.args {
            let (op, value) = parse_scmp_op(arg)?;
            // Keep Docker's 64-bit width where palisade would infer 32 bits for this parameter.
            let index = arg.index as u8;
            let width = if names.iter().any(|n| is_int_parameter(n, index)) { ":64" } else { "" };
            let cond = match op {
                Op::MaskedEq(mask) => format!("arg{index}{width} & {mask:#x} == {value:#x}"),
                op => format!("arg{index}{width} {} {value:#x}", op_symbol(op)),
            };
            conds.push(q(&cond));
        }
        text += &format!("when = [{}]\n", conds.join(", "));
    }
    for (list, field) in [(&entry.includes.caps, "if_capability"), (&entry.excludes.caps, "unless_capability")] {
        if list.len() > 1 {
            // A rule names one capability; Docker's default profile never gates on more.
            return Err(JsonError::Unrepresentable {
                syscall: names.join(", "),
                condition: format!("{field} on several capabilities: {}", list.join(", ")),
            });
        }
        if let Some(cap) = list.first() {
            text += &format!("{field} = {}\n", q(cap.trim_start_matches("CAP_")));
        }
    }
    if !entry.includes.arches.is_empty() || !entry.excludes.arches.is_empty() {
        let included: Vec<Arch> = if entry.includes.arches.is_empty() {
            Arch::ALL.to_vec()
        } else {
            entry.includes.arches.iter().flat_map(|a| host_family(a)).collect()
        };
        let excluded: Vec<Arch> = entry.excludes.arches.iter().flat_map(|a| host_family(a)).collect();
        let arches: Vec<Arch> = Arch::ALL.into_iter().filter(|a| included.contains(a) && !excluded.contains(a)).collect();
        if arches.is_empty() {
            // The entry applies to no architecture palisade knows: leave it out entirely.
            return Ok(String::new());
        }
        text += &format!("arches = [{}]\n", arches.iter().map(|a| q(a.name())).collect::<Vec<_>>().join(", "));
    }
    if let Some(k) = &entry.includes.min_kernel {
        notes.push(format!("minKernel {k} on {} is taken as satisfied", names.join(", ")));
    }
    let reason = entry.comment.clone().unwrap_or_else(|| "imported from the Docker profile".to_string());
    text += &format!("reason = {}\n", q(&reason));
    Ok(text)
}

/// moby matches `includes.arches` against the *host's* architecture and then adds the rule for
/// every architecture of the filter: on an amd64 host an `amd64` entry reaches x86_64, x86 and
/// x32 syscalls alike. So a Docker host name stands for its whole filter family here.
fn host_family(docker_name: &str) -> Vec<Arch> {
    match arch_from_docker(docker_name) {
        Some(Arch::X86_64) => vec![Arch::X86_64, Arch::X86, Arch::X32],
        Some(Arch::Aarch64) => vec![Arch::Aarch64],
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

fn op_symbol(op: Op) -> &'static str {
    match op {
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::MaskedEq(_) => "&",
    }
}
