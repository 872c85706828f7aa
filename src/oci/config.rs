//! An OCI bundle's config.json → a palisade policy (TOML text, compiled like any other) and a
//! [`RunSpec`].
//!
//! Fail closed: the config is read as plain JSON and every key is either mapped or refused
//! by name ([`ConfigError::Unsupported`]). A key palisade cannot honour is never skipped: a
//! runtime that silently drops `linux.sysctl` or a hook runs something other than what the
//! bundle says (runtime-spec config.md, "Runtimes MUST generate an error" for unsupported
//! properties).

use crate::runtime::{RunSpec, UserSpec, VolumeSpec};
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

/// What a bundle asks for, translated.
#[derive(Debug)]
pub struct Translated {
    /// A palisade policy (TOML) carrying the config's security settings.
    pub policy: String,
    pub spec: RunSpec,
    pub annotations: BTreeMap<String, String>,
}

fn unsupported(key: &str, why: &str) -> ConfigError {
    ConfigError::Unsupported { key: key.to_string(), why: why.to_string() }
}

fn invalid(key: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), why: why.into() }
}

/// The object at `key`, or an empty one when absent or null.
fn object<'a>(v: Option<&'a Value>, key: &str) -> Result<Option<&'a Map<String, Value>>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(key, "expected an object")),
    }
}

/// Refuses keys of `map` not in `known`.
fn only(map: &Map<String, Value>, prefix: &str, known: &[&str], why: &str) -> Result<(), ConfigError> {
    for (k, v) in map {
        if !known.contains(&k.as_str()) && !is_empty(v) {
            return Err(unsupported(&format!("{prefix}{k}"), why));
        }
    }
    Ok(())
}

/// null, false, [], {} and "" ask for nothing.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn strings(v: Option<&Value>, key: &str) -> Result<Vec<String>, ConfigError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(|s| s.as_str().map(str::to_string).ok_or_else(|| invalid(key, "expected strings"))).collect(),
        Some(_) => Err(invalid(key, "expected an array of strings")),
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
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let value: Value = serde_json::from_str(&text).map_err(|source| ConfigError::Json { path: path.clone(), source })?;
    translate(&value, bundle, id)
}

/// Translates a parsed config.json of the bundle at `bundle`.
pub fn translate(config: &Value, bundle: &Path, id: &str) -> Result<Translated, ConfigError> {
    let top = config.as_object().ok_or_else(|| invalid("(root)", "expected an object"))?;
    only(
        top,
        "",
        &["ociVersion", "process", "root", "hostname", "mounts", "linux", "annotations"],
        "palisade runs no hooks, domainname or non-Linux sections",
    )?;
    let version = top.get("ociVersion").and_then(Value::as_str).ok_or_else(|| invalid("ociVersion", "missing"))?;
    if !version.starts_with("1.") {
        return Err(invalid("ociVersion", format!("{version} is not a 1.x runtime-spec version")));
    }
    let mut spec = RunSpec::default();
    let mut policy = Sections::default();

    process(
        object(top.get("process"), "process")?.ok_or_else(|| invalid("process", "missing (palisade oci needs a process to run)"))?,
        &mut spec,
        &mut policy,
    )?;

    let root = object(top.get("root"), "root")?.ok_or_else(|| invalid("root", "missing"))?;
    only(root, "root.", &["path", "readonly"], "unknown root property")?;
    let root_path = root.get("path").and_then(Value::as_str).ok_or_else(|| invalid("root.path", "missing"))?;
    spec.rootfs = Some(if Path::new(root_path).is_absolute() { PathBuf::from(root_path) } else { bundle.join(root_path) });
    policy.filesystem.push(format!("read_only_root = {}", root.get("readonly").and_then(Value::as_bool).unwrap_or(false)));
    spec.hostname = top.get("hostname").and_then(Value::as_str).map(str::to_string).or_else(|| Some(id.to_string()));

    let mut tmpfs = Vec::new();
    if let Some(Value::Array(mounts)) = top.get("mounts") {
        for (i, m) in mounts.iter().enumerate() {
            mount(m, i, &mut spec, &mut tmpfs)?;
        }
    }

    let linux = object(top.get("linux"), "linux")?.ok_or_else(|| invalid("linux", "missing"))?;
    linux_section(linux, &mut policy)?;
    if let Some(path) = linux.get("cgroupsPath").filter(|p| !is_empty(p)) {
        let path = path.as_str().ok_or_else(|| invalid("linux.cgroupsPath", "expected a string"))?;
        crate::runtime::cgroups::relative_name(path).map_err(|e| invalid("linux.cgroupsPath", e.to_string()))?;
        spec.cgroups_path = Some(path.to_string());
    }
    if !tmpfs.is_empty() {
        policy
            .filesystem
            .push(format!("tmpfs = {{ {} }}", tmpfs.iter().map(|(p, o)| format!("{} = {}", q(p), q(o))).collect::<Vec<_>>().join(", ")));
    }

    let annotations = match top.get("annotations") {
        Some(Value::Object(a)) => a.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect(),
        _ => BTreeMap::new(),
    };
    Ok(Translated { policy: policy.render(id)?, spec, annotations })
}

