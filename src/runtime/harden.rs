//! The hardening sequence: the last thing the workload process does before execve, in one
//! straight-line function whose order is pinned by a test.

use super::bundle::CapabilitySets;
use super::channel::{Channel, Message};
use super::landlock::{self as ll, Enforced};
use super::{AtLayer, Layer, RunError};
use crate::compile::landlock::Ruleset as LandlockRuleset;
use crate::policy::model::Enforcement;
use crate::seccomp::bpf::sock_filter;
use crate::sys;
use caps::CapsHashSet;
use std::convert::Infallible;
use std::ffi::CString;

/// What the hardening applies, from the compiled plan.
#[derive(Debug, Clone)]
pub struct Hardening {
    pub no_new_privs: bool,
    /// `None` when the policy sets no Landlock paths.
    pub landlock: Option<LandlockRuleset>,
    pub landlock_required: bool,
    /// The capability sets the workload ends with; every other capability is dropped.
    pub capabilities: CapabilitySets,
    /// Seccomp programs, installed in order. The kernel runs every installed filter and
    /// the most restrictive answer wins (seccomp(2), "If multiple filters exist"), so a
    /// policy layered on a bundle adds its filter rather than replacing the bundle's.
    pub seccomp: Vec<Vec<sock_filter>>,
    /// SECCOMP_FILTER_FLAG_* for the first program (an OCI config's `linux.seccomp.flags`).
    pub seccomp_flags: u32,
    /// personality(2) persona for the workload (an OCI config's `linux.personality`).
    pub personality: Option<u64>,
}

impl Hardening {
    /// The policy's hardening: its one kept capability set in all five sets.
    pub fn from_plan(plan: &crate::compile::Plan) -> Hardening {
        Hardening::for_run(plan, &super::bundle::BundleSpec::default())
    }

    /// The policy's hardening, with the exact capability sets an OCI bundle gives (each
    /// narrowed to the policy's kept set, which is the bounding set of the translation or
    /// of a policy layered on it) and the seccomp programs of a layered policy.
    pub fn for_run(plan: &crate::compile::Plan, bundle: &super::bundle::BundleSpec) -> Hardening {
        let sets = bundle.capabilities.as_ref();
        let policy = &plan.policy;
        let ruleset = crate::compile::landlock::ruleset(policy);
        let kept: CapsHashSet = policy.capabilities.kept.keys().map(|c| c.0).collect();
        let capabilities = match sets {
            Some(s) => CapabilitySets {
                bounding: &s.bounding & &kept,
                effective: &s.effective & &kept,
                permitted: &s.permitted & &kept,
                inheritable: &s.inheritable & &kept,
                ambient: &s.ambient & &kept,
            },
            None => CapabilitySets {
                bounding: kept.clone(),
                effective: kept.clone(),
                permitted: kept.clone(),
                inheritable: kept.clone(),
                ambient: kept,
            },
        };
        let mut seccomp = vec![plan.program.clone()];
        seccomp.extend(bundle.layered_seccomp.iter().cloned());
        Hardening {
            no_new_privs: policy.process.no_new_privileges.value,
            landlock_required: policy.filesystem.landlock.enforcement.value == Enforcement::Required,
            landlock: ruleset.enabled().then_some(ruleset),
            capabilities,
            seccomp,
            seccomp_flags: bundle.seccomp_flags,
            personality: bundle.personality,
        }
    }
}

/// One call per step of the sequence. The kernel implementation is [`KernelSteps`]; tests
/// record the order.
pub trait Steps {
    fn no_new_privs(&mut self) -> Result<(), RunError>;
    fn landlock(&mut self) -> Result<(), RunError>;
    fn drop_bounding(&mut self) -> Result<(), RunError>;
    fn drop_inheritable(&mut self) -> Result<(), RunError>;
    fn set_ambient(&mut self) -> Result<(), RunError>;
    fn drop_permitted_effective(&mut self) -> Result<(), RunError>;
    fn seccomp(&mut self) -> Result<(), RunError>;
    /// Returns only on failure.
    fn exec(&mut self) -> RunError;
}

