//! What `palisade run` was asked for, beyond the policy: command, root filesystem, volumes,
//! environment, working directory, user, hostname, terminal, network override.

use crate::policy::model::NetworkMode;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A run request. The policy decides what the workload may do; this says what to run.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// Program and arguments; the program is looked up in the workload's PATH.
    pub command: Vec<String>,
    /// A directory to use as the root filesystem; `None` (and no `overlay`) runs in the
    /// host-root sandbox (the host's `/` read-only, private /tmp, fresh /proc and a minimal
    /// /dev).
    pub rootfs: Option<PathBuf>,
    /// An overlayfs root filesystem instead of a directory; excludes `rootfs`.
    pub overlay: Option<OverlaySpec>,
    pub volumes: Vec<VolumeSpec>,
    /// `KEY=VALUE` pairs, applied after the policy's environment.
    pub env: Vec<(String, String)>,
    pub workdir: Option<PathBuf>,
    /// Overrides the policy's user (still subject to `run_as_non_root`).
    pub user: Option<UserSpec>,
    pub hostname: Option<String>,
    /// Give the workload a terminal (a pty of the container's own devpts).
    pub tty: bool,
    /// Overrides the policy's network mode, only towards isolation (`none`).
    pub network: Option<NetworkMode>,
    /// Where the container's cgroups go under each hierarchy's root (an OCI
    /// `linux.cgroupsPath` such as `/default/<id>`); `None`: `palisade-<id>`.
    pub cgroups_path: Option<String>,
    /// The workload's file mode creation mask (an OCI `process.user.umask`); `None`: inherited.
    pub umask: Option<u32>,
    /// What an OCI bundle asks for beyond this (empty for `palisade run`).
    pub bundle: super::bundle::BundleSpec,
}

/// Errors in the run request itself, found before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("volume `{spec}`: expected SRC:DST[:ro|rw] with absolute paths")]
    VolumeSyntax { spec: String },
    #[error("volume `{spec}`: unknown option `{option}` (expected ro or rw)")]
    VolumeOption { spec: String, option: String },
    #[error("user `{spec}`: expected UID[:GID] (numbers)")]
    User { spec: String },
    #[error("environment `{spec}`: expected KEY=VALUE, or KEY to copy it from palisade's environment")]
    Env { spec: String },
    #[error("no command given")]
    NoCommand,
    #[error("--rootfs and --rootfs-overlay exclude each other: give one root filesystem")]
    TwoRoots,
    #[error("overlay: no lower directory given (expected LOWER[:LOWER...], top first)")]
    NoLowerDir,
    #[error("overlay: `{spec}` has an empty lower directory (expected LOWER[:LOWER...], top first)")]
    EmptyLowerDir { spec: String },
    /// overlayfs's mount options separate lower dirs with `:` and options with `,`.
    #[error("overlay {role} `{}`: contains `{character}`, which overlayfs's mount options use as a separator; use a path without `:` or `,` (a bind mount or symlink elsewhere)", path.display())]
    OverlayPathSyntax { role: &'static str, path: PathBuf, character: char },
}

/// An overlayfs root filesystem: read-only lower directories, shared between runs, under a
/// writable upper directory of this run.
///
/// The workload sees the union; everything it changes lands in the upper directory, in
/// overlayfs's format (Documentation/filesystems/overlayfs.rst): a changed or new file is
/// a whole copy (metacopy is off), a deleted file is a whiteout (a character device 0/0 of
/// the same name), a directory deleted and made again is opaque (xattr
/// `trusted.overlay.opaque="y"`, `user.overlay.*` for a rootless run; other
/// `*.overlay.*` xattrs such as `origin` are bookkeeping), and no directory is ever a
/// redirect (redirect_dir=nofollow), so an upper directory reads as a plain diff against
/// the lowers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlaySpec {
    /// Read-only layers, top first (the order of overlayfs's `lowerdir=`). They are never
    /// written to, and any number of runs may share them at once.
    pub lower: Vec<PathBuf>,
    pub upper: UpperSpec,
}

/// Where an overlay root's writable layer lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpperSpec {
    /// A private tmpfs in the container's mount namespace: it is gone when the run ends,
    /// whatever way it ends, and its pages count against the container's memory limit.
    Tmpfs,
    /// On disk, in a run directory of the caller's (created, mode 0700, if missing):
    ///
    /// ```text
    /// DIR/upper   the writable layer (its root takes the top lower's mode and owner)
    /// DIR/work    overlayfs's work directory (same filesystem as upper, required by it);
    ///             removed after the run
    /// ```
    ///
    /// With `keep`, `DIR/upper` stays after the run (for `commit` or `diff`), and a run
    /// over an existing `DIR/upper` continues from it. Without, `DIR/upper` must not exist
    /// and is removed after the run. Either way one run at a time holds `DIR/upper` (an
    /// exclusive flock(2) on the directory), and `DIR` itself is never removed.
    Dir { dir: PathBuf, keep: bool },
}

impl OverlaySpec {
    /// `--rootfs-overlay LOWER[:LOWER...]` with an optional `--rootfs-upper DIR` (kept).
    pub fn from_args(lower: &str, upper: Option<&Path>) -> Result<OverlaySpec, SpecError> {
        if lower.is_empty() {
            return Err(SpecError::NoLowerDir);
        }
        if lower.split(':').any(str::is_empty) {
            return Err(SpecError::EmptyLowerDir { spec: lower.to_string() });
        }
        let upper = match upper {
            Some(dir) => UpperSpec::Dir { dir: dir.to_path_buf(), keep: true },
            None => UpperSpec::Tmpfs,
        };
        let spec = OverlaySpec { lower: lower.split(':').map(PathBuf::from).collect(), upper };
        spec.check_syntax()?;
        Ok(spec)
    }