/// The policy's sections as they are found.
#[derive(Default)]
struct Sections {
    process: Vec<String>,
    rlimits: Vec<String>,
    caps: Vec<String>,
    seccomp: Option<Profile>,
    filesystem: Vec<String>,
    network: Option<&'static str>,
    resources: Vec<String>,
}

impl Sections {
    fn render(self, id: &str) -> Result<String, ConfigError> {
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
        out += &format!("\n[process]\nrun_as_non_root = false\n{}\n", self.process.join("\n"));
        if !self.rlimits.is_empty() {
            out += &format!("\n[process.rlimits]\n{}\n", self.rlimits.join("\n"));
        }
        out += &format!("\n[filesystem]\n{}\n", self.filesystem.join("\n"));
        out += &format!("\n[network]\nmode = {}\n", q(self.network.unwrap_or("host")));
        if !self.resources.is_empty() {
            out += &format!("\n[resources]\n{}\n", self.resources.join("\n"));
        }
        Ok(out)
    }
}

fn process(p: &Map<String, Value>, spec: &mut RunSpec, policy: &mut Sections) -> Result<(), ConfigError> {
    only(
        p,
        "process.",
        &["terminal", "user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges"],
        "palisade does not apply it (AppArmor is not in this kernel; SELinux labels, oomScoreAdj, consoleSize, scheduler and ioPriority are not implemented)",
    )?;
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
    spec.workdir = Some(PathBuf::from(cwd));

    let user = object(p.get("user"), "process.user")?.ok_or_else(|| invalid("process.user", "missing"))?;
    only(user, "process.user.", &["uid", "gid", "additionalGids", "umask"], "username is not implemented")?;
    if let Some(mask) = user.get("umask").filter(|v| !v.is_null()) {
        let mask = mask.as_u64().filter(|m| *m <= 0o777).ok_or_else(|| invalid("process.user.umask", "expected a mode (0 to 0o777)"))?;
        spec.umask = Some(mask as u32);
    }
    let id = |k: &str| {
        user.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| invalid(&format!("process.user.{k}"), "missing or not a uid"))
    };
    let (uid, gid) = (id("uid")?, id("gid")?);
    spec.user = Some(UserSpec { uid, gid: Some(gid) });
    let groups: Vec<String> = match user.get("additionalGids") {
        Some(Value::Array(g)) => g
            .iter()
            .map(|n| n.as_u64().map(|n| n.to_string()).ok_or_else(|| invalid("process.user.additionalGids", "expected numbers")))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    policy.process.push(format!("groups = [{}]", groups.join(", ")));
    policy.process.push(format!("no_new_privileges = {}", p.get("noNewPrivileges").and_then(Value::as_bool).unwrap_or(false)));

    // Capabilities: palisade keeps one set in bounding, permitted, effective, inheritable and
    // ambient. A config whose sets differ is refused, except that inheritable and ambient may
    // be left empty for uid 0, whose permitted set after execve is the bounding set anyway
    // (capabilities(7), "Capabilities and execution of programs by root").
    if let Some(caps) = object(p.get("capabilities"), "process.capabilities")? {
        only(caps, "process.capabilities.", &["bounding", "effective", "permitted", "inheritable", "ambient"], "unknown capability set")?;
        let set = |k: &str| -> Result<Vec<String>, ConfigError> {
            let mut v: Vec<String> = strings(caps.get(k), &format!("process.capabilities.{k}"))?
                .iter()
                .map(|c| c.trim_start_matches("CAP_").to_string())
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        };
        let bounding = set("bounding")?;
        for k in ["effective", "permitted"] {
            if set(k)? != bounding {
                return Err(unsupported(
                    &format!("process.capabilities.{k}"),
                    "palisade keeps one capability set: it must equal `bounding`",
                ));
            }
        }
        for k in ["inheritable", "ambient"] {
            let s = set(k)?;
            if s != bounding && !(s.is_empty() && uid == 0) {
                return Err(unsupported(
                    &format!("process.capabilities.{k}"),
                    "palisade keeps one capability set: it must equal `bounding` (or be empty for uid 0)",
                ));
            }
        }
        // CAP_MKNOD is safe to keep: every mount the workload can write (root, tmpfs, /dev,
        // volumes) is nodev, so a node it makes stays inert — what runc's device cgroup `c *:*
        // m` / `b *:* m` rules give (tests/run_containment.rs proves it from inside).
        policy.caps = bounding;
    }

    if let Some(Value::Array(rlimits)) = p.get("rlimits") {
        for r in rlimits {
            let ty = r.get("type").and_then(Value::as_str).ok_or_else(|| invalid("process.rlimits", "entry without type"))?;
            let name = ty
                .strip_prefix("RLIMIT_")
                .ok_or_else(|| invalid("process.rlimits", format!("`{ty}` is not RLIMIT_*")))?
                .to_ascii_lowercase();
            let n = |k: &str| r.get(k).and_then(Value::as_u64).ok_or_else(|| invalid("process.rlimits", format!("{ty}: missing {k}")));
            policy.rlimits.push(format!("{name} = {{ soft = {}, hard = {} }}", n("soft")?, n("hard")?));
        }
    }
    Ok(())
}

