//! An OCI bundle's config.json → a palisade policy (TOML text, compiled like any other), a
//! [`RunSpec`] with its [`BundleSpec`], and the runtime-namespace hooks.
//!
//! Fail closed: every property the runtime spec defines is either mapped or refused by name
//! ([`ConfigError::Unsupported`]) when set — a runtime that silently drops `linux.sysctl`
//! or `process.apparmorProfile` runs something other than what the bundle says (runtime-spec
//! config.md: "Runtimes MUST generate an error" for unsupported values). A property the spec
//! does not define is ignored, as the spec's extensibility rule requires ("Runtimes that are
//! reading or processing this configuration file MUST NOT generate an error if they
//! encounter an unknown property"). The `linux` section is in [`super::linux`].

use crate::runtime::bundle::{BundleSpec, CapabilitySets, Hook, MountEntry};
use crate::runtime::{RunSpec, UserSpec};
use crate::seccomp::json::Profile;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config.json that cannot be run as asked.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("config.json: `{key}` is not supported by palisade oci: {why}")]
    Unsupported { key: String, why: String },
    #[error("config.json: `{key}`: {why}")]
    Invalid { key: String, why: String },
    #[error("config.json: linux.seccomp: {0}")]
    Seccomp(String),
}

/// The hooks palisade runs from the runtime's namespace (`palisade oci` itself); the
/// in-container kinds are in [`BundleSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeHooks {
    pub prestart: Vec<Hook>,
    pub create_runtime: Vec<Hook>,
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
}

/// What a bundle asks for, translated.
#[derive(Debug)]
pub struct Translated {
    /// The config's security settings, before they become a policy (a policy layered with
    /// `--policy` narrows them first: src/oci/layer.rs).
    pub sections: Sections,
    pub spec: RunSpec,
    pub annotations: BTreeMap<String, String>,
    pub hooks: RuntimeHooks,
}

pub(super) fn unsupported(key: &str, why: &str) -> ConfigError {
    ConfigError::Unsupported { key: key.to_string(), why: why.to_string() }
}

pub(super) fn invalid(key: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), why: why.into() }
}

/// The object at `key`, or `None` when absent or null.
pub(super) fn object<'a>(v: Option<&'a Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(key, "expected an object")),
    }
}

/// Refuses the spec-defined properties of `map` in `refused` that are set (each with its
/// reason); properties the spec does not define are left alone.
pub(super) fn refuse_set(map: &Map<String, Value>, prefix: &str, refused: &[(&str, &str)]) -> Result<(), ConfigError> {
    for (key, why) in refused {
        if map.get(*key).is_some_and(|v| !is_empty(v)) {
            return Err(unsupported(&format!("{prefix}{key}"), why));
        }
    }
    Ok(())
}

/// null, false, [], {} and "" ask for nothing.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

pub(super) fn strings(v: Option<&Value>, key: &str) -> Result<Vec<String>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|s| s.as_str().map(str::to_string).ok_or_else(|| invalid(key, "expected strings"))).collect(),
        Some(_) => Err(invalid(key, "expected an array of strings")),
    }
}

pub(super) fn uint(v: Option<&Value>, key: &str) -> Result<Option<u64>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| invalid(key, "expected a non-negative integer")),
    }
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

/// Reads `BUNDLE/config.json` and translates it.
pub fn load(bundle: &Path, id: &str) -> Result<Translated, ConfigError> {
    let value = read(bundle)?;
    translate(&value, bundle, id)
}

/// Reads `BUNDLE/config.json` as JSON.
pub fn read(bundle: &Path) -> Result<Value, ConfigError> {
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| ConfigError::Json { path, source })
}

