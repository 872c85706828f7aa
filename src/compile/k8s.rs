//! `--emit k8s`: the policy as Kubernetes objects. Files, relative to the output directory:
//!
//! - `pod.yaml` — a Pod skeleton (image `IMAGE`, container `workload`) whose pod and container
//!   `securityContext` carry the policy: user, groups, capabilities (drop ALL, add the kept
//!   ones), no_new_privs (`allowPrivilegeEscalation`), read-only root, seccomp, AppArmor
//!   (`appArmorProfile`, Kubernetes ≥ 1.30) and SELinux options, plus memory/CPU limits, the
//!   policy's environment and its tmpfs mounts as memory-backed `emptyDir` volumes.
//! - `seccomp/palisade/<name>.json` — the seccomp profile in Docker's format, which kubelet
//!   hands to containerd/CRI-O: copy `seccomp/` into kubelet's seccomp root (by default
//!   `/var/lib/kubelet/seccomp`) on every node; the Pod refers to it as `palisade/<name>.json`.
//!   It holds the architectures of the host's family (x86_64/x86/x32 or aarch64).
//! - `seccompprofile.yaml` — the same filter as a Security Profiles Operator `SeccompProfile`
//!   (v1beta1), for clusters where SPO distributes profiles; SPO writes it to
//!   `operator/<namespace>/palisade-<name>.json`, which then replaces the Pod's
//!   `localhostProfile`.
//!
//! What Kubernetes cannot express is reported as a `k8s-*` warning: Landlock, rlimits, the pids
//! limit (a node-level kubelet setting), egress lists and network mode none (write a
//! NetworkPolicy), tmpfs options, and extra masked or read-only paths.
//!
//! YAML is written by hand (see [`Yaml`]): every string scalar is a JSON-style double-quoted
//! string, which YAML reads back verbatim, so no value can turn into a bool, number or key.

use super::{apparmor, CompileError, Plan};
use crate::diag::Diagnostic;
use crate::policy::defaults::{MASKED_PATHS, READONLY_PATHS};
use crate::policy::lower::parse_size;
use crate::policy::model::{AppArmorProfile, NetworkMode, Policy, User};
use crate::seccomp::arch::Arch;
use crate::seccomp::filter::Filter;
use crate::seccomp::json::{self, Profile};

/// A YAML node, written in block style with keys in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i128),
    Bool(bool),
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
}

impl Yaml {
    /// A mapping from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Yaml)>) -> Yaml {
        Yaml::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn strs<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Yaml {
        Yaml::List(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
    }

    fn is_block(&self) -> bool {
        matches!(self, Yaml::Map(m) if !m.is_empty()) || matches!(self, Yaml::List(l) if !l.is_empty())
    }

    fn scalar(&self) -> String {
        match self {
            // JSON's string escapes are a subset of YAML's double-quoted ones.
            Yaml::Str(s) => serde_json::to_string(s).expect("a string serializes"),
            Yaml::Int(n) => n.to_string(),
            Yaml::Bool(b) => b.to_string(),
            Yaml::Map(_) => "{}".to_string(),
            Yaml::List(_) => "[]".to_string(),
        }
    }

    /// The document text, ending in a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.is_block() {
            self.write_block(&mut out, 0);
        } else {
            out = self.scalar() + "\n";
        }
        out
    }

    fn write_block(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            Yaml::Map(entries) => {
                for (key, value) in entries {
                    out.push_str(&format!("{pad}{}:", yaml_key(key)));
                    if value.is_block() {
                        out.push('\n');
                        value.write_block(out, indent + 2);
                    } else {
                        out.push_str(&format!(" {}\n", value.scalar()));
                    }
                }
            }
            Yaml::List(items) => {
                for item in items {
                    if item.is_block() {
                        // The item's first line goes after the dash: render it one level in and
                        // replace that line's indentation with "- ".
                        let mut child = String::new();
                        item.write_block(&mut child, indent + 2);
                        out.push_str(&format!("{pad}- {}", &child[indent + 2..]));
                    } else {
                        out.push_str(&format!("{pad}- {}\n", item.scalar()));
                    }
                }
            }
            scalar => out.push_str(&format!("{pad}{}\n", scalar.scalar())),
        }
    }
}

/// Keys are left bare when they are plain identifiers (all of palisade's are), else quoted.
fn yaml_key(key: &str) -> String {
    let plain =
        key.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if plain {
        key.to_string()
    } else {
        serde_json::to_string(key).expect("a string serializes")
    }
}

/// A name Kubernetes accepts (RFC 1123 subdomain): lower case, `[a-z0-9.-]`, alphanumeric ends.
pub fn k8s_name(policy_name: &str) -> String {
    let mapped: String =
        policy_name.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "policy".to_string()
    } else {
        trimmed.chars().take(200).collect()
    }
}