/// The mounts palisade's runtime makes itself in every container (rootfs.rs): listed in a
/// config they are honoured by that, with palisade's options (nosuid, nodev, noexec where it
/// can; sysfs read-only).
const RUNTIME_MOUNTS: &[(&str, &str)] =
    &[("/proc", "proc"), ("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"), ("/dev/mqueue", "mqueue"), ("/sys", "sysfs")];

/// Bind mount options palisade applies as a volume (read-only or read-write; it always
/// binds recursively and privately).
const BIND_OPTIONS: &[&str] = &["bind", "rbind", "ro", "rw", "private", "rprivate", "nosuid", "nodev", "noexec"];

fn mount(m: &Value, i: usize, spec: &mut RunSpec, tmpfs: &mut Vec<(String, String)>) -> Result<(), ConfigError> {
    let key = format!("mounts[{i}]");
    let m = m.as_object().ok_or_else(|| invalid(&key, "expected an object"))?;
    only(m, &format!("{key}."), &["destination", "type", "source", "options"], "uid/gid mappings of mounts are not implemented")?;
    let dest = m.get("destination").and_then(Value::as_str).ok_or_else(|| invalid(&key, "no destination"))?;
    let ty = m.get("type").and_then(Value::as_str).unwrap_or("");
    let options = strings(m.get("options"), &format!("{key}.options"))?;
    let is_bind = ty == "bind" || options.iter().any(|o| o == "bind" || o == "rbind");
    if is_bind {
        if let Some(o) = options.iter().find(|o| !BIND_OPTIONS.contains(&o.as_str())) {
            return Err(unsupported(
                &format!("{key}.options"),
                &format!("bind mount option `{o}` (supported: {})", BIND_OPTIONS.join(", ")),
            ));
        }
        let source = m.get("source").and_then(Value::as_str).ok_or_else(|| invalid(&key, "bind mount without source"))?;
        if !source.starts_with('/') || !dest.starts_with('/') {
            return Err(invalid(&key, "bind mount source and destination must be absolute"));
        }
        spec.volumes.push(VolumeSpec { source: source.into(), destination: dest.into(), read_only: options.iter().any(|o| o == "ro") });
        return Ok(());
    }
    if RUNTIME_MOUNTS.contains(&(dest, ty)) {
        return Ok(());
    }
    if ty == "tmpfs" {
        // Private propagation is what palisade gives every mount of the container anyway.
        let options: Vec<&str> = options.iter().map(String::as_str).filter(|o| !matches!(*o, "private" | "rprivate")).collect();
        tmpfs.push((dest.to_string(), options.join(",")));
        return Ok(());
    }
    Err(unsupported(&key, &format!("a `{ty}` mount at {dest} (palisade mounts proc, sysfs, /dev, devpts, shm and mqueue itself; supports tmpfs and bind mounts; cgroup filesystems are not mounted)")))
}

