//! `--emit oci`: the policy as an OCI runtime-spec (1.0.2) `config.json` that runc and crun
//! accept as-is for a bundle whose root filesystem is `rootfs/` next to the file.
//!
//! What the format cannot carry is reported, never dropped silently: Landlock (`oci-no-landlock`:
//! no OCI field; palisade's own runtime enforces it), egress allow-lists (`oci-no-egress`),
//! bridge setup (`oci-network-setup`), and architectures whose seccomp decisions differ from the
//! primary one (`oci-seccomp-arch-dropped`: left out, so they are killed — stricter, never looser).
//!
//! # AppArmor and SELinux labels
//! `process.apparmorProfile`, `process.selinuxLabel` and `linux.mountLabel` are written for the
//! LSMs of the target host (`EmitOptions::lsm`; the CLI's `--lsm auto` reads the host it runs
//! on), because runc refuses a config naming an LSM the host has not enabled (runc 1.1.5:
//! "selinux label is specified in config, but selinux is disabled or not supported"; "write
//! /proc/self/attr/exec: invalid argument" for AppArmor), and no host enables both. A label left
//! out means that LSM does not confine the workload: the `oci-lsm-omitted` warning says so,
//! every time. The library default targets both (complete, fails closed on a host lacking one).

use super::{apparmor, selinux, CompileError, EmitOptions, Plan};
use crate::diag::Diagnostic;
use crate::policy::model::{AppArmorProfile, NetworkMode, Policy, User};
use crate::seccomp::arch::Arch;
use crate::seccomp::json::{self, Profile};
use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilities, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, LinuxSeccomp,
    Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

/// The PATH a process gets unless the policy sets one: what `runc spec` and Docker use.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The CFS period the CPU quota is expressed in (100 ms, the kernel's default period).
const CPU_PERIOD_US: u64 = 100_000;

