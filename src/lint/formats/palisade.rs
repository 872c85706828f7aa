//! palisade policies: loaded with their `extends` chain (findings point at the line of
//! whichever file set a value), compiled to a plan, with the AppArmor profile the policy
//! generates parsed back so its rules are checked like any other profile.

use super::apparmor::lookup_profile;
use crate::apparmor::{load_text, Missing, Model};
use crate::compile::{CompileError, Plan};
use crate::diag::Diagnostic;
use crate::lint::subject::*;
use crate::lint::Options;
use crate::policy::defaults::MASKED_PATHS;
use crate::policy::model::{AppArmorProfile, NetworkMode, Policy};
use crate::policy::pathmatch::matches;
use crate::policy::source::{SourceFile, Span};
use crate::policy::PolicySource;
use crate::seccomp::filter::FilterError;
use std::path::Path;
use std::sync::Arc;

/// The runtime's rule (runtime/volumes.rs `refusal`): a denied pattern refuses what it matches
/// and every ancestor of what it names (mounting /run would expose /run/docker.sock).
fn denied_by(pattern: &str, path: &str) -> bool {
    if matches(pattern, path) {
        return true;
    }
    let literal: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).take_while(|s| !s.contains(['*', '?'])).collect();
    let literal = format!("/{}", literal.join("/"));
    literal != "/" && crate::policy::pathmatch::is_within(&literal, path)
}

/// Host paths whose admission as a volume source is checked.
const SENSITIVE_SOURCES: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/podman/podman.sock",
    "/var/lib/kubelet",
    "/var/lib/docker",
];

pub fn subjects(name: &str, path: Option<&Path>, text: &str, options: &Options) -> Result<Vec<Subject>, Vec<Diagnostic>> {
    let policy = match path {
        Some(p) => crate::policy::load(&PolicySource::File(p.to_path_buf())),
        None => crate::policy::load_str(name, text),
    }
    .map_err(|d| d.0)?;
    let file = SourceFile::new(name, path.map(Path::to_path_buf), text);
    let header = text.find("[policy]").map_or(0..0, |i| i..i + 8);
    Ok(vec![subject(policy, Some(Span::new(&file, header)), options)?])
}

