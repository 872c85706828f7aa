//! Bind volumes: checked against the policy's allowed and denied sources on the path the
//! kernel actually resolved, and mounted from that very object, so that a path changed
//! between the check and the mount cannot make the mount escape (runc CVE-2021-30465).
//!
//! 1. The parent opens the source with O_PATH (symlinks resolved by the kernel) and checks the
//!    path of what it got (`/proc/self/fd/N`), not the string the user typed.
//! 2. Init, in its copy of the mount namespace, reopens that path with RESOLVE_NO_SYMLINKS
//!    and checks it is the same inode on the same device, then mounts from the new
//!    descriptor's `/proc/self/fd/N`. (A descriptor from the host namespace cannot be the
//!    source of a bind mount made in another mount namespace.)

use super::spec::VolumeSpec;
use crate::policy::model::Volumes;
use crate::policy::pathmatch;
use crate::sys::{self, mount as m};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume {volume}: cannot open the source: {source}")]
    Open {
        volume: String,
        #[source]
        source: sys::Error,
    },
    #[error("volume {volume} (the source resolves to {resolved}): refused by policy `{policy}`: {why}")]
    Refused { volume: String, resolved: String, policy: String, why: String },
    #[error("volume {volume}: destination: {message}")]
    Destination { volume: String, message: String },
    #[error("policy `{policy}`: force_options has `{option}`, which palisade cannot apply to a bind mount")]
    UnknownOption { policy: String, option: String },
}

/// `MOUNT_ATTR_*` bits applied to a volume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attributes {
    pub set: u64,
    pub clear: u64,
}

const NOATIME: u64 = 0x10;
const ATIME_MASK: u64 = 0x70;
const NOSYMFOLLOW: u64 = 0x0020_0000;

impl Attributes {
    /// Adds one option of `force_options` (only ever removing power).
    pub fn add(&mut self, option: &str) -> bool {
        match option {
            "ro" => self.set |= m::attr::RDONLY,
            "nosuid" => self.set |= m::attr::NOSUID,
            "nodev" => self.set |= m::attr::NODEV,
            "noexec" => self.set |= m::attr::NOEXEC,
            "noatime" => {
                self.set |= NOATIME;
                self.clear |= ATIME_MASK;
            }
            "nosymfollow" => self.set |= NOSYMFOLLOW,
            _ => return false,
        }
        true
    }
}

/// A checked volume: the source is held open.
#[derive(Debug)]
pub struct Volume {
    pub spec: VolumeSpec,
    /// The kernel's path of the source, as checked.
    pub resolved: PathBuf,
    pub source: OwnedFd,
    pub is_dir: bool,
    pub attributes: Attributes,
}

/// Whether a denied `pattern` refuses `path`: when it matches, and also when `path` is an
/// ancestor of what the pattern names (mounting /run would expose /run/docker.sock).
fn denied_by(pattern: &str, path: &str) -> bool {
    if pathmatch::matches(pattern, path) {
        return true;
    }
    // The literal part of the pattern, up to the first segment with a wildcard.
    let literal: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).take_while(|s| !s.contains(['*', '?'])).collect();
    let literal = format!("/{}", literal.join("/"));
    literal != "/" && pathmatch::is_within(&literal, path)
}

