//! The libseccomp oracle compiles Docker's default profile the way moby + runc do, and the
//! interpreter runs the result: decisions must match what Docker documents for amd64.

#[path = "support/libseccomp_oracle.rs"]
mod libseccomp_oracle;

use libseccomp_oracle::{compile_docker_profile, OracleOptions};
use palisade::seccomp::interp::{self, ret, SeccompData};
use seccompiler::sock_filter;

const PROFILE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/docker-default-seccomp.json");

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// x32 syscalls arrive as AUDIT_ARCH_X86_64 with this bit set in nr.
const X32_SYSCALL_BIT: i32 = 0x4000_0000;

// x86-64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const NR_READ: i32 = 0;
const NR_SOCKET: i32 = 41;
const NR_CLONE: i32 = 56;
const NR_PERSONALITY: i32 = 135;
const NR_REBOOT: i32 = 169;
const NR_CLONE3: i32 = 435;
// i386 (arch/x86/entry/syscalls/syscall_32.tbl).
const NR_I386_SOCKET: i32 = 359;

const AF_UNIX: u64 = 1;
const AF_INET: u64 = 2;
const AF_ALG: u64 = 38;
const AF_VSOCK: u64 = 40;
const ENOSYS: u32 = 38;

fn profile() -> String {
    std::fs::read_to_string(PROFILE_PATH).unwrap_or_else(|e| panic!("reading {PROFILE_PATH}: {e}"))
}

fn decide(prog: &[sock_filter], arch: u32, nr: i32, args: [u64; 6]) -> u32 {
    let data = SeccompData { nr, arch, instruction_pointer: 0, args };
    interp::run(prog, &data).unwrap_or_else(|e| panic!("libseccomp's program does not validate: {e}")).ret
}

fn arg0(a: u64) -> [u64; 6] {
    [a, 0, 0, 0, 0, 0]
}

/// The decisions Docker's default profile makes on amd64 with the default capabilities.
fn check_docker_default_decisions(prog: &[sock_filter]) {
    let x64 = |nr, args| decide(prog, AUDIT_ARCH_X86_64, nr, args);
    assert_eq!(x64(NR_READ, [0; 6]), ret::ALLOW);
    assert_eq!(x64(NR_REBOOT, [0; 6]), ret::ERRNO | 1, "defaultErrnoRet is EPERM");
    assert_eq!(x64(NR_SOCKET, arg0(AF_INET)), ret::ALLOW);
    assert_eq!(x64(NR_SOCKET, arg0(AF_UNIX)), ret::ALLOW);
    assert_eq!(x64(NR_SOCKET, arg0(AF_ALG)), ret::ERRNO | 1);
    assert_eq!(x64(NR_SOCKET, arg0(AF_VSOCK)), ret::ERRNO | 1);
    assert_eq!(x64(NR_SOCKET, arg0(39)), ret::ALLOW);
    assert_eq!(x64(NR_CLONE3, [0; 6]), ret::ERRNO | ENOSYS);
    // clone: allowed unless a namespace flag (mask 0x7E020000) is set.
    assert_eq!(x64(NR_CLONE, arg0(17)), ret::ALLOW);
    assert_eq!(x64(NR_CLONE, arg0(0x1000_0000 | 17)), ret::ERRNO | 1, "CLONE_NEWUSER");
    // personality: a fixed set of 64-bit values; the high word is compared too.
    assert_eq!(x64(NR_PERSONALITY, arg0(0xffff_ffff)), ret::ALLOW);
    assert_eq!(x64(NR_PERSONALITY, arg0(0xffff_ffff_ffff_ffff)), ret::ERRNO | 1);
    assert_eq!(x64(NR_PERSONALITY, arg0(1)), ret::ERRNO | 1);
    // Subarchitectures from archMap: i386 and x32.
    assert_eq!(decide(prog, AUDIT_ARCH_I386, NR_I386_SOCKET, arg0(AF_UNIX)), ret::ALLOW);
    assert_eq!(decide(prog, AUDIT_ARCH_I386, NR_I386_SOCKET, arg0(AF_ALG)), ret::ERRNO | 1);
    assert_eq!(x64(X32_SYSCALL_BIT | NR_READ, [0; 6]), ret::ALLOW);
    // Any other architecture hits libseccomp's default bad-arch action, SCMP_ACT_KILL.
    assert_eq!(decide(prog, AUDIT_ARCH_AARCH64, 63, [0; 6]), ret::KILL_THREAD);
}