/// The `config.json` for the plan. `options.args` is the process (default `/bin/sh`);
/// `options.arch` the ABI the seccomp profile is written for (default: the host's).
pub fn spec(plan: &Plan, options: &EmitOptions, notes: &mut Vec<Diagnostic>) -> Result<Spec, CompileError> {
    let policy = &plan.policy;
    let emit_error = |message: String| CompileError::Emit { policy: policy.name.clone(), kind: "oci", message };
    let built = |e: oci_spec::OciSpecError| emit_error(format!("building the runtime spec: {e}"));

    let mut process = ProcessBuilder::default()
        .terminal(false)
        .args(if options.args.is_empty() { vec!["/bin/sh".to_string()] } else { options.args.clone() })
        .env(environment(policy))
        .cwd("/")
        .user(user(policy, notes).map_err(emit_error)?)
        .capabilities(capabilities(policy).map_err(emit_error)?)
        .no_new_privileges(policy.process.no_new_privileges.value)
        .build()
        .map_err(built)?;
    // The builder starts from `Process::default()`, which carries youki's nofile=1024 and a
    // TERM variable: set exactly what the policy says.
    process.set_rlimits(Some(rlimits(policy).map_err(emit_error)?));
    process.set_oom_score_adj(None);
    let apparmor_profile = match &policy.apparmor.profile.value {
        AppArmorProfile::Generate => Some(apparmor::profile_name(policy)),
        AppArmorProfile::Named(name) => Some(name.clone()),
        AppArmorProfile::Unconfined => None,
    };
    let labels = selinux::labels(policy);
    let mut omitted = Vec::new();
    if options.lsm.apparmor() {
        process.set_apparmor_profile(apparmor_profile);
    } else if let Some(profile) = apparmor_profile {
        omitted.push(format!("AppArmor (profile `{profile}`)"));
    }
    if options.lsm.selinux() {
        process.set_selinux_label(Some(labels.process.clone()));
    } else {
        omitted.push(format!("SELinux (label `{}`)", labels.process));
    }
    if !omitted.is_empty() {
        notes.push(
            Diagnostic::warning(
                "oci-lsm-omitted",
                format!(
                    "the target host does not enforce {}: its label is left out of the config, so it does not confine the workload there",
                    omitted.join(" or ")
                ),
            )
            .with_hint("choose the target's LSMs with --lsm all|apparmor|selinux|none"),
        );
    }
    lsm_notes(policy, &process, notes);

    let arch = options.arch.or_else(Arch::host).unwrap_or(Arch::X86_64);
    let mut linux = LinuxBuilder::default()
        .namespaces(
            namespaces(policy)
                .into_iter()
                .map(|typ| LinuxNamespaceBuilder::default().typ(typ).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(built)?,
        )
        .masked_paths(policy.filesystem.masked_paths.iter().map(|i| i.name.clone()).collect::<Vec<_>>())
        .readonly_paths(policy.filesystem.readonly_paths.iter().map(|i| i.name.clone()).collect::<Vec<_>>())
        .resources(resources(policy).map_err(built)?)
        .seccomp(seccomp(plan, arch, notes)?)
        .build()
        .map_err(built)?;
    if options.lsm.selinux() {
        linux.set_mount_label(Some(labels.mount));
    }
    // `Linux::default()` fills in youki's sysctls and devices; the policy sets none.
    linux.set_sysctl(None);
    linux.set_devices(None);

    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(RootBuilder::default().path("rootfs").readonly(policy.filesystem.read_only_root.value).build().map_err(built)?)
        .hostname("palisade")
        .mounts(mounts(policy).map_err(built)?)
        .process(process)
        .linux(linux)
        .build()
        .map_err(built)?;
    spec.set_annotations(None);
    spec.set_domainname(None);
    spec.set_hooks(None);

    if policy.filesystem.landlock.enabled() {
        notes.push(Diagnostic::warning(
            "oci-no-landlock",
            "the OCI runtime spec has no Landlock field: runc and crun will not enforce filesystem.landlock (palisade's own runtime does)",
        ));
    }
    if policy.network.egress.is_some() {
        notes.push(Diagnostic::warning(
            "oci-no-egress",
            "the OCI runtime spec cannot express network.egress: add the allow-list as firewall rules of the container's network namespace (palisade's own runtime does)",
        ));
    }
    if policy.network.mode.value == NetworkMode::Bridge {
        notes.push(Diagnostic::warning(
            "oci-network-setup",
            "network mode bridge: the config creates a network namespace with only loopback; connect it with a CNI plugin or a createRuntime hook",
        ));
    }
    Ok(spec)
}

/// [`spec`] as pretty JSON with a trailing newline, the same on every run: capability lists
/// are sorted (oci-spec keeps them in a `HashSet`), and the document goes through a JSON value,
/// whose keys serde_json keeps sorted.
pub fn emit(plan: &Plan, options: &EmitOptions, notes: &mut Vec<Diagnostic>) -> Result<String, CompileError> {
    let spec = spec(plan, options, notes)?;
    let mut value = serde_json::to_value(&spec).map_err(|e| CompileError::Emit {
        policy: plan.policy.name.clone(),
        kind: "oci",
        message: e.to_string(),
    })?;
    if let Some(caps) = value.pointer_mut("/process/capabilities").and_then(serde_json::Value::as_object_mut) {
        for set in caps.values_mut() {
            if let Some(list) = set.as_array_mut() {
                list.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    Ok(serde_json::to_string_pretty(&value).expect("a JSON value serializes") + "\n")
}

/// PATH first (unless the policy sets its own), then the policy's variables in name order.
fn environment(policy: &Policy) -> Vec<String> {
    let env = &policy.process.env;
    let path = (!env.contains_key("PATH")).then(|| format!("PATH={DEFAULT_PATH}"));
    path.into_iter().chain(env.iter().map(|(k, v)| format!("{k}={}", v.value))).collect()
}

/// The process's numeric identity. The OCI spec has no user names: a runtime does not read the
/// image's /etc/passwd, so a name cannot be honoured and is an error rather than a guess.
fn user(policy: &Policy, notes: &mut Vec<Diagnostic>) -> Result<oci_spec::runtime::User, String> {
    let (uid, gid) = match policy.process.user.as_ref().map(|s| &s.value) {
        None => (0, 0),
        Some(User::Id { uid, gid: Some(gid) }) => (*uid, *gid),
        Some(User::Id { uid, gid: None }) => {
            // Docker would look the group up in the image, falling back to gid 0 (the root
            // group, which owns files root-group-writable); OCI cannot look it up, and the
            // user's own number is the unprivileged guess.
            notes.push(Diagnostic::warning(
                "oci-user-gid",
                format!("process.user `{uid}` names no group: the config uses gid {uid}; write \"{uid}:GID\" to choose"),
            ));
            (*uid, *uid)
        }
        Some(User::Name(name)) => {
            return Err(format!("process.user `{name}` is a name, but an OCI config needs numeric ids (runtimes do not read the image's /etc/passwd): write \"UID:GID\""));
        }
    };
    if uid == 0 && policy.process.run_as_non_root.value {
        return Err(
            "process.run_as_non_root is set but the process would run as uid 0: set process.user to a non-root \"UID:GID\"".to_string()
        );
    }
    let mut builder = UserBuilder::default().uid(uid).gid(gid);
    if !policy.process.groups.value.is_empty() {
        builder = builder.additional_gids(policy.process.groups.value.clone());
    }
    builder.build().map_err(|e| e.to_string())
}

/// The kept capabilities in each set.
///
/// - bounding, permitted, effective: the kept set; everything else is gone for good.
/// - ambient: the kept set only for a non-root user. On execve(2) a non-root process without
///   file capabilities loses its permitted and effective sets; the ambient set is what carries
///   capabilities across exec (capabilities(7)). Root needs none: its execve gets the bounding
///   set as permitted, and an ambient set would only make the kept capabilities survive a
///   later change to a non-root uid, which the policy did not ask for.
/// - inheritable: empty for root, as runc and Docker do since CVE-2022-29162 (a non-empty
///   inheritable set lets binaries with inheritable file capabilities raise them on exec).
///   For a non-root user with kept capabilities it must equal the ambient set: the kernel only
///   raises an ambient capability that is both permitted and inheritable (PR_CAP_AMBIENT_RAISE,
///   capabilities(7)), and runc silently skips the ones it cannot raise (checked with runc
///   1.1.5: CapAmb stays 0). It reopens nothing: every execve already grants the ambient set,
///   so file inheritable bits can only yield capabilities the process holds anyway.
fn capabilities(policy: &Policy) -> Result<LinuxCapabilities, String> {
    let kept: Capabilities = policy
        .capabilities
        .kept
        .keys()
        .map(|cap| {
            serde_json::from_value::<Capability>(serde_json::Value::String(cap.to_string()))
                .map_err(|_| format!("capability {cap} is unknown to the OCI runtime spec"))
        })
        .collect::<Result<_, _>>()?;
    let non_root = policy.process.user.as_ref().is_some_and(|u| !u.value.is_root());
    let carried = if non_root { kept.clone() } else { Capabilities::new() };
    LinuxCapabilitiesBuilder::default()
        .bounding(kept.clone())
        .effective(kept.clone())
        .permitted(kept)
        .inheritable(carried.clone())
        .ambient(carried)
        .build()
        .map_err(|e| e.to_string())
}

/// `policy.process.rlimits` as POSIX rlimits, in name order.
fn rlimits(policy: &Policy) -> Result<Vec<PosixRlimit>, String> {
    policy
        .process
        .rlimits
        .iter()
        .map(|(name, limit)| {
            let typ = rlimit_type(name).ok_or_else(|| format!("rlimit `{name}` has no OCI name"))?;
            PosixRlimitBuilder::default().typ(typ).soft(limit.value.soft).hard(limit.value.hard).build().map_err(|e| e.to_string())
        })
        .collect()
}

fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    Some(match name {
        "as" => PosixRlimitType::RlimitAs,
        "core" => PosixRlimitType::RlimitCore,
        "cpu" => PosixRlimitType::RlimitCpu,
        "data" => PosixRlimitType::RlimitData,
        "fsize" => PosixRlimitType::RlimitFsize,
        "locks" => PosixRlimitType::RlimitLocks,
        "memlock" => PosixRlimitType::RlimitMemlock,
        "msgqueue" => PosixRlimitType::RlimitMsgqueue,
        "nice" => PosixRlimitType::RlimitNice,
        "nofile" => PosixRlimitType::RlimitNofile,
        "nproc" => PosixRlimitType::RlimitNproc,
        "rss" => PosixRlimitType::RlimitRss,
        "rtprio" => PosixRlimitType::RlimitRtprio,
        "rttime" => PosixRlimitType::RlimitRttime,
        "sigpending" => PosixRlimitType::RlimitSigpending,
        "stack" => PosixRlimitType::RlimitStack,
        _ => return None,
    })
}

/// Notes on the labels that are written: the AppArmor profile must be loaded on the host, and
/// an "auto" SELinux level becomes one fixed category pair in a file.
fn lsm_notes(policy: &Policy, process: &oci_spec::runtime::Process, notes: &mut Vec<Diagnostic>) {
    if let Some(profile) = process.apparmor_profile() {
        notes.push(Diagnostic::warning(
            "oci-apparmor-load",
            format!("process.apparmorProfile is `{profile}`: load it on the host first (`palisade policy compile POLICY --emit apparmor | apparmor_parser -r`), or runc refuses to start"),
        ));
    }
    if process.selinux_label().is_some() && policy.selinux.level.value.is_none() {
        notes.push(Diagnostic::warning(
            "oci-selinux-static-level",
            "selinux.level is \"auto\" (unique MCS categories per container), but a config file holds one label: every container started from it shares the categories, so SELinux does not separate them from each other",
        ));
    }
}

/// The namespaces the workload gets: all but user and time, and the network one unless the
/// policy shares the host's. Mode `none` is a new namespace with nothing but loopback.
fn namespaces(policy: &Policy) -> Vec<LinuxNamespaceType> {
    let mut out = vec![
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
    ];
    if policy.network.mode.value != NetworkMode::Host {
        out.push(LinuxNamespaceType::Network);
    }
    out
}

/// The standard container mounts (as `runc spec` and Docker write them), then the policy's
/// tmpfs mounts in path order (a parent sorts before anything beneath it).
fn mounts(policy: &Policy) -> Result<Vec<Mount>, oci_spec::OciSpecError> {
    let mount = |destination: &str, typ: &str, source: &str, options: &[&str]| {
        MountBuilder::default()
            .destination(destination)
            .typ(typ)
            .source(source)
            .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
            .build()
    };
    let mut out = vec![
        mount("/proc", "proc", "proc", &[])?,
        mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"])?,
        // newinstance: a devpts of the container's own, not the host's ptys; gid=5 is tty.
        mount("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"])?,
        mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"])?,
        mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"])?,
        mount("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"])?,
        mount("/sys/fs/cgroup", "cgroup", "cgroup", &["nosuid", "noexec", "nodev", "relatime", "ro"])?,
    ];
    for (path, options) in &policy.filesystem.tmpfs {
        let options: Vec<&str> = options.value.split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
        out.push(mount(path, "tmpfs", "tmpfs", &options)?);
    }
    Ok(out)
}

/// cgroup limits: memory, pids, CPU quota; every device denied but the ones runc always allows
/// (null, zero, full, random, urandom, tty, console, ptmx, pts), as `runc spec` writes it.
fn resources(policy: &Policy) -> Result<LinuxResources, oci_spec::OciSpecError> {
    let r = &policy.resources;
    let mut builder =
        LinuxResourcesBuilder::default().devices(vec![LinuxDeviceCgroupBuilder::default().allow(false).access("rwm").build()?]);
    if let Some(memory) = &r.memory_bytes {
        builder = builder.memory(LinuxMemoryBuilder::default().limit(i64::try_from(memory.value).unwrap_or(i64::MAX)).build()?);
    }
    if let Some(pids) = &r.pids {
        builder = builder.pids(LinuxPidsBuilder::default().limit(i64::try_from(pids.value).unwrap_or(i64::MAX)).build()?);
    }
    if let Some(cpu) = &r.cpu {
        // The quota is CPU time per period: 0.5 CPU = 50 ms of every 100 ms.
        let quota = (cpu.value * CPU_PERIOD_US as f64).round().max(1000.0) as i64;
        builder = builder.cpu(LinuxCpuBuilder::default().quota(quota).period(CPU_PERIOD_US).build()?);
    }
    builder.build()
}

/// `linux.seccomp`: the OCI-safe profile for `arch`, with `flags` present and empty.
fn seccomp(plan: &Plan, arch: Arch, notes: &mut Vec<Diagnostic>) -> Result<LinuxSeccomp, CompileError> {
    let policy = &plan.policy.name;
    let emit_error = |message: String| CompileError::Emit { policy: policy.clone(), kind: "oci", message };
    let (profile, dropped) =
        json::for_oci(&plan.filter, arch, notes).map_err(|source| CompileError::Json { policy: policy.clone(), source })?;
    if plan.filter.arch(arch).is_none() {
        notes.push(Diagnostic::warning(
            "oci-arch-not-filtered",
            format!("{} is not in seccomp.architectures: on a {} host every syscall of the workload is killed", arch.name(), arch.name()),
        ));
    }
    if !dropped.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|a| a.name()).collect();
        notes.push(Diagnostic::warning(
            "oci-seccomp-arch-dropped",
            format!(
                "{} decide{} some syscalls differently from {}, and OCI seccomp has no per-architecture entries: left out of linux.seccomp.architectures, so {} syscalls are killed",
                names.join(", "),
                if names.len() == 1 { "s" } else { "" },
                arch.name(),
                if names.len() == 1 { "its" } else { "their" },
            ),
        ));
    }
    if profile.syscalls.iter().any(|s| {
        !s.includes.arches.is_empty() || !s.includes.caps.is_empty() || !s.excludes.arches.is_empty() || !s.excludes.caps.is_empty()
    }) {
        // Only reachable when `arch` is not one of the filter's: the profile then still has
        // Docker's per-architecture entries, and applying them to every ABI could allow more.
        return Err(emit_error(format!("the seccomp profile needs per-architecture entries that OCI cannot express; emit for one of the policy's architectures (--arch {})", plan.filter.arches.first().map_or("x86_64", |a| a.arch.name()))));
    }
    if profile.default_action == "SCMP_ACT_NOTIFY" || profile.syscalls.iter().any(|s| s.action == "SCMP_ACT_NOTIFY") {
        notes.push(Diagnostic::warning("oci-seccomp-notify", "the profile uses the notify action: set linux.seccomp.listenerPath to your seccomp agent's socket, or the runtime refuses the config"));
    }
    to_linux_seccomp(&profile).map_err(emit_error)
}

