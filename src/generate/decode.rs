//! Pure decoders for what the tracer reads out of a tracee: socket addresses, the ELF
//! interpreter of a program, paths relative to a directory, and constant names for reasons.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

/// `AF_INET` / `AF_INET6` (include/linux/socket.h), the families with addresses to learn.
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;

/// An IPv4 or IPv6 `struct sockaddr_in{,6}` as bytes (native byte order for the family,
/// network order for port and address); `None` for other families or short buffers.
pub fn sockaddr(bytes: &[u8]) -> Option<(IpAddr, u16)> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?);
    let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
    match family {
        AF_INET => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some((IpAddr::V4(Ipv4Addr::from(a)), port))
        }
        AF_INET6 => {
            // sin6_flowinfo (4 bytes) sits between the port and the address.
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some((IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        _ => None,
    }
}

/// Whether an address stays on the machine's loopback: 127.0.0.0/8, ::1, and IPv4-mapped
/// loopback (`::ffff:127.0.0.1`).
pub fn is_loopback(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Whether an address is the wildcard (`0.0.0.0`, `::`): bound, it listens on every
/// interface the namespace has.
pub fn is_unspecified(address: &IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => a.is_unspecified(),
        IpAddr::V6(a) => a.is_unspecified() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified()),
    }
}

/// The `PT_INTERP` path of an ELF file (the dynamic loader the kernel maps and opens for
/// execution along with the program), from its first bytes. `None` for static programs,
/// scripts and anything that is not ELF.
pub fn elf_interpreter(head: &[u8]) -> Option<String> {
    if head.get(0..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let little = *head.get(5)? == 1;
    let u16_at =
        |at: usize| head.get(at..at + 2).map(|b| if little { u16::from_le_bytes([b[0], b[1]]) } else { u16::from_be_bytes([b[0], b[1]]) });
    let u32_at = |at: usize| {
        head.get(at..at + 4).map(|b| {
            let a = [b[0], b[1], b[2], b[3]];
            if little {
                u32::from_le_bytes(a)
            } else {
                u32::from_be_bytes(a)
            }
        })
    };
    let u64_at = |at: usize| {
        head.get(at..at + 8).map(|b| {
            let a: [u8; 8] = b.try_into().expect("8 bytes");
            if little {
                u64::from_le_bytes(a)
            } else {
                u64::from_be_bytes(a)
            }
        })
    };
    // ELF header fields (elf(5)): e_phoff, e_phentsize, e_phnum.
    let (phoff, phentsize, phnum) = if wide {
        (u64_at(32)? as usize, u16_at(54)? as usize, u16_at(56)? as usize)
    } else {
        (u32_at(28)? as usize, u16_at(42)? as usize, u16_at(44)? as usize)
    };
    const PT_INTERP: u32 = 3;
    for i in 0..phnum.min(256) {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(ph)? != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (u64_at(ph + 8)? as usize, u64_at(ph + 32)? as usize)
        } else {
            (u32_at(ph + 4)? as usize, u32_at(ph + 16)? as usize)
        };
        let raw = head.get(offset..offset.checked_add(size)?)?;
        let text = raw.split(|b| *b == 0).next()?;
        return std::str::from_utf8(text).ok().filter(|s| s.starts_with('/')).map(str::to_string);
    }
    None
}

/// `base`/`path` with `.` and `..` resolved lexically (an absolute `path` ignores `base`).
pub fn join_lexically(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in base.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The name of a constant with `prefix` and this value in the header tables (`AF_NETLINK`,
/// `TCGETS`), for readable reasons; `preferred` names win over aliases of the same value.
pub fn constant_name(prefixes: &[&str], value: u64, preferred: &[&'static str]) -> Option<&'static str> {
    if let Some(p) = preferred.iter().find(|p| crate::seccomp::arch::constant(p) == Some(value)) {
        return Some(p);
    }
    crate::seccomp::tables::CONSTANTS.iter().find(|(n, v)| *v == value && prefixes.iter().any(|p| n.starts_with(p))).map(|(n, _)| *n)
}

/// A socket family's name (`AF_INET`), or its number.
pub fn family_name(family: u32) -> String {
    constant_name(&["AF_"], u64::from(family), &["AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"])
        .map_or_else(|| family.to_string(), str::to_string)
}

/// An ioctl request's name (`TCGETS`), or its number in hex.
pub fn ioctl_name(request: u32) -> String {
    constant_name(
        &["TC", "TIOC", "FIO", "SIOC", "BLK", "FS_IOC", "NS_"],
        u64::from(request),
        &["TCGETS", "TIOCGWINSZ", "FIONREAD", "FIONBIO", "FIOCLEX"],
    )
    .map_or_else(|| format!("{request:#x}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_decode() {
        let mut v4 = vec![0u8; 16];
        v4[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
        v4[2..4].copy_from_slice(&8080u16.to_be_bytes());
        v4[4..8].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(sockaddr(&v4), Some((IpAddr::V4(Ipv4Addr::LOCALHOST), 8080)));
        let mut v6 = vec![0u8; 28];
        v6[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        v6[2..4].copy_from_slice(&443u16.to_be_bytes());
        v6[8..24].copy_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        assert_eq!(sockaddr(&v6), Some(("2001:db8::1".parse().unwrap(), 443)));
        assert_eq!(sockaddr(&[1, 0, 0]), None);
        assert!(is_loopback(&"::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback(&"192.0.2.1".parse().unwrap()));
        assert!(is_unspecified(&"0.0.0.0".parse().unwrap()));
    }

    #[test]
    fn the_interpreter_of_a_real_program_is_found() {
        // The test binary itself is a dynamically linked ELF program.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let interp = elf_interpreter(&exe[..exe.len().min(65536)]).expect("PT_INTERP");
        assert!(interp.contains("ld-linux") || interp.contains("ld-musl"), "{interp}");
        assert_eq!(elf_interpreter(b"#!/bin/sh\n"), None);
        assert_eq!(elf_interpreter(b"\x7fELF"), None);
    }

    #[test]
    fn relative_paths_join_lexically() {
        assert_eq!(join_lexically(Path::new("/usr/lib"), Path::new("../bin/./x")), PathBuf::from("/usr/bin/x"));
        assert_eq!(join_lexically(Path::new("/a"), Path::new("/etc/../etc/hostname")), PathBuf::from("/etc/hostname"));
        assert_eq!(join_lexically(Path::new("/"), Path::new("../..")), PathBuf::from("/"));
    }

    #[test]
    fn constants_get_their_names() {
        assert_eq!(family_name(1), "AF_UNIX");
        assert_eq!(family_name(10), "AF_INET6");
        assert_eq!(ioctl_name(0x5401), "TCGETS");
        assert_eq!(ioctl_name(0xdead_beef), "0xdeadbeef");
    }
}
