//! seccomp-unconfined, seccomp-default-allow, apparmor-unconfined, apparmor-complain-mode,
//! apparmor-unconfined-exec, selinux-unconfined.

use crate::lint::subject::{AppArmorState, SeccompState, Subject};
use crate::lint::Sink;
use crate::seccomp::action::Action;

pub fn run(s: &Subject, sink: &mut Sink) {
    if let Some(state) = &s.seccomp {
        sink.checked("seccomp-unconfined");
        match state {
            SeccompState::Unconfined { span, why } => sink.fire(
                "seccomp-unconfined",
                why.clone(),
                span.clone(),
                Some("use the runtime's default profile (RuntimeDefault) or a palisade-compiled one".into()),
            ),
            SeccompState::Filter(f) => {
                sink.checked("seccomp-default-allow");
                let default = f.filter.default.action;
                if matches!(default, Action::Allow | Action::Log) {
                    sink.fire(
                        "seccomp-default-allow",
                        format!("the seccomp default action is {default}: only the listed syscalls are refused"),
                        f.default_span.clone().or_else(|| f.span.clone()),
                        Some("make the default errno(EPERM) or kill-process and allow what the workload needs".into()),
                    );
                }
            }
            SeccompState::RuntimeDefault | SeccompState::Unknown => {}
        }
    }
    if let Some(state) = &s.apparmor {
        sink.checked("apparmor-unconfined");
        match state {
            AppArmorState::Unconfined { span, why } => sink.fire("apparmor-unconfined", why.clone(), span.clone(), None),
            AppArmorState::Profile { .. } => {
                let (_, p) = state.profile().expect("profile state holds a profile");
                sink.checked("apparmor-complain-mode");
                sink.checked("apparmor-unconfined-exec");
                match p.mode_flag() {
                    Some("unconfined") => sink.fire(
                        "apparmor-unconfined",
                        format!("profile {} has flags=(unconfined): it confines nothing", p.name),
                        Some(p.span.clone()),
                        None,
                    ),
                    Some("complain") => sink.fire(
                        "apparmor-complain-mode",
                        format!("profile {} is in complain mode: violations are logged, not refused", p.name),
                        Some(p.span.clone()),
                        Some("remove `complain` from the flags once the logs are quiet".into()),
                    ),
                    _ => {}
                }
                for rule in p.unconfined_transitions() {
                    sink.fire(
                        "apparmor-unconfined-exec",
                        format!("`{}` can run a program with no AppArmor profile", rule.text()),
                        Some(rule.span.clone()),
                        Some("use Px/Cx with a profile for the program, or ix".into()),
                    );
                }
            }
            AppArmorState::RuntimeDefault | AppArmorState::Named { .. } => {}
        }
    }
    if let Some(t) = &s.selinux_type {
        sink.checked("selinux-unconfined");
        if ["spc_t", "unconfined_t", "unconfined_service_t", "kernel_t", "initrc_t"].contains(&t.value.as_str()) {
            sink.fire(
                "selinux-unconfined",
                format!("SELinux type {} is not confined by the container policy", t.value),
                t.span.clone(),
                Some("use container_t (the default)".into()),
            );
        }
    }
}