/// Translates a parsed config.json of the bundle at `bundle`.
pub fn translate(config: &Value, bundle: &Path, id: &str) -> Result<Translated, ConfigError> {
    let top = config.as_object().ok_or_else(|| invalid("(root)", "expected an object"))?;
    refuse_set(
        top,
        "",
        &[
            ("solaris", "palisade runs Linux containers"),
            ("windows", "palisade runs Linux containers"),
            ("vm", "palisade runs containers, not virtual machines"),
            ("zos", "palisade runs Linux containers"),
        ],
    )?;
    let version = top.get("ociVersion").and_then(Value::as_str).ok_or_else(|| invalid("ociVersion", "missing"))?;
    if !version.starts_with("1.") || version.split('.').nth(1).is_none_or(|minor| minor.parse::<u32>().is_err()) {
        return Err(invalid("ociVersion", format!("`{version}` is not a 1.x runtime-spec version")));
    }
    let mut spec = RunSpec::default();
    let mut sections = Sections::default();
    let mut bundle_spec = BundleSpec { always_cgroup: true, ..BundleSpec::default() };

    // `process` is optional until `start` (runtime-spec config.md): without one the
    // container is created (namespaces, mounts, cgroups) and `start` refuses it.
    match object(top.get("process"), "process")? {
        Some(p) => process(p, &mut spec, &mut sections, &mut bundle_spec)?,
        None => {
            bundle_spec.no_process = true;
            spec.user = Some(UserSpec { uid: 0, gid: Some(0) });
            spec.workdir = Some(PathBuf::from("/"));
            bundle_spec.capabilities = Some(CapabilitySets::default());
        }
    }

    let root = object(top.get("root"), "root")?.ok_or_else(|| invalid("root", "missing"))?;
    let root_path = root.get("path").and_then(Value::as_str).ok_or_else(|| invalid("root.path", "missing"))?;
    spec.rootfs = Some(if Path::new(root_path).is_absolute() { PathBuf::from(root_path) } else { bundle.join(root_path) });
    sections.read_only_root = root.get("readonly").and_then(Value::as_bool).unwrap_or(false);
    spec.hostname = match top.get("hostname") {
        None | Some(Value::Null) => None,
        Some(Value::String(h)) if h.is_empty() => None,
        Some(Value::String(h)) => Some(h.clone()),
        Some(_) => return Err(invalid("hostname", "expected a string")),
    };
    bundle_spec.domainname = match top.get("domainname") {
        Some(Value::String(d)) if !d.is_empty() => Some(d.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => return Err(invalid("domainname", "expected a string")),
    };

    let mut mounts = Vec::new();
    match top.get("mounts") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, m) in list.iter().enumerate() {
                mounts.push(mount(m, i)?);
            }
        }
        Some(_) => return Err(invalid("mounts", "expected an array")),
    }
    bundle_spec.mounts = Some(mounts);

    let linux = object(top.get("linux"), "linux")?.ok_or_else(|| invalid("linux", "missing"))?;
    super::linux::translate(linux, &mut spec, &mut sections, &mut bundle_spec)?;

    let hooks = hooks(object(top.get("hooks"), "hooks")?, &mut bundle_spec)?;
    let annotations: BTreeMap<String, String> = match top.get("annotations") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(a)) => a
            .iter()
            .map(|(k, v)| {
                v.as_str().map(|v| (k.clone(), v.to_string())).ok_or_else(|| invalid("annotations", format!("`{k}`: expected a string")))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("annotations", "expected an object of strings")),
    };
    bundle_spec.state = Some(serde_json::json!({
        "ociVersion": version,
        "id": id,
        "bundle": bundle,
        "annotations": annotations,
    }));
    spec.bundle = bundle_spec;
    Ok(Translated { sections, spec, annotations, hooks })
}

/// The policy's sections, typed until rendered, so that a layered policy can narrow them.
#[derive(Debug, Default)]
pub struct Sections {
    pub no_new_privileges: bool,
    pub groups: Vec<u32>,
    /// name (lowercase, without `RLIMIT_`) → (soft, hard).
    pub rlimits: BTreeMap<String, (u64, u64)>,
    /// The union of the config's capability sets (the exact sets are in the bundle spec).
    pub caps: Vec<String>,
    pub seccomp: Option<Profile>,
    pub read_only_root: bool,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// `none` (a private network namespace) or `host` (shared or joined).
    pub network: &'static str,
}

