//! Containment proven from inside: the real `palisade run` starts the static probe in a
//! busybox rootfs, and the probe reports what the kernel let it do. One test per restriction;
//! after each, nothing may be left on the host.

mod run_common;

use nix::libc;
use palisade::compile::Plan;
use palisade::policy::{load, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::arch::AUDIT_ARCH_X86_64;
use run_common::*;

/// docker-default with a private network (its own mode, bridge, is not supported yet).
const DOCKER_NONE: &str = "[policy]\nname = \"docker-none\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n";

fn errno_name(errno: u16) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(i32::from(errno)))
}

#[test]
fn mount_fails_with_eperm() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // docker-default: mount is not in the filter (it is only allowed with SYS_ADMIN), so
    // the filter's default errno answers.
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &[], &["mount"]);
    assert_eq!(fields(&out).get("mount").map(String::as_str), Some("EPERM"), "{}", describe(&out));
    // The capability layer alone: the filter allows mount, but CAP_SYS_ADMIN is gone.
    let allow_mount = rootfs.policy(
        "allow-mount",
        &format!("{DOCKER_NONE}[[seccomp.allow]]\nnames = [\"mount\"]\nreason = \"test: leave mount to the capability check\"\n"),
    );
    let out = run_probe(&rootfs, allow_mount.to_str().unwrap(), &[], &["mount"]);
    assert_eq!(fields(&out).get("mount").map(String::as_str), Some("EPERM"), "{}", describe(&out));
    // untrusted denies @mount with kill-process: the probe dies of SIGSYS (128 + 31).
    let out = run_probe(&rootfs, "untrusted", &[], &["mount"]);
    assert_eq!(code(&out), 159, "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn kernel_interfaces_in_proc_are_masked_or_read_only() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let policy = docker.to_str().unwrap();
    // /proc/kcore and /proc/sysrq-trigger exist only on kernels built with PROC_KCORE and
    // MAGIC_SYSRQ; where the host has them they must be masked (empty) and read-only,
    // where it does not the container cannot have them either.
    let read = fields(&run_probe(&rootfs, policy, &[], &["read", "/proc/kcore"]));
    if std::path::Path::new("/proc/kcore").exists() {
        assert_eq!((field(&read, "read"), field(&read, "bytes")), (Some("OK"), Some("0")), "/proc/kcore must read as /dev/null");
    } else {
        assert_eq!(read.get("read").map(String::as_str), Some("ENOENT"));
    }
    let write = fields(&run_probe(&rootfs, policy, &[], &["write", "/proc/sysrq-trigger"]));
    let expect_sysrq = if std::path::Path::new("/proc/sysrq-trigger").exists() { "EROFS" } else { "ENOENT" };
    assert_eq!(write.get("write").map(String::as_str), Some(expect_sysrq), "/proc/sysrq-trigger");
    // Masked files that every kernel has: empty (a /dev/null bind).
    for path in ["/proc/keys", "/proc/timer_list", "/proc/interrupts"] {
        let out = run_probe(&rootfs, policy, &[], &["read", path]);
        let f = fields(&out);
        assert_eq!((field(&f, "read"), field(&f, "bytes")), (Some("OK"), Some("0")), "{path}: {}", describe(&out));
    }
    // A masked directory is an empty read-only tmpfs.
    let out = run_probe(&rootfs, policy, &[], &["write", "/proc/acpi/x"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("EROFS"), "{}", describe(&out));
    // Read-only paths: sysctls cannot be written even by the container's root.
    let out = run_probe(&rootfs, policy, &[], &["write", "/proc/sys/kernel/hostname"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("EROFS"), "{}", describe(&out));
    // And sysfs is read-only as a whole.
    let out = run_probe(&rootfs, policy, &[], &["write", "/sys/kernel/uevent_helper"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("EROFS"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn writing_the_read_only_root_fails_with_erofs() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // Root user and DAC_OVERRIDE: only the read-only mount stands in the way.
    let ro = rootfs.policy("docker-ro", &format!("{DOCKER_NONE}[filesystem]\nread_only_root = true\n"));
    let out = run_probe(&rootfs, ro.to_str().unwrap(), &[], &["write", "/etc/new-file"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("EROFS"), "{}", describe(&out));
    assert!(!rootfs.path().join("etc/new-file").exists());
    // The same run without read_only_root can write (the test is sensitive).
    let rw = rootfs.policy("docker-none", DOCKER_NONE);
    let out = run_probe(&rootfs, rw.to_str().unwrap(), &[], &["write", "/etc/new-file"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("OK"), "{}", describe(&out));
    // untrusted: read-only root, writable tmpfs /tmp.
    let out = run_probe(&rootfs, "untrusted", &[], &["write", "/tmp/scratch"]);
    assert_eq!(fields(&out).get("write").map(String::as_str), Some("OK"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn capabilities_match_the_policy_in_all_five_sets() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let docker = docker.to_str().unwrap();
    for (policy, extra) in [("untrusted", vec![]), (docker, vec![]), ("restricted", vec!["--net", "none", "-u", "1000"])] {
        let out = run_probe(&rootfs, policy, &extra, &["status"]);
        let f = fields(&out);
        let want = cap_mask(policy);
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            assert_eq!(f.get(set), Some(&want), "{policy} {set}: {}", describe(&out));
        }
    }
    // restricted keeps exactly NET_BIND_SERVICE (bit 10), also for a non-root user.
    assert_eq!(cap_mask("restricted"), format!("{:016x}", 1u64 << 10));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn seccomp_filters_and_denied_syscalls_return_the_policys_errno() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let plan = Plan::new(load(&PolicySource::Builtin("untrusted")).unwrap()).unwrap();
    let status = fields(&run_probe(&rootfs, "untrusted", &[], &["status"]));
    assert_eq!(status.get("Seccomp").map(String::as_str), Some("2"));
    assert_eq!(status.get("NoNewPrivs").map(String::as_str), Some("1"));
    // socket(AF_NETLINK): the policy's rule answers EAFNOSUPPORT; ask the compiled decision
    // model what it should be rather than restating it.
    let args = [libc::AF_NETLINK as u64, (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64, 0, 0, 0, 0];
    let Action::Errno(errno) = plan.filter.decide(AUDIT_ARCH_X86_64, libc::SYS_socket as u32, &args) else {
        panic!("untrusted must answer socket(AF_NETLINK) with an errno")
    };
    let out = run_probe(&rootfs, "untrusted", &[], &["socket", "netlink"]);
    assert_eq!(fields(&out).get("socket"), Some(&errno_name(errno)), "{}", describe(&out));
    // ioctl(TIOCSTI): the terminal-injection rule.
    let args = [0, libc::TIOCSTI, 0, 0, 0, 0];
    let Action::Errno(errno) = plan.filter.decide(AUDIT_ARCH_X86_64, libc::SYS_ioctl as u32, &args) else {
        panic!("TIOCSTI must be an errno")
    };
    let out = run_probe(&rootfs, "untrusted", &[], &["ioctl-tiocsti"]);
    assert_eq!(fields(&out).get("ioctl"), Some(&errno_name(errno)), "{}", describe(&out));
    // AF_UNIX is allowed: the filter is not refusing everything.
    let out = run_probe(&rootfs, "untrusted", &[], &["socket", "unix"]);
    assert_eq!(fields(&out).get("socket").map(String::as_str), Some("OK"), "{}", describe(&out));
    // unshare is in the deny list with kill-process: SIGSYS, exit 128 + 31.
    assert_eq!(plan.filter.decide(AUDIT_ARCH_X86_64, libc::SYS_unshare as u32, &[0; 6]), Action::KillProcess);
    let out = run_probe(&rootfs, "untrusted", &[], &["unshare"]);
    assert_eq!(code(&out), 128 + libc::SIGSYS, "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn landlock_denies_files_outside_the_allow_list() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // /secret is in no read list of untrusted; /etc is.
    let out = run_probe(&rootfs, "untrusted", &[], &["read", "/secret/file"]);
    assert_eq!(fields(&out).get("read").map(String::as_str), Some("EACCES"), "{}", describe(&out));
    let out = run_probe(&rootfs, "untrusted", &[], &["read", "/etc/passwd"]);
    assert_eq!(field(&fields(&out), "read"), Some("OK"), "{}", describe(&out));
    // Without Landlock the same file is readable (mode 644): the EACCES came from Landlock.
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &["-u", "65534"], &["read", "/secret/file"]);
    assert_eq!(field(&fields(&out), "read"), Some("OK"), "{}", describe(&out));
    // Writing outside the write list is refused too, on a writable tmpfs (/dev/shm is in
    // untrusted's write list, /dev/mqueue is not).
    let out = run_probe(&rootfs, "untrusted", &[], &["write", "/dev/mqueue/x"]);
    assert_eq!(field(&fields(&out), "write"), Some("EACCES"), "{}", describe(&out));
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &["-u", "65534"], &["write", "/dev/mqueue/x"]);
    assert_ne!(field(&fields(&out), "write"), Some("EACCES"), "without Landlock mqueue answers for itself: {}", describe(&out));
    let out = run_probe(&rootfs, "untrusted", &[], &["write", "/dev/shm/x"]);
    assert_eq!(field(&fields(&out), "write"), Some("OK"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let limit: usize = load(&PolicySource::Builtin("untrusted")).unwrap().resources.pids.unwrap().value as usize;
    let out = run_probe(&rootfs, "untrusted", &[], &["forkbomb"]);
    let f = fields(&out);
    let forked: usize = f.get("forked").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{}", describe(&out)));
    // init and the probe count too.
    assert!(forked + 2 <= limit, "forked {forked} with pids.max {limit}");
    assert!(forked + 2 >= limit - 2, "stopped early at {forked}: {}", describe(&out));
    assert_eq!(f.get("error").map(String::as_str), Some("EAGAIN"), "{}", describe(&out));
    assert_eq!(code(&out), 0);
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn an_allocation_over_the_memory_limit_is_oom_killed() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let limit = load(&PolicySource::Builtin("untrusted")).unwrap().resources.memory_bytes.unwrap().value;
    let mib = (limit >> 20) * 2;
    let out = run_probe(&rootfs, "untrusted", &[], &["alloc", &mib.to_string()]);
    assert_eq!(code(&out), 128 + libc::SIGKILL, "{}", describe(&out));
    assert!(!fields(&out).contains_key("allocated"), "{}", describe(&out));
    // Under the limit the same probe finishes.
    let out = run_probe(&rootfs, "untrusted", &[], &["alloc", &((limit >> 20) / 4).to_string()]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn network_mode_none_has_only_loopback_and_it_is_up() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let out = run_probe(&rootfs, "untrusted", &[], &["netdevs"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let devs: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("netdev=")).collect();
    assert_eq!(devs, ["lo"], "{}", describe(&out));
    assert_eq!(fields(&out).get("lo_up").map(String::as_str), Some("yes"), "{}", describe(&out));
    // Loopback answers (nothing listens: refused), anything else is unreachable.
    let out = run_probe(&rootfs, "untrusted", &[], &["connect", "127.0.0.1", "1"]);
    assert_eq!(field(&fields(&out), "connect"), Some("ECONNREFUSED"), "{}", describe(&out));
    let out = run_probe(&rootfs, "untrusted", &[], &["connect", "192.0.2.1", "80"]);
    assert_eq!(field(&fields(&out), "connect"), Some("ENETUNREACH"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn a_setuid_binary_gains_nothing_under_no_new_privs() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // untrusted: nobody, no_new_privs. The setuid-root probe stays nobody.
    let out = palisade(["run", "--policy", "untrusted", "--rootfs", rootfs.path().to_str().unwrap(), "--", PROBE_SUID, "ids"]);
    let f = fields(&out);
    assert_eq!(f.get("euid").map(String::as_str), Some("65534"), "{}", describe(&out));
    assert_eq!(f.get("uid").map(String::as_str), Some("65534"));
    // The contrast: docker-default leaves no_new_privs off, and the same binary run as
    // nobody becomes root, so the probe would see an escalation if there were one.
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = palisade([
        "run",
        "--policy",
        docker.to_str().unwrap(),
        "-u",
        "65534",
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "--",
        PROBE_SUID,
        "ids",
    ]);
    assert_eq!(fields(&out).get("euid").map(String::as_str), Some("0"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn a_volume_outside_the_allowed_sources_is_refused_before_anything_starts() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    let source = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // untrusted admits no host path at all.
    let volume = format!("{}:/data", source.path().display());
    let out = palisade(["run", "--policy", "untrusted", "--rootfs", rootfs.path().to_str().unwrap(), "-v", &volume, "--", "/bin/true"]);
    assert_eq!(code(&out), 125, "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused by policy `untrusted`") && err.contains("allow_sources"), "{err}");
    // A denied source reached through a symlink is refused by where it leads, and the
    // workload (which would leave a file in the writable root) never runs.
    let link = source.path().join("link");
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = palisade([
        "run",
        "--policy",
        docker.to_str().unwrap(),
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "-v",
        &format!("{}:/data", link.display()),
        "--",
        "/bin/sh",
        "-c",
        "echo > /started",
    ]);
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("resolves to /etc"), "{}", describe(&out));
    assert!(!rootfs.path().join("started").exists(), "the workload must not have run");
    // An admitted source is mounted, with the policy's forced options.
    std::fs::write(source.path().join("hello"), "hi\n").unwrap();
    let allowed = rootfs.policy(
        "allow-src",
        &format!(
            "{DOCKER_NONE}[volumes]\nallow_sources = [\"{}/**\"]\nforce_options = [\"nosuid\", \"nodev\"]\n",
            env!("CARGO_TARGET_TMPDIR")
        ),
    );
    let out = palisade([
        "run",
        "--policy",
        allowed.to_str().unwrap(),
        "--rootfs",
        rootfs.path().to_str().unwrap(),
        "-v",
        &format!("{}:/data:ro", source.path().display()),
        "--",
        "/bin/sh",
        "-c",
        "cat /data/hello; grep ' /data ' /proc/self/mountinfo; echo x > /data/new",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("hi\n"), "{}", describe(&out));
    let mount_line = stdout.lines().nth(1).unwrap_or_default();
    assert!(mount_line.contains(" ro,") && mount_line.contains("nosuid") && mount_line.contains("nodev"), "{mount_line}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn device_nodes_made_with_cap_mknod_stay_inert() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // docker-default keeps CAP_MKNOD (as Docker does) and palisade sets no device cgroup: a node
    // made for /dev/null's numbers on the writable root, in /tmp and in /dev itself must not
    // open (nodev), while the real /dev/null (a bind of the host's node) works.
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let script = "for n in /made /tmp/made /dev/made; do mknod $n c 1 3 && echo made > $n 2>/dev/null && echo \"$n: opened\" || echo \"$n: inert\"; done; echo x > /dev/null && echo '/dev/null: works'";
    let out =
        palisade(["run", "--policy", docker.to_str().unwrap(), "--rootfs", rootfs.path().to_str().unwrap(), "--", "/bin/sh", "-c", script]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/made: inert\n/tmp/made: inert\n/dev/made: inert\n/dev/null: works\n",
        "{}",
        describe(&out)
    );
    drop(rootfs);
    assert_no_leaks();
}

#[test]
fn the_workload_cannot_take_over_init() {
    let _s = serial();
    require_root();
    let rootfs = Rootfs::new();
    // docker-default: root, 14 capabilities, ptrace allowed by its filter. Init (pid 1) is
    // outside the filter, so it must be out of reach: non-dumpable, and holding nothing.
    let docker = rootfs.policy("docker-none", DOCKER_NONE);
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &[], &["ptrace", "1"]);
    assert_eq!(field(&fields(&out), "ptrace"), Some("EPERM"), "{}", describe(&out));
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &[], &["read", "/proc/1/environ"]);
    assert_eq!(field(&fields(&out), "read"), Some("EACCES"), "{}", describe(&out));
    let out = run_probe(&rootfs, docker.to_str().unwrap(), &[], &["read", "/proc/1/status"]);
    assert_eq!(field(&fields(&out), "read"), Some("OK"), "{}", describe(&out));
    drop(rootfs);
    assert_no_leaks();
}