/// The Docker-shaped profile in the OCI type. `flags` is written as an empty list on purpose:
/// when the field is absent runc adds SECCOMP_FILTER_FLAG_SPEC_ALLOW (runc specconv.SetupSeccomp),
/// which turns off the kernel's Speculative Store Bypass mitigation for the container.
fn to_linux_seccomp(profile: &Profile) -> Result<LinuxSeccomp, String> {
    let oci = Profile { arch_map: None, flags: Vec::new(), listener_path: None, ..profile.clone() };
    let mut value = serde_json::to_value(&oci).map_err(|e| e.to_string())?;
    for entry in value.get_mut("syscalls").and_then(serde_json::Value::as_array_mut).into_iter().flatten() {
        if let Some(entry) = entry.as_object_mut() {
            // Docker-only members; runc's decoder ignores them, but the OCI type has no place for them.
            for key in ["comment", "includes", "excludes", "name"] {
                entry.remove(key);
            }
        }
    }
    let mut seccomp: LinuxSeccomp =
        serde_json::from_value(value).map_err(|e| format!("the seccomp profile does not fit the OCI schema: {e}"))?;
    seccomp.set_flags(Some(Vec::new()));
    Ok(seccomp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, PolicySource};

    fn plan(name: &'static str) -> Plan {
        Plan::new(load(&PolicySource::Builtin(name)).expect("built-in loads")).expect("built-in compiles")
    }

    fn emitted(name: &'static str) -> (serde_json::Value, Vec<Diagnostic>) {
        let mut notes = Vec::new();
        let options = EmitOptions { arch: Some(Arch::X86_64), args: vec!["/probe".into()], ..EmitOptions::default() };
        let text = emit(&plan(name), &options, &mut notes).expect("emits");
        (serde_json::from_str(&text).expect("valid JSON"), notes)
    }

    fn strings(v: &serde_json::Value) -> Vec<&str> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str()).collect()).unwrap_or_default()
    }

    #[test]
    fn untrusted_is_nobody_without_capabilities_and_with_limits() {
        let (config, notes) = emitted("untrusted");
        assert_eq!(config["ociVersion"], "1.0.2");
        assert_eq!(config["root"], serde_json::json!({"path": "rootfs", "readonly": true}));
        assert_eq!(config["process"]["user"]["uid"], 65534);
        assert_eq!(config["process"]["user"]["gid"], 65534);
        assert_eq!(config["process"]["args"], serde_json::json!(["/probe"]));
        assert_eq!(config["process"]["noNewPrivileges"], true);
        for set in ["bounding", "effective", "permitted", "inheritable", "ambient"] {
            assert_eq!(config["process"]["capabilities"][set], serde_json::json!([]), "{set}");
        }
        let rlimits = config["process"]["rlimits"].as_array().unwrap();
        assert!(rlimits.contains(&serde_json::json!({"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024})));
        assert!(rlimits.contains(&serde_json::json!({"type": "RLIMIT_CORE", "hard": 0, "soft": 0})));
        let resources = &config["linux"]["resources"];
        assert_eq!(resources["memory"]["limit"], 256 * 1024 * 1024);
        assert_eq!(resources["pids"]["limit"], 128);
        assert_eq!(resources["cpu"], serde_json::json!({"quota": 50000, "period": 100000}));
        let namespaces: Vec<&str> = config["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        assert_eq!(namespaces, ["pid", "ipc", "uts", "mount", "cgroup", "network"]);
        let tmp = config["mounts"].as_array().unwrap().iter().find(|m| m["destination"] == "/tmp").expect("policy tmpfs");
        assert_eq!(strings(&tmp["options"]), ["size=64m", "nosuid", "nodev", "noexec"]);
        assert_eq!(config["linux"]["seccomp"]["flags"], serde_json::json!([]));
        assert_eq!(config["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert!(notes.iter().any(|n| n.code == "oci-no-landlock"));
        assert!(notes.iter().any(|n| n.code == "oci-apparmor-load"));
        assert_eq!(config["process"]["apparmorProfile"], apparmor::profile_name(&plan("untrusted").policy));
    }

    #[test]
    fn docker_default_keeps_its_capabilities_for_root_without_ambient() {
        let (config, notes) = emitted("docker-default");
        let caps = &config["process"]["capabilities"];
        assert_eq!(strings(&caps["bounding"]).len(), 14);
        assert!(strings(&caps["effective"]).contains(&"CAP_NET_BIND_SERVICE"));
        assert_eq!(caps["bounding"], caps["permitted"]);
        assert_eq!(caps["inheritable"], serde_json::json!([]));
        assert_eq!(caps["ambient"], serde_json::json!([]));
        assert_eq!(config["process"]["user"], serde_json::json!({"uid": 0, "gid": 0}));
        assert_eq!(config["process"]["noNewPrivileges"], false);
        assert_eq!(config["root"]["readonly"], false);
        assert_eq!(config["process"]["env"], serde_json::json!([format!("PATH={DEFAULT_PATH}")]));
        assert!(notes.iter().any(|n| n.code == "oci-network-setup"));
        // x86 and x32 filter socket() like x86_64 in this profile, or they were reported.
        let arches = strings(&config["linux"]["seccomp"]["architectures"]);
        assert!(arches.contains(&"SCMP_ARCH_X86_64"));
        let dropped = notes.iter().any(|n| n.code == "oci-seccomp-arch-dropped");
        assert!(dropped || arches.contains(&"SCMP_ARCH_X86"), "{arches:?}");
    }

    #[test]
    fn output_is_deterministic() {
        let mut notes = Vec::new();
        let plan = plan("docker-default");
        let a = emit(&plan, &EmitOptions::default(), &mut notes).unwrap();
        for _ in 0..5 {
            assert_eq!(a, emit(&plan, &EmitOptions::default(), &mut notes).unwrap());
        }
    }

    #[test]
    fn non_root_user_carries_kept_capabilities_across_exec() {
        let policy = crate::policy::load_str(
            "p.toml",
            "[policy]\nname = \"web\"\nextends = \"restricted\"\n[process]\nuser = \"1000:1000\"\ngroups = [10]\n",
        )
        .unwrap();
        let mut notes = Vec::new();
        let config: serde_json::Value =
            serde_json::from_str(&emit(&Plan::new(policy).unwrap(), &EmitOptions::default(), &mut notes).unwrap()).unwrap();
        let caps = &config["process"]["capabilities"];
        for set in ["bounding", "effective", "permitted", "inheritable", "ambient"] {
            assert_eq!(caps[set], serde_json::json!(["CAP_NET_BIND_SERVICE"]), "{set}");
        }
        assert_eq!(config["process"]["user"], serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [10]}));
    }

    #[test]
    fn user_names_and_root_under_run_as_non_root_are_errors() {
        for (user, expect) in [("\"app\"", "numeric ids"), ("\"0:0\"", "run_as_non_root")] {
            let text = format!("[policy]\nname = \"p\"\nextends = \"restricted\"\n[process]\nuser = {user}\n");
            let policy = crate::policy::load_str("p.toml", &text).unwrap();
            let err = emit(&Plan::new(policy).unwrap(), &EmitOptions::default(), &mut Vec::new()).unwrap_err();
            assert!(err.to_string().contains(expect), "{err}");
        }
    }

    #[test]
    fn host_network_keeps_the_host_namespace() {
        let policy =
            crate::policy::load_str("p.toml", "[policy]\nname = \"p\"\nextends = \"docker-default\"\n[network]\nmode = \"host\"\n")
                .unwrap();
        let config: serde_json::Value =
            serde_json::from_str(&emit(&Plan::new(policy).unwrap(), &EmitOptions::default(), &mut Vec::new()).unwrap()).unwrap();
        let namespaces: Vec<&str> = config["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        assert!(!namespaces.contains(&"network"));
    }
}
