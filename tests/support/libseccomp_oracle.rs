//! Test support: libseccomp as an oracle for palisade's seccomp compiler.
//!
//! Builds a filter from a Docker/OCI seccomp JSON profile the way moby and runc do
//! (moby `profiles/seccomp/seccomp_linux.go` `setupSeccomp`, then runc
//! `libcontainer/specconv` `SetupSeccomp` and `libcontainer/seccomp/seccomp_linux.go`
//! `InitSeccomp`/`matchCall`), with libseccomp 2.5 through the `libseccomp` crate, and
//! exports the BPF program that libseccomp would hand to the kernel. Tests run that
//! program through `palisade::seccomp::interp` and compare decisions with palisade's own.
//!
//! What is deliberately not reproduced: runc's `patchbpf` stub (which makes syscalls newer
//! than the profile return ENOSYS instead of the default action) and the load-time flags
//! (TSYNC, LOG, SPEC_ALLOW), none of which change the program libseccomp generates.
//!
//! Include it from an integration test with
//! `#[path = "support/libseccomp_oracle.rs"] mod libseccomp_oracle;`.
#![allow(dead_code)]

use std::io::{Read, Seek, SeekFrom};
use std::str::FromStr;

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use seccompiler::sock_filter;
use serde_json::{Map, Value};

/// EPERM: runc's errno for ERRNO and TRACE actions that carry no `errnoRet`.
const EPERM: i32 = 1;

/// The kernel the profile is evaluated for (`minKernel` comparisons): the machines here
/// run 6.18 (shared/REFERENCES.md).
pub const ASSUMED_KERNEL: (u32, u32) = (6, 18);

/// Docker's default capability set (moby `oci/caps/defaults.go`), in bounding-set form.
pub const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// How the container would be run: the machine's architecture and the bounding set.
#[derive(Debug, Clone)]
pub struct OracleOptions<'a> {
    /// The machine's architecture: "x86_64"/"amd64", "aarch64"/"arm64", "x86"/"i386",
    /// "arm", "ppc64le", "s390x", "riscv64", "loongarch64".
    pub native_arch: &'a str,
    /// The bounding capability set, "CAP_SYS_ADMIN" form ("SYS_ADMIN" is accepted too).
    pub caps: Vec<String>,
    /// Set SCMP_FLTATR_CTL_OPTIMIZE=2 (binary tree), as runc does for > 32 syscall rules.
    pub binary_tree: bool,
}

impl<'a> OracleOptions<'a> {
    /// Docker's defaults on `native_arch`: the default capability set, linear filter.
    pub fn docker_defaults(native_arch: &'a str) -> Self {
        OracleOptions { native_arch, caps: DOCKER_DEFAULT_CAPS.iter().map(|c| c.to_string()).collect(), binary_tree: false }
    }
}

/// An architecture as moby names it (`goToNative`) and as libseccomp names it.
struct ArchNames {
    moby: &'static str,
    scmp: &'static str,
}

fn arch_names(native_arch: &str) -> Result<ArchNames, String> {
    let (moby, scmp) = match native_arch {
        "x86_64" | "amd64" => ("amd64", "SCMP_ARCH_X86_64"),
        "x86" | "i386" | "i686" | "386" => ("x86", "SCMP_ARCH_X86"),
        "aarch64" | "arm64" => ("arm64", "SCMP_ARCH_AARCH64"),
        "arm" => ("arm", "SCMP_ARCH_ARM"),
        "ppc64le" => ("ppc64le", "SCMP_ARCH_PPC64LE"),
        "s390x" => ("s390x", "SCMP_ARCH_S390X"),
        "riscv64" => ("riscv64", "SCMP_ARCH_RISCV64"),
        "loongarch64" | "loong64" => ("loongarch64", "SCMP_ARCH_LOONGARCH64"),
        other => return Err(format!("native architecture `{other}` is not known to the oracle")),
    };
    Ok(ArchNames { moby, scmp })
}

/// Compiles `json` with libseccomp as moby + runc would; panics with the reason on failure.
pub fn compile_docker_profile(json: &str, opts: &OracleOptions<'_>) -> Vec<sock_filter> {
    try_compile_docker_profile(json, opts).unwrap_or_else(|e| panic!("libseccomp oracle: {e}"))
}

