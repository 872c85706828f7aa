//! OCI runtime config.json (runtime-spec config.md, config-linux.md): process user,
//! capabilities, no_new_privs, LSM labels, namespaces, mounts, sysctls, masked and read-only
//! paths, and `linux.seccomp` compiled like a Docker profile.

use super::apparmor::lookup_profile;
use super::seccomp_json::filter_state;
use super::{span, tree_error};
use crate::diag::Diagnostic;
use crate::lint::subject::*;
use crate::lint::tree::{parse_json, Node};
use crate::lint::Options;
use crate::policy::source::SourceFile;

pub fn subjects(name: &str, text: &str, options: &Options) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    let file = SourceFile::new(name, None, text);
    let root = parse_json(text).map_err(|e| tree_error(&file, "JSON", e))?;
    let sp = |n: &Node| Some(span(&file, n));
    let anchor = root.key("ociVersion").map(|k| span(&file, k)).or_else(|| sp(&root));
    let mut s = Subject::new(format!("OCI config {name}"), anchor.clone());
    let process = root.get("process");
    let linux = root.get("linux");

    let uid = process.and_then(|p| p.path(&["user", "uid"]));
    s.root_user = Some(match uid {
        Some(n) if n.as_i64() == Some(0) => Fact::new((true, "process.user.uid is 0 (root)".to_string()), sp(n)),
        Some(n) => Fact::new((false, String::new()), sp(n)),
        None => Fact::new((true, "process.user.uid is not set: the process runs as uid 0".to_string()), anchor.clone()),
    });
    let nnp = process.and_then(|p| p.get("noNewPrivileges"));
    s.no_new_privs = Some(Fact::new(nnp.and_then(Node::as_bool).unwrap_or(false), nnp.and_then(sp).or_else(|| anchor.clone())));
    let mut granted: Vec<(String, Option<crate::policy::source::Span>)> = Vec::new();
    for set in ["bounding", "effective", "permitted"] {
        for n in process.and_then(|p| p.path(&["capabilities", set])).map(Node::as_seq).unwrap_or(&[]) {
            if let Some(c) = n.as_str() {
                let c = c.trim_start_matches("CAP_").to_string();
                if !granted.iter().any(|(g, _)| *g == c) {
                    granted.push((c, sp(n)));
                }
            }
        }
    }
    s.capabilities = Some(Capabilities { granted, drops_all: None });
    let ro = root.path(&["root", "readonly"]);
    s.read_only_root = Some(Fact::new(
        ro.and_then(Node::as_bool).unwrap_or(false),
        ro.and_then(sp).or_else(|| root.get("root").and_then(sp)).or_else(|| anchor.clone()),
    ));

    // Namespaces: absent means the runtime's (the host's) namespace.
    let mut ns = HostNamespaces { checked: vec![Namespace::Pid, Namespace::Ipc, Namespace::Network, Namespace::User], shared: Vec::new() };
    let list = linux.and_then(|l| l.get("namespaces"));
    for (n, ty) in [(Namespace::Pid, "pid"), (Namespace::Ipc, "ipc"), (Namespace::Network, "network"), (Namespace::User, "user")] {
        let entry = list.map(Node::as_seq).unwrap_or(&[]).iter().find(|e| e.get("type").and_then(Node::as_str) == Some(ty));
        match entry {
            None => ns.shared.push((
                n,
                list.and_then(sp).or_else(|| anchor.clone()),
                format!("linux.namespaces has no `{ty}` namespace: the container shares the host's"),
            )),
            Some(e) => {
                if let Some(path) = e.get("path").and_then(Node::as_str) {
                    if path.starts_with("/proc/1/") {
                        ns.shared.push((n, sp(e), format!("the `{ty}` namespace joins {path}: the host's")));
                    }
                }
            }
        }
    }
    s.host_namespaces = Some(ns);

    let mut mounts = Vec::new();
    let mut writable_sysfs = None;
    for m in root.get("mounts").map(Node::as_seq).unwrap_or(&[]) {
        let options: Vec<&str> = m.get("options").map(Node::as_seq).unwrap_or(&[]).iter().filter_map(Node::as_str).collect();
        let ty = m.get("type").and_then(Node::as_str).unwrap_or("");
        let is_bind = ty == "bind" || options.iter().any(|o| *o == "bind" || *o == "rbind");
        if is_bind {
            if let Some(src) = m.get("source") {
                mounts.push(HostMount {
                    source: src.as_str().unwrap_or("").to_string(),
                    read_only: options.contains(&"ro"),
                    span: sp(src),
                    how: "bind-mounted",
                    potential: false,
                });
            }
        }
        if ty == "sysfs" && !options.contains(&"ro") {
            writable_sysfs = sp(m);
        }
    }
    s.host_mounts = Some(mounts);
    let strings = |key: &str| -> Option<Vec<String>> {
        linux.and_then(|l| l.get(key)).map(|n| n.as_seq().iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
    };
    let masked = strings("maskedPaths").unwrap_or_default();
    let missing: Vec<&str> =
        ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"].into_iter().filter(|p| !masked.iter().any(|m| m == p)).collect();
    let masked_span = linux.and_then(|l| l.get("maskedPaths")).and_then(sp).or_else(|| anchor.clone());
    s.proc_unmasked =
        Some(Fact::new((!missing.is_empty(), format!("linux.maskedPaths leaves {} visible", missing.join(", "))), masked_span));
    let readonly = strings("readonlyPaths").unwrap_or_default();
    let mut why = Vec::new();
    if !readonly.iter().any(|p| p == "/proc/sys") {
        why.push("linux.readonlyPaths does not include /proc/sys".to_string());
    }
    if writable_sysfs.is_some() {
        why.push("sysfs is mounted without `ro`".to_string());
    }
    let ro_span = writable_sysfs.or_else(|| linux.and_then(|l| l.get("readonlyPaths")).and_then(sp)).or_else(|| anchor.clone());
    s.proc_sys_writable = Some(Fact::new((!why.is_empty(), why.join(", ")), ro_span));
    s.sysctls = Some(
        linux
            .and_then(|l| l.get("sysctl"))
            .map(|n| n.entries().iter().filter_map(|(k, _)| k.as_str().map(|name| (name.to_string(), sp(k)))).collect())
            .unwrap_or_default(),
    );

    s.seccomp = Some(match linux.and_then(|l| l.get("seccomp")) {
        Some(node) => filter_state(&file, &root, node, &["linux", "seccomp"], name)?,
        None => SeccompState::Unconfined {
            span: linux.and_then(sp).or_else(|| anchor.clone()),
            why: "no linux.seccomp: the container runs without a seccomp filter".to_string(),
        },
    });
    let aa = process.and_then(|p| p.get("apparmorProfile"));
    s.apparmor = Some(match aa.and_then(Node::as_str) {
        None => AppArmorState::Unconfined {
            span: process.and_then(sp).or_else(|| anchor.clone()),
            why: "no process.apparmorProfile: the runtime starts the container unconfined on AppArmor hosts".to_string(),
        },
        Some(name) => lookup_profile(name, aa.and_then(sp), options),
    });
    if let Some(label) = process.and_then(|p| p.get("selinuxLabel")) {
        if let Some(t) = label.as_str().and_then(|l| l.split(':').nth(2)) {
            s.selinux_type = Some(Fact::new(t.to_string(), sp(label)));
        }
    }
    Ok(vec![s])
}
