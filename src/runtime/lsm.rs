//! AppArmor and SELinux at run time. palisade compiles both (`policy compile --emit apparmor
//! | selinux`) but does not load or apply them yet, so a run never claims their protection:
//! what the policy asks of them is reported, with the reason it is not in force.

use crate::policy::model::{AppArmorProfile, Policy};
use std::path::Path;

/// Whether AppArmor is enabled in the running kernel.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled").is_ok_and(|v| v.trim() == "Y")
}

/// Whether SELinux is enabled (selinuxfs is mounted).
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// The LSM layers the policy configures that this run does not enforce, each with why.
pub fn not_enforced(policy: &Policy) -> Vec<String> {
    let mut layers = Vec::new();
    if policy.apparmor.profile.value != AppArmorProfile::Unconfined {
        layers.push(format!(
            "AppArmor ({})",
            if apparmor_enabled() { "palisade run does not apply profiles yet" } else { "not in this kernel" }
        ));
    }
    layers.push(format!(
        "SELinux type {} ({})",
        policy.selinux.process_type.value,
        if selinux_enabled() { "palisade run does not label processes yet" } else { "not enabled on this host" }
    ));
    layers
}

/// One line for the user, or `None` when everything the policy configures is enforced.
pub fn note(policy: &Policy) -> Option<String> {
    let layers = not_enforced(policy);
    (!layers.is_empty()).then(|| format!("not enforced here: {}", layers.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, PolicySource};

    #[test]
    fn unconfined_apparmor_is_not_reported() {
        let p = load(&PolicySource::Builtin("untrusted")).unwrap();
        let note = note(&p).unwrap();
        assert!(note.contains("AppArmor") && note.contains("SELinux type container_t"), "{note}");
        let mut p = p;
        p.apparmor.profile.value = AppArmorProfile::Unconfined;
        assert!(!note_text(&p).contains("AppArmor"));
    }

    fn note_text(p: &Policy) -> String {
        note(p).unwrap_or_default()
    }
}
