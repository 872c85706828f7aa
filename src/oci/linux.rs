//! config.json's `linux` section → the policy's sections and the [`BundleSpec`].

use super::config::{invalid, is_empty, object, refuse_set, strings, uint, ConfigError, Sections};
use crate::runtime::bundle::{BundleSpec, DeviceNode, IdMapping, Namespace, NamespaceKind, Propagation};
use crate::runtime::RunSpec;
use crate::seccomp::json::Profile;
use serde_json::{Map, Value};
use std::path::PathBuf;

pub fn translate(l: &Map<String, Value>, spec: &mut RunSpec, policy: &mut Sections, bundle: &mut BundleSpec) -> Result<(), ConfigError> {
    refuse_set(
        l,
        "linux.",
        &[
            ("timeOffsets", "time namespaces are not implemented"),
            ("netDevices", "moving network devices into the container is not implemented"),
            ("intelRdt", "Intel RDT is not implemented"),
            ("memoryPolicy", "NUMA memory policies are not implemented"),
        ],
    )?;
    super::config::lsm_label(l.get("mountLabel"), "linux.mountLabel", super::config::Lsm::Selinux, bundle)?;
    namespaces(l, bundle)?;
    policy.network =
        if bundle.namespaces.iter().flatten().any(|n| n.kind == NamespaceKind::Network && n.path.is_none()) { "none" } else { "host" };
    bundle.uid_mappings = mappings(l.get("uidMappings"), "linux.uidMappings")?;
    bundle.gid_mappings = mappings(l.get("gidMappings"), "linux.gidMappings")?;

    if let Some(path) = l.get("cgroupsPath").filter(|p| !is_empty(p)) {
        let path = path.as_str().ok_or_else(|| invalid("linux.cgroupsPath", "expected a string"))?;
        crate::runtime::cgroups::relative_name(path).map_err(|e| invalid("linux.cgroupsPath", e.to_string()))?;
        spec.cgroups_path = Some(path.to_string());
    }
    // Checked and applied by the cgroups module (src/runtime/cgroups), strictly.
    bundle.resources = l.get("resources").filter(|r| !r.is_null()).cloned();

    if let Some(devices) = l.get("devices").filter(|d| !d.is_null()) {
        let devices = devices.as_array().ok_or_else(|| invalid("linux.devices", "expected an array"))?;
        for (i, d) in devices.iter().enumerate() {
            bundle.devices.push(device(d, i)?);
        }
    }

    if let Some(p) = l.get("rootfsPropagation").filter(|p| !is_empty(p)) {
        let name = p.as_str().ok_or_else(|| invalid("linux.rootfsPropagation", "expected a string"))?;
        bundle.rootfs_propagation = Some(
            Propagation::parse(name)
                .ok_or_else(|| invalid("linux.rootfsPropagation", format!("`{name}` is not one of shared, slave, private, unbindable")))?,
        );
    }

    if let Some(sysctl) = object(l.get("sysctl"), "linux.sysctl")? {
        for (key, value) in sysctl {
            let value = value.as_str().ok_or_else(|| invalid("linux.sysctl", format!("{key}: expected a string value")))?;
            check_sysctl(key, bundle)?;
            bundle.sysctl.push((key.clone(), value.to_string()));
        }
    }

    if let Some(personality) = object(l.get("personality"), "linux.personality")? {
        // PER_LINUX with no flags is what every process has: honoured by doing nothing.
        // runtime-spec defines the domains LINUX and LINUX32 and no flags.
        if personality.get("flags").is_some_and(|f| !is_empty(f)) {
            return Err(super::config::unsupported("linux.personality.flags", "runtime-spec defines no personality flags"));
        }
        bundle.personality = match personality.get("domain").and_then(Value::as_str).unwrap_or("LINUX") {
            "LINUX" => None,
            // PER_LINUX32 (include/uapi/linux/personality.h): uname reports a 32-bit machine.
            "LINUX32" => Some(0x0008),
            other => return Err(invalid("linux.personality.domain", format!("`{other}` is not LINUX or LINUX32"))),
        };
    }

    if let Some(seccomp) = l.get("seccomp").filter(|s| !is_empty(s)) {
        let profile: Profile = serde_json::from_value(seccomp.clone()).map_err(|e| ConfigError::Seccomp(e.to_string()))?;
        for flag in &profile.flags {
            let bit = crate::sys::seccomp::FILTER_FLAGS.iter().find(|(name, _)| name == flag).map(|(_, bit)| *bit).ok_or_else(|| {
                super::config::unsupported("linux.seccomp.flags", &format!("`{flag}` (palisade supports TSYNC, LOG and SPEC_ALLOW)"))
            })?;
            bundle.seccomp_flags |= bit;
        }
        if profile.listener_path.is_some() {
            return Err(super::config::unsupported("linux.seccomp.listenerPath", "seccomp user notification is not implemented"));
        }
        policy.seccomp = Some(profile);
    }
    policy.masked_paths = absolute_paths(l.get("maskedPaths"), "linux.maskedPaths")?;
    policy.readonly_paths = absolute_paths(l.get("readonlyPaths"), "linux.readonlyPaths")?;
    Ok(())
}

/// Paths inside the container (masked or read-only): absolute, as the spec says.
fn absolute_paths(v: Option<&Value>, key: &str) -> Result<Vec<String>, ConfigError> {
    let paths = strings(v, key)?;
    if let Some(p) = paths.iter().find(|p| !p.starts_with('/')) {
        return Err(invalid(key, format!("`{p}` is not an absolute path")));
    }
    Ok(paths)
}