/// Hardens the calling process and executes the workload. Returns only on failure, with
/// the layer that failed; the caller reports it and exits (fail closed: nothing runs).
pub fn harden_and_exec(s: &mut impl Steps, no_new_privs: bool) -> RunError {
    match sequence(s, no_new_privs) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn sequence(s: &mut impl Steps, no_new_privs: bool) -> Result<Infallible, RunError> {
    // 1. no_new_privs, first: from here on execve can grant nothing (setuid bits and file
    //    capabilities are ignored), and both Landlock and seccomp accept it in place of
    //    CAP_SYS_ADMIN. Off only when the policy says so (Docker's default, for sudo & co).
    if no_new_privs {
        s.no_new_privs()?;
    }
    // 2. Landlock, while CAP_SYS_ADMIN may still be needed (policies without
    //    no_new_privs) and before seccomp could deny its syscalls. Its rules open paths,
    //    so it comes after the mounts and the uid change, which decide what those paths are.
    s.landlock()?;
    // 3. Capability bounding set: the ceiling no execve can exceed. Dropping needs
    //    CAP_SETPCAP, so it goes before the permitted/effective sets lose it.
    s.drop_bounding()?;
    // 4. Inheritable set: only kept capabilities may pass to programs with file capabilities.
    s.drop_inheritable()?;
    // 5. Ambient set: exactly the kept capabilities, so a non-root workload still holds
    //    them after execve (and nothing else does).
    s.set_ambient()?;
    if !no_new_privs {
        // 6a. Without no_new_privs seccomp(2) needs CAP_SYS_ADMIN, so the filter goes in
        //     before the last capabilities go; the only call after it is capset (7a),
        //     which the filter must allow (a policy that denies it fails here: closed).
        s.seccomp()?;
        // 7a. Permitted and effective sets: exactly the kept capabilities.
        s.drop_permitted_effective()?;
    } else {
        // 6b. Permitted and effective sets: exactly the kept capabilities.
        s.drop_permitted_effective()?;
        // 7b. seccomp last, so that nothing after it but execve needs a syscall the filter
        //     might deny.
        s.seccomp()?;
    }
    // 8. execve: the workload starts with every layer in place (an OCI bundle's
    //    startContainer hooks run first, under the same layers).
    Err(s.exec())
}

/// The real steps, run in the workload process.
pub struct KernelSteps<'a> {
    pub hardening: &'a Hardening,
    /// Where warnings (partial Landlock) go: init, then the user.
    pub report: &'a Channel,
    /// Program, then arguments.
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// Where the program is looked for when it has no `/`.
    pub path: String,
    /// An OCI bundle's startContainer hooks and the state they read, run just before
    /// execve, under every layer.
    pub start_hooks: Option<(Vec<super::bundle::Hook>, serde_json::Value)>,
}