/// Compiles `json` with libseccomp as moby + runc would.
pub fn try_compile_docker_profile(json: &str, opts: &OracleOptions<'_>) -> Result<Vec<sock_filter>, String> {
    let profile: Value = serde_json::from_str(json).map_err(|e| format!("profile is not JSON: {e}"))?;
    let profile = profile.as_object().ok_or("profile is not a JSON object")?;
    let native = arch_names(opts.native_arch)?;
    let caps: Vec<String> = opts
        .caps
        .iter()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect();

    // --- moby setupSeccomp ---
    let default_action = opt_str(profile, "defaultAction")?.unwrap_or("");
    let syscalls = opt_array(profile, "syscalls")?;
    if default_action.is_empty() && syscalls.is_empty() {
        return Err("profile has no defaultAction and no syscalls: moby disables seccomp".into());
    }
    let architectures = string_list(profile, "architectures")?;
    let arch_map = opt_array(profile, "archMap")?;
    if !architectures.is_empty() && !arch_map.is_empty() {
        return Err("both 'architectures' and 'archMap' are specified".into());
    }
    let mut arches = architectures;
    for entry in arch_map {
        let entry = entry.as_object().ok_or("archMap entry is not an object")?;
        if opt_str(entry, "architecture")? == Some(native.scmp) {
            arches.push(native.scmp.to_string());
            arches.extend(string_list(entry, "subArchitectures")?);
            break;
        }
    }

    let mut rules = Vec::new(); // runc's per-name configs.Syscall list
    for call in syscalls {
        let call = call.as_object().ok_or("syscalls entry is not an object")?;
        let mut names = string_list(call, "names")?;
        if let Some(name) = opt_str(call, "name")?.filter(|n| !n.is_empty()) {
            if !names.is_empty() {
                return Err("both 'name' and 'names' are specified".into());
            }
            names = vec![name.to_string()];
        }
        if !selected(call, native.moby, &caps)? {
            continue;
        }
        // --- runc specconv: one rule per name ---
        let action = opt_str(call, "action")?.unwrap_or("");
        let errno_ret = opt_u64(call, "errnoRet")?;
        let mut args = Vec::new();
        for arg in opt_array(call, "args")? {
            let arg = arg.as_object().ok_or("args entry is not an object")?;
            args.push(Arg {
                index: opt_u64(arg, "index")?.unwrap_or(0),
                value: opt_u64(arg, "value")?.unwrap_or(0),
                value_two: opt_u64(arg, "valueTwo")?.unwrap_or(0),
                op: opt_str(arg, "op")?.unwrap_or("").to_string(),
            });
        }
        for name in names {
            rules.push(Rule { name, action: action.to_string(), errno_ret, args: args.clone() });
        }
    }

    // --- runc InitSeccomp ---
    let default_errno = opt_u64(profile, "defaultErrnoRet")?;
    let default = action_of(default_action, default_errno)?;
    if default == ScmpAction::Notify {
        return Err("SCMP_ACT_NOTIFY cannot be the default action".into());
    }
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| format!("seccomp_init: {e}"))?;
    let host = ScmpArch::native();
    let target = ScmpArch::from_str(native.scmp).map_err(|e| e.to_string())?;
    if target != host {
        // Stand in for the other machine: its arch first, then drop ours. libseccomp
        // translates rule syscall numbers by name, so resolving on the host stays right.
        ctx.add_arch(target).map_err(|e| format!("adding {}: {e}", native.scmp))?;
        ctx.remove_arch(host).map_err(|e| format!("removing host arch: {e}"))?;
    }
    for name in &arches {
        // Only the architectures this libseccomp knows (the crate's names; 2.5.4 lacks
        // some, e.g. LoongArch, and refuses them with EINVAL).
        let Ok(arch) = ScmpArch::from_str(name) else {
            continue;
        };
        match ctx.add_arch(arch) {
            Ok(_) => {}
            Err(e) if e.errno() == Some(libseccomp::error::SeccompErrno::EINVAL) => {}
            Err(e) => return Err(format!("adding {name}: {e}")),
        }
    }
    if opts.binary_tree {
        ctx.set_ctl_optimize(2).map_err(|e| format!("SCMP_FLTATR_CTL_OPTIMIZE: {e}"))?;
    }
    ctx.set_ctl_nnp(false).map_err(|e| format!("SCMP_FLTATR_CTL_NNP: {e}"))?;
    for rule in &rules {
        add_rule(&mut ctx, rule, default)?;
    }
    export(&ctx)
}

