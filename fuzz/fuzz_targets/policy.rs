//! Policy text is hostile input: parsing, validation, compilation and every emitter must
//! return errors, never panic, and every program that compiles must pass the kernel's checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade::compile::{emit, EmitKind, EmitOptions, Plan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(policy) = palisade::policy::load_str("fuzz.toml", text) else { return };
    let Ok(plan) = Plan::new(policy) else { return };
    palisade::seccomp::interp::validate(&plan.program).expect("compiled programs must load");
    for kind in [
        EmitKind::Oci,
        EmitKind::SeccompJson,
        EmitKind::SeccompBpf,
        EmitKind::Apparmor,
        EmitKind::Selinux,
        EmitKind::Landlock,
        EmitKind::K8s,
    ] {
        let _ = emit(&plan, kind, &EmitOptions::default(), &mut Vec::new());
    }
});
