#!/usr/bin/env python3
"""Generate src/seccomp/tables.rs: syscall tables and named constants.

Everything is derived from the kernel and libc headers installed on the
build machine (Debian packages linux-libc-dev and libc6-dev), evaluated by
gcc, plus one small hand-maintained table of syscalls newer than those
headers (NEWER_SYSCALLS below).  Nothing is copied from other projects'
syscall lists.

How values are obtained:
  * `gcc -E -dM` lists the macros a header set defines after conditional
    compilation, so e.g. the aarch64 table only contains what
    asm-generic/unistd.h defines under the arm64 __ARCH_WANT_* switches.
  * Each candidate macro is then compiled (`gcc -S`) into a static
    initializer `(unsigned long long)(NAME)` next to a `_Generic` check of
    its type.  A static initializer must be a constant expression, so
    function calls, strings and anything else that is not a plain integer
    constant fails to compile (and is dropped), and pointer or floating
    values are dropped by the type check.  The values are read back from
    the emitted assembly, so nothing generated is ever executed.

Usage: python3 tools/gen-tables.py [--check] [--verbose] [OUTPUT]
  OUTPUT defaults to src/seccomp/tables.rs next to this script's crate.
  --check    exits 1 if OUTPUT is not up to date (for CI).
  --verbose  lists the macros dropped as not plain integer constants.

The output is deterministic: the same installed packages give the same
bytes.  Stdlib only.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(ROOT, "src", "seccomp", "tables.rs")

# --------------------------------------------------------------------------
# Hand-maintained: syscalls added after the installed headers (Linux 6.1,
# whose last syscall is 450 set_mempolicy_home_node).
#
# Since Linux 5.1 (424 pidfd_send_signal) new syscalls get the same number
# on every architecture ("unified numbering"), so each entry below applies to
# x86_64, i386, x32 (plus __X32_SYSCALL_BIT at run time) and aarch64 alike.
# Source: the kernel's arch/x86/entry/syscalls/syscall_{32,64}.tbl and
# include/uapi/asm-generic/unistd.h at the release named in each comment.
# When the installed headers gain one of these, the generator keeps the
# header's number and fails if the two disagree.
# --------------------------------------------------------------------------
NEWER_SYSCALLS = [
    # (number, name)           first released in
    (451, "cachestat"),        # 6.5
    (452, "fchmodat2"),        # 6.6
    (453, "map_shadow_stack"), # 6.6 (ENOSYS outside x86_64 with CET)
    (454, "futex_wake"),       # 6.7
    (455, "futex_wait"),       # 6.7
    (456, "futex_requeue"),    # 6.7
    (457, "statmount"),        # 6.8
    (458, "listmount"),        # 6.8
    (459, "lsm_get_self_attr"),# 6.8
    (460, "lsm_set_self_attr"),# 6.8
    (461, "lsm_list_modules"), # 6.8
    (462, "mseal"),            # 6.10
    (463, "setxattrat"),       # 6.13
    (464, "getxattrat"),       # 6.13
    (465, "listxattrat"),      # 6.13
    (466, "removexattrat"),    # 6.13
    (467, "open_tree_attr"),   # 6.15
    (468, "file_getattr"),     # 6.17
    (469, "file_setattr"),     # 6.17
]

# Hand-maintained: architecture-specific syscalls newer than the headers.
NEWER_ARCH_SYSCALLS = {
    # x86_64 only: the uretprobe trampoline's syscall (6.11), in the 64-bit
    # range of syscall_64.tbl, so neither x32 nor i386 have it.
    "x86_64": [(335, "uretprobe")],
}

# The defines arch/arm64/include/uapi/asm/unistd.h sets before including
# asm-generic/unistd.h (Linux 6.1).  They decide which optional generic
# syscalls arm64 has (e.g. renameat yes, open/stat no).
AARCH64_DEFINES = [
    "__BITS_PER_LONG=64",
    "__ARCH_WANT_RENAMEAT",
    "__ARCH_WANT_NEW_STAT",
    "__ARCH_WANT_SET_GET_RLIMIT",
    "__ARCH_WANT_SYS_CLONE3",
    "__ARCH_WANT_MEMFD_SECRET",
]

# asm-generic/unistd.h macros that are bookkeeping, not syscalls.
GENERIC_NOT_SYSCALLS = {"__NR_syscalls", "__NR_arch_specific_syscall"}

# --------------------------------------------------------------------------
# Named constants for syscall argument conditions.
#
# Each group is one translation unit: glibc and kernel uapi headers clash
# (sys/mount.h vs linux/mount.h, netinet/in.h vs linux/in.h, ...), so they
# are evaluated separately.  Groups are listed in priority order: when two
# groups define the same name, the first one's value is kept and a differing
# value is reported on stderr.  The kernel's headers come first because a
# seccomp filter sees the raw syscall ABI, not libc's view of it.
# --------------------------------------------------------------------------
GLIBC_HEADERS = [
    "errno.h", "fcntl.h", "sched.h", "signal.h", "time.h", "unistd.h",
    "netinet/in.h", "netinet/tcp.h", "sys/epoll.h", "sys/eventfd.h",
    "sys/file.h", "sys/inotify.h", "sys/ioctl.h", "sys/ipc.h", "sys/mman.h",
    "sys/mount.h", "sys/msg.h", "sys/personality.h", "sys/prctl.h",
    "sys/random.h", "sys/resource.h", "sys/sem.h", "sys/shm.h",
    "sys/socket.h", "sys/stat.h", "sys/timerfd.h", "sys/un.h", "sys/wait.h",
    "sys/xattr.h", "termios.h",
]

KERNEL_HEADERS = [
    "stddef.h",  # size_t, for the _IOR() sizes of BLKGETSIZE64 and friends
    "asm/termbits.h", "asm/ioctls.h", "linux/serial.h",  # TCGETS2, ISO7816
    "linux/blktrace_api.h", "linux/fiemap.h",  # BLKTRACESETUP, FS_IOC_FIEMAP
    "linux/audit.h", "linux/close_range.h", "linux/falloc.h",
    "linux/futex.h", "linux/keyctl.h", "linux/landlock.h", "linux/mman.h",
    "linux/mount.h", "linux/netlink.h", "linux/nsfs.h", "linux/openat2.h",
    "linux/pidfd.h", "linux/ptrace.h", "linux/sched.h", "linux/seccomp.h",
    "linux/fs.h", "linux/stat.h", "linux/vt.h",
]

CONSTANT_GROUPS = [
    ("kernel", KERNEL_HEADERS),
    ("glibc", GLIBC_HEADERS),
]

# Names whose glibc and kernel values legitimately differ; the kernel value
# (first group) is kept silently.  Any other disagreement is reported.
KNOWN_CONFLICTS = {
    # glibc defines O_LARGEFILE as 0 on 64-bit ABIs because the kernel
    # forces it there (force_o_largefile()); the flag bit callers may still
    # pass, and a filter sees, is the kernel's.
    "O_LARGEFILE",
}

# Names kept in CONSTANTS.  One regex per family, anchored at both ends.
CONSTANT_PATTERNS = [
    r"AF_\w+", r"PF_\w+",                       # socket(2) domain
    r"SOCK_\w+",                                # socket(2) type and flags
    r"SOL_\w+", r"SO_\w+", r"MSG_\w+", r"SCM_\w+",  # sockopts, send/recv flags
    r"IPPROTO_\w+", r"TCP_\w+",                 # socket(2) protocol, sockopts
    r"NETLINK_\w+",                             # socket(AF_NETLINK) protocol
    r"CLONE_\w+",                               # clone/unshare/setns flags
    r"PROT_\w+", r"MAP_\w+", r"MREMAP_\w+", r"MADV_\w+", r"MCL_\w+",
    r"MLOCK_\w+", r"MFD_\w+", r"MS_(ASYNC|SYNC|INVALIDATE)",
    r"O_\w+",                                   # open(2) flags
    r"RESOLVE_\w+",                             # openat2(2)
    r"AT_\w+",                                  # *at(2) flags, AT_FDCWD
    r"F_\w+", r"FD_CLOEXEC", r"LOCK_\w+",       # fcntl/flock/access
    r"SEEK_\w+", r"[RWX]_OK",
    r"S_IF\w+", r"S_I[SRWX]\w*",                # mknod/chmod mode bits
    r"PR_\w+",                                  # prctl(2) options
    r"PER_\w+", r"UNAME26", r"ADDR_NO_RANDOMIZE", r"FDPIC_FUNCPTRS",
    r"MMAP_PAGE_ZERO", r"ADDR_COMPAT_LAYOUT", r"READ_IMPLIES_EXEC",
    r"ADDR_LIMIT_32BIT", r"SHORT_INODE", r"WHOLE_SECONDS",
    r"STICKY_TIMEOUTS", r"ADDR_LIMIT_3GB",      # personality(2)
    r"MS_\w+", r"MNT_\w+", r"UMOUNT_\w+",       # mount/umount2
    r"MOVE_MOUNT_\w+", r"OPEN_TREE_\w+", r"FSOPEN_\w+", r"FSPICK_\w+",
    r"FSMOUNT_\w+", r"FSCONFIG_\w+", r"MOUNT_ATTR_\w+",  # new mount API
    r"SIG[A-Z0-9]+", r"SIG_(BLOCK|UNBLOCK|SETMASK)",    # kill/sigprocmask
    r"TIOC\w+", r"FIO\w+", r"TC[A-Z]+\w*",      # tty ioctls, TCFLSH/TCXONC args
    r"SIOC\w+", r"NS_GET_\w+", r"FICLONE\w*", r"FIDEDUPERANGE",
    r"FS_IOC_\w+", r"BLK\w+",                   # ioctl(2) requests
    r"VT_\w+",                                  # ioctl on a console
    r"SECCOMP_\w+", r"AUDIT_ARCH_\w+",          # seccomp(2)
    r"PTRACE_\w+",                              # ptrace(2) requests
    r"KEYCTL_\w+", r"KEY_SPEC_\w+",             # keyctl(2)
    r"LANDLOCK_\w+",                            # landlock_*(2) flags
    r"FUTEX_\w+",                               # futex(2) ops
    r"RLIMIT_\w+", r"RLIM_INFINITY",            # prlimit64(2)
    r"CLOCK_\w+", r"TIMER_ABSTIME", r"TFD_\w+", r"EFD_\w+", r"IN_\w+",
    r"EPOLL\w+",
    r"GRND_\w+", r"RENAME_\w+", r"FALLOC_FL_\w+", r"CLOSE_RANGE_\w+",
    r"PIDFD_\w+", r"XATTR_\w+", r"STATX_\w+",
    r"W(NOHANG|UNTRACED|CONTINUED|EXITED|STOPPED|NOWAIT)", r"__W(ALL|CLONE|NOTHREAD)",
    r"P_(ALL|PID|PGID|PIDFD)",                  # waitid(2)
    r"IPC_\w+", r"SHM_\w+", r"SEM_\w+", r"GETALL|GETNCNT|GETPID|GETVAL|GETZCNT|SETALL|SETVAL",
    r"SCHED_\w+",                               # sched_setscheduler(2)
]

# Names the patterns catch that are not syscall argument values.
CONSTANT_EXCLUDE = [
    r"SIG_ATOMIC_\w+",                          # <stdint.h> limits
    r"IN_(CLASS|LOOPBACKNET|MULTICAST|EXPERIMENTAL|BADCLASS)\w*",  # IPv4 classes
    r"TCPOPT_\w+", r"TCPOLEN_\w+", r"TCPI_\w+", # TCP wire format, tcp_info
    r"TCP_(COOKIE|MSS|MAXWIN|MAX_WINSHIFT|S_DATA)\w*",
    r"TCSA\w+",                                 # tcsetattr() actions (libc)
]

ERRNO_PATTERN = r"E[A-Z0-9]+"

# Types _Generic accepts as "plain integer".
INTEGER_TYPES = [
    "_Bool", "char", "signed char", "unsigned char", "short",
    "unsigned short", "int", "unsigned int", "long", "unsigned long",
    "long long", "unsigned long long",
]

U64 = (1 << 64) - 1
VERBOSE = False


def fail(msg):
    sys.exit(f"gen-tables: {msg}")


def run(cmd, stdin=None):
    res = subprocess.run(cmd, input=stdin, capture_output=True, text=True)
    return res.returncode, res.stdout, res.stderr


def define_args(defines):
    return [f"-D{d}" for d in defines]


def macro_names(prelude, defines=()):
    """Object-like macros defined after preprocessing `prelude`."""
    rc, out, err = run(["gcc", "-E", "-dM", "-x", "c", "-D_GNU_SOURCE",
                        *define_args(defines), "-"], prelude)
    if rc != 0:
        fail(f"gcc -E -dM failed:\n{err}")
    names = {}
    for line in out.splitlines():
        m = re.match(r"#define (\w+)(\(?)(.*)$", line)
        if m and not m.group(2):
            names[m.group(1)] = m.group(3).strip()
    return names


def evaluate(prelude, names, defines=()):
    """Values of `names` as u64, dropping those that are not integer constants.

    Compiles one static initializer per name and reads the values back from
    the assembly; names whose initializer does not compile are dropped and
    the rest recompiled.  Returns ({name: u64}, [dropped names]).
    """
    names = sorted(names)
    dropped = []
    generic = ", ".join(f"{t}: 1" for t in INTEGER_TYPES)
    with tempfile.TemporaryDirectory(prefix="gen-tables.") as tmp:
        src = os.path.join(tmp, "eval.c")
        while True:
            first = prelude.count("\n") + 1
            lines = [prelude]
            for i, n in enumerate(names):
                lines.append(
                    f"const unsigned long long palisade_v{i}[2] = "
                    f"{{ (unsigned long long)({n}), "
                    f"_Generic(({n}), {generic}, default: 0) }};\n")
            with open(src, "w") as f:
                f.write("".join(lines))
            rc, asm, err = run(["gcc", "-S", "-O0", "-w", "-D_GNU_SOURCE",
                                *define_args(defines), "-o", "-", src])
            if rc == 0:
                break
            # Blame the generated line an error is on, or, for errors inside
            # header macros, the line the macro was expanded on.  Other
            # notes (fix-it hints) may point at unrelated lines.
            bad = set()
            blame = re.escape(src) + (r":(\d+):\d+: (?:error|note: in "
                                      r"expansion of macro)")
            for m in re.finditer(blame, err):
                idx = int(m.group(1)) - first
                if 0 <= idx < len(names):
                    bad.add(idx)
            if not bad:
                fail(f"gcc -S failed outside the generated lines:\n{err}")
            dropped += [names[i] for i in bad]
            names = [n for i, n in enumerate(names) if i not in bad]
    values = parse_asm(asm)
    result = {}
    for i, n in enumerate(names):
        value, is_int = values[f"palisade_v{i}"]
        if is_int:
            result[n] = value
        else:
            dropped.append(n)
    return result, sorted(dropped)


def parse_asm(asm):
    """{symbol: (value, flag)} from the `.quad`/`.zero` data gcc emits."""
    out = {}
    sym, words = None, []

    def flush():
        if sym is not None:
            if len(words) != 2:
                fail(f"unexpected data for {sym}: {words}")
            out[sym] = (words[0], words[1] == 1)

    for line in asm.splitlines():
        m = re.match(r"^(palisade_v\d+):", line)
        if m:
            flush()
            sym, words = m.group(1), []
            continue
        if sym is None:
            continue
        parts = line.split()
        if not parts:
            continue
        if parts[0] == ".quad":
            words.append(int(parts[1], 0) & U64)
        elif parts[0] == ".zero":
            words += [0] * (int(parts[1]) // 8)
        elif not parts[0].startswith("."):
            flush()
            sym = None
    flush()
    return out


# ------------------------------------------------------------------ syscalls

def header_syscalls(prelude, defines=(), exclude=()):
    macros = macro_names(prelude, defines)
    names = [n for n in macros if n.startswith("__NR_")
             and not n.startswith("__NR3264_") and n not in exclude]
    values, dropped = evaluate(prelude, names, defines)
    if dropped:
        fail(f"non-constant syscall numbers: {dropped}")
    return {n[len("__NR_"):]: v for n, v in values.items()}


def add_newer(table, arch, extra):
    by_name = dict(table)
    for nr, name in extra:
        if name in by_name:
            if by_name[name] != nr:
                fail(f"{arch}: header has {name}={by_name[name]}, "
                     f"hand table says {nr}")
            continue
        by_name[name] = nr
    return by_name


def check_table(arch, table):
    seen = {}
    for name, nr in table.items():
        if nr in seen:
            fail(f"{arch}: {name} and {seen[nr]} share number {nr}")
        seen[nr] = name
    return sorted(table.items(), key=lambda kv: (kv[1], kv[0]))


def syscall_tables():
    x32_bit = macro_names("#include <asm/unistd.h>\n").get("__X32_SYSCALL_BIT")
    if x32_bit is None:
        fail("asm/unistd.h does not define __X32_SYSCALL_BIT")
    x32_bit = int(x32_bit, 0)

    x86_64 = header_syscalls("#include <asm/unistd_64.h>\n")
    x86 = header_syscalls("#include <asm/unistd_32.h>\n")
    x32 = header_syscalls("#include <asm/unistd_x32.h>\n",
                          [f"__X32_SYSCALL_BIT={x32_bit:#x}"])
    for name, nr in x32.items():
        if not nr & x32_bit:
            fail(f"x32 {name}={nr:#x} lacks __X32_SYSCALL_BIT")
    # Stored without the bit; arch.rs ORs it back in (see X32_SYSCALL_BIT).
    x32 = {n: nr & ~x32_bit for n, nr in x32.items()}
    aarch64 = header_syscalls("#include <asm-generic/unistd.h>\n",
                              AARCH64_DEFINES, GENERIC_NOT_SYSCALLS)

    tables = {"x86_64": x86_64, "x86": x86, "x32": x32, "aarch64": aarch64}
    out = {}
    for arch, table in tables.items():
        table = add_newer(table, arch, NEWER_SYSCALLS)
        table = add_newer(table, arch, NEWER_ARCH_SYSCALLS.get(arch, []))
        out[arch] = check_table(arch, table)
    return out, x32_bit


# ----------------------------------------------------------------- constants

def include_lines(headers):
    return "".join(f"#include <{h}>\n" for h in headers)


def constants():
    keep = any_of(CONSTANT_PATTERNS)
    skip = any_of(CONSTANT_EXCLUDE)
    merged = {}
    for group, headers in CONSTANT_GROUPS:
        prelude = include_lines(headers)
        names = [n for n in macro_names(prelude)
                 if keep.match(n) and not skip.match(n)]
        values, dropped = evaluate(prelude, names)
        if VERBOSE:
            print(f"gen-tables: {group}: {len(values)} constants; not plain "
                  f"integers: {' '.join(dropped)}", file=sys.stderr)
        for name, value in sorted(values.items()):
            first = merged.setdefault(name, value)
            if first != value and name not in KNOWN_CONFLICTS:
                print(f"gen-tables: warning: {name} is {first:#x} in an "
                      f"earlier group but {value:#x} in {group}; keeping "
                      f"{first:#x}", file=sys.stderr)
    return sorted(merged.items())


def any_of(patterns):
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\Z")


def errnos():
    prelude = "#include <errno.h>\n"
    macros = macro_names(prelude)
    names = [n for n in macros if re.fullmatch(ERRNO_PATTERN, n)]
    values, _dropped = evaluate(prelude, names)
    table = sorted((n, v) for n, v in values.items() if 0 < v < 4096)
    # The canonical name per number: skip aliases defined as another errno
    # name (EWOULDBLOCK -> EAGAIN, EDEADLOCK -> EDEADLK, ENOTSUP -> ...).
    by_number = {}
    for name, nr in table:
        if macros[name] in values:
            continue
        by_number.setdefault(nr, name)
    return table, sorted(by_number.items())


# -------------------------------------------------------------------- output

def package_versions():
    rc, out, _ = run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n",
                      "linux-libc-dev", "libc6-dev"])
    if rc != 0:
        fail("dpkg-query failed; are linux-libc-dev and libc6-dev installed?")
    rc, gcc, _ = run(["gcc", "-dumpfullversion"])
    return [l for l in out.splitlines() if l] + [f"gcc {gcc.strip()}"]


def constant_entry(name, value):
    """One CONSTANTS row: small values in decimal, masks and ioctls in hex,
    two's-complement negatives preceded by their signed value."""
    literal = str(value) if value < 256 else f"{value:#x}"
    row = f'    ("{name}", {literal}),\n'
    if value >= 1 << 63:
        # On its own line: rustfmt would re-align runs of trailing comments.
        row = f"    // {value - (1 << 64)}\n" + row
    return row


