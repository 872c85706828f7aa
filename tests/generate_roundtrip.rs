//! `palisade generate` round trips on real programs: learn a policy for busybox applets,
//! `python3 -c`, and a server answering on loopback; the policy passes `palisade policy
//! check`, runs the same command again with the same output, and refuses what the program did
//! not do — a syscall (the policy's EPERM or the family rule's EAFNOSUPPORT) and a file
//! (Landlock's EACCES). Each policy's size is printed against docker-default's.

mod generate_common;
mod run_common;

use generate_common::*;
use run_common::*;

#[test]
fn busybox_applets_round_trip() {
    let _s = serial();
    require_root();
    let bb = busybox();
    let dir = workdir();

    let (ls, _) = round_trip(dir.path(), "ls", &[], &[bb, "ls", "/usr"]);
    smaller_than_docker("busybox ls /usr", &ls);
    // A file it did not read: refused by Landlock.
    assert_blocked(&ls, &[bb, "cat", "/etc/debian_version"], "Permission denied");
    // A syscall it did not make: refused by the filter's default.
    assert_blocked(&ls, &[bb, "mkdir", "/tmp/made"], "Operation not permitted");

    let (cat, _) = round_trip(dir.path(), "cat", &[], &[bb, "cat", "/etc/debian_version"]);
    smaller_than_docker("busybox cat /etc/debian_version", &cat);
    let text = std::fs::read_to_string(&cat).unwrap();
    assert!(text.contains("name = \"/etc/debian_version\""), "the one file read, not /etc: {text}");
    // The learned cat wrote with sendfile only: not even write(2) is allowed, so it cannot
    // say why it fails; the file it did read still comes through, the other one does not.
    let out = run_under(&cat, &[bb, "cat", "/etc/debian_version", "/etc/passwd"]);
    assert_eq!(code(&out), 1, "{}", describe(&out));
    assert_eq!(out.stdout, std::fs::read("/etc/debian_version").unwrap(), "{}", describe(&out));

    // A shell pipeline writing to the private /tmp: the write grant is /tmp, nothing else.
    let script = format!("echo hello > /tmp/note && {bb} wc -c /tmp/note && {bb} sha256sum /tmp/note");
    let (sh, _) = round_trip(dir.path(), "sh", &[], &[bb, "sh", "-c", &script]);
    smaller_than_docker("busybox sh -c 'echo > /tmp/note; wc; sha256sum'", &sh);
    let policy = palisade::policy::load(&palisade::policy::PolicySource::File(sh.clone())).unwrap();
    let writes: Vec<&str> = policy.filesystem.landlock.write.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(writes, ["/tmp"], "{}", std::fs::read_to_string(&sh).unwrap());
    assert_blocked(&sh, &[bb, "cat", "/etc/debian_version"], "Permission denied");

    assert_no_scratch_left();
    assert_no_leaks();
}

#[test]
fn python3_round_trips() {
    let _s = serial();
    require_root();
    let py = python3();
    let dir = workdir();
    let (policy, _) = round_trip(dir.path(), "python", &[], &[py, "-c", "print(1+1)"]);
    smaller_than_docker("python3 -c 'print(1+1)'", &policy);
    assert_eq!(String::from_utf8_lossy(&run_under(&policy, &[py, "-c", "print(1+1)"]).stdout), "2\n");
    // No directory was made: mkdir gets the filter's default EPERM (os is loaded already,
    // so nothing else new runs first).
    assert_blocked(
        &policy,
        &[py, "-c", "import os; os.mkdir('/tmp/made')"],
        "PermissionError: [Errno 1] Operation not permitted: '/tmp/made'",
    );
    // /etc/passwd was not read: Landlock refuses it.
    assert_blocked(&policy, &[py, "-c", "open('/etc/passwd').read()"], "PermissionError: [Errno 13] Permission denied");
    assert_no_scratch_left();
    assert_no_leaks();
}

/// Prints the size and asserts a standalone generated policy is smaller than docker-default.
fn smaller_than_docker(workload: &str, policy: &std::path::Path) {
    let (mine, docker) = report_size(workload, policy);
    assert!(mine < docker, "{workload}: {mine} syscalls, docker-default {docker}");
}

/// A shell starts `python3 -m http.server` on 127.0.0.1, waits until it listens (it prints
/// its banner into a FIFO), fetches a directory listing with a python3 client, and stops it.
pub const SERVER: &str = r#"mkfifo /tmp/ready
/usr/bin/python3 -u -m http.server --bind 127.0.0.1 --directory /usr/lib/python3/dist-packages 8765 > /tmp/ready 2>/dev/null &
read banner < /tmp/ready
/usr/bin/python3 -c 'import urllib.request as u; r = u.urlopen("http://127.0.0.1:8765/"); print(r.status, r.headers.get_content_type())'
kill $!
wait
exit 0"#;