/// `linux.namespaces`: each kind once, known kinds only.
fn namespaces(l: &Map<String, Value>, bundle: &mut BundleSpec) -> Result<(), ConfigError> {
    let mut list: Vec<Namespace> = Vec::new();
    if let Some(ns) = l.get("namespaces").filter(|n| !n.is_null()) {
        let ns = ns.as_array().ok_or_else(|| invalid("linux.namespaces", "expected an array"))?;
        for n in ns {
            let ty = n.get("type").and_then(Value::as_str).ok_or_else(|| invalid("linux.namespaces", "entry without type"))?;
            let kind = match NamespaceKind::parse(ty) {
                Some(kind) => kind,
                None if ty == "time" => return Err(super::config::unsupported("linux.namespaces", "time namespaces are not implemented")),
                None => return Err(invalid("linux.namespaces", format!("`{ty}` is not a namespace type"))),
            };
            if list.iter().any(|e| e.kind == kind) {
                return Err(invalid("linux.namespaces", format!("`{ty}` is listed twice")));
            }
            let path = match n.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.is_empty() => None,
                Some(Value::String(p)) if p.starts_with('/') => Some(PathBuf::from(p)),
                Some(other) => return Err(invalid("linux.namespaces", format!("{ty}: path {other} is not an absolute path"))),
            };
            list.push(Namespace { kind, path });
        }
    }
    bundle.namespaces = Some(list);
    Ok(())
}

fn mappings(v: Option<&Value>, key: &str) -> Result<Vec<IdMapping>, ConfigError> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let entries = v.as_array().ok_or_else(|| invalid(key, "expected an array"))?;
    entries
        .iter()
        .map(|m| {
            let n = |k: &str| {
                uint(m.get(k), &format!("{key}.{k}"))?
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| invalid(key, format!("entry without a valid {k}")))
            };
            Ok(IdMapping { container_id: n("containerID")?, host_id: n("hostID")?, size: n("size")? })
        })
        .collect()
}

/// One `linux.devices` entry.
fn device(d: &Value, i: usize) -> Result<DeviceNode, ConfigError> {
    let key = format!("linux.devices[{i}]");
    let path = d.get("path").and_then(Value::as_str).ok_or_else(|| invalid(&key, "no path"))?;
    if !path.starts_with("/dev/") || path.split('/').any(|c| c == "..") {
        return Err(invalid(&key, format!("path `{path}` must be below /dev")));
    }
    let kind = match d.get("type").and_then(Value::as_str) {
        Some("c") | Some("u") => 'c',
        Some("b") => 'b',
        Some("p") => 'p',
        other => return Err(invalid(&key, format!("type {other:?} is not c, u, b or p"))),
    };
    let number = |k: &str| uint(d.get(k), &format!("{key}.{k}"));
    let (major, minor) = (number("major")?, number("minor")?);
    let (major, minor) = match (kind, major, minor) {
        ('p', _, _) => (0, 0),
        (_, Some(major), Some(minor)) => (major, minor),
        _ => return Err(invalid(&key, "a character or block device needs major and minor")),
    };
    let id = |k: &str| -> Result<Option<u32>, ConfigError> {
        number(k)?.map(|n| u32::try_from(n).map_err(|_| invalid(&key, format!("{k} out of range")))).transpose()
    };
    let mode = id("fileMode")?;
    if mode.is_some_and(|m| m > 0o7777) {
        return Err(invalid(&key, "fileMode has bits beyond the permission bits"));
    }
    Ok(DeviceNode { path: PathBuf::from(path), kind, major, minor, mode, uid: id("uid")?, gid: id("gid")? })
}

/// IPC sysctls (ipc_namespaces(7)): namespaced with the ipc namespace.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Only sysctls that belong to a namespace of the container's own may be set: any other
/// one is the host's (or another container's) and writing it would change theirs. As runc's
/// validator: ipc sysctls and `fs.mqueue.*` need a private ipc namespace, `net.*` a network
/// namespace that is not the host's, `kernel.domainname` a private uts namespace
/// (`kernel.hostname` is the `hostname` property's job).
fn check_sysctl(key: &str, bundle: &BundleSpec) -> Result<(), ConfigError> {
    let bad_key = key.is_empty() || key.contains('/') || key.split('.').any(|c| c.is_empty() || c == "..");
    if bad_key {
        return Err(invalid("linux.sysctl", format!("`{key}` is not a sysctl name")));
    }
    let listed =
        |kind: NamespaceKind, new_only: bool| bundle.namespaces.iter().flatten().any(|n| n.kind == kind && (!new_only || n.path.is_none()));
    let (needs, allowed) = if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        ("a private ipc namespace", listed(NamespaceKind::Ipc, false))
    } else if key.starts_with("net.") {
        ("a network namespace that is not the host's", listed(NamespaceKind::Network, false))
    } else if key == "kernel.domainname" {
        ("a uts namespace that is not the host's", listed(NamespaceKind::Uts, false))
    } else {
        return Err(super::config::unsupported(
            "linux.sysctl",
            &format!("`{key}` is not namespaced: setting it would change the host for every process"),
        ));
    };
    if !allowed {
        return Err(invalid("linux.sysctl", format!("`{key}` needs {needs}")));
    }
    Ok(())
}