def render(tables, x32_bit, consts, errno_table, errno_names):
    versions = package_versions()
    o = []
    w = o.append
    w("// @generated by tools/gen-tables.py -- DO NOT EDIT.\n")
    w("//\n")
    w("// Regenerate with `python3 tools/gen-tables.py` (check with --check).\n")
    w("// Derived from the installed Debian headers, evaluated by gcc:\n")
    for v in versions:
        w(f"//   {v}\n")
    w("// plus the script's hand-maintained list of syscalls added after\n")
    w("// those headers (Linux 6.1): 451..=469 on every arch, x86_64 uretprobe.\n")
    w("//\n")
    w("// CONSTANTS hold the values of the x86_64 host headers.  Most are the\n")
    w("// same on aarch64, but not all: e.g. O_DIRECTORY, O_NOFOLLOW, O_DIRECT\n")
    w("// and O_LARGEFILE differ there, and size-encoding ioctl numbers differ\n")
    w("// on 32-bit ABIs.\n\n")
    w("//! Syscall, constant and errno tables; see tools/gen-tables.py.\n\n")

    docs = {
        "x86_64": "x86_64 syscalls (`asm/unistd_64.h`), sorted by number.",
        "x86": "i386 syscalls (`asm/unistd_32.h`), sorted by number.",
        "x32": (f"x32 syscalls (`asm/unistd_x32.h`), sorted by number, "
                f"*without* `__X32_SYSCALL_BIT` ({x32_bit:#x}) that the "
                f"kernel sees in `nr`."),
        "aarch64": ("aarch64 syscalls (`asm-generic/unistd.h` with the arm64 "
                    "`__ARCH_WANT_*` switches), sorted by number."),
    }
    for arch in ("x86_64", "x86", "x32", "aarch64"):
        w(f"/// {docs[arch]}\n")
        w(f"pub static {arch.upper()}: &[(&str, u32)] = &[\n")
        for name, nr in tables[arch]:
            w(f'    ("{name}", {nr}),\n')
        w("];\n\n")

    w("/// Named integer constants for syscall argument conditions, sorted by\n")
    w("/// name; negative values are stored as their 64-bit two's complement.\n")
    w("pub static CONSTANTS: &[(&str, u64)] = &[\n")
    for name, value in consts:
        w(constant_entry(name, value))
    w("];\n\n")

    w("/// Every errno name (aliases included) and its number, sorted by name.\n")
    w("pub static ERRNO: &[(&str, u32)] = &[\n")
    for name, nr in errno_table:
        w(f'    ("{name}", {nr}),\n')
    w("];\n\n")

    w("/// The canonical errno name per number (no aliases), sorted by number.\n")
    w("pub static ERRNO_NAMES: &[(u32, &str)] = &[\n")
    for nr, name in errno_names:
        w(f'    ({nr}, "{name}"),\n')
    w("];\n")
    return "".join(o)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", nargs="?", default=DEFAULT_OUTPUT)
    ap.add_argument("--check", action="store_true",
                    help="fail if OUTPUT differs from what would be written")
    ap.add_argument("--verbose", action="store_true",
                    help="list the macros dropped as not plain integers")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose

    tables, x32_bit = syscall_tables()
    consts = constants()
    errno_table, errno_names = errnos()
    text = render(tables, x32_bit, consts, errno_table, errno_names)

    if args.check:
        try:
            with open(args.output) as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            sys.exit(f"gen-tables: {args.output} is out of date; "
                     f"run python3 tools/gen-tables.py")
        return

    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.output)
    sizes = ", ".join(f"{a} {len(t)}" for a, t in tables.items())
    print(f"wrote {args.output}: {sizes}; {len(consts)} constants, "
          f"{len(errno_table)} errnos", file=sys.stderr)


if __name__ == "__main__":
    main()
