//! What `palisade run` was asked for, beyond the policy: command, root filesystem, volumes,
//! environment, working directory, user, hostname, terminal, network override.

use crate::policy::model::NetworkMode;
use std::path::PathBuf;
use std::str::FromStr;

/// A run request. The policy decides what the workload may do; this says what to run.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// Program and arguments; the program is looked up in the workload's PATH.
    pub command: Vec<String>,
    /// A directory to use as the root filesystem; `None` runs in the host-root sandbox (the
    /// host's `/` read-only, private /tmp, fresh /proc and a minimal /dev).
    pub rootfs: Option<PathBuf>,
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
}