#[test]
fn docker_default_linear_and_binary_tree() {
    let json = profile();
    let linear = compile_docker_profile(&json, &OracleOptions::docker_defaults("x86_64"));
    let tree = compile_docker_profile(&json, &OracleOptions { binary_tree: true, ..OracleOptions::docker_defaults("x86_64") });
    interp::validate(&linear).unwrap();
    interp::validate(&tree).unwrap();
    check_docker_default_decisions(&linear);
    check_docker_default_decisions(&tree);

    let (lin_path, tree_path) = (interp::worst_case_path(&linear), interp::worst_case_path(&tree));
    eprintln!(
        "libseccomp docker-default x86_64+x86+x32: linear {} insns, worst path {}; binary tree {} insns, worst path {}",
        linear.len(),
        lin_path,
        tree.len(),
        tree_path
    );
    assert!(tree_path < lin_path, "the binary tree should shorten the worst path");

    // Both layouts must agree everywhere, argument-free and with a socket family mix.
    for (arch, bit) in [(AUDIT_ARCH_X86_64, 0), (AUDIT_ARCH_X86_64, X32_SYSCALL_BIT), (AUDIT_ARCH_I386, 0)] {
        for nr in 0..600 {
            for args in [[0; 6], arg0(AF_ALG), arg0(0x7e02_0000)] {
                let a = decide(&linear, arch, bit | nr, args);
                let b = decide(&tree, arch, bit | nr, args);
                assert_eq!(a, b, "arch {arch:#x} nr {:#x} args {args:?}", bit | nr);
            }
        }
    }
}

#[test]
fn docker_default_x86_64_only_sizes() {
    // The profile with archMap dropped and `architectures` naming x86_64 alone: the size
    // shared/REFERENCES.md quotes for libseccomp 2.5.4 (337 linear, 415 binary tree).
    let mut v: serde_json::Value = serde_json::from_str(&profile()).unwrap();
    let obj = v.as_object_mut().unwrap();
    obj.remove("archMap");
    obj.insert("architectures".into(), serde_json::json!(["SCMP_ARCH_X86_64"]));
    let json = v.to_string();
    let linear = compile_docker_profile(&json, &OracleOptions::docker_defaults("x86_64"));
    let tree = compile_docker_profile(&json, &OracleOptions { binary_tree: true, ..OracleOptions::docker_defaults("x86_64") });
    eprintln!(
        "libseccomp docker-default x86_64 only: linear {} insns, worst path {}; binary tree {} insns, worst path {}",
        linear.len(),
        interp::worst_case_path(&linear),
        tree.len(),
        interp::worst_case_path(&tree)
    );
    // i386 is now a foreign arch.
    assert_eq!(decide(&linear, AUDIT_ARCH_I386, NR_I386_SOCKET, arg0(AF_UNIX)), ret::KILL_THREAD);
    assert_eq!(decide(&tree, AUDIT_ARCH_X86_64, NR_READ, [0; 6]), ret::ALLOW);
}

#[test]
fn capabilities_open_up_rules() {
    let json = profile();
    let mut opts = OracleOptions::docker_defaults("x86_64");
    opts.caps.push("CAP_SYS_ADMIN".into());
    opts.caps.push("SYS_BOOT".into()); // short form is accepted
    let prog = compile_docker_profile(&json, &opts);
    let x64 = |nr, args| decide(&prog, AUDIT_ARCH_X86_64, nr, args);
    assert_eq!(x64(NR_CLONE3, [0; 6]), ret::ALLOW);
    assert_eq!(x64(NR_CLONE, arg0(0x1000_0000 | 17)), ret::ALLOW);
    assert_eq!(x64(NR_REBOOT, [0; 6]), ret::ALLOW);
    assert_eq!(x64(NR_SOCKET, arg0(AF_ALG)), ret::ERRNO | 1, "CAP_SYS_ADMIN does not open AF_ALG");
}

#[test]
fn rule_semantics_follow_runc() {
    // Two conditions on one argument: runc adds them as separate rules (OR); conditions
    // on distinct arguments are ANDed. MASKED_EQ takes value as mask, valueTwo as datum.
    let json = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_TRAP",
             "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 15, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5},
            {"names": ["write"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["no_such_syscall"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpid"], "action": "SCMP_ACT_KILL"},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "99.0"}},
            {"names": ["gettid"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}
        ]
    }"#;
    let prog = compile_docker_profile(json, &OracleOptions::docker_defaults("x86_64"));
    let x64 = |nr, args| decide(&prog, AUDIT_ARCH_X86_64, nr, args);
    assert_eq!(x64(NR_PERSONALITY, arg0(1)), ret::ALLOW);
    assert_eq!(x64(NR_PERSONALITY, arg0(2)), ret::ALLOW);
    assert_eq!(x64(NR_PERSONALITY, arg0(3)), ret::ERRNO | 1);
    assert_eq!(x64(NR_SOCKET, [2, 0x33, 0, 0, 0, 0]), ret::TRAP);
    assert_eq!(x64(NR_SOCKET, [2, 0x34, 0, 0, 0, 0]), ret::ERRNO | 1);
    assert_eq!(x64(NR_SOCKET, [1, 0x33, 0, 0, 0, 0]), ret::ERRNO | 1);
    assert_eq!(x64(NR_READ, [0; 6]), ret::ERRNO | 5);
    // No errnoRet: runc uses EPERM, which here equals the default, so the rule is dropped.
    assert_eq!(x64(1, [0; 6]), ret::ERRNO | 1);
    assert_eq!(x64(39, [0; 6]), ret::KILL_THREAD, "SCMP_ACT_KILL is KILL_THREAD");
    assert_eq!(x64(110, [0; 6]), ret::ERRNO | 1, "minKernel 99.0 is not met");
    assert_eq!(x64(186, [0; 6]), ret::ERRNO | 1, "excluded on amd64");
}