#[derive(Debug, Clone)]
struct Arg {
    index: u64,
    value: u64,
    value_two: u64,
    op: String,
}

#[derive(Debug)]
struct Rule {
    name: String,
    action: String,
    errno_ret: Option<u64>,
    args: Vec<Arg>,
}

/// moby's includes/excludes filter for the running machine and bounding set.
fn selected(call: &Map<String, Value>, moby_arch: &str, caps: &[String]) -> Result<bool, String> {
    if let Some(ex) = opt_object(call, "excludes")? {
        if string_list(ex, "arches")?.iter().any(|a| a == moby_arch) {
            return Ok(false);
        }
        if string_list(ex, "caps")?.iter().any(|c| caps.contains(c)) {
            return Ok(false);
        }
        if let Some(v) = opt_str(ex, "minKernel")? {
            if kernel_at_least(v)? {
                return Ok(false);
            }
        }
    }
    if let Some(inc) = opt_object(call, "includes")? {
        let arches = string_list(inc, "arches")?;
        if !arches.is_empty() && !arches.iter().any(|a| a == moby_arch) {
            return Ok(false);
        }
        if !string_list(inc, "caps")?.iter().all(|c| caps.contains(c)) {
            return Ok(false);
        }
        if let Some(v) = opt_str(inc, "minKernel")? {
            if !kernel_at_least(v)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// `minKernel` ("4.8", "5.10.0-rc1") against [`ASSUMED_KERNEL`], by major.minor.
fn kernel_at_least(v: &str) -> Result<bool, String> {
    let mut parts = v.split(['.', '-']);
    let mut num =
        || -> Result<u32, String> { parts.next().unwrap_or("0").parse().map_err(|_| format!("minKernel `{v}` is not a kernel version")) };
    let (major, minor) = (num()?, num()?);
    Ok((major, minor) <= ASSUMED_KERNEL)
}

/// runc `getAction`: KILL is KILL_THREAD; ERRNO and TRACE take the rule's errnoRet or EPERM
/// (runc does not apply defaultErrnoRet to rules, only to the default action).
fn action_of(name: &str, errno_ret: Option<u64>) -> Result<ScmpAction, String> {
    // Go truncates with int16(); SCMP_ACT_ERRNO keeps the low 16 bits.
    let code = |v: Option<u64>| v.map_or(EPERM, |v| v as u16 as i32);
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => ScmpAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => ScmpAction::KillProcess,
        "SCMP_ACT_ERRNO" => ScmpAction::Errno(code(errno_ret)),
        "SCMP_ACT_TRAP" => ScmpAction::Trap,
        "SCMP_ACT_ALLOW" => ScmpAction::Allow,
        "SCMP_ACT_TRACE" => ScmpAction::Trace(code(errno_ret) as u16),
        "SCMP_ACT_LOG" => ScmpAction::Log,
        "SCMP_ACT_NOTIFY" => ScmpAction::Notify,
        other => return Err(format!("unknown seccomp action `{other}`")),
    })
}

fn compare_op(op: &str, value_two_mask: u64) -> Result<ScmpCompareOp, String> {
    Ok(match op {
        "SCMP_CMP_NE" => ScmpCompareOp::NotEqual,
        "SCMP_CMP_LT" => ScmpCompareOp::Less,
        "SCMP_CMP_LE" => ScmpCompareOp::LessOrEqual,
        "SCMP_CMP_EQ" => ScmpCompareOp::Equal,
        "SCMP_CMP_GE" => ScmpCompareOp::GreaterEqual,
        "SCMP_CMP_GT" => ScmpCompareOp::Greater,
        "SCMP_CMP_MASKED_EQ" => ScmpCompareOp::MaskedEqual(value_two_mask),
        other => return Err(format!("unknown seccomp operator `{other}`")),
    })
}

/// runc `matchCall`.
fn add_rule(ctx: &mut ScmpFilterContext, rule: &Rule, default: ScmpAction) -> Result<(), String> {
    if rule.name.is_empty() {
        return Err("empty string is not a valid syscall".into());
    }
    let action = action_of(&rule.action, rule.errno_ret)?;
    if action == default {
        // Redundant with the default action: libseccomp would refuse it (EACCES).
        return Ok(());
    }
    // Names this libseccomp cannot resolve are skipped, as runc does.
    let Ok(syscall) = ScmpSyscall::from_name(&rule.name) else {
        return Ok(());
    };
    let ctx_err = |e: libseccomp::error::SeccompError| format!("adding rule for `{}`: {e}", rule.name);
    if rule.args.is_empty() {
        ctx.add_rule(action, syscall).map_err(ctx_err)?;
        return Ok(());
    }
    let mut per_index = [0usize; 6];
    let mut conds = Vec::new();
    for arg in &rule.args {
        if arg.index > 5 {
            return Err(format!("`{}`: argument index {} is out of range", rule.name, arg.index));
        }
        per_index[arg.index as usize] += 1;
        // MASKED_EQ: value is the mask, valueTwo the datum (libseccomp's datum_a/datum_b).
        let cond = match compare_op(&arg.op, arg.value)? {
            op @ ScmpCompareOp::MaskedEqual(_) => ScmpArgCompare::new(arg.index as u32, op, arg.value_two),
            op => ScmpArgCompare::new(arg.index as u32, op, arg.value),
        };
        conds.push(cond);
    }
    if per_index.iter().any(|&n| n > 1) {
        // runc's "old behaviour": two conditions on one argument become separate rules (OR).
        for cond in conds {
            ctx.add_rule_conditional(action, syscall, &[cond]).map_err(ctx_err)?;
        }
    } else {
        // Conditions on distinct arguments are ANDed in one rule.
        ctx.add_rule_conditional(action, syscall, &conds).map_err(ctx_err)?;
    }
    Ok(())
}

/// `seccomp_export_bpf` into an anonymous file, parsed as 8-byte `struct sock_filter`
/// records in the host's byte order (little-endian here).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<sock_filter>, String> {
    let mut file = tempfile::tempfile().map_err(|e| format!("temporary file: {e}"))?;
    ctx.export_bpf(&file).map_err(|e| format!("seccomp_export_bpf: {e}"))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_end(&mut bytes)).map_err(|e| format!("reading the exported BPF: {e}"))?;
    if bytes.len() % 8 != 0 {
        return Err(format!("exported BPF is {} bytes, not a whole number of instructions", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|r| sock_filter {
            code: u16::from_le_bytes([r[0], r[1]]),
            jt: r[2],
            jf: r[3],
            k: u32::from_le_bytes([r[4], r[5], r[6], r[7]]),
        })
        .collect())
}

