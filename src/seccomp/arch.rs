//! The syscall ABIs palisade compiles seccomp filters for, and lookups into
//! the generated syscall, constant and errno tables (`tables.rs`, written by
//! `tools/gen-tables.py` from the installed kernel and libc headers).

use std::fmt;
use std::str::FromStr;

use super::tables;

/// Bit the kernel sets in the syscall number of every x32 syscall.
///
/// x32 runs on the x86_64 syscall entry and reports `AUDIT_ARCH_X86_64` in
/// `seccomp_data.arch`, so a filter can only tell an x32 call from an
/// x86_64 one by this bit in `seccomp_data.nr`. A filter for x86_64 must
/// therefore reject numbers with the bit set, or an x32 process reaches the
/// same kernel code under numbers the filter never looked at
/// (`arch/x86/include/uapi/asm/unistd.h`, seccomp(2) "Caveats").
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `AUDIT_ARCH_X86_64` (`linux/audit.h`): `EM_X86_64 | __AUDIT_ARCH_64BIT |
/// __AUDIT_ARCH_LE`. Shared by x86_64 and x32.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `AUDIT_ARCH_I386` (`linux/audit.h`): `EM_386 | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64` (`linux/audit.h`): `EM_AARCH64 | __AUDIT_ARCH_64BIT
/// | __AUDIT_ARCH_LE` (little-endian arm64 only).
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;

/// A syscall ABI palisade can compile filters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// 64-bit x86 (`x86_64`).
    X86_64,
    /// 32-bit x86 (`i386`), also reachable from x86_64 processes via
    /// `int 0x80` when the kernel has `CONFIG_IA32_EMULATION`.
    X86,
    /// The x32 ABI: x86_64 with 32-bit pointers. See [`X32_SYSCALL_BIT`].
    X32,
    /// 64-bit little-endian arm64 (`aarch64`).
    Aarch64,
}

/// An architecture name that [`Arch::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown architecture `{0}`: expected x86_64, x86, x32 or aarch64 \
     (aliases: amd64, i386, i686, arm64, SCMP_ARCH_*)"
)]
pub struct UnknownArch(pub String);

impl Arch {
    /// Every supported architecture, in declaration order.
    pub const ALL: [Arch; 4] = [Arch::X86_64, Arch::X86, Arch::X32, Arch::Aarch64];

    /// Whether the ABI's `long` and pointers are 32 bits (x86, x32), so filters compare only
    /// the low word of every argument: i386 registers are zero-extended into seccomp_data, and
    /// an x32 process may leave garbage in the upper halves of its 64-bit registers that the
    /// kernel ignores for `int`/`long` parameters. libseccomp makes the same choice.
    pub const fn is_32bit_abi(self) -> bool {
        matches!(self, Arch::X86 | Arch::X32)
    }

    /// The canonical name, as used in policies and by serde.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::X86 => "x86",
            Arch::X32 => "x32",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// libseccomp's name for this architecture (`SCMP_ARCH_*`).
    pub const fn scmp_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "SCMP_ARCH_X86_64",
            Arch::X86 => "SCMP_ARCH_X86",
            Arch::X32 => "SCMP_ARCH_X32",
            Arch::Aarch64 => "SCMP_ARCH_AARCH64",
        }
    }

    /// The value the kernel puts in `seccomp_data.arch` for this ABI.
    ///
    /// x32 shares `AUDIT_ARCH_X86_64` with x86_64; the two differ only in
    /// [`X32_SYSCALL_BIT`] of `seccomp_data.nr`.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::X32 => AUDIT_ARCH_X86_64,
            Arch::X86 => AUDIT_ARCH_I386,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }

    /// What this ABI ORs into every syscall number: [`X32_SYSCALL_BIT`]
    /// for x32, 0 elsewhere.
    pub const fn syscall_bit(self) -> u32 {
        match self {
            Arch::X32 => X32_SYSCALL_BIT,
            _ => 0,
        }
    }

    /// The syscall table, sorted by number.
    ///
    /// The numbers are the table's: for x32 they do *not* include
    /// [`X32_SYSCALL_BIT`]; use [`Arch::syscall_nr`] for the value a filter
    /// compares `seccomp_data.nr` against.
    pub fn syscalls(self) -> &'static [(&'static str, u32)] {
        match self {
            Arch::X86_64 => tables::X86_64,
            Arch::X86 => tables::X86,
            Arch::X32 => tables::X32,
            Arch::Aarch64 => tables::AARCH64,
        }
    }

    /// The number the kernel reports in `seccomp_data.nr` for `name`, or
    /// `None` if this ABI has no such syscall.
    ///
    /// For x32 this *includes* [`X32_SYSCALL_BIT`] (x32 `read` is
    /// `0x4000_0000`), so the result can be compared against `nr` directly.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        self.syscalls().iter().find(|(n, _)| *n == name).map(|&(_, nr)| nr | self.syscall_bit())
    }

    /// The syscall named by `nr` as [`Arch::syscall_nr`] returns it (for
    /// x32: with [`X32_SYSCALL_BIT`] set, otherwise `None`).
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let bit = self.syscall_bit();
        if nr & bit != bit {
            return None;
        }
        let table = self.syscalls();
        let raw = nr & !bit;
        table.binary_search_by_key(&raw, |&(_, n)| n).ok().map(|i| table[i].0)
    }

    /// The highest syscall number this ABI has, in the same form as
    /// [`Arch::syscall_nr`] (for x32: with [`X32_SYSCALL_BIT`]).
    pub fn max_nr(self) -> u32 {
        self.syscalls().last().map_or(0, |&(_, nr)| nr) | self.syscall_bit()
    }

    /// The ABI this binary was compiled for, if palisade supports it.
    ///
    /// Big-endian arm64 is `None`: it reports a different audit arch
    /// (`AUDIT_ARCH_AARCH64` without `__AUDIT_ARCH_LE`), and a filter that
    /// checked the wrong one would kill every syscall, or worse, match none.
    pub const fn host() -> Option<Arch> {
        if cfg!(all(target_arch = "x86_64", target_pointer_width = "64")) {
            Some(Arch::X86_64)
        } else if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
            Some(Arch::X32)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else if cfg!(all(target_arch = "aarch64", target_endian = "little")) {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = UnknownArch;

    /// Accepts the canonical names, the common aliases `amd64`, `i386`,
    /// `i686` and `arm64`, and libseccomp's `SCMP_ARCH_*` spellings (as
    /// found in OCI `linux.seccomp.architectures`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "x86_64" | "amd64" | "SCMP_ARCH_X86_64" => Ok(Arch::X86_64),
            "x86" | "i386" | "i686" | "SCMP_ARCH_X86" => Ok(Arch::X86),
            "x32" | "SCMP_ARCH_X32" => Ok(Arch::X32),
            "aarch64" | "arm64" | "SCMP_ARCH_AARCH64" => Ok(Arch::Aarch64),
            _ => Err(UnknownArch(s.to_string())),
        }
    }
}