#[test]
fn a_loopback_server_and_its_client_round_trip() {
    let _s = serial();
    require_root();
    python3();
    let dir = workdir();
    let (policy, learned) = round_trip(dir.path(), "server", &[], &["/bin/sh", "-c", SERVER]);
    smaller_than_docker("sh -c 'python3 -m http.server on 127.0.0.1 + urllib client'", &policy);
    assert_eq!(String::from_utf8_lossy(&learned.stdout), "200 text/html\n");
    let text = std::fs::read_to_string(&policy).unwrap();
    // Loopback only: no network beyond the sandbox's own lo, and only the families used.
    let p = palisade::policy::load(&palisade::policy::PolicySource::File(policy.clone())).unwrap();
    assert_eq!(p.network.mode.value, palisade::policy::model::NetworkMode::None, "{text}");
    assert!(text.contains("when = [\"arg0 == AF_INET\"]"), "{text}");
    // IPv6 was not used: the family rule's catch-all answers EAFNOSUPPORT.
    assert_blocked(
        &policy,
        &["/usr/bin/python3", "-c", "import socket; socket.socket(socket.AF_INET6)"],
        "[Errno 97] Address family not supported by protocol",
    );
    assert_no_scratch_left();
    assert_no_leaks();
}

/// An x86_64 program that makes one syscall through the 32-bit ABI (`int 0x80`, i386 getpid).
#[cfg(target_arch = "x86_64")]
const INT80_GETPID: &str = r#"#include <stdio.h>
int main(void) {
    long pid;
    __asm__ volatile ("int $0x80" : "=a"(pid) : "a"(20L) : "memory");
    printf("32-bit getpid %s\n", pid > 0 ? "answered" : "failed");
    return 0;
}
"#;

#[cfg(target_arch = "x86_64")]
#[test]
fn the_abis_a_program_uses_become_its_architectures() {
    let _s = serial();
    require_root();
    let dir = workdir();
    let src = dir.path().join("int80.c");
    let exe = dir.path().join("int80-getpid");
    std::fs::write(&src, INT80_GETPID).unwrap();
    let cc = std::process::Command::new("cc").args(["-O2", "-o"]).arg(&exe).arg(&src).output();
    let cc = cc.unwrap_or_else(|e| panic!("cc: {e}: apt-get install gcc libc6-dev"));
    assert!(cc.status.success(), "cc: {}", String::from_utf8_lossy(&cc.stderr));
    let exe = exe.to_str().unwrap();
    let direct = std::process::Command::new(exe).output().unwrap();
    assert!(
        direct.status.success() && direct.stdout.ends_with(b"answered\n"),
        "this kernel runs no 32-bit syscalls (CONFIG_IA32_EMULATION off, or booted with ia32_emulation=0): {direct:?}"
    );

    let (policy, learned) = round_trip(dir.path(), "int80", &[], &[exe]);
    assert_eq!(String::from_utf8_lossy(&learned.stdout), "32-bit getpid answered\n");
    let p = palisade::policy::load(&palisade::policy::PolicySource::File(policy.clone())).unwrap();
    let text = std::fs::read_to_string(&policy).unwrap();
    use palisade::seccomp::arch::Arch;
    assert_eq!(p.seccomp.architectures.value, [Arch::X86_64, Arch::X86], "{text}");
    // The 32-bit call is allowed through the 32-bit table only.
    let plan = palisade::compile::Plan::new(p).unwrap();
    let getpid = |arch: Arch| plan.filter.decide(arch.audit_arch(), arch.syscall_nr("getpid").unwrap(), &[0; 6]);
    assert_eq!(getpid(Arch::X86), palisade::seccomp::action::Action::Allow, "{text}");
    assert_ne!(getpid(Arch::X86_64), palisade::seccomp::action::Action::Allow, "{text}");
    // Without x86 in its architectures, the same policy kills the call (SIGSYS: 128 + 31).
    let only_64 = dir.path().join("int80-64.toml");
    let derived =
        format!("[policy]\nname = \"int80-64\"\nextends = {:?}\n[seccomp]\narchitectures = [\"x86_64\"]\n", policy.to_str().unwrap());
    std::fs::write(&only_64, derived).unwrap();
    let out = run_under(&only_64, &[exe]);
    assert_eq!(code(&out), 159, "{}", describe(&out));
    assert_no_scratch_left();
    assert_no_leaks();
}
