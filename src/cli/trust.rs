//! Arguments of the content-trust verbs: `trust verify|show`, `key generate`, `sign`.

use super::image::RegistryArgs;
use super::Format;
use std::path::PathBuf;

/// Where the trust policy and lookaside configuration come from.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustSource {
    /// containers-policy.json(5) file (default /etc/containers/policy.json).
    #[arg(long, value_name = "FILE")]
    pub trust_policy: Option<PathBuf>,
    /// registries.d(5) directory for GPG lookaside locations (default /etc/containers/registries.d).
    #[arg(long, value_name = "DIR")]
    pub registries_d: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum TrustCommand {
    /// Verify an image in its registry against the trust policy (exit 0 accepted, 1 refused, 2 error).
    Verify {
        /// Image reference (REGISTRY/REPO[:TAG][@DIGEST]).
        reference: String,
        #[command(flatten)]
        source: TrustSource,
        #[command(flatten)]
        registry: RegistryArgs,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show the requirements the trust policy applies to a reference, and the scope they come from.
    Show {
        reference: String,
        #[command(flatten)]
        source: TrustSource,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// Write a cosign-format key pair: PREFIX.key (encrypted with $COSIGN_PASSWORD, empty if
    /// unset) and PREFIX.pub.
    Generate {
        /// Path prefix of the two files.
        #[arg(long, default_value = "cosign")]
        output_prefix: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

/// `palisade sign`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// cosign-format private key (password from $COSIGN_PASSWORD, empty if unset).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Image to sign; its manifest digest is resolved in the registry.
    pub reference: String,
    /// Write the signature image as an OCI image layout in DIR (tag `sha256-<hex>.sig`) instead
    /// of pushing it: for registries that need credentials to push (`skopeo copy oci:DIR:TAG …`).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}