fn linux_section(l: &Map<String, Value>, policy: &mut Sections) -> Result<(), ConfigError> {
    only(
        l,
        "linux.",
        &["namespaces", "resources", "seccomp", "maskedPaths", "readonlyPaths", "cgroupsPath"],
        "not implemented by palisade oci (user namespaces and id mappings, devices, sysctl, rootfsPropagation, personality, intelRdt and labels are refused rather than skipped)",
    )?;
    let mut kinds = Vec::new();
    if let Some(Value::Array(ns)) = l.get("namespaces") {
        for n in ns {
            let ty = n.get("type").and_then(Value::as_str).ok_or_else(|| invalid("linux.namespaces", "entry without type"))?;
            if n.get("path").is_some_and(|p| !is_empty(p)) {
                return Err(unsupported("linux.namespaces[].path", "joining an existing namespace is not implemented"));
            }
            kinds.push(ty);
        }
    }
    // palisade always creates pid, mount, ipc, uts and cgroup namespaces; a config that asks
    // to share one of them with the host cannot be run as written.
    for required in ["pid", "mount", "ipc", "uts"] {
        if !kinds.contains(&required) {
            return Err(unsupported("linux.namespaces", &format!("the `{required}` namespace is always private in palisade; add it")));
        }
    }
    if let Some(other) = kinds.iter().find(|k| !["pid", "mount", "ipc", "uts", "network", "cgroup"].contains(*k)) {
        return Err(unsupported("linux.namespaces", &format!("a `{other}` namespace is not implemented for root-run containers")));
    }
    // A private network namespace holds only `lo` (palisade's network mode "none").
    policy.network = Some(if kinds.contains(&"network") { "none" } else { "host" });

    if let Some(res) = object(l.get("resources"), "linux.resources")? {
        only(res, "linux.resources.", &["devices", "memory", "pids", "cpu"], "resource controls palisade does not set")?;
        if let Some(Value::Array(devs)) = res.get("devices") {
            check_devices(devs)?;
        }
        if let Some(mem) = object(res.get("memory"), "linux.resources.memory")? {
            only(mem, "linux.resources.memory.", &["limit"], "only memory.limit is supported")?;
            if let Some(limit) = mem.get("limit").and_then(Value::as_i64).filter(|l| *l > 0) {
                policy.resources.push(format!("memory = \"{limit}\""));
            }
        }
        if let Some(pids) = object(res.get("pids"), "linux.resources.pids")? {
            only(pids, "linux.resources.pids.", &["limit"], "only pids.limit is supported")?;
            if let Some(limit) = pids.get("limit").and_then(Value::as_i64).filter(|l| *l > 0) {
                policy.resources.push(format!("pids = {limit}"));
            }
        }
        if let Some(cpu) = object(res.get("cpu"), "linux.resources.cpu")? {
            // shares 1024 is the kernel's default weight (what containerd writes): no change.
            if cpu.get("shares").is_some_and(|s| !s.is_null() && s.as_u64() != Some(1024)) {
                return Err(unsupported("linux.resources.cpu.shares", "cpu weights are not implemented (only the default, 1024)"));
            }
            only(cpu, "linux.resources.cpu.", &["quota", "period", "shares"], "only cpu.quota and cpu.period are supported")?;
            if let (Some(quota), Some(period)) = (cpu.get("quota").and_then(Value::as_i64), cpu.get("period").and_then(Value::as_u64)) {
                if quota > 0 && period > 0 {
                    policy.resources.push(format!("cpu = {}", quota as f64 / period as f64));
                }
            }
        }
    }

    if let Some(seccomp) = l.get("seccomp").filter(|s| !is_empty(s)) {
        let profile: Profile = serde_json::from_value(seccomp.clone()).map_err(|e| ConfigError::Seccomp(e.to_string()))?;
        if !profile.flags.is_empty() {
            return Err(unsupported("linux.seccomp.flags", "palisade loads its filter with its own fixed flags"));
        }
        if profile.listener_path.is_some() {
            return Err(unsupported("linux.seccomp.listenerPath", "seccomp user notification is not implemented"));
        }
        policy.seccomp = Some(profile);
    }
    policy.filesystem.push(format!("masked_paths = {}", list(&strings(l.get("maskedPaths"), "linux.maskedPaths")?)));
    policy.filesystem.push(format!("readonly_paths = {}", list(&strings(l.get("readonlyPaths"), "linux.readonlyPaths")?)));
    Ok(())
}