    /// Refuses paths overlayfs's option syntax cannot carry.
    pub fn check_syntax(&self) -> Result<(), SpecError> {
        if self.lower.is_empty() {
            return Err(SpecError::NoLowerDir);
        }
        let upper = match &self.upper {
            UpperSpec::Dir { dir, .. } => Some(("run directory", dir)),
            UpperSpec::Tmpfs => None,
        };
        for (role, path) in self.lower.iter().map(|l| ("lower dir", l)).chain(upper) {
            check_overlay_path(role, path)?;
        }
        Ok(())
    }
}

/// `:` and `,` are separators in overlayfs's `lowerdir=`/`upperdir=` options.
pub fn check_overlay_path(role: &'static str, path: &Path) -> Result<(), SpecError> {
    match path.as_os_str().as_encoded_bytes().iter().find(|b| matches!(b, b':' | b',')) {
        Some(&b) => Err(SpecError::OverlayPathSyntax { role, path: path.to_path_buf(), character: b as char }),
        None => Ok(()),
    }
}

/// `-v SRC:DST[:ro]`: a host path bind-mounted into the workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub read_only: bool,
}

impl FromStr for VolumeSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let syntax = || SpecError::VolumeSyntax { spec: spec.to_string() };
        let (src, dst, opt) = match parts.as_slice() {
            [s, d] => (*s, *d, None),
            [s, d, o] => (*s, *d, Some(*o)),
            _ => return Err(syntax()),
        };
        if !src.starts_with('/') || !dst.starts_with('/') {
            return Err(syntax());
        }
        let read_only = match opt {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(o) => return Err(SpecError::VolumeOption { spec: spec.to_string(), option: o.to_string() }),
        };
        Ok(VolumeSpec { source: PathBuf::from(src), destination: PathBuf::from(dst), read_only })
    }
}

/// `-u UID[:GID]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSpec {
    pub uid: u32,
    pub gid: Option<u32>,
}

impl FromStr for UserSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, SpecError> {
        let err = || SpecError::User { spec: spec.to_string() };
        let (uid, gid) = match spec.split_once(':') {
            Some((u, g)) => (u.parse().map_err(|_| err())?, Some(g.parse().map_err(|_| err())?)),
            None => (spec.parse().map_err(|_| err())?, None),
        };
        Ok(UserSpec { uid, gid })
    }
}

/// Parses `-e KEY=VALUE` (or `-e KEY`, copied from palisade's own environment if set).
pub fn parse_env(spec: &str) -> Result<Option<(String, String)>, SpecError> {
    match spec.split_once('=') {
        Some(("", _)) => Err(SpecError::Env { spec: spec.to_string() }),
        Some((k, v)) => Ok(Some((k.to_string(), v.to_string()))),
        None if spec.is_empty() => Err(SpecError::Env { spec: spec.to_string() }),
        None => Ok(std::env::var(spec).ok().map(|v| (spec.to_string(), v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_parse() {
        let v: VolumeSpec = "/srv/data:/data:ro".parse().unwrap();
        assert_eq!(v, VolumeSpec { source: "/srv/data".into(), destination: "/data".into(), read_only: true });
        assert!(!"/a:/b".parse::<VolumeSpec>().unwrap().read_only);
        assert!("a:/b".parse::<VolumeSpec>().is_err());
        assert!("/a:/b:rx".parse::<VolumeSpec>().is_err());
        assert!("/a".parse::<VolumeSpec>().is_err());
    }

    #[test]
    fn users_and_env_parse() {
        assert_eq!("1000:100".parse::<UserSpec>().unwrap(), UserSpec { uid: 1000, gid: Some(100) });
        assert_eq!("7".parse::<UserSpec>().unwrap(), UserSpec { uid: 7, gid: None });
        assert!("bob".parse::<UserSpec>().is_err());
        assert_eq!(parse_env("A=b=c").unwrap(), Some(("A".into(), "b=c".into())));
        assert!(parse_env("=x").is_err());
    }

    #[test]
    fn overlay_arguments_parse_top_first() {
        let o = OverlaySpec::from_args("/layers/top:/layers/base", None).unwrap();
        assert_eq!(o.lower, [PathBuf::from("/layers/top"), PathBuf::from("/layers/base")]);
        assert_eq!(o.upper, UpperSpec::Tmpfs);
        let o = OverlaySpec::from_args("/l", Some(Path::new("/runs/c1"))).unwrap();
        assert_eq!(o.upper, UpperSpec::Dir { dir: "/runs/c1".into(), keep: true });
        assert!(matches!(OverlaySpec::from_args("", None), Err(SpecError::NoLowerDir)));
        assert!(matches!(OverlaySpec::from_args("/a::/b", None), Err(SpecError::EmptyLowerDir { .. })));
        assert!(matches!(OverlaySpec::from_args("/a:", None), Err(SpecError::EmptyLowerDir { .. })));
    }

    #[test]
    fn overlay_paths_with_separators_are_refused() {
        let err = OverlaySpec::from_args("/layers/a,upperdir=/etc", None).unwrap_err();
        assert!(matches!(err, SpecError::OverlayPathSyntax { character: ',', .. }), "{err}");
        assert!(err.to_string().contains("overlay lower dir `/layers/a,upperdir=/etc`: contains `,`"), "{err}");
        let spec = OverlaySpec { lower: vec!["/layers/a:b".into()], upper: UpperSpec::Tmpfs };
        assert!(matches!(spec.check_syntax(), Err(SpecError::OverlayPathSyntax { character: ':', .. })));
        let err = OverlaySpec::from_args("/l", Some(Path::new("/runs/a,b"))).unwrap_err();
        assert!(err.to_string().starts_with("overlay run directory `/runs/a,b`"), "{err}");
    }
}