/// Whether `name` is a syscall on any supported architecture.
pub fn known_syscall(name: &str) -> bool {
    Arch::ALL.iter().any(|arch| arch.syscall_nr(name).is_some())
}

/// The value of a named constant (`AF_INET`, `CLONE_NEWUSER`, `AT_FDCWD`,
/// …) as a 64-bit syscall argument; negative values are two's complement.
///
/// Values are those of the x86_64 headers; a few (e.g. `O_DIRECTORY`)
/// differ on aarch64 — see the note at the top of `tables.rs`.
pub fn constant(name: &str) -> Option<u64> {
    let table = tables::CONSTANTS;
    table.binary_search_by_key(&name, |&(n, _)| n).ok().map(|i| table[i].1)
}

/// The number of an errno name (`EPERM` → 1); aliases such as
/// `EWOULDBLOCK` are accepted.
pub fn errno(name: &str) -> Option<u32> {
    let table = tables::ERRNO;
    table.binary_search_by_key(&name, |&(n, _)| n).ok().map(|i| table[i].1)
}

/// The canonical name of an errno number (11 → `EAGAIN`, never the alias
/// `EWOULDBLOCK`).
pub fn errno_name(n: u32) -> Option<&'static str> {
    let table = tables::ERRNO_NAMES;
    table.binary_search_by_key(&n, |&(nr, _)| nr).ok().map(|i| table[i].1)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn x86_64_numbers() {
        let a = Arch::X86_64;
        assert_eq!(a.syscall_nr("read"), Some(0));
        assert_eq!(a.syscall_nr("openat"), Some(257));
        assert_eq!(a.syscall_nr("io_uring_setup"), Some(425));
        assert_eq!(a.syscall_nr("clone3"), Some(435));
        assert_eq!(a.syscall_nr("uretprobe"), Some(335));
        assert_eq!(a.syscall_name(59), Some("execve"));
        assert_eq!(a.syscall_nr("socketcall"), None);
        assert_eq!(a.max_nr(), 469);
    }

    #[test]
    fn i386_numbers() {
        let a = Arch::X86;
        assert_eq!(a.syscall_nr("socketcall"), Some(102));
        assert_eq!(a.syscall_nr("socket"), Some(359));
        assert_eq!(a.syscall_nr("read"), Some(3));
        assert_eq!(a.syscall_nr("uretprobe"), None);
        assert_eq!(a.audit_arch(), AUDIT_ARCH_I386);
    }

    #[test]
    fn x32_numbers_carry_the_bit() {
        let a = Arch::X32;
        assert_eq!(a.syscall_nr("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(a.syscall_nr("execve"), Some(520 | X32_SYSCALL_BIT));
        assert_eq!(a.syscall_name(520 | X32_SYSCALL_BIT), Some("execve"));
        // Without the bit the number is an x86_64 one, not an x32 one.
        assert_eq!(a.syscall_name(520), None);
        assert_eq!(a.syscall_name(0), None);
        // The table itself stores numbers without the bit.
        assert!(a.syscalls().iter().all(|&(_, nr)| nr & X32_SYSCALL_BIT == 0));
        assert_eq!(a.max_nr(), 547 | X32_SYSCALL_BIT);
        assert_eq!(a.audit_arch(), Arch::X86_64.audit_arch());
        // 64-bit-only entry points have no x32 number below 512.
        assert_eq!(a.syscall_nr("rt_sigaction"), Some(512 | X32_SYSCALL_BIT));
    }

    #[test]
    fn aarch64_numbers() {
        let a = Arch::Aarch64;
        assert_eq!(a.syscall_nr("openat"), Some(56));
        assert_eq!(a.syscall_nr("open"), None);
        assert_eq!(a.syscall_nr("read"), Some(63));
        assert_eq!(a.syscall_nr("fstat"), Some(80));
        assert_eq!(a.syscall_nr("newfstatat"), Some(79));
        assert_eq!(a.syscall_nr("mmap"), Some(222));
        assert_eq!(a.syscall_nr("renameat"), Some(38));
        assert_eq!(a.syscall_nr("clone3"), Some(435));
        assert_eq!(a.syscall_nr("syscalls"), None);
        assert_eq!(a.syscall_nr("arch_specific_syscall"), None);
        assert!(known_syscall("open"));
        assert!(!known_syscall("no_such_syscall"));
    }

    #[test]
    fn unified_numbers_after_the_headers() {
        for arch in Arch::ALL {
            assert_eq!(arch.syscall_nr("cachestat"), Some(451 | arch.syscall_bit()), "{arch}");
            assert_eq!(arch.syscall_nr("file_setattr"), Some(469 | arch.syscall_bit()), "{arch}");
        }
    }

    #[test]
    fn tables_sorted_without_duplicates() {
        for arch in Arch::ALL {
            let table = arch.syscalls();
            assert!(!table.is_empty(), "{arch}");
            assert!(table.windows(2).all(|w| w[0].1 < w[1].1), "{arch}: not sorted by number");
            let names: HashSet<_> = table.iter().map(|(n, _)| n).collect();
            assert_eq!(names.len(), table.len(), "{arch}: duplicate names");
        }
        // Strictly increasing keys: binary search works and names are unique.
        assert!(tables::CONSTANTS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(tables::ERRNO.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(tables::ERRNO_NAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn constants() {
        assert_eq!(constant("AF_ALG"), Some(38));
        assert_eq!(constant("AF_VSOCK"), Some(40));
        assert_eq!(constant("CLONE_NEWUSER"), Some(0x1000_0000));
        assert_eq!(constant("PROT_EXEC"), Some(4));
        assert_eq!(constant("TIOCSTI"), Some(0x5412));
        assert_eq!(constant("AT_FDCWD"), Some(-100i64 as u64));
        assert_eq!(constant("AF_NO_SUCH"), None);
    }

    #[test]
    fn audit_arch_matches_headers() {
        assert_eq!(constant("AUDIT_ARCH_X86_64"), Some(u64::from(AUDIT_ARCH_X86_64)));
        assert_eq!(constant("AUDIT_ARCH_I386"), Some(u64::from(AUDIT_ARCH_I386)));
        assert_eq!(constant("AUDIT_ARCH_AARCH64"), Some(u64::from(AUDIT_ARCH_AARCH64)));
    }

    #[test]
    fn errnos() {
        assert_eq!(errno("EPERM"), Some(1));
        assert_eq!(errno("ENOSYS"), Some(38));
        assert_eq!(errno("EACCES"), Some(13));
        assert_eq!(errno("EAFNOSUPPORT"), Some(97));
        assert_eq!(errno("EWOULDBLOCK"), Some(11));
        assert_eq!(errno_name(1), Some("EPERM"));
        assert_eq!(errno_name(11), Some("EAGAIN"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno("ENOPE"), None);
    }

    #[test]
    fn parse_names_and_aliases() {
        for arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>(), Ok(arch));
            assert_eq!(arch.scmp_name().parse::<Arch>(), Ok(arch));
        }
        assert_eq!("amd64".parse::<Arch>(), Ok(Arch::X86_64));
        assert_eq!("i386".parse::<Arch>(), Ok(Arch::X86));
        assert_eq!("i686".parse::<Arch>(), Ok(Arch::X86));
        assert_eq!("arm64".parse::<Arch>(), Ok(Arch::Aarch64));
        assert_eq!("mips".parse::<Arch>(), Err(UnknownArch("mips".into())));
    }

    #[test]
    fn serde_uses_canonical_names() {
        for arch in Arch::ALL {
            let json = serde_json::to_string(&arch).unwrap();
            assert_eq!(json, format!("\"{}\"", arch.name()));
            assert_eq!(serde_json::from_str::<Arch>(&json).unwrap(), arch);
        }
    }

    #[test]
    #[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
    fn host_is_x86_64() {
        assert_eq!(Arch::host(), Some(Arch::X86_64));
    }
}