/// Why the policy refuses `path`, or `None` when it admits it.
pub fn refusal(policy: &Volumes, path: &str) -> Option<String> {
    if let Some(d) = policy.deny_sources.iter().find(|d| denied_by(&d.name, path)) {
        let why = d.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        return Some(if pathmatch::matches(&d.name, path) {
            format!("it matches deny_sources `{}`{why}, set at {}", d.name, d.origin.describe())
        } else {
            format!("it contains `{}`, which deny_sources refuses{why}, set at {}", d.name, d.origin.describe())
        });
    }
    match &policy.allow_sources {
        None => None,
        Some(allow) if allow.iter().any(|a| pathmatch::matches(&a.name, path)) => None,
        Some(allow) if allow.is_empty() => Some("allow_sources is empty: no host path may be mounted".into()),
        Some(allow) => {
            Some(format!("it matches none of allow_sources [{}]", allow.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")))
        }
    }
}

/// Opens and checks one `-v` volume (in the parent, before anything starts).
pub fn open_and_check(spec: &VolumeSpec, policy_name: &str, policy: &Volumes) -> Result<Volume, VolumeError> {
    let volume = format!("{}:{}", spec.source.display(), spec.destination.display());
    m::relative_clean(&spec.destination).map_err(|e| VolumeError::Destination { volume: volume.clone(), message: e.source.to_string() })?;
    let source = m::open_path(&spec.source).map_err(|source| VolumeError::Open { volume: volume.clone(), source })?;
    let resolved = m::fd_target(source.as_fd());
    if !resolved.starts_with('/') || resolved.ends_with(" (deleted)") {
        return Err(VolumeError::Refused {
            volume,
            resolved,
            policy: policy_name.into(),
            why: "the source is not a reachable path".into(),
        });
    }
    if let Some(why) = refusal(policy, &resolved) {
        return Err(VolumeError::Refused { volume, resolved, policy: policy_name.into(), why });
    }
    // Always nodev: palisade sets no device cgroup, so device nodes in a volume (or made in
    // it with CAP_MKNOD) must not work (see rootfs.rs, step 4).
    let mut attributes = Attributes::default();
    attributes.add("nodev");
    if spec.read_only {
        attributes.add("ro");
    }
    for opt in &policy.force_options {
        if !attributes.add(&opt.name) {
            return Err(VolumeError::UnknownOption { policy: policy_name.into(), option: opt.name.clone() });
        }
    }
    let is_dir = m::is_dir(source.as_fd()).map_err(|source| VolumeError::Open { volume, source })?;
    Ok(Volume { spec: spec.clone(), resolved: PathBuf::from(resolved), source, is_dir, attributes })
}

impl Volume {
    /// Reopens the checked source in the current mount namespace, refusing if the path now
    /// leads anywhere but the inode that was checked.
    pub fn reopen(&self) -> sys::Result<OwnedFd> {
        m::reopen_same(self.source.as_fd(), &self.resolved).map_err(|e| sys::Error::new(format!("volume {}", e.op), e.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, load_str, PolicySource};

    #[test]
    fn denied_sources_and_their_ancestors_are_refused() {
        let p = load(&PolicySource::Builtin("docker-default")).unwrap();
        let v = &p.volumes;
        assert!(refusal(v, "/").is_some());
        assert!(refusal(v, "/proc/1/root").is_some());
        assert!(refusal(v, "/run").unwrap().contains("contains"));
        assert!(refusal(v, "/var").is_some(), "/var holds /var/run/docker.sock");
        assert!(refusal(v, "/srv/data").is_none());
        assert!(refusal(v, "/var/tmp").is_none());
    }

    #[test]
    fn allow_lists_are_exclusive() {
        let untrusted = load(&PolicySource::Builtin("untrusted")).unwrap();
        assert!(refusal(&untrusted.volumes, "/srv/data").unwrap().contains("allow_sources is empty"));
        let p = load_str("p.toml", "[policy]\nname = \"p\"\nextends = \"untrusted\"\n[volumes]\nallow_sources = [\"/srv/**\"]\n").unwrap();
        assert!(refusal(&p.volumes, "/srv/data").is_none());
        assert!(refusal(&p.volumes, "/home/x").unwrap().contains("none of allow_sources"));
    }

    #[test]
    fn a_symlink_is_checked_where_it_leads() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("innocent")).unwrap();
        let p = load(&PolicySource::Builtin("docker-default")).unwrap();
        let spec = VolumeSpec { source: dir.path().join("innocent"), destination: "/data".into(), read_only: false };
        let err = open_and_check(&spec, "docker-default", &p.volumes).unwrap_err().to_string();
        assert!(err.contains("resolves to /etc"), "{err}");
    }

    #[test]
    fn forced_options_become_attributes() {
        let mut a = Attributes::default();
        assert!(a.add("nosuid") && a.add("nodev") && a.add("noatime"));
        assert_eq!(a.set, m::attr::NOSUID | m::attr::NODEV | NOATIME);
        assert!(!a.add("exec"));
    }
}