/// The subject of a resolved policy.
pub fn subject(policy: Policy, anchor: Option<Span>, options: &Options) -> Result<Subject, Vec<Diagnostic>> {
    let mut s = Subject::new(format!("policy {}", policy.name), anchor);
    let os = |o: &crate::policy::source::Origin| origin_span(o);
    s.capabilities = Some(Capabilities {
        granted: policy.capabilities.kept.iter().map(|(c, item)| (c.name(), os(&item.origin))).collect(),
        drops_all: None,
    });
    s.no_new_privs = Some(Fact::new(policy.process.no_new_privileges.value, os(&policy.process.no_new_privileges.origin)));
    let non_root = &policy.process.run_as_non_root;
    s.root_user = Some(match &policy.process.user {
        Some(u) if u.value.is_root() => {
            Fact::new((!non_root.value, format!("runs as root ([process] user = \"{}\")", u.value)), os(&u.origin))
        }
        Some(u) => Fact::new((false, String::new()), os(&u.origin)),
        None if non_root.value => Fact::new((false, String::new()), os(&non_root.origin)),
        None => Fact::new(
            (true, "runs as the image's user (root for most images) and run_as_non_root is false".to_string()),
            os(&non_root.origin),
        ),
    });
    s.read_only_root = Some(Fact::new(policy.filesystem.read_only_root.value, os(&policy.filesystem.read_only_root.origin)));
    let mut ns = HostNamespaces { checked: vec![Namespace::Network], shared: Vec::new() };
    if policy.network.mode.value == NetworkMode::Host {
        ns.shared.push((
            Namespace::Network,
            os(&policy.network.mode.origin),
            "[network] mode = \"host\": the host's network namespace".to_string(),
        ));
    }
    s.host_namespaces = Some(ns);
    let volumes = &policy.volumes;
    let mut mounts = Vec::new();
    for source in SENSITIVE_SOURCES {
        if volumes.deny_sources.iter().any(|d| denied_by(&d.name, source)) {
            continue;
        }
        let allowed_by = match &volumes.allow_sources {
            None => Some(None),
            Some(list) => list.iter().find(|a| matches(&a.name, source)).map(|a| os(&a.origin)),
        };
        if let Some(span) = allowed_by {
            mounts.push(HostMount {
                source: source.to_string(),
                read_only: false,
                span: span.or_else(|| s.anchor.clone()),
                how: "admitted as a volume source by the policy",
                potential: true,
            });
        }
    }
    s.host_mounts = Some(mounts);
    let masked: Vec<&str> = policy.filesystem.masked_paths.iter().map(|i| i.name.as_str()).collect();
    let missing: Vec<&str> = MASKED_PATHS.iter().map(|(p, _)| *p).filter(|p| !masked.contains(p)).collect();
    s.proc_unmasked = Some(Fact::new((!missing.is_empty(), format!("masked paths are missing: {}", missing.join(", "))), None));
    let ro_sys = policy.filesystem.readonly_paths.iter().any(|i| i.name == "/proc/sys");
    s.proc_sys_writable = Some(Fact::new((!ro_sys, "/proc/sys is not in readonly_paths".to_string()), None));
    s.selinux_type = Some(Fact::new(policy.selinux.process_type.value.clone(), os(&policy.selinux.process_type.origin)));
    let ll = &policy.filesystem.landlock;
    if ll.enabled() {
        s.landlock = Some(LandlockFacts {
            writes: ll.write.iter().map(|i| (i.name.clone(), os(&i.origin))).collect(),
            read_only_root: policy.filesystem.read_only_root.value,
            writable_mounts: policy.filesystem.tmpfs.keys().cloned().collect(),
            read_only_paths: policy
                .filesystem
                .readonly_paths
                .iter()
                .chain(&policy.filesystem.masked_paths)
                .map(|i| i.name.clone())
                .collect(),
        });
    }

    let aa_setting = policy.apparmor.profile.clone();
    let aa_span = os(&aa_setting.origin);
    let plan = match Plan::new(policy) {
        Ok(plan) => Some(plan),
        Err(CompileError::Seccomp { source: FilterError::Unconfigured, .. }) => {
            s.seccomp = Some(SeccompState::Unconfined {
                span: None,
                why: "no policy in the extends chain sets seccomp.default_action (palisade refuses to run it)".to_string(),
            });
            None
        }
        Err(e) => return Err(vec![Diagnostic::error("compile", e.to_string())]),
    };
    if let Some(plan) = &plan {
        let default_span = plan.policy.seccomp.default_action.as_ref().and_then(|d| os(&d.origin));
        s.seccomp = Some(SeccompState::Filter(Box::new(SeccompFilter {
            filter: plan.filter.clone(),
            locator: Locator::Policy,
            span: None,
            default_span,
            assumed_caps: None,
        })));
    }
    s.apparmor = Some(match &aa_setting.value {
        AppArmorProfile::Unconfined => AppArmorState::Unconfined { span: aa_span, why: "[apparmor] profile = \"unconfined\"".to_string() },
        AppArmorProfile::Named(name) => lookup_profile(name, aa_span, options),
        AppArmorProfile::Generate => match &plan {
            Some(plan) => {
                let name = crate::compile::apparmor::profile_name(&plan.policy);
                let text = crate::compile::apparmor::emit(plan, &mut Vec::new());
                match load_text(
                    &format!("<AppArmor profile generated for policy {}>", plan.policy.name),
                    None,
                    &text,
                    &options.apparmor_path,
                    Missing::Record,
                ) {
                    Ok(loaded) => AppArmorState::Profile { model: Arc::new(Model::new(&loaded)), name, span: aa_span },
                    Err(e) => {
                        return Err(vec![Diagnostic::error(
                            "compile",
                            format!("the generated AppArmor profile does not parse (a palisade bug): {e}"),
                        )])
                    }
                }
            }
            None => AppArmorState::Named { name: "generated".into(), span: aa_span },
        },
    });
    Ok(s)
}