impl Steps for KernelSteps<'_> {
    fn no_new_privs(&mut self) -> Result<(), RunError> {
        sys::process::set_no_new_privs().at(Layer::NoNewPrivileges)
    }

    fn landlock(&mut self) -> Result<(), RunError> {
        let Some(ruleset) = &self.hardening.landlock else { return Ok(()) };
        let report = ll::apply(ruleset, self.hardening.landlock_required)?;
        if report.enforced != Enforced::Full {
            self.report.send(&Message::Warning { layer: Layer::Landlock, message: report.describe() }).at(Layer::Landlock)?;
        }
        Ok(())
    }

    fn drop_bounding(&mut self) -> Result<(), RunError> {
        sys::caps::drop_bounding(&self.hardening.capabilities.bounding).at(Layer::Capabilities)
    }

    fn drop_inheritable(&mut self) -> Result<(), RunError> {
        sys::caps::set_inheritable(&self.hardening.capabilities.inheritable).at(Layer::Capabilities)
    }

    fn set_ambient(&mut self) -> Result<(), RunError> {
        sys::caps::set_ambient(&self.hardening.capabilities.ambient).at(Layer::Capabilities)
    }

    fn drop_permitted_effective(&mut self) -> Result<(), RunError> {
        let caps = &self.hardening.capabilities;
        sys::caps::set_permitted_and_effective(&caps.permitted, &caps.effective).at(Layer::Capabilities)
    }

    fn seccomp(&mut self) -> Result<(), RunError> {
        // The bundle's flags go with its own filter (the first); a layered policy's
        // filter is installed without any.
        for (i, program) in self.hardening.seccomp.iter().enumerate() {
            let flags = if i == 0 { self.hardening.seccomp_flags } else { 0 };
            sys::seccomp::install(program, flags).at(Layer::Seccomp)?;
        }
        Ok(())
    }

    fn exec(&mut self) -> RunError {
        if let Some((hooks, state)) = &self.start_hooks {
            if let Err(e) = super::hooks::run_all(hooks, state) {
                return RunError::Start { layer: Layer::Hooks, message: format!("startContainer {e}") };
            }
        }
        let program = self.argv[0].to_string_lossy().into_owned();
        let candidates: Vec<String> = if program.contains('/') {
            vec![program.clone()]
        } else {
            self.path.split(':').filter(|d| !d.is_empty()).map(|d| format!("{}/{program}", d.trim_end_matches('/'))).collect()
        };
        let mut denied = None;
        for candidate in &candidates {
            let Ok(c) = CString::new(candidate.as_str()) else { continue };
            let e = sys::process::execve(&c, &self.argv, &self.envp);
            // As execvp(3): keep looking after ENOENT/ENOTDIR, remember a permission error.
            if !matches!(e.raw_os_error(), Some(nix::libc::ENOENT) | Some(nix::libc::ENOTDIR)) {
                denied.get_or_insert(e);
            }
        }
        match denied {
            Some(e) => RunError::Start { layer: Layer::Exec, message: format!("`{program}`: {e}") },
            None => RunError::Start {
                layer: Layer::Exec,
                message: format!(
                    "`{program}`: not found{}",
                    if program.contains('/') { String::new() } else { format!(" in PATH ({})", self.path) }
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order of the steps; optionally fails one.
    #[derive(Default)]
    struct Recorder {
        steps: Vec<&'static str>,
        fail_at: Option<&'static str>,
    }

    impl Recorder {
        fn step(&mut self, name: &'static str, layer: Layer) -> Result<(), RunError> {
            self.steps.push(name);
            if self.fail_at == Some(name) {
                return Err(RunError::Start { layer, message: "injected".into() });
            }
            Ok(())
        }
    }

    impl Steps for Recorder {
        fn no_new_privs(&mut self) -> Result<(), RunError> {
            self.step("no_new_privs", Layer::NoNewPrivileges)
        }
        fn landlock(&mut self) -> Result<(), RunError> {
            self.step("landlock", Layer::Landlock)
        }
        fn drop_bounding(&mut self) -> Result<(), RunError> {
            self.step("bounding", Layer::Capabilities)
        }
        fn drop_inheritable(&mut self) -> Result<(), RunError> {
            self.step("inheritable", Layer::Capabilities)
        }
        fn set_ambient(&mut self) -> Result<(), RunError> {
            self.step("ambient", Layer::Capabilities)
        }
        fn drop_permitted_effective(&mut self) -> Result<(), RunError> {
            self.step("permitted+effective", Layer::Capabilities)
        }
        fn seccomp(&mut self) -> Result<(), RunError> {
            self.step("seccomp", Layer::Seccomp)
        }
        fn exec(&mut self) -> RunError {
            self.steps.push("exec");
            RunError::Start { layer: Layer::Exec, message: "recorded".into() }
        }
    }

    #[test]
    fn order_with_no_new_privs() {
        let mut r = Recorder::default();
        harden_and_exec(&mut r, true);
        assert_eq!(r.steps, ["no_new_privs", "landlock", "bounding", "inheritable", "ambient", "permitted+effective", "seccomp", "exec"]);
    }

    #[test]
    fn order_without_no_new_privs_installs_seccomp_while_cap_sys_admin_is_held() {
        let mut r = Recorder::default();
        harden_and_exec(&mut r, false);
        assert_eq!(r.steps, ["landlock", "bounding", "inheritable", "ambient", "seccomp", "permitted+effective", "exec"]);
    }

    #[test]
    fn a_failing_step_stops_the_sequence_and_names_its_layer() {
        for (step, layer) in [
            ("no_new_privs", Layer::NoNewPrivileges),
            ("landlock", Layer::Landlock),
            ("bounding", Layer::Capabilities),
            ("seccomp", Layer::Seccomp),
        ] {
            let mut r = Recorder { fail_at: Some(step), ..Recorder::default() };
            let err = harden_and_exec(&mut r, true);
            assert_eq!(err.layer(), Some(layer));
            assert_eq!(r.steps.last(), Some(&step), "nothing runs after a failure");
            assert!(!r.steps.contains(&"exec"));
        }
    }
}