impl Sections {
    /// The policy text, named `oci-ID`.
    pub fn render(&self, id: &str) -> Result<String, ConfigError> {
        let name = format!("oci-{id}");
        // With a seccomp profile the importer writes [policy], [capabilities] and [seccomp]
        // (capability-gated entries are evaluated against the config's capabilities).
        let mut out = match &self.seccomp {
            Some(profile) => crate::seccomp::import::import(profile, &name, &self.caps).map_err(|e| ConfigError::Seccomp(e.to_string()))?.toml,
            None => format!(
                "[policy]\nname = {}\n\n[capabilities]\nkeep = {}\n\n[seccomp]\n# config.json has no linux.seccomp: no filter, as asked.\ndefault_action = \"allow\"\n",
                q(&name),
                list(&self.caps)
            ),
        };
        out += &format!(
            "\n[process]\nrun_as_non_root = false\ngroups = [{}]\nno_new_privileges = {}\n",
            self.groups.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
            self.no_new_privileges
        );
        if !self.rlimits.is_empty() {
            out += "\n[process.rlimits]\n";
            for (name, (soft, hard)) in &self.rlimits {
                out += &format!("{name} = {{ soft = {soft}, hard = {hard} }}\n");
            }
        }
        out += &format!(
            "\n[filesystem]\nread_only_root = {}\nmasked_paths = {}\nreadonly_paths = {}\n",
            self.read_only_root,
            list(&self.masked_paths),
            list(&self.readonly_paths)
        );
        out += &format!("\n[network]\nmode = {}\n", q(if self.network.is_empty() { "host" } else { self.network }));
        Ok(out)
    }
}