/// The files of the Kubernetes output (see the module doc), by path relative to the output
/// directory.
pub fn emit(plan: &Plan, notes: &mut Vec<Diagnostic>) -> Result<Vec<(String, String)>, CompileError> {
    let policy = &plan.policy;
    let name = k8s_name(&policy.name);
    let json_error = |source| CompileError::Json { policy: policy.name.clone(), source };
    let host = Arch::host().unwrap_or(Arch::X86_64);

    let family = host_family_filter(&plan.filter, host, notes);
    let profile = json::from_filter(&family, notes).map_err(json_error)?;
    let profile_path = format!("seccomp/palisade/{name}.json");
    let profile_text = serde_json::to_string_pretty(&profile).expect("profile serializes") + "\n";

    let (spo_profile, dropped) = json::for_oci(&plan.filter, host, notes).map_err(json_error)?;
    if !dropped.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|a| a.name()).collect();
        notes.push(Diagnostic::warning(
            "k8s-spo-arch-dropped",
            format!("seccompprofile.yaml: a SeccompProfile has no per-architecture entries, so {} (deciding some syscalls differently from {}) are left out and killed", names.join(", "), host.name()),
        ));
    }

    let pod = pod(plan, &name, &format!("palisade/{name}.json"), notes)?;
    let spo = seccomp_profile_cr(&name, &spo_profile, notes);
    Ok(vec![("pod.yaml".to_string(), pod.render()), (profile_path, profile_text), ("seccompprofile.yaml".to_string(), spo.render())])
}

/// The filter restricted to the host's architecture family: a node runs one family, and
/// kubelet's profile needs no entries for the other.
fn host_family_filter(filter: &Filter, host: Arch, notes: &mut Vec<Diagnostic>) -> Filter {
    let family = |a: Arch| matches!(a, Arch::Aarch64);
    let arches: Vec<_> = filter.arches.iter().filter(|a| family(a.arch) == family(host)).cloned().collect();
    if arches.is_empty() {
        notes.push(Diagnostic::warning(
            "k8s-arch-family",
            format!("seccomp.architectures has no ABI of the {} family: the kubelet profile keeps the policy's architectures, and {} nodes kill every syscall", host.name(), host.name()),
        ));
        return filter.clone();
    }
    Filter { arches, ..filter.clone() }
}

