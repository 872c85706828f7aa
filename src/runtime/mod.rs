//! The runtime core: launches a workload under a compiled [`Plan`].
//!
//! ```text
//! parent (palisade run)            init (pid 1 of the new pid namespace)     workload
//!  prepare: volumes checked,
//!  overlay layers opened,
//!  cgroups created  ──clone3(NEW*)──▶ wait for Go
//!  id maps, join cgroups ──Go──────▶ cgroup ns, mounts, pivot_root,
//!                                    hostname, lo up, pty  ──fork──▶ rlimits, user, env, cwd,
//!                                                                     harden: no_new_privs →
//!  ◀──Started / Failed{layer}────── ◀──Warning / Failed{layer}─────── Landlock → caps → seccomp
//!  relay signals, pty; wait           reap zombies, forward signals,      → execve
//!  remove cgroups, an unkept          exit with the workload's status
//!  upper dir; exit with status
//! ```
//!
//! One module per job: [`namespaces`], [`channel`], [`rootfs`] (with [`overlay`], and an OCI
//! config's [`oci_mounts`] and [`devices`]), [`volumes`],
//! [`cgroups`], [`network`], [`workload`] (process attributes), [`harden`] (the hardening sequence),
//! [`init`], [`launch`] (the parent side) and [`relay`] (terminal and signals).

pub mod bundle;
pub mod cgroups;
pub mod channel;
pub mod config;
pub mod devices;
pub mod exec;
pub mod harden;
pub mod hooks;
pub mod init;
pub mod landlock;
pub mod launch;
pub mod lsm;
pub mod mountinfo;
pub mod namespaces;
pub mod network;
pub mod oci_mounts;
pub mod overlay;
pub mod relay;
pub mod rootfs;
pub mod spec;
pub mod volumes;
pub mod workload;

pub use config::Container;
pub use launch::run;
pub use spec::{OverlaySpec, RunSpec, UpperSpec, UserSpec, VolumeSpec};

use serde::{Deserialize, Serialize};

/// The enforcement layer or setup stage a start failed at; every error names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layer {
    Namespaces,
    IdMaps,
    Cgroups,
    Rootfs,
    Devices,
    Mounts,
    Volumes,
    Hostname,
    Sysctl,
    Network,
    Terminal,
    Rlimits,
    User,
    Environment,
    WorkingDirectory,
    NoNewPrivileges,
    Landlock,
    Capabilities,
    Seccomp,
    Exec,
    Init,
    /// An OCI hook (runtime/hooks.rs).
    Hooks,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Namespaces => "namespaces",
            Layer::IdMaps => "user namespace id maps",
            Layer::Cgroups => "cgroups",
            Layer::Rootfs => "root filesystem",
            Layer::Devices => "/dev",
            Layer::Mounts => "mounts",
            Layer::Volumes => "volumes",
            Layer::Hostname => "hostname",
            Layer::Sysctl => "sysctl",
            Layer::Network => "network",
            Layer::Terminal => "terminal",
            Layer::Rlimits => "rlimits",
            Layer::User => "user",
            Layer::Environment => "environment",
            Layer::WorkingDirectory => "working directory",
            Layer::NoNewPrivileges => "no_new_privs",
            Layer::Landlock => "landlock",
            Layer::Capabilities => "capabilities",
            Layer::Seccomp => "seccomp",
            Layer::Exec => "exec",
            Layer::Init => "init",
            Layer::Hooks => "hooks",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a run did not start (or could not be supervised). Nothing is left running, mounted
/// or created when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error("policy `{policy}`: {message}")]
    Policy { policy: String, message: String },
    #[error(transparent)]
    Volume(Box<volumes::VolumeError>),
    #[error(transparent)]
    Mount(Box<oci_mounts::MountError>),
    #[error("network: {0}")]
    Network(#[from] network::NetworkError),
    #[error("cgroups: {0}")]
    Cgroup(#[from] cgroups::Error),
    #[error("{layer}: {source}")]
    Sys {
        layer: Layer,
        #[source]
        source: crate::sys::Error,
    },
    /// Reported by init or the workload over the channel.
    #[error("{layer}: {message}")]
    Start { layer: Layer, message: String },
    #[error("init exited during the start ({status}) without saying why")]
    InitDied { status: String },
}

impl RunError {
    /// The layer that failed, when the error is one of the start's.
    pub fn layer(&self) -> Option<Layer> {
        match self {
            RunError::Sys { layer, .. } | RunError::Start { layer, .. } => Some(*layer),
            RunError::Cgroup(_) => Some(Layer::Cgroups),
            RunError::Volume(_) => Some(Layer::Volumes),
            RunError::Mount(_) => Some(Layer::Mounts),
            RunError::Network(_) => Some(Layer::Network),
            _ => None,
        }
    }

    /// The layer and the reason without it, for reporting across the channel (the receiver
    /// puts the layer back in front once).
    pub fn report(&self) -> (Layer, String) {
        match self {
            RunError::Sys { layer, source } => (*layer, source.to_string()),
            RunError::Start { layer, message } => (*layer, message.clone()),
            other => (other.layer().unwrap_or(Layer::Init), other.to_string()),
        }
    }

    /// The exit code `palisade run` uses: 125 when palisade could not start the workload,
    /// 126 when the command cannot be executed, 127 when it is not found (as docker run).
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Start { layer: Layer::Exec, message } if message.contains("not found") => 127,
            RunError::Start { layer: Layer::Exec, .. } => 126,
            _ => 125,
        }
    }
}

impl From<volumes::VolumeError> for RunError {
    fn from(e: volumes::VolumeError) -> RunError {
        RunError::Volume(Box::new(e))
    }
}

impl From<oci_mounts::MountError> for RunError {
    fn from(e: oci_mounts::MountError) -> RunError {
        RunError::Mount(Box::new(e))
    }
}

/// Attaches a layer to a sys error.
pub(crate) trait AtLayer<T> {
    fn at(self, layer: Layer) -> Result<T, RunError>;
}

impl<T> AtLayer<T> for crate::sys::Result<T> {
    fn at(self, layer: Layer) -> Result<T, RunError> {
        self.map_err(|source| RunError::Sys { layer, source })
    }
}

/// A short random identifier (hex) for cgroup names and the default hostname.
pub fn new_id() -> String {
    let mut bytes = [0u8; 6];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        if f.read_exact(&mut bytes).is_ok() {
            return bytes.iter().map(|b| format!("{b:02x}")).collect();
        }
    }
    // /dev/urandom missing: pid and time are unique enough for a name (not a secret).
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:06x}{:06x}", std::process::id() & 0xff_ffff, (t as u64) & 0xff_ffff)
}