fn process(p: &Map<String, Value>, spec: &mut RunSpec, policy: &mut Sections, bundle: &mut BundleSpec) -> Result<(), ConfigError> {
    refuse_set(
        p,
        "process.",
        &[
            ("consoleSize", "the terminal size is not set by palisade"),
            ("commandLine", "a Windows property"),
            ("scheduler", "scheduling policies are not implemented"),
            ("ioPriority", "I/O priorities are not implemented"),
            ("execCPUAffinity", "CPU affinity is not implemented"),
        ],
    )?;
    lsm_label(p.get("apparmorProfile"), "process.apparmorProfile", Lsm::AppArmor, bundle)?;
    lsm_label(p.get("selinuxLabel"), "process.selinuxLabel", Lsm::Selinux, bundle)?;
    // A pty of the container's own devpts; its master goes to --console-socket (create) or
    // is relayed to palisade's stdio (run).
    spec.tty = p.get("terminal").and_then(Value::as_bool) == Some(true);
    spec.command = strings(p.get("args"), "process.args")?;
    if spec.command.is_empty() {
        return Err(invalid("process.args", "empty"));
    }
    for e in strings(p.get("env"), "process.env")? {
        let (k, v) = e.split_once('=').ok_or_else(|| invalid("process.env", format!("`{e}` is not KEY=VALUE")))?;
        spec.env.push((k.to_string(), v.to_string()));
    }
    let cwd = p.get("cwd").and_then(Value::as_str).ok_or_else(|| invalid("process.cwd", "missing"))?;
    if !cwd.starts_with('/') {
        return Err(invalid("process.cwd", format!("`{cwd}` is not an absolute path")));
    }
    spec.workdir = Some(PathBuf::from(cwd));

    let user = object(p.get("user"), "process.user")?.ok_or_else(|| invalid("process.user", "missing"))?;
    refuse_set(user, "process.user.", &[("username", "a Windows property (give uid and gid)")])?;
    if let Some(mask) = uint(user.get("umask"), "process.user.umask")? {
        if mask > 0o777 {
            return Err(invalid("process.user.umask", "expected a mode (0 to 0o777)"));
        }
        spec.umask = Some(mask as u32);
    }
    let id = |k: &str| -> Result<u32, ConfigError> {
        let n = uint(user.get(k), &format!("process.user.{k}"))?.unwrap_or(0);
        u32::try_from(n).map_err(|_| invalid(&format!("process.user.{k}"), "out of range"))
    };
    let (uid, gid) = (id("uid")?, id("gid")?);
    spec.user = Some(UserSpec { uid, gid: Some(gid) });
    if let Some(groups) = user.get("additionalGids").filter(|g| !g.is_null()) {
        let groups = groups.as_array().ok_or_else(|| invalid("process.user.additionalGids", "expected an array"))?;
        for g in groups {
            let g =
                g.as_u64().and_then(|g| u32::try_from(g).ok()).ok_or_else(|| invalid("process.user.additionalGids", "expected gids"))?;
            policy.groups.push(g);
        }
    }
    policy.no_new_privileges = p.get("noNewPrivileges").and_then(Value::as_bool).unwrap_or(false);
    if let Some(score) = p.get("oomScoreAdj").filter(|v| !v.is_null()) {
        let score = score
            .as_i64()
            .filter(|s| (-1000..=1000).contains(s))
            .ok_or_else(|| invalid("process.oomScoreAdj", "expected -1000 to 1000"))?;
        bundle.oom_score_adj = Some(score as i32);
    }

    // Capabilities: each set exactly as given (a set absent is empty: fail closed, where
    // runc would leave the process its full set). The policy keeps their union, which is
    // also what capability-gated seccomp entries are evaluated against.
    let mut sets = CapabilitySets::default();
    if let Some(caps) = object(p.get("capabilities"), "process.capabilities")? {
        let mut union = std::collections::BTreeSet::new();
        for (k, set) in [
            ("bounding", &mut sets.bounding),
            ("effective", &mut sets.effective),
            ("permitted", &mut sets.permitted),
            ("inheritable", &mut sets.inheritable),
            ("ambient", &mut sets.ambient),
        ] {
            for name in strings(caps.get(k), &format!("process.capabilities.{k}"))? {
                let cap: caps::Capability = name.parse().map_err(|_| {
                    invalid(&format!("process.capabilities.{k}"), format!("`{name}` is not a capability this kernel's headers name"))
                })?;
                set.insert(cap);
                union.insert(name.trim_start_matches("CAP_").to_string());
            }
        }
        // CAP_MKNOD is safe to keep: every mount the workload can write is nodev (and on
        // cgroup v1 the device cgroup admits only runc's defaults and the config's devices),
        // so a node it makes stays inert.
        policy.caps = union.into_iter().collect();
    }
    // The kernel raises an ambient capability only if it is permitted and inheritable
    // (capabilities(7)); `runc spec` writes an ambient set without an inheritable one, and
    // runc and crun run it without those. The same here, said rather than silent: the
    // process gets fewer capabilities than the config lists, never more.
    let impossible: Vec<String> =
        sets.ambient.iter().filter(|c| !sets.inheritable.contains(c) || !sets.permitted.contains(c)).map(|c| c.to_string()).collect();
    if !impossible.is_empty() {
        sets.ambient.retain(|c| sets.inheritable.contains(c) && sets.permitted.contains(c));
        let mut names = impossible;
        names.sort();
        bundle.warnings.push(format!(
            "process.capabilities.ambient: {} left out (an ambient capability must also be permitted and inheritable)",
            names.join(", ")
        ));
    }
    bundle.capabilities = Some(sets);

    if let Some(rlimits) = p.get("rlimits").filter(|v| !v.is_null()) {
        let rlimits = rlimits.as_array().ok_or_else(|| invalid("process.rlimits", "expected an array"))?;
        for r in rlimits {
            let ty = r.get("type").and_then(Value::as_str).ok_or_else(|| invalid("process.rlimits", "entry without type"))?;
            let name = ty
                .strip_prefix("RLIMIT_")
                .ok_or_else(|| invalid("process.rlimits", format!("`{ty}` is not RLIMIT_*")))?
                .to_ascii_lowercase();
            if !crate::policy::lower::RLIMITS.contains(&name.as_str()) {
                return Err(invalid("process.rlimits", format!("`{ty}` is not a resource limit of this kernel")));
            }
            let n = |k: &str| {
                uint(r.get(k), &format!("process.rlimits {ty}.{k}"))?
                    .ok_or_else(|| invalid("process.rlimits", format!("{ty}: missing {k}")))
            };
            let (soft, hard) = (n("soft")?, n("hard")?);
            if soft > hard {
                // setrlimit(2) refuses it (EINVAL): a config error, said as one.
                return Err(invalid("process.rlimits", format!("{ty}: soft limit {soft} exceeds hard limit {hard}")));
            }
            if policy.rlimits.insert(name, (soft, hard)).is_some() {
                return Err(invalid("process.rlimits", format!("{ty} is given twice")));
            }
        }
    }
    Ok(())
}

/// The Linux security modules a label can be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lsm {
    AppArmor,
    Selinux,
}

