//! A palisade policy layered on an OCI bundle (`palisade oci create --policy P`): the
//! stricter of the two wins, setting by setting, so an operator's policy can only narrow
//! what any bundle (a Kubernetes pod, a podman run) asks for, never widen it.
//!
//! | setting | combined |
//! |---|---|
//! | seccomp | both filters installed; the kernel answers with the most restrictive |
//! | capabilities | each of the five sets ∩ the policy's kept set |
//! | no_new_privileges, read-only root, run_as_non_root | either |
//! | masked and read-only paths | both |
//! | rlimits | the lower soft and hard limit of each |
//! | resources (memory, pids, cpu) | the lower (the cgroups module combines them) |
//! | network mode `none` | a private network namespace even where the bundle shares the host's |
//! | volumes | the policy's allowed and denied sources check every bind mount |
//! | Landlock | the policy's rules (a bundle has none) |
//! | seccomp flag SPEC_ALLOW | dropped (the mitigation stays on) |
//!
//! Not narrowed (the bundle's, as its orchestrator wrote them): which namespaces are shared
//! or joined, `linux.devices`, sysctls (namespaced ones only, in any case) and hooks.
//! AppArmor and SELinux settings of the policy are reported as not enforced like any run's.

use super::config::Translated;
use crate::compile::Plan;
use crate::policy::model::NetworkMode;
use crate::policy::Policy;

/// Why a policy cannot be layered on a bundle.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("policy `{policy}` requires a non-root user (run_as_non_root), but the bundle's process runs as uid 0")]
    RunsAsRoot { policy: String },
}

/// Narrows the bundle's settings in `t` by `policy` (before the translated policy is
/// rendered and compiled).
pub fn narrow(t: &mut Translated, policy: &Policy) -> Result<(), LayerError> {
    let s = &mut t.sections;
    let kept: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name().trim_start_matches("CAP_").to_string()).collect();
    s.caps.retain(|c| kept.contains(c));
    s.no_new_privileges |= policy.process.no_new_privileges.value;
    s.read_only_root |= policy.filesystem.read_only_root.value;
    for item in &policy.filesystem.masked_paths {
        if !s.masked_paths.contains(&item.name) {
            s.masked_paths.push(item.name.clone());
        }
    }
    for item in &policy.filesystem.readonly_paths {
        if !s.readonly_paths.contains(&item.name) {
            s.readonly_paths.push(item.name.clone());
        }
    }
    for (name, limit) in &policy.process.rlimits {
        let (soft, hard) = (limit.value.soft, limit.value.hard);
        s.rlimits.entry(name.clone()).and_modify(|(s, h)| (*s, *h) = ((*s).min(soft), (*h).min(hard))).or_insert((soft, hard));
    }
    if policy.network.mode.value == NetworkMode::None {
        s.network = "none";
    }
    if policy.process.run_as_non_root.value && t.spec.user.is_none_or(|u| u.uid == 0) {
        return Err(LayerError::RunsAsRoot { policy: policy.name.clone() });
    }
    // SPEC_ALLOW turns the Speculative Store Bypass mitigation off: a layered policy
    // keeps it on.
    t.spec.bundle.seccomp_flags &= !4;
    if let Some(sets) = &mut t.spec.bundle.capabilities {
        let kept: caps::CapsHashSet = policy.capabilities.kept.keys().map(|c| c.0).collect();
        for set in [&mut sets.bounding, &mut sets.effective, &mut sets.permitted, &mut sets.inheritable, &mut sets.ambient] {
            set.retain(|c| kept.contains(c));
        }
    }
    Ok(())
}

/// After the bundle's policy is loaded: the parts of `layered` that live in the model
/// (volumes, resources, Landlock) are carried into it, and the layered policy's seccomp
/// program is stacked after the bundle's.
pub fn carry(bundle_policy: &mut Policy, layered: &Plan, t: &mut Translated) {
    let p = &layered.policy;
    bundle_policy.volumes = p.volumes.clone();
    bundle_policy.resources = p.resources.clone();
    bundle_policy.filesystem.landlock = p.filesystem.landlock.clone();
    bundle_policy.filesystem.tmpfs.extend(p.filesystem.tmpfs.iter().map(|(k, v)| (k.clone(), v.clone())));
    bundle_policy.apparmor = p.apparmor.clone();
    bundle_policy.selinux = p.selinux.clone();
    t.spec.bundle.layered_seccomp.push(layered.program.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_stricter_setting_wins() {
        let config = super::super::config::default_spec();
        let mut t = super::super::config::translate(&config, Path::new("/b"), "c").unwrap();
        t.sections.no_new_privileges = false;
        let policy = crate::policy::load(&crate::policy::PolicySource::from_arg("untrusted")).unwrap();
        assert!(matches!(narrow(&mut t, &policy), Err(LayerError::RunsAsRoot { .. })), "untrusted runs no root process");
        let mut t = super::super::config::translate(&config, Path::new("/b"), "c").unwrap();
        t.spec.user = Some(crate::runtime::UserSpec { uid: 1000, gid: Some(1000) });
        let policy = crate::policy::load(&crate::policy::PolicySource::from_arg("untrusted")).unwrap();
        narrow(&mut t, &policy).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.sections.no_new_privileges);
        let kept: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name().trim_start_matches("CAP_").to_string()).collect();
        assert!(t.sections.caps.iter().all(|c| kept.contains(c)), "{:?} vs {kept:?}", t.sections.caps);
        let sets = t.spec.bundle.capabilities.as_ref().unwrap();
        assert!(sets.bounding.iter().all(|c| policy.capabilities.kept.keys().any(|k| k.0 == *c)));
        assert_eq!(t.sections.network, "none");
        let nofile = t.sections.rlimits.get("nofile").copied().unwrap();
        assert!(nofile.0 <= 1024 && nofile.1 <= 1024);
    }
}