// --- JSON access with Go's encoding/json rules: keys match case-insensitively (exact
// match preferred), and null is the same as absent. ---

fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)).filter(|v| !v.is_null())
}

fn opt_str<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<Option<&'v str>, String> {
    field(obj, key).map(|v| v.as_str().ok_or_else(|| format!("`{key}` is not a string"))).transpose()
}

fn opt_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    field(obj, key).map(|v| v.as_u64().ok_or_else(|| format!("`{key}` is not an unsigned integer"))).transpose()
}

fn opt_array<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v [Value], String> {
    match field(obj, key) {
        None => Ok(&[]),
        Some(v) => v.as_array().map(Vec::as_slice).ok_or_else(|| format!("`{key}` is not an array")),
    }
}

fn opt_object<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<Option<&'v Map<String, Value>>, String> {
    field(obj, key).map(|v| v.as_object().ok_or_else(|| format!("`{key}` is not an object"))).transpose()
}

fn string_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    opt_array(obj, key)?.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` has a non-string entry"))).collect()
}

/// libseccomp's name for one of palisade's architectures.
pub fn scmp_arch(arch: palisade::seccomp::arch::Arch) -> ScmpArch {
    use palisade::seccomp::arch::Arch;
    match arch {
        Arch::X86_64 => ScmpArch::X8664,
        Arch::X86 => ScmpArch::X86,
        Arch::X32 => ScmpArch::X32,
        Arch::Aarch64 => ScmpArch::Aarch64,
    }
}

/// Whether libseccomp resolves `name` on `arch`. libseccomp 2.5.4 predates the newest syscalls,
/// and moby skips names it cannot resolve, so those fall to the default action there.
pub fn knows(arch: palisade::seccomp::arch::Arch, name: &str) -> bool {
    ScmpSyscall::from_name_by_arch(name, scmp_arch(arch)).is_ok_and(|s| i32::from(s) >= 0)
}
