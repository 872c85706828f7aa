//! Pure checks on the names inside a layer tarball. Nothing here touches the filesystem:
//! these decide which entries are refused before any syscall is made for them.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

/// Why an entry is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("absolute path")]
    Absolute,
    #[error("path contains `..`")]
    DotDot,
    #[error("empty path")]
    Empty,
    #[error("symlink target `{0}` resolves outside the layer")]
    SymlinkEscape(String),
    #[error("empty symlink target")]
    EmptySymlink,
    #[error("hardlink target `{target}` is refused: {why}")]
    Hardlink { target: String, why: Box<Refusal> },
    #[error("hardlink target `{0}` is not a file already in this layer")]
    HardlinkMissing(String),
    #[error("device node (allowed only for a privileged caller whose policy keeps CAP_MKNOD)")]
    Device,
    #[error("path goes through `{0}`, which is not a directory of this layer (symlinks are never followed)")]
    ThroughNonDir(String),
    #[error("whiteout of `{0}` is not a valid name")]
    BadWhiteout(String),
    #[error("unsupported tar entry type {0}")]
    EntryType(u8),
    #[error("the layer is larger than its {0}-byte cap")]
    TooLarge(u64),
}

/// A cleaned entry path: the components below the layer root (none for the root itself).
pub type Components = Vec<OsString>;

/// Cleans an entry name: `./` prefixes and `.` components dropped, empty components
/// collapsed; absolute names and any `..` component refused (Docker strips a leading `/`;
/// palisade refuses it: no well-formed layer has one, and CVE-2018-15664-style confusion
/// starts with names that mean different things to different resolvers).
pub fn clean(raw: &[u8]) -> Result<Components, Refusal> {
    if raw.is_empty() {
        return Err(Refusal::Empty);
    }
    if raw[0] == b'/' {
        return Err(Refusal::Absolute);
    }
    let mut out = Vec::new();
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return Err(Refusal::DotDot),
            c => out.push(OsString::from_vec(c.to_vec())),
        }
    }
    Ok(out)
}

/// Whether a symlink at `link` (cleaned components) pointing at `target` stays inside the
/// layer when resolved lexically: an absolute target starts at the layer root, a relative one
/// at the link's directory, and no `..` may climb above the root. (The layer root becomes the
/// container's `/`, where the kernel would clamp `/..`; refusing is stricter and catches
/// tarballs written to attack extractors that resolve links on the host.)
pub fn check_symlink(link: &[OsString], target: &[u8]) -> Result<(), Refusal> {
    if target.is_empty() {
        return Err(Refusal::EmptySymlink);
    }
    let mut depth: isize = if target[0] == b'/' { 0 } else { link.len() as isize - 1 };
    for comp in target.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(Refusal::SymlinkEscape(String::from_utf8_lossy(target).into_owned()));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

/// What an entry's last component says about overlay semantics (image-spec layer.md,
/// "Whiteouts").
#[derive(Debug, PartialEq, Eq)]
pub enum Whiteout {
    /// Not a whiteout.
    None,
    /// `.wh..wh..opq`: the directory hides everything below it in lower layers.
    Opaque,
    /// `.wh.NAME`: NAME is deleted.
    Remove(OsString),
    /// Other `.wh..wh.*` names: AUFS bookkeeping, ignored.
    Meta,
}

pub fn whiteout(last: &OsString) -> Result<Whiteout, Refusal> {
    let bytes = last.as_encoded_bytes();
    let Some(rest) = bytes.strip_prefix(b".wh.") else { return Ok(Whiteout::None) };
    if rest == b".wh..opq" {
        return Ok(Whiteout::Opaque);
    }
    if rest.starts_with(b".wh.") {
        return Ok(Whiteout::Meta);
    }
    if rest.is_empty() || rest == b"." || rest == b".." {
        return Err(Refusal::BadWhiteout(String::from_utf8_lossy(rest).into_owned()));
    }
    Ok(Whiteout::Remove(OsString::from_vec(rest.to_vec())))
}

/// Components joined with `/`, for messages.
pub fn display(comps: &[OsString]) -> String {
    comps.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(s: &str) -> Components {
        clean(s.as_bytes()).unwrap()
    }

    #[test]
    fn cleans_and_refuses_names() {
        assert_eq!(display(&comps("./usr//bin/./sh")), "usr/bin/sh");
        assert!(comps("./").is_empty());
        assert_eq!(clean(b"/etc/passwd"), Err(Refusal::Absolute));
        assert_eq!(clean(b"a/../../etc"), Err(Refusal::DotDot));
        assert_eq!(clean(b".."), Err(Refusal::DotDot));
        assert_eq!(clean(b""), Err(Refusal::Empty));
        assert_eq!(display(&comps("a/..b/c..")), "a/..b/c..");
    }

    #[test]
    fn symlink_targets_stay_inside() {
        assert!(check_symlink(&comps("bin/sh"), b"busybox").is_ok());
        assert!(check_symlink(&comps("bin/sh"), b"/bin/busybox").is_ok());
        assert!(check_symlink(&comps("usr/lib/x"), b"../../etc/x").is_ok());
        assert!(check_symlink(&comps("usr/lib/x"), b"../../../etc/x").is_err());
        assert!(check_symlink(&comps("x"), b"..").is_err());
        assert!(check_symlink(&comps("a/b"), b"/../../etc/shadow").is_err());
        assert!(check_symlink(&comps("a/b"), b"c/../../..").is_err());
        assert!(check_symlink(&comps("a"), b"").is_err());
    }

    #[test]
    fn whiteouts() {
        assert_eq!(whiteout(&".wh..wh..opq".into()).unwrap(), Whiteout::Opaque);
        assert_eq!(whiteout(&".wh.foo".into()).unwrap(), Whiteout::Remove("foo".into()));
        assert_eq!(whiteout(&".wh..wh.plnk".into()).unwrap(), Whiteout::Meta);
        assert_eq!(whiteout(&"foo".into()).unwrap(), Whiteout::None);
        assert!(whiteout(&".wh...".into()).is_err());
        assert!(whiteout(&".wh.".into()).is_err());
    }
}
