//! Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob;
//! YAML with several documents, or JSON, or a `List`): every container and init container of
//! every pod template is a subject, with the pod-level securityContext as its default, as the
//! kubelet applies it. Unset fields take Kubernetes' defaults: allowPrivilegeEscalation true,
//! the runtime's default capabilities, seccomp Unconfined (unless the kubelet's SeccompDefault
//! is on), AppArmor RuntimeDefault.

use super::apparmor::lookup_profile;
use super::seccomp_json::filter_state;
use super::{span, tree_error};
use crate::diag::Diagnostic;
use crate::lint::subject::*;
use crate::lint::tree::{parse_json, parse_yaml, Node};
use crate::lint::Options;
use crate::policy::source::{SourceFile, Span};
use crate::seccomp::import::DOCKER_DEFAULT_CAPS;
use std::sync::Arc;

pub fn subjects(name: &str, text: &str, options: &Options) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    let file = SourceFile::new(name, None, text);
    let docs = if text.trim_start().starts_with('{') {
        vec![parse_json(text).map_err(|e| tree_error(&file, "JSON", e))?]
    } else {
        parse_yaml(text).map_err(|e| tree_error(&file, "YAML", e))?
    };
    let mut out = Vec::new();
    for doc in &docs {
        let items: Vec<&Node> = if doc.get("kind").and_then(Node::as_str) == Some("List") {
            doc.get("items").map(|i| i.as_seq().iter().collect()).unwrap_or_default()
        } else {
            vec![doc]
        };
        for item in items {
            workload(&file, item, options, &mut out)?;
        }
    }
    Ok(out)
}

/// The pod template of a workload: its metadata and spec.
fn pod_template(doc: &Node) -> Option<(Option<&Node>, &Node)> {
    let kind = doc.get("kind").and_then(Node::as_str)?;
    match kind {
        "Pod" => Some((doc.get("metadata"), doc.get("spec")?)),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" | "ReplicationController" => {
            let t = doc.path(&["spec", "template"])?;
            Some((t.get("metadata"), t.get("spec")?))
        }
        "CronJob" => {
            let t = doc.path(&["spec", "jobTemplate", "spec", "template"])?;
            Some((t.get("metadata"), t.get("spec")?))
        }
        _ => None,
    }
}

