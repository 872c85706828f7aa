//! The built-in `docker-default` profile behaves like Docker's own seccomp profile: compiled by
//! palisade, it decides every syscall and argument case as libseccomp does on moby's
//! default.json (built the way moby/runc build it), on x86_64, x86 and x32, for Docker's default
//! capabilities and with extra capabilities that open Docker's gated rules — except where
//! palisade is deliberately stricter: socket()'s family is compared on 32 bits, closing Docker's
//! `socket(0x1_0000_0026)` AF_ALG bypass.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/libseccomp_oracle.rs"]
mod libseccomp_oracle;

use palisade::compile::Plan;
use palisade::policy::load_str;
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use palisade::seccomp::interp::run;

const DOCKER_JSON: &str = include_str!("../../shared/data/docker-default-seccomp.json");

fn compare(extra_caps: &[&str]) {
    let caps: Vec<String> = palisade::seccomp::import::DOCKER_DEFAULT_CAPS.iter().chain(extra_caps).map(|c| format!("\"{c}\"")).collect();
    // The profile with its capability set replaced, as `docker run --cap-add` would.
    let text = format!("[policy]\nextends = \"docker-default\"\n[capabilities]\nkeep = [{}]\n", caps.join(", "));
    let plan = Plan::new(load_str("caps.toml", &text).unwrap()).unwrap();
    let program = palisade::seccomp::bpf::compile_for(&plan.filter, &[Arch::X86_64, Arch::X86, Arch::X32]).unwrap();
    let mut opts = libseccomp_oracle::OracleOptions::docker_defaults("x86_64");
    opts.caps = palisade::seccomp::import::DOCKER_DEFAULT_CAPS.iter().chain(extra_caps).map(|c| format!("CAP_{c}")).collect();
    let oracle = libseccomp_oracle::compile_docker_profile(DOCKER_JSON, &opts);
    let mut compared = 0;
    for arch in [Arch::X86_64, Arch::X86, Arch::X32] {
        for nr in cases::numbers(arch) {
            let name = arch.syscall_name(nr);
            if name.is_some_and(|n| !libseccomp_oracle::knows(arch, n)) {
                continue;
            }
            for args in cases::arg_cases(&plan.filter, arch, nr) {
                let data = cases::data(arch, nr, args);
                let ours = Action::from_ret(run(&program, &data).unwrap().ret);
                let theirs = Action::from_ret(run(&oracle, &data).unwrap().ret);
                let socket_high_bits = name == Some("socket") && args[0] >> 32 != 0 && !arch.is_32bit_abi();
                if socket_high_bits {
                    // Docker compares 64 bits, so high garbage hides AF_ALG/AF_VSOCK from it;
                    // the kernel truncates the int, so palisade compares the low word.
                    let family = args[0] & 0xffff_ffff;
                    if family == 38 || family == 40 {
                        assert_ne!(ours, Action::Allow, "socket({:#x}) must stay denied", args[0]);
                    }
                    continue;
                }
                assert_eq!(ours, theirs, "{} {name:?} (nr {nr:#x}) args {args:x?} extra caps {extra_caps:?}", arch.name());
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "only {compared} cases compared");
}

#[test]
fn docker_default_matches_docker_with_default_capabilities() {
    compare(&[]);
}

#[test]
fn docker_default_matches_docker_with_gated_capabilities() {
    compare(&["SYS_ADMIN", "SYS_PTRACE", "SYS_BOOT", "SYS_MODULE", "SYS_TIME", "BPF", "PERFMON", "SYSLOG", "DAC_READ_SEARCH"]);
}
