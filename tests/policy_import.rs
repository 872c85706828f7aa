//! `policy import` of moby's default.json round-trips: the imported policy, compiled by
//! palisade, decides every syscall and argument case exactly as libseccomp does on the original
//! JSON (built the way moby/runc build it) — on x86_64, x86 and x32, with Docker's default
//! capabilities and with CAP_SYS_ADMIN added.

#[path = "support/cases.rs"]
mod cases;
#[path = "support/libseccomp_oracle.rs"]
mod libseccomp_oracle;

use palisade::compile::Plan;
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::Arch;
use palisade::seccomp::interp::run;
use palisade::seccomp::json::Profile;

const DOCKER_JSON: &str = include_str!("../../shared/data/docker-default-seccomp.json");

fn round_trip(caps: &[&str]) {
    let profile: Profile = serde_json::from_str(DOCKER_JSON).unwrap();
    let caps_owned: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
    let imported = palisade::seccomp::import::import(&profile, "docker-imported", &caps_owned).unwrap();
    let policy = palisade::policy::load_str("imported.toml", &imported.toml).unwrap_or_else(|d| panic!("{d}\n{}", imported.toml));
    let plan = Plan::new(policy).unwrap();

    let mut opts = libseccomp_oracle::OracleOptions::docker_defaults("x86_64");
    opts.caps = caps.iter().map(|c| format!("CAP_{c}")).collect();
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
                let ours = Action::from_ret(run(&plan.program, &data).unwrap().ret);
                let theirs = Action::from_ret(run(&oracle, &data).unwrap().ret);
                assert_eq!(ours, theirs, "{} {:?} (nr {nr:#x}) args {args:x?}, caps {caps:?}", arch.name(), name);
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "only {compared} cases compared");
}

#[test]
fn docker_default_round_trips_with_default_capabilities() {
    round_trip(palisade::seccomp::import::DOCKER_DEFAULT_CAPS);
}

#[test]
fn docker_default_round_trips_with_sys_admin() {
    let mut caps = palisade::seccomp::import::DOCKER_DEFAULT_CAPS.to_vec();
    caps.extend(["SYS_ADMIN", "SYS_PTRACE", "BPF"]);
    round_trip(&caps);
}