fn workload(file: &Arc<SourceFile>, doc: &Node, options: &Options, out: &mut Vec<Subject>) -> Result<(), Vec<Diagnostic>> {
    let Some((meta, pod)) = pod_template(doc) else { return Ok(()) };
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or("?");
    let wname = doc.path(&["metadata", "name"]).and_then(Node::as_str).unwrap_or("?");
    let sp = |n: &Node| Some(span(file, n));
    let pod_sc = pod.get("securityContext");
    let annotations = meta.and_then(|m| m.get("annotations"));
    let host_paths: Vec<(&str, &Node)> = pod
        .get("volumes")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| Some((v.get("name")?.as_str()?, v.path(&["hostPath", "path"])?)))
        .collect();
    let containers = [("containers", "container"), ("initContainers", "init container"), ("ephemeralContainers", "ephemeral container")];
    for (key, label) in containers {
        for c in pod.get(key).map(Node::as_seq).unwrap_or(&[]) {
            let cname = c.get("name").and_then(Node::as_str).unwrap_or("?");
            let anchor = c.get("name").and_then(sp);
            let mut s = Subject::new(format!("{kind}/{wname} {label} {cname}"), anchor.clone());
            let sc = c.get("securityContext");
            // A container field, else the pod's.
            let field = |path: &[&str]| sc.and_then(|n| n.path(path)).or_else(|| pod_sc.and_then(|n| n.path(path)));
            let cfield = |path: &[&str]| sc.and_then(|n| n.path(path));

            let privileged = cfield(&["privileged"]);
            s.privileged = Some(Fact::new(privileged.and_then(Node::as_bool).unwrap_or(false), privileged.and_then(sp)));
            let ape = cfield(&["allowPrivilegeEscalation"]);
            s.no_new_privs = Some(match ape.and_then(Node::as_bool) {
                Some(v) => Fact::new(!v, ape.and_then(sp)),
                None => Fact::new(false, anchor.clone()),
            });

            // Capabilities: the runtime's defaults unless dropped, plus what is added.
            let drop: Vec<String> = cfield(&["capabilities", "drop"])
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .filter_map(|n| n.as_str().map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase()))
                .collect();
            let drops_all = drop.iter().any(|d| d == "ALL");
            let mut granted: Vec<(String, Option<Span>)> = Vec::new();
            if !drops_all {
                granted.extend(DOCKER_DEFAULT_CAPS.iter().filter(|c| !drop.iter().any(|d| d == *c)).map(|c| (c.to_string(), None)));
            }
            for n in cfield(&["capabilities", "add"]).map(Node::as_seq).unwrap_or(&[]) {
                if let Some(cap) = n.as_str().map(|s| s.trim_start_matches("CAP_").to_ascii_uppercase()) {
                    granted.retain(|(g, _)| *g != cap);
                    granted.push((cap, sp(n)));
                }
            }
            s.capabilities = Some(Capabilities { granted, drops_all: Some(drops_all) });

            let uid = field(&["runAsUser"]);
            let non_root = field(&["runAsNonRoot"]);
            s.root_user = Some(match (uid.and_then(Node::as_i64), non_root.and_then(Node::as_bool)) {
                (Some(0), _) => Fact::new((true, "runAsUser is 0 (root)".to_string()), uid.and_then(sp)),
                (Some(_), _) => Fact::new((false, String::new()), uid.and_then(sp)),
                (None, Some(true)) => Fact::new((false, String::new()), non_root.and_then(sp)),
                (None, _) => Fact::new(
                    (true, "no runAsUser and runAsNonRoot is not true: the image's USER, root for most images".to_string()),
                    non_root.and_then(sp).or_else(|| anchor.clone()),
                ),
            });
            let ro = cfield(&["readOnlyRootFilesystem"]);
            s.read_only_root = Some(Fact::new(ro.and_then(Node::as_bool).unwrap_or(false), ro.and_then(sp).or_else(|| anchor.clone())));

            let mut ns =
                HostNamespaces { checked: vec![Namespace::Pid, Namespace::Ipc, Namespace::Network, Namespace::User], shared: Vec::new() };
            for (n, key, what) in
                [(Namespace::Pid, "hostPID", "PID"), (Namespace::Ipc, "hostIPC", "IPC"), (Namespace::Network, "hostNetwork", "network")]
            {
                if pod.get(key).and_then(Node::as_bool) == Some(true) {
                    ns.shared.push((n, pod.key(key).and_then(sp), format!("{key}: true: the host's {what} namespace")));
                }
            }
            if pod.get("hostUsers").and_then(Node::as_bool) == Some(true) {
                ns.shared.push((
                    Namespace::User,
                    pod.key("hostUsers").and_then(sp),
                    "hostUsers: true: no user namespace, uid 0 is the host's".to_string(),
                ));
            }
            s.host_namespaces = Some(ns);

            let mut mounts = Vec::new();
            for vm in c.get("volumeMounts").map(Node::as_seq).unwrap_or(&[]) {
                let Some(vname) = vm.get("name").and_then(Node::as_str) else { continue };
                if let Some((_, path)) = host_paths.iter().find(|(n, _)| *n == vname) {
                    let read_only = vm.get("readOnly").and_then(Node::as_bool).unwrap_or(false);
                    mounts.push(HostMount {
                        source: path.as_str().unwrap_or("").to_string(),
                        read_only,
                        span: sp(path),
                        how: "mounted (hostPath)",
                        potential: false,
                    });
                }
            }
            s.host_mounts = Some(mounts);
            s.sysctls = Some(
                pod_sc
                    .and_then(|p| p.get("sysctls"))
                    .map(Node::as_seq)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(|n| Some((n.get("name")?.as_str()?.to_string(), n.get("name").and_then(sp))))
                    .collect(),
            );
            let pm = cfield(&["procMount"]);
            s.proc_unmasked = Some(Fact::new(
                (pm.and_then(Node::as_str) == Some("Unmasked"), "procMount: Unmasked: /proc is not masked".to_string()),
                pm.and_then(sp),
            ));
            if let Some(t) = field(&["seLinuxOptions", "type"]) {
                s.selinux_type = Some(Fact::new(t.as_str().unwrap_or("").to_string(), sp(t)));
            }

            // seccomp: securityContext.seccompProfile (container, then pod), then the old annotations.
            let seccomp = field(&["seccompProfile"]);
            let annotation = |key: String| annotations.and_then(|a| a.get(&key));
            let seccomp_annotation = annotation(format!("container.seccomp.security.alpha.kubernetes.io/{cname}"))
                .or_else(|| annotation("seccomp.security.alpha.kubernetes.io/pod".into()));
            let (stype, slocal, sspan) = match (seccomp, seccomp_annotation) {
                (Some(p), _) => (
                    p.get("type").and_then(Node::as_str).unwrap_or("").to_string(),
                    p.get("localhostProfile").and_then(Node::as_str).map(str::to_string),
                    sp(p),
                ),
                (None, Some(a)) => {
                    let v = a.as_str().unwrap_or("");
                    match v.strip_prefix("localhost/") {
                        Some(l) => ("Localhost".to_string(), Some(l.to_string()), sp(a)),
                        None if v == "unconfined" => ("Unconfined".to_string(), None, sp(a)),
                        None => ("RuntimeDefault".to_string(), None, sp(a)),
                    }
                }
                (None, None) => (String::new(), None, anchor.clone()),
            };
            s.seccomp = Some(match stype.as_str() {
                "RuntimeDefault" => SeccompState::RuntimeDefault,
                "Localhost" => localhost_seccomp(&options.seccomp_root, slocal.as_deref().unwrap_or(""))?,
                "Unconfined" => {
                    SeccompState::Unconfined { span: sspan, why: "seccompProfile type Unconfined: no seccomp filter".to_string() }
                }
                _ => SeccompState::Unconfined {
                    span: sspan,
                    why: "no seccompProfile: the pod runs Unconfined unless the kubelet's SeccompDefault is on".to_string(),
                },
            });

            // AppArmor: securityContext.appArmorProfile (1.30+), then the beta annotation.
            let aa = field(&["appArmorProfile"]);
            let aa_annotation = annotation(format!("container.apparmor.security.beta.kubernetes.io/{cname}"));
            s.apparmor = Some(match (aa, aa_annotation) {
                (Some(p), _) => match p.get("type").and_then(Node::as_str) {
                    Some("Unconfined") => AppArmorState::Unconfined { span: sp(p), why: "appArmorProfile type Unconfined".to_string() },
                    Some("Localhost") => lookup_profile(p.get("localhostProfile").and_then(Node::as_str).unwrap_or(""), sp(p), options),
                    _ => AppArmorState::RuntimeDefault,
                },
                (None, Some(a)) => match a.as_str().unwrap_or("") {
                    "unconfined" => AppArmorState::Unconfined { span: sp(a), why: "the AppArmor annotation says unconfined".to_string() },
                    v => match v.strip_prefix("localhost/") {
                        Some(name) => lookup_profile(name, sp(a), options),
                        None => AppArmorState::RuntimeDefault,
                    },
                },
                (None, None) => AppArmorState::RuntimeDefault,
            });
            out.push(s);
        }
    }
    Ok(())
}

/// A `Localhost` seccomp profile, read from the kubelet's seccomp directory if it is there.
fn localhost_seccomp(root: &std::path::Path, relative: &str) -> Result<SeccompState, Vec<Diagnostic>> {
    let path = root.join(relative);
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(SeccompState::Unknown) };
    let name = path.display().to_string();
    let file = SourceFile::new(name.clone(), Some(path), text);
    let tree = parse_json(&file.text).map_err(|e| tree_error(&file, "JSON", e))?;
    filter_state(&file, &tree, &tree, &[], &name)
}
