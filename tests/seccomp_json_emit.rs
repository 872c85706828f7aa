//! `--emit seccomp-json` means what the policy means: libseccomp, building the emitted profile
//! the way moby/runc do, decides every syscall and argument case as palisade's own program —
//! except, and only, for 32-bit conditions the JSON format widens to 64 bits (reported as a
//! `json-widened-comparison` note), which can differ only when an argument's high word is set.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/libseccomp_oracle.rs"]
mod libseccomp_oracle;

use libseccomp::{ScmpArch, ScmpSyscall};
use palisade::compile::Plan;
use palisade::policy::{load, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use palisade::seccomp::interp::run;

fn scmp_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::X86_64 => ScmpArch::X8664,
        Arch::X86 => ScmpArch::X86,
        Arch::X32 => ScmpArch::X32,
        Arch::Aarch64 => ScmpArch::Aarch64,
    }
}

#[test]
fn emitted_json_decides_like_the_policy_under_libseccomp() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut sources: Vec<PolicySource> = palisade::policy::load::BUILTIN_PROFILES.iter().map(|(n, _)| PolicySource::Builtin(n)).collect();
    let mut files: Vec<_> = std::fs::read_dir("policies").unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    files.sort();
    sources.extend(files.into_iter().map(PolicySource::File));
    for source in sources {
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
                if name.is_some_and(|n| !ScmpSyscall::from_name_by_arch(n, scmp_arch(af.arch)).is_ok_and(|s| i32::from(s) >= 0)) {
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