/// A Kubernetes quantity for a byte count: the largest exact binary unit.
fn bytes_quantity(bytes: u64) -> String {
    for (shift, unit) in [(40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki")] {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

fn pod(plan: &Plan, name: &str, localhost_profile: &str, notes: &mut Vec<Diagnostic>) -> Result<Yaml, CompileError> {
    let policy = &plan.policy;
    let emit_error = |message: String| CompileError::Emit { policy: policy.name.clone(), kind: "k8s", message };
    let unexpressible = |notes: &mut Vec<Diagnostic>, code: &'static str, message: String| notes.push(Diagnostic::warning(code, message));

    // Pod securityContext: identity, seccomp, AppArmor, SELinux.
    let mut pod_sc: Vec<(String, Yaml)> = vec![("runAsNonRoot".into(), Yaml::Bool(policy.process.run_as_non_root.value))];
    match policy.process.user.as_ref().map(|u| &u.value) {
        Some(User::Id { uid, gid }) => {
            if *uid == 0 && policy.process.run_as_non_root.value {
                return Err(emit_error("process.run_as_non_root is set but process.user is uid 0; Kubernetes would refuse the pod".into()));
            }
            pod_sc.push(("runAsUser".into(), Yaml::Int((*uid).into())));
            if let Some(gid) = gid {
                pod_sc.push(("runAsGroup".into(), Yaml::Int((*gid).into())));
            }
        }
        Some(User::Name(user)) => {
            return Err(emit_error(format!("process.user `{user}` is a name, but runAsUser needs a numeric uid: write \"UID:GID\"")));
        }
        None => {}
    }
    if !policy.process.groups.value.is_empty() {
        pod_sc
            .push(("supplementalGroups".into(), Yaml::List(policy.process.groups.value.iter().map(|g| Yaml::Int((*g).into())).collect())));
    }
    pod_sc
        .push(("seccompProfile".into(), Yaml::map([("type", Yaml::str("Localhost")), ("localhostProfile", Yaml::str(localhost_profile))])));
    let apparmor = match &policy.apparmor.profile.value {
        AppArmorProfile::Generate => Some(apparmor::profile_name(policy)),
        AppArmorProfile::Named(n) => Some(n.clone()),
        AppArmorProfile::Unconfined => None,
    };
    pod_sc.push((
        "appArmorProfile".into(),
        match apparmor {
            Some(profile) => Yaml::map([("type", Yaml::str("Localhost")), ("localhostProfile", Yaml::str(profile))]),
            None => Yaml::map([("type", Yaml::str("Unconfined"))]),
        },
    ));
    let se = &policy.selinux;
    let mut selinux =
        vec![("user", Yaml::str(&se.user.value)), ("role", Yaml::str(&se.role.value)), ("type", Yaml::str(&se.process_type.value))];
    // "auto" leaves the level out: the runtime then picks unique MCS categories per pod.
    if let Some(level) = &se.level.value {
        selinux.push(("level", Yaml::str(level)));
    }
    pod_sc.push(("seLinuxOptions".into(), Yaml::map(selinux)));

    // Container securityContext.
    let kept: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name()).collect();
    let container_sc = Yaml::map([
        ("allowPrivilegeEscalation", Yaml::Bool(!policy.process.no_new_privileges.value)),
        ("privileged", Yaml::Bool(false)),
        ("readOnlyRootFilesystem", Yaml::Bool(policy.filesystem.read_only_root.value)),
        ("procMount", Yaml::str("Default")),
        ("capabilities", Yaml::map([("drop", Yaml::strs(["ALL"])), ("add", Yaml::strs(kept))])),
    ]);

    let mut container: Vec<(String, Yaml)> = vec![("name".into(), Yaml::str("workload")), ("image".into(), Yaml::str("IMAGE"))];
    if !policy.process.env.is_empty() {
        let env = policy.process.env.iter().map(|(k, v)| Yaml::map([("name", Yaml::str(k)), ("value", Yaml::str(&v.value))])).collect();
        container.push(("env".into(), Yaml::List(env)));
    }
    container.push(("securityContext".into(), container_sc));
    let r = &policy.resources;
    let mut limits = Vec::new();
    if let Some(m) = &r.memory_bytes {
        limits.push(("memory", Yaml::str(bytes_quantity(m.value))));
    }
    if let Some(cpu) = &r.cpu {
        limits.push(("cpu", Yaml::str(format!("{}m", (cpu.value * 1000.0).round() as u64))));
    }
    if !limits.is_empty() {
        container.push(("resources".into(), Yaml::map([("limits", Yaml::map(limits))])));
    }
    if r.pids.is_some() {
        unexpressible(notes, "k8s-no-pids-limit", "resources.pids has no per-pod field: it is the kubelet's node-wide podPidsLimit".into());
    }

    // tmpfs mounts → memory-backed emptyDir volumes.
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (i, (path, options)) in policy.filesystem.tmpfs.iter().enumerate() {
        let volume = format!("tmpfs-{i}");
        let mut empty_dir = vec![("medium", Yaml::str("Memory"))];
        if let Some(size) = options.value.split(',').find_map(|o| o.trim().strip_prefix("size=")).and_then(parse_size) {
            empty_dir.push(("sizeLimit", Yaml::str(bytes_quantity(size))));
        }
        volumes.push(Yaml::map([("name", Yaml::str(&volume)), ("emptyDir", Yaml::map(empty_dir))]));
        mounts.push(Yaml::map([("name", Yaml::str(&volume)), ("mountPath", Yaml::str(path))]));
        let flags: Vec<&str> = options.value.split(',').map(str::trim).filter(|o| !o.starts_with("size=")).collect();
        if !flags.is_empty() {
            unexpressible(
                notes,
                "k8s-tmpfs-options",
                format!("tmpfs {path}: an emptyDir volume cannot carry the mount options {}", flags.join(",")),
            );
        }
    }
    if !mounts.is_empty() {
        container.push(("volumeMounts".into(), Yaml::List(mounts)));
    }

    let host_network = policy.network.mode.value == NetworkMode::Host;
    let mut spec: Vec<(String, Yaml)> = vec![
        ("hostNetwork".into(), Yaml::Bool(host_network)),
        ("hostPID".into(), Yaml::Bool(false)),
        ("hostIPC".into(), Yaml::Bool(false)),
        ("securityContext".into(), Yaml::Map(pod_sc)),
        ("containers".into(), Yaml::List(vec![Yaml::Map(container)])),
    ];
    if !volumes.is_empty() {
        spec.push(("volumes".into(), Yaml::List(volumes)));
    }

    unexpressed_notes(policy, notes);
    Ok(Yaml::map([
        ("apiVersion", Yaml::str("v1")),
        ("kind", Yaml::str("Pod")),
        (
            "metadata",
            Yaml::map([
                ("name", Yaml::str(format!("palisade-{name}"))),
                ("annotations", Yaml::map([("palisade.dev/policy", Yaml::str(&policy.name))])),
            ]),
        ),
        ("spec", Yaml::Map(spec)),
    ]))
}

/// Warnings for the policy settings a Pod has no field for.
fn unexpressed_notes(policy: &Policy, notes: &mut Vec<Diagnostic>) {
    let mut note = |code: &'static str, message: &str| notes.push(Diagnostic::warning(code, message.to_string()));
    if policy.filesystem.landlock.enabled() {
        note("k8s-no-landlock", "Kubernetes has no Landlock field: filesystem.landlock is not enforced by kubelet's runtime (run palisade as the RuntimeClass handler to keep it)");
    }
    if !policy.process.rlimits.is_empty() {
        note("k8s-no-rlimits", "Kubernetes has no rlimit field: process.rlimits are the container runtime's defaults");
    }
    if policy.network.egress.is_some() {
        note("k8s-no-egress", "network.egress is not in the Pod: express it as a NetworkPolicy with egress rules");
    }
    if policy.network.mode.value == NetworkMode::None {
        note(
            "k8s-network-none",
            "network mode none: every Pod gets a network from CNI; add a NetworkPolicy that denies all ingress and egress",
        );
    }
    let extra = |list: &[crate::policy::model::Item], defaults: &[(&str, &str)]| -> Vec<String> {
        list.iter().filter(|i| !defaults.iter().any(|(d, _)| *d == i.name)).map(|i| i.name.clone()).collect()
    };
    let masked = extra(&policy.filesystem.masked_paths, MASKED_PATHS);
    let readonly = extra(&policy.filesystem.readonly_paths, READONLY_PATHS);
    if !masked.is_empty() || !readonly.is_empty() {
        note(
            "k8s-masked-paths",
            &format!(
                "procMount Default gives the runtime's masked and read-only paths; these of the policy are not expressible: {}",
                [masked, readonly].concat().join(", ")
            ),
        );
    }
}

/// The Security Profiles Operator `SeccompProfile` for an OCI-shaped profile.
fn seccomp_profile_cr(name: &str, profile: &Profile, notes: &mut Vec<Diagnostic>) -> Yaml {
    // SPO's spec has no defaultErrnoRet: runtimes then return EPERM.
    if profile.default_errno_ret.is_some_and(|e| e != 1) {
        notes.push(Diagnostic::warning(
            "k8s-spo-default-errno",
            format!(
                "seccompprofile.yaml: a SeccompProfile cannot set the default errno ({}); unlisted syscalls fail with EPERM instead",
                profile.default_errno_ret.unwrap_or(1)
            ),
        ));
    }
    let syscalls = profile
        .syscalls
        .iter()
        .map(|s| {
            let mut entry =
                vec![("names", Yaml::strs(s.names.iter().cloned().chain(s.name.iter().cloned()))), ("action", Yaml::str(&s.action))];
            if let Some(errno) = s.errno_ret {
                entry.push(("errnoRet", Yaml::Int(errno.into())));
            }
            if !s.args.is_empty() {
                let args = s
                    .args
                    .iter()
                    .map(|a| {
                        Yaml::map([
                            ("index", Yaml::Int(a.index.into())),
                            ("value", Yaml::Int(a.value.into())),
                            ("valueTwo", Yaml::Int(a.value_two.into())),
                            ("op", Yaml::str(&a.op)),
                        ])
                    })
                    .collect();
                entry.push(("args", Yaml::List(args)));
            }
            Yaml::map(entry)
        })
        .collect();
    Yaml::map([
        ("apiVersion", Yaml::str("security-profiles-operator.x-k8s.io/v1beta1")),
        ("kind", Yaml::str("SeccompProfile")),
        ("metadata", Yaml::map([("name", Yaml::str(format!("palisade-{name}")))])),
        (
            "spec",
            Yaml::map([
                ("defaultAction", Yaml::str(&profile.default_action)),
                ("architectures", Yaml::strs(profile.architectures.iter().cloned())),
                ("syscalls", Yaml::List(syscalls)),
            ]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_quotes_strings_and_nests_lists_of_maps() {
        let doc = Yaml::map([
            ("a", Yaml::str("yes: \"no\" # not a comment")),
            ("empty", Yaml::List(vec![])),
            ("items", Yaml::List(vec![Yaml::map([("name", Yaml::str("x")), ("n", Yaml::Int(1))]), Yaml::str("on")])),
            ("odd key", Yaml::Bool(true)),
        ]);
        assert_eq!(
            doc.render(),
            "a: \"yes: \\\"no\\\" # not a comment\"\nempty: []\nitems:\n  - name: \"x\"\n    n: 1\n  - \"on\"\n\"odd key\": true\n"
        );
    }

    #[test]
    fn names_and_quantities() {
        assert_eq!(k8s_name("Docker_Default"), "docker-default");
        assert_eq!(k8s_name("__"), "policy");
        assert_eq!(bytes_quantity(256 << 20), "256Mi");
        assert_eq!(bytes_quantity(1000), "1000");
    }
}
