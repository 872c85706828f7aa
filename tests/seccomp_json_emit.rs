//! `--emit seccomp-json` means what the policy means: libseccomp, building the emitted profile
//! the way moby/runc do, decides every syscall and argument case as palisade's own program —
//! except, and only, for 32-bit conditions the JSON format widens to 64 bits (reported as a
//! `json-widened-comparison` note), which can differ only when an argument's high word is set.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/libseccomp_oracle.rs"]
mod libseccomp_oracle;
#[path = "support/policies.rs"]
mod policies;

use palisade::compile::Plan;
use palisade::policy::load;
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use palisade::seccomp::interp::run;

#[test]
fn emitted_json_decides_like_the_policy_under_libseccomp() {
    for (_, source) in policies::all() {
        let plan = Plan::new(load(&source).unwrap()).unwrap();
        let mut notes = Vec::new();
        let profile = palisade::seccomp::json::from_filter(&plan.filter, &mut notes).unwrap();
        let widened = notes.iter().any(|n| n.code == "json-widened-comparison");
        let json = serde_json::to_string(&profile).unwrap();
        let oracle = libseccomp_oracle::compile_docker_profile(&json, &libseccomp_oracle::OracleOptions::docker_defaults("x86_64"));
        let mut compared = 0;
        for af in plan.filter.arches.iter().filter(|a| a.arch != Arch::Aarch64) {
            if !profile.architectures.iter().any(|a| a == af.arch.scmp_name()) {
                // Left out (reported as json-arch-dropped): every syscall must be killed.
                let data = cases::data(af.arch, af.arch.syscall_nr("read").unwrap(), [0; 6]);
                let theirs = Action::from_ret(run(&oracle, &data).unwrap().ret);
                assert!(matches!(theirs, Action::KillProcess | Action::KillThread), "{source:?}: dropped {} is not killed", af.arch.name());
                continue;
            }
            for nr in cases::numbers(af.arch) {
                let name = af.arch.syscall_name(nr);
                if name.is_some_and(|n| !libseccomp_oracle::knows(af.arch, n)) {
                    continue;
                }
                for args in cases::arg_cases(&plan.filter, af.arch, nr) {
                    let data = cases::data(af.arch, nr, args);
                    let ours = plan.filter.decide(data.arch, nr, &args);
                    let theirs = Action::from_ret(run(&oracle, &data).unwrap().ret);
                    if ours != theirs && widened && args.iter().any(|a| a >> 32 != 0) {
                        continue;
                    }
                    if af.arch == Arch::X86_64 && nr >= 0x4000_0000 && plan.filter.arch(Arch::X32).is_none() {
                        // x32 numbers without x32 in the filter: palisade kills (bad arch),
                        // libseccomp returns the default action; neither lets the call run.
                        assert_ne!(theirs, Action::Allow);
                        continue;
                    }
                    assert_eq!(ours, theirs, "{source:?} {} {name:?} nr {nr:#x} args {args:x?}\n{json}", af.arch.name());
                    compared += 1;
                }
            }
        }
        assert!(compared > 500, "{source:?}: only {compared} cases");
    }
}