/// An AppArmor profile or SELinux label the bundle asks for. palisade does not load either
/// yet: where the module is enabled, running without it would be silently weaker than the
/// bundle says, so the config is refused; where the kernel has no such module at all, no
/// runtime can apply it, and the start goes on with the label reported as not enforced
/// (the same note `palisade run` gives for a policy's LSM settings), never claimed.
pub(super) fn lsm_label(v: Option<&Value>, key: &str, lsm: Lsm, bundle: &mut BundleSpec) -> Result<(), ConfigError> {
    let Some(v) = v.filter(|v| !is_empty(v)) else { return Ok(()) };
    let label = v.as_str().ok_or_else(|| invalid(key, "expected a string"))?;
    let (name, enabled) = match lsm {
        Lsm::AppArmor => ("AppArmor", crate::runtime::lsm::apparmor_enabled()),
        Lsm::Selinux => ("SELinux", crate::runtime::lsm::selinux_enabled()),
    };
    if enabled {
        return Err(unsupported(
            key,
            &format!("{name} is enabled on this host, but palisade does not apply {name} labels to OCI containers yet"),
        ));
    }
    bundle.lsm_not_enforced.push(format!("{key} `{label}` ({name} is not in this kernel)"));
    Ok(())
}

/// One entry of `mounts`, kept in order for the runtime (src/runtime/oci_mounts.rs mounts them
/// hardened: nodev everywhere but devpts, nosuid on binds from the host).
fn mount(m: &Value, i: usize) -> Result<MountEntry, ConfigError> {
    let key = format!("mounts[{i}]");
    let m = m.as_object().ok_or_else(|| invalid(&key, "expected an object"))?;
    refuse_set(
        m,
        &format!("{key}."),
        &[("uidMappings", "id-mapped mounts are not implemented"), ("gidMappings", "id-mapped mounts are not implemented")],
    )?;
    let destination = m.get("destination").and_then(Value::as_str).ok_or_else(|| invalid(&key, "no destination"))?;
    if !destination.starts_with('/') {
        return Err(invalid(&key, format!("destination `{destination}` is not absolute")));
    }
    let options = strings(m.get("options"), &format!("{key}.options"))?;
    let source = m.get("source").and_then(Value::as_str).unwrap_or("").to_string();
    let mut kind = m.get("type").and_then(Value::as_str).unwrap_or("").to_string();
    let entry_is_bind = kind == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    if entry_is_bind {
        if !source.starts_with('/') {
            return Err(invalid(&key, format!("bind source `{source}` is not absolute")));
        }
        kind = "bind".into();
    } else if kind.is_empty() {
        return Err(invalid(&key, "no type (and not a bind mount)"));
    }
    Ok(MountEntry { destination: PathBuf::from(destination), kind, source, options })
}

/// `hooks`: the in-container kinds go to the runtime, the others to `palisade oci`.
fn hooks(h: Option<&Map<String, Value>>, bundle: &mut BundleSpec) -> Result<RuntimeHooks, ConfigError> {
    let mut out = RuntimeHooks::default();
    let Some(h) = h else { return Ok(out) };
    let parse = |kind: &str| -> Result<Vec<Hook>, ConfigError> {
        let key = format!("hooks.{kind}");
        let Some(v) = h.get(kind).filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
        let hooks: Vec<Hook> = serde_json::from_value(v.clone()).map_err(|e| invalid(&key, e.to_string()))?;
        for hook in &hooks {
            if !hook.path.is_absolute() {
                return Err(invalid(&key, format!("hook path `{}` is not absolute", hook.path.display())));
            }
            if hook.timeout == Some(0) {
                return Err(invalid(&key, "timeout must be greater than zero"));
            }
        }
        Ok(hooks)
    };
    out.prestart = parse("prestart")?;
    out.create_runtime = parse("createRuntime")?;
    bundle.create_container_hooks = parse("createContainer")?;
    bundle.start_container_hooks = parse("startContainer")?;
    out.poststart = parse("poststart")?;
    out.poststop = parse("poststop")?;
    Ok(out)
}

