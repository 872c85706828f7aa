//! The compiled BPF program decides exactly as the policy says: for every built-in profile and
//! example policy, every architecture, every syscall number and the boundary values of every
//! argument condition, the interpreted program returns the action of the decision model.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/policies.rs"]
mod policies;

use palisade::compile::Plan;
use palisade::policy::{load, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::{Arch, AUDIT_ARCH_AARCH64};
use palisade::seccomp::interp::{run, validate, worst_case_path};

#[test]
fn bpf_program_matches_the_decision_model_for_every_syscall() {
    for (_, source) in policies::all() {
        let policy = load(&source).unwrap_or_else(|d| panic!("{source:?}:\n{d}"));
        let plan = Plan::new(policy).unwrap();
        validate(&plan.program).unwrap_or_else(|e| panic!("{source:?}: kernel would refuse the program: {e}"));
        let mut checked = 0usize;
        for af in &plan.filter.arches {
            for nr in cases::numbers(af.arch) {
                for args in cases::arg_cases(&plan.filter, af.arch, nr) {
                    let data = cases::data(af.arch, nr, args);
                    let got = Action::from_ret(run(&plan.program, &data).unwrap().ret);
                    let want = plan.filter.decide(data.arch, nr, &args);
                    assert_eq!(got, want, "{source:?} {} nr={nr:#x} args={args:x?}", af.arch.name());
                    checked += 1;
                }
            }
        }
        // A foreign architecture is always killed.
        let foreign = if plan.filter.arch(Arch::Aarch64).is_some() {
            0x4000_0028 /* AUDIT_ARCH_ARM */
        } else {
            AUDIT_ARCH_AARCH64
        };
        let data = palisade::seccomp::interp::SeccompData { arch: foreign, ..cases::data(Arch::X86_64, 0, [0; 6]) };
        assert_eq!(Action::from_ret(run(&plan.program, &data).unwrap().ret), Action::KillProcess);
        eprintln!("{source:?}: {checked} cases, {} instructions, worst-case path {}", plan.program.len(), worst_case_path(&plan.program));
    }
}

#[test]
fn x32_syscalls_are_killed_unless_x32_is_listed() {
    let policy = palisade::policy::load_str(
        "p.toml",
        "[seccomp]\ndefault_action = \"errno(EPERM)\"\narchitectures = [\"x86_64\"]\nallow = [\"read\"]\n",
    )
    .unwrap();
    let plan = Plan::new(policy).unwrap();
    let read_x32 = cases::data(Arch::X86_64, 0x4000_0000, [0; 6]);
    assert_eq!(Action::from_ret(run(&plan.program, &read_x32).unwrap().ret), Action::KillProcess);
    let read = cases::data(Arch::X86_64, 0, [0; 6]);
    assert_eq!(Action::from_ret(run(&plan.program, &read).unwrap().ret), Action::Allow);
    let i386 = cases::data(Arch::X86, 3, [0; 6]);
    assert_eq!(Action::from_ret(run(&plan.program, &i386).unwrap().ret), Action::KillProcess);
}

#[test]
fn denied_and_argument_checked_syscalls_take_logarithmic_paths() {
    let plan = Plan::new(load(&PolicySource::Builtin("docker-default")).unwrap()).unwrap();
    // Same architectures as Docker on amd64 (x86_64 + x86 + x32), where libseccomp's binary tree
    // for this profile has a worst case of 24 instructions (benches/seccomp_compile.rs measures it).
    let program = palisade::seccomp::bpf::compile_for(&plan.filter, &[Arch::X86_64, Arch::X86, Arch::X32]).unwrap();
    let path = worst_case_path(&program);
    assert!(path <= 24, "worst-case path {path} is longer than libseccomp's binary tree");
}

#[test]
fn programs_over_the_kernel_limit_are_refused_with_a_clear_error() {
    // Two 64-bit range rules on every x86_64 syscall: far more than 4096 instructions.
    let mut text = String::from("[seccomp]\ndefault_action = \"errno(EPERM)\"\narchitectures = [\"x86_64\"]\n");
    for (name, _) in Arch::X86_64.syscalls() {
        text += &format!("[[seccomp.rule]]\nsyscalls = [\"{name}\"]\naction = \"errno(EACCES)\"\nwhen = [\"arg0:64 >= 0x10000000000\"]\n");
        text += &format!("[[seccomp.rule]]\nsyscalls = [\"{name}\"]\naction = \"allow\"\nwhen = [\"arg1:64 >= 0x200000000\"]\n");
    }
    let policy = palisade::policy::load_str("huge.toml", &text).unwrap();
    let err = Plan::new(policy).unwrap_err().to_string();
    assert!(err.contains("over the kernel's limit of 4096"), "{err}");
}
