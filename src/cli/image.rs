//! Arguments of the image verbs (`pull`, `images`, `rmi`, `tag`, `history`, `inspect`,
//! `save`, `load`, `import`, `export`, `login`, `logout`, `system check`).

use super::Format;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

/// Where the store is: `--root`, else `$PALISADE_ROOT`, else /var/lib/palisade.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Store root (default: $PALISADE_ROOT, else /var/lib/palisade).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

impl StoreArgs {
    pub fn path(&self) -> PathBuf {
        self.root
            .clone()
            .or_else(|| std::env::var_os("PALISADE_ROOT").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(crate::image::store::DEFAULT_ROOT))
    }
}

/// How to reach registries.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Allow plain HTTP to this registry (HOST[:PORT]); loopback registries always may.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Directory of HOST[:PORT]/*.crt CA files (default /etc/containers/certs.d, /etc/docker/certs.d).
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dirs: Vec<PathBuf>,
}

/// Where an image is pulled from and the trust it must meet: shared by `pull` and by `run`
/// of an image that is not in the store yet, so both go through the same gate.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub trust: super::trust::TrustSource,
    /// Pull without any trust policy when none is configured (no --trust-policy, no [trust]
    /// policy in the palisade policy of `run`, and no /etc/containers/policy.json): signatures
    /// are then not verified. Without this flag such a pull is refused, as skopeo and podman
    /// refuse it.
    #[arg(long)]
    pub insecure_policy: bool,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub fetch: FetchArgs,
    /// `[REGISTRY/]REPOSITORY[:TAG|@DIGEST]`.
    pub reference: String,
    /// Platform to choose from a multi-platform image: OS/ARCH[/VARIANT] (default: this machine's).
    #[arg(long)]
    pub platform: Option<String>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Layers downloaded and unpacked in parallel.
    #[arg(long, default_value_t = 3)]
    pub jobs: usize,
    /// Refuse a layer larger than this uncompressed (bytes, or with K/M/G suffix).
    #[arg(long, value_name = "SIZE")]
    pub max_layer_size: Option<String>,
    /// Allow device nodes in layers: only as root, and only if this policy keeps CAP_MKNOD.
    #[arg(long, value_name = "POLICY")]
    pub devices_policy: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ImagesArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Only image ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show full ids.
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, clap::Args)]
pub struct RmiArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Images: tags, ids or digests.
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Remove an image with several tags, or one that containers use.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct TagArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    pub source: String,
    pub target: String,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    pub image: String,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(required = true)]
    pub images: Vec<String>,
    /// `json` (default) or a Go-template-like field path such as `{{.Config.Cmd}}`.
    #[arg(short, long)]
    pub format: Option<String>,
}

/// Archive formats of `save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchiveFormat {
    /// An OCI image layout in a tar (skopeo's `oci-archive:`).
    OciArchive,
    /// `docker save`'s format (skopeo's `docker-archive:`).
    DockerArchive,
}

#[derive(Debug, clap::Args)]
pub struct SaveArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Output file (standard output if absent and it is not a terminal).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "oci-archive")]
    pub format: ArchiveFormat,
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Archive to read (OCI archive or docker-archive; standard input if absent).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A rootfs tarball (plain, gzip or zstd), or `-` for standard input.
    pub file: String,
    /// Name for the new image.
    pub reference: Option<String>,
    /// Commit message recorded in the history.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Platform recorded in the config (default: this machine's).
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CommitArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The container: its name (`run --name`), id or a unique id prefix.
    pub container: String,
    /// Name for the new image.
    pub reference: Option<String>,
    /// Commit message recorded in the history.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Author recorded in the config and the history.
    #[arg(short, long)]
    pub author: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Containers: names, ids or unique id prefixes.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    pub image: String,
    /// Output file (standard output if absent).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub registry_args: RegistryArgs,
    /// HOST[:PORT] (default docker.io).
    pub registry: Option<String>,
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin: command lines are visible to other users).
    #[arg(short, long)]
    pub password: Option<String>,
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// HOST[:PORT] (default docker.io).
    pub registry: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Check the store and repair it after a crash (removes partial downloads, images with
    /// missing content, unreferenced blobs and layers; recomputes reference counts).
    Check {
        #[command(flatten)]
        store: StoreArgs,
        /// Also re-hash every blob.
        #[arg(long)]
        verify: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}