/// runc's default allowed devices (libcontainer/specconv AllowedDevices), as (major, minor):
/// null, zero, full, random, urandom, tty, console, ptmx, and every pts (minor `None`).
const DEFAULT_DEVICES: &[(u64, Option<u64>)] =
    &[(1, Some(3)), (1, Some(5)), (1, Some(7)), (1, Some(8)), (1, Some(9)), (5, Some(0)), (5, Some(1)), (5, Some(2)), (136, None)];

/// The device cgroup rules: a deny-all rule first, then at most runc's default allow-list.
/// palisade sets no device cgroup. Its /dev holds only null, zero, full, random, urandom and
/// tty (bound from the host) and a private devpts, all within that list, and every other mount
/// the workload can write is nodev, so nodes it makes with CAP_MKNOD cannot be opened. Any
/// other rule asks for access palisade cannot give exactly, and is refused.
fn check_devices(devs: &[Value]) -> Result<(), ConfigError> {
    let refuse = |why: &str| Err(unsupported("linux.resources.devices", why));
    let deny_all = |d: &Value| {
        d.get("allow") == Some(&Value::Bool(false))
            && d.get("access").and_then(Value::as_str).is_none_or(|a| a == "rwm")
            && d.get("major").is_none()
            && d.get("minor").is_none()
            && d.get("type").and_then(Value::as_str).is_none_or(|t| t == "a")
    };
    let Some((first, rest)) = devs.split_first() else { return Ok(()) };
    if !deny_all(first) {
        return refuse("the first rule must deny every device (palisade's /dev has a fixed minimal set)");
    }
    for d in rest {
        let allowed = d.get("allow") == Some(&Value::Bool(true))
            && d.get("type").and_then(Value::as_str) == Some("c")
            && d.get("major").and_then(Value::as_u64).is_some_and(|major| {
                let minor = d.get("minor").and_then(Value::as_u64);
                DEFAULT_DEVICES.iter().any(|(m, n)| *m == major && (n.is_none() || *n == minor))
            });
        if !allowed && !deny_all(d) {
            return refuse(&format!(
                "rule {d} allows a device beyond palisade's fixed /dev (null, zero, full, random, urandom, tty, ptmx, pts)"
            ));
        }
    }
    Ok(())
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

    #[test]
    fn default_spec_translates_and_its_policy_loads() {
        let t = translate(&default_spec(), Path::new("/b"), "c1").unwrap();
        assert_eq!(t.spec.command, ["sh"]);
        assert_eq!(t.spec.rootfs.as_deref(), Some(Path::new("/b/rootfs")));
        let policy = crate::policy::load_str("oci-c1", &t.policy).unwrap_or_else(|d| panic!("{}\n{}", t.policy, d.render()));
        assert!(policy.filesystem.read_only_root.value);
        assert!(policy.process.no_new_privileges.value);
    }

    #[test]
    fn unsupported_keys_are_refused_by_name() {
        for (path, value) in [
            ("/linux/sysctl", serde_json::json!({"net.ipv4.ip_forward": "1"})),
            ("/hooks", serde_json::json!({"prestart": [{"path": "/bin/true"}]})),
            ("/process/apparmorProfile", serde_json::json!("x")),
            ("/linux/uidMappings", serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 1}])),
        ] {
            let mut config = default_spec();
            let (parent, key) = path.rsplit_once('/').unwrap();
            config.pointer_mut(if parent.is_empty() { "" } else { parent }).unwrap().as_object_mut().unwrap().insert(key.into(), value);
            let err = translate(&config, Path::new("/b"), "c").unwrap_err();
            assert!(matches!(err, ConfigError::Unsupported { .. }), "{path}: {err}");
        }
        let mut config = default_spec();
        config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup"}));
        assert!(translate(&config, Path::new("/b"), "c").unwrap_err().to_string().contains("cgroup"));
    }

    #[test]
    fn umask_and_private_tmpfs_as_podman_writes_them() {
        let mut config = default_spec();
        config["process"]["user"]["umask"] = serde_json::json!(18);
        config["mounts"].as_array_mut().unwrap().push(
            serde_json::json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["rprivate", "nosuid", "nodev"]}),
        );
        let t = translate(&config, Path::new("/b"), "c").unwrap();
        assert_eq!(t.spec.umask, Some(0o022));
        assert!(t.policy.contains(r#""/run" = "nosuid,nodev""#), "{}", t.policy);
        config["process"]["user"]["umask"] = serde_json::json!(0o1777);
        assert!(matches!(translate(&config, Path::new("/b"), "c").unwrap_err(), ConfigError::Invalid { .. }));
    }

    #[test]
    fn device_rules_within_the_fixed_dev_are_accepted() {
        let mut config = default_spec();
        let devices = serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 136, "access": "rwm"}
        ]);
        config["linux"]["resources"]["devices"] = devices.clone();
        config["linux"]["resources"]["cpu"] = serde_json::json!({"shares": 1024});
        translate(&config, Path::new("/b"), "c").unwrap();
        for bad in [
            serde_json::json!({"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rwm"}),
            serde_json::json!({"allow": true, "type": "c", "major": 1, "minor": 1, "access": "r"}),
        ] {
            let mut d = devices.clone();
            d.as_array_mut().unwrap().push(bad);
            config["linux"]["resources"]["devices"] = d;
            assert!(translate(&config, Path::new("/b"), "c").is_err());
        }
        config["linux"]["resources"]["devices"] = serde_json::json!([{"allow": true, "type": "c", "major": 1, "minor": 3}]);
        assert!(translate(&config, Path::new("/b"), "c").is_err());
        config["linux"]["resources"]["devices"] = devices;
        config["linux"]["resources"]["cpu"] = serde_json::json!({"shares": 512});
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }

    #[test]
    fn capability_sets_must_agree_and_mknod_is_kept() {
        let mut config = default_spec();
        for set in ["bounding", "effective", "permitted"] {
            config["process"]["capabilities"][set].as_array_mut().unwrap().push("CAP_MKNOD".into());
        }
        // Nodes made with it stay inert: every writable mount is nodev.
        assert!(translate(&config, Path::new("/b"), "c").is_ok());
        let mut config = default_spec();
        config["process"]["capabilities"]["effective"] = serde_json::json!(["CAP_KILL"]);
        assert!(translate(&config, Path::new("/b"), "c").is_err());
    }
}