/// A default config.json (`palisade oci spec`): busybox-style `sh`, a read-only root at
/// `rootfs`, a private network namespace, runc's three capabilities, no terminal.
pub fn default_spec() -> Value {
    let caps = serde_json::json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    serde_json::json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "palisade",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bundle::{NamespaceKind, Propagation};

    fn translate_ok(config: &Value) -> Translated {
        translate(config, Path::new("/b"), "c").unwrap_or_else(|e| panic!("{e}"))
    }

    fn set(config: &mut Value, pointer: &str, value: Value) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        config.pointer_mut(parent).unwrap().as_object_mut().unwrap().insert(key.into(), value);
    }

    #[test]
    fn default_spec_translates_and_its_policy_loads() {
        let t = translate_ok(&default_spec());
        assert_eq!(t.spec.command, ["sh"]);
        assert_eq!(t.spec.rootfs.as_deref(), Some(Path::new("/b/rootfs")));
        let text = t.sections.render("c1").unwrap();
        let policy = crate::policy::load_str("oci-c1", &text).unwrap_or_else(|d| panic!("{text}\n{}", d.render()));
        assert!(policy.filesystem.read_only_root.value);
        assert!(policy.process.no_new_privileges.value);
        let mounts = t.spec.bundle.mounts.as_ref().unwrap();
        assert_eq!(mounts.iter().map(|m| m.destination.to_str().unwrap()).collect::<Vec<_>>()[..2], ["/proc", "/dev"]);
        assert!(t.spec.bundle.always_cgroup);
        assert_eq!(t.sections.network, "none");
    }

    #[test]
    fn unsupported_properties_are_refused_by_name() {
        for (pointer, value) in [
            ("/linux/sysctl", serde_json::json!({"kernel.panic": "1"})),
            ("/linux/intelRdt", serde_json::json!({"closID": "x"})),
            ("/windows", serde_json::json!({"layerFolders": []})),
        ] {
            let mut config = default_spec();
            set(&mut config, pointer, value);
            let err = translate(&config, Path::new("/b"), "c").unwrap_err();
            assert!(matches!(err, ConfigError::Unsupported { .. }), "{pointer}: {err}");
        }
    }

    #[test]
    fn lsm_labels_are_refused_where_the_module_is_enabled_and_reported_where_the_kernel_has_none() {
        for (pointer, value, enabled) in [
            ("/process/apparmorProfile", "acme", crate::runtime::lsm::apparmor_enabled()),
            ("/process/selinuxLabel", "system_u:system_r:container_t:s0", crate::runtime::lsm::selinux_enabled()),
            ("/linux/mountLabel", "system_u:object_r:container_file_t:s0", crate::runtime::lsm::selinux_enabled()),
        ] {
            let mut config = default_spec();
            set(&mut config, pointer, serde_json::json!(value));
            match translate(&config, Path::new("/b"), "c") {
                Err(ConfigError::Unsupported { .. }) if enabled => {}
                Ok(t) if !enabled => {
                    let notes = &t.spec.bundle.lsm_not_enforced;
                    assert!(notes.len() == 1 && notes[0].contains(value) && notes[0].contains("not in this kernel"), "{notes:?}");
                }
                other => panic!("{pointer} (module enabled: {enabled}): {other:?}"),
            }
        }
    }

    #[test]
    fn a_config_without_a_process_is_created_with_nothing_to_start() {
        let mut config = default_spec();
        config.as_object_mut().unwrap().remove("process");
        let t = translate_ok(&config);
        assert!(t.spec.bundle.no_process && t.spec.command.is_empty());
        assert_eq!(t.spec.bundle.capabilities, Some(CapabilitySets::default()));
    }

    #[test]
    fn properties_the_spec_does_not_define_are_ignored() {
        let mut config = default_spec();
        set(&mut config, "/unknown", serde_json::json!("x"));
        set(&mut config, "/process/somethingNew", serde_json::json!({"a": 1}));
        translate_ok(&config);
        set(&mut config, "/ociVersion", serde_json::json!("invalid"));
        assert!(matches!(translate(&config, Path::new("/b"), "c"), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn only_namespaced_sysctls_are_accepted() {
        let mut config = default_spec();
        set(
            &mut config,
            "/linux/sysctl",
            serde_json::json!({"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20"}),
        );
        let t = translate_ok(&config);
        assert_eq!(t.spec.bundle.sysctl.len(), 3);
        config["linux"]["namespaces"].as_array_mut().unwrap().retain(|n| n["type"] != "network");
        let err = translate(&config, Path::new("/b"), "c").unwrap_err();
        assert!(err.to_string().contains("network namespace that is not the host's"), "{err}");
        set(&mut config, "/linux/sysctl", serde_json::json!({"net/../kernel.panic": "1"}));
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }

    #[test]
    fn capability_sets_are_kept_apart() {
        let mut config = default_spec();
        config["process"]["capabilities"]["ambient"] = serde_json::json!(["CAP_KILL"]);
        config["process"]["capabilities"]["inheritable"] = serde_json::json!(["CAP_KILL"]);
        let t = translate_ok(&config);
        let sets = t.spec.bundle.capabilities.as_ref().unwrap();
        assert_eq!(sets.ambient.len(), 1);
        assert_eq!(sets.bounding.len(), 3);
        assert_eq!(t.sections.caps, ["AUDIT_WRITE", "KILL", "NET_BIND_SERVICE"]);
        // `runc spec`'s sets: ambient without inheritable cannot be raised; left out, said.
        config["process"]["capabilities"]["inheritable"] = serde_json::json!([]);
        let t = translate_ok(&config);
        assert!(t.spec.bundle.capabilities.as_ref().unwrap().ambient.is_empty());
        assert!(t.spec.bundle.warnings.iter().any(|w| w.contains("CAP_KILL left out")), "{:?}", t.spec.bundle.warnings);
        config["process"]["capabilities"]["bounding"] = serde_json::json!(["CAP_NOPE"]);
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }

    #[test]
    fn linux_section_fills_the_bundle_spec() {
        let mut config = default_spec();
        set(&mut config, "/linux/rootfsPropagation", serde_json::json!("unbindable"));
        set(
            &mut config,
            "/linux/devices",
            serde_json::json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}]),
        );
        set(&mut config, "/linux/uidMappings", serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 2000}]));
        set(&mut config, "/linux/gidMappings", serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 3000}]));
        config["linux"]["namespaces"].as_array_mut().unwrap().push(serde_json::json!({"type": "user"}));
        config["linux"]["namespaces"].as_array_mut().unwrap().push(serde_json::json!({"type": "ipc", "path": "/proc/1/ns/ipc"}));
        assert!(translate(&config, Path::new("/b"), "c").unwrap_err().to_string().contains("listed twice"));
        config["linux"]["namespaces"].as_array_mut().unwrap().pop();
        set(&mut config, "/process/oomScoreAdj", serde_json::json!(-500));
        let t = translate_ok(&config);
        let b = &t.spec.bundle;
        assert_eq!(b.rootfs_propagation, Some(Propagation::Unbindable));
        assert_eq!((b.devices[0].major, b.devices[0].minor, b.devices[0].mode), (10, 229, Some(0o666)));
        assert_eq!(b.uid_mappings[0].size, 2000);
        assert!(b.namespaces.as_ref().unwrap().iter().any(|n| n.kind == NamespaceKind::User));
        assert_eq!(b.oom_score_adj, Some(-500));
        set(&mut config, "/linux/devices", serde_json::json!([{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]));
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }

    #[test]
    fn hooks_split_by_who_runs_them() {
        let mut config = default_spec();
        set(
            &mut config,
            "/hooks",
            serde_json::json!({
                "prestart": [{"path": "/bin/true"}],
                "createContainer": [{"path": "/bin/true", "args": ["true", "x"], "timeout": 5}],
                "startContainer": [{"path": "/bin/true"}],
                "poststop": [{"path": "/bin/true", "env": ["A=b"]}]
            }),
        );
        let t = translate_ok(&config);
        assert_eq!(t.hooks.prestart.len(), 1);
        assert_eq!(t.hooks.poststop[0].env, ["A=b"]);
        assert_eq!(t.spec.bundle.create_container_hooks[0].timeout, Some(5));
        assert_eq!(t.spec.bundle.start_container_hooks.len(), 1);
        set(&mut config, "/hooks", serde_json::json!({"poststart": [{"path": "relative"}]}));
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }

    #[test]
    fn mounts_keep_their_order_and_options() {
        let mut config = default_spec();
        config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": "/data", "source": "/srv", "options": ["rbind", "ro"]}));
        config["process"]["user"]["umask"] = serde_json::json!(18);
        let t = translate_ok(&config);
        let last = t.spec.bundle.mounts.as_ref().unwrap().last().unwrap().clone();
        assert!(last.is_bind());
        assert_eq!(last.options, ["rbind", "ro"]);
        assert_eq!(t.spec.umask, Some(0o022));
        config["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "relative", "type": "tmpfs"}));
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }
}
