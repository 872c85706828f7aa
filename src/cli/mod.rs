//! Command-line surface (clap derive). Handlers are thin: they parse arguments, call
//! `commands`, and turn results into exit codes. anyhow lives only here and in `commands`.

use crate::compile::EmitKind;
use crate::seccomp::arch::Arch;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub mod generate;
pub mod image;
pub mod oci;
pub mod trust;

#[derive(Debug, Parser)]
#[command(name = "palisade", version, about = "A security-hardening container sandbox driven by one TOML policy")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, compile, explain and import policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run a command in a sandbox under a policy: in a directory rootfs, or in the host-root
    /// sandbox (the host's / read-only, private /tmp, no network) when --rootfs is absent.
    Run(RunArgs),
    /// Audit security profiles: palisade policies, Docker/OCI seccomp JSON, OCI config.json,
    /// AppArmor profiles, Kubernetes manifests (exit 0 clean, 1 deny-level findings, 2 error).
    Lint(LintArgs),
    /// Run a command in learning mode and write the smallest policy that lets it work.
    Generate(generate::GenerateArgs),
    /// Pull an image from a registry into the store.
    Pull(image::PullArgs),
    /// List the images in the store.
    Images(image::ImagesArgs),
    /// Remove images (blobs and layers no other image uses go with them).
    Rmi(image::RmiArgs),
    /// Give an image another name.
    Tag(image::TagArgs),
    /// Show an image's build history.
    History(image::HistoryArgs),
    /// Show an image's configuration and layers.
    Inspect(image::InspectArgs),
    /// Write images to an OCI archive or docker-archive.
    Save(image::SaveArgs),
    /// Read images from an OCI archive or docker-archive.
    Load(image::LoadArgs),
    /// Make a single-layer image from a rootfs tarball.
    Import(image::ImportArgs),
    /// Write an image's flattened root filesystem as a tarball.
    Export(image::ExportArgs),
    /// Make a new image from a kept container's changes (`run --name`).
    Commit(image::CommitArgs),
    /// Remove kept containers (`run --name`).
    Rm(image::RmArgs),
    /// Store credentials for a registry.
    Login(image::LoginArgs),
    /// Remove stored credentials for a registry.
    Logout(image::LogoutArgs),
    /// Store maintenance.
    #[command(subcommand)]
    System(image::SystemCommand),
    /// Content trust: verify images against a containers-policy.json(5) trust policy.
    #[command(subcommand)]
    Trust(trust::TrustCommand),
    /// Signing keys in cosign's formats.
    #[command(subcommand)]
    Key(trust::KeyCommand),
    /// Sign an image with a cosign-format key.
    Sign(trust::SignArgs),
    /// The OCI runtime interface (runc's command line): create, start, state, kill, delete,
    /// run, features, spec. Invoked as `runc`, the binary takes these arguments directly.
    Oci(oci::OciArgs),
}

/// `palisade run`'s arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Policy file or built-in profile (docker-default, restricted, untrusted).
    #[arg(long, default_value = "untrusted")]
    pub policy: String,
    /// Directory to use as the root filesystem (default: the host's /, read-only).
    #[arg(long, conflicts_with = "rootfs_overlay")]
    pub rootfs: Option<PathBuf>,
    /// Root filesystem: an overlayfs of these read-only directories, colon-separated, top
    /// first (as overlayfs's lowerdir). Writes go to a private tmpfs, gone after the run,
    /// unless --rootfs-upper is given.
    #[arg(long, value_name = "LOWER[:LOWER...]", conflicts_with = "image")]
    pub rootfs_overlay: Option<String>,
    /// Keep the overlay's writable layer: DIR/upper (created, or continued from an earlier
    /// run) holds every change, in overlayfs's format (deleted files are 0/0 character
    /// devices); DIR/work is overlayfs's scratch, removed after the run.
    #[arg(long, value_name = "DIR", requires = "rootfs_overlay")]
    pub rootfs_upper: Option<PathBuf>,
    /// Bind a host path: SRC:DST[:ro]; SRC must be admitted by the policy's volume sources.
    #[arg(short = 'v', long = "volume", value_name = "SRC:DST[:ro]")]
    pub volumes: Vec<String>,
    /// Set an environment variable (KEY=VALUE, or KEY to copy palisade's own).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the sandbox.
    #[arg(short = 'w', long = "workdir")]
    pub workdir: Option<PathBuf>,
    /// User to run as (overrides the policy's; run_as_non_root still applies).
    #[arg(short = 'u', long = "user", value_name = "UID[:GID]")]
    pub user: Option<String>,
    #[arg(long)]
    pub hostname: Option<String>,
    /// Give the command a terminal (a pty of the sandbox's own devpts).
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Keep standard input open (always the case; accepted for `-it`).
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Network override, only towards isolation: `none` always, `host` if the policy says host.
    #[arg(long = "net", value_enum)]
    pub net: Option<NetArg>,
    /// Keep the container after the run under this name (its id is printed on standard
    /// error), for `palisade commit`; without it, the container is removed after the run.
    #[arg(long, value_name = "NAME", requires = "image")]
    pub name: Option<String>,
    /// IMAGE [CMD...]: run an image from the store over an overlayfs root, with its
    /// Entrypoint, Cmd, Env, WorkingDir and User under the policy (instead of --rootfs).
    #[arg(value_name = "IMAGE [CMD]", allow_hyphen_values = true)]
    pub image: Vec<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
    #[command(flatten)]
    pub store: image::StoreArgs,
    /// An IMAGE not in the store is pulled first, through the same trust gate as `pull`. The
    /// trust policy: --trust-policy, else the palisade policy's `[trust] policy`, else
    /// /etc/containers/policy.json, else refused unless --insecure-policy.
    #[command(flatten)]
    pub fetch: image::FetchArgs,
}

/// `--net` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetArg {
    None,
    Host,
    Bridge,
}

/// `--lsm`: a target, or `auto` for the LSMs enabled on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LsmArg {
    Auto,
    All,
    Apparmor,
    Selinux,
    None,
}

/// Output format for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files (exit 0 valid, 1 invalid, 2 error).
    Check {
        /// Policy files or built-in profile names.
        #[arg(required = true)]
        files: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compile a policy into an enforcement artifact.
    Compile {
        /// Policy file or built-in profile name.
        file: String,
        #[arg(long, value_enum)]
        emit: EmitKind,
        /// Output file (a directory for `--emit k8s`); standard output if absent.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Architecture for `--emit seccomp-bpf` and the primary one for `--emit oci`.
        #[arg(long)]
        arch: Option<Arch>,
        /// `--emit oci`: the LSMs the host that runs the config enforces (`auto`: this host's).
        #[arg(long, value_enum, default_value = "auto")]
        lsm: LsmArg,
        /// Process arguments for `--emit oci`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Convert a Docker/OCI seccomp JSON profile or an AppArmor profile into a palisade policy.
    Import {
        file: PathBuf,
        /// AppArmor: which profile of the file (default: the only, or first, one).
        #[arg(long)]
        profile: Option<String>,
        /// AppArmor: where includes are looked up (default /etc/apparmor.d).
        #[arg(long, value_name = "DIR")]
        apparmor_path: Vec<PathBuf>,
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Name of the generated policy (default: the file's stem).
        #[arg(long)]
        name: Option<String>,
        /// Capabilities the profile's capability-gated rules are evaluated against:
        /// `docker-default` (Docker's 14), `none`, or a comma-separated list.
        #[arg(long, default_value = "docker-default")]
        capabilities: String,
    },
    /// Show the effective decision for a syscall, capability or path, and the line behind it.
    Explain {
        file: String,
        #[arg(long)]
        syscall: Option<String>,
        /// Argument values for --syscall (numbers or constant names), comma-separated.
        #[arg(long, value_delimiter = ',')]
        args: Vec<String>,
        #[arg(long)]
        arch: Option<Arch>,
        #[arg(long)]
        capability: Option<String>,
        #[arg(long)]
        path: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// List the named syscall groups (`@name` in allow/deny lists), or one group's syscalls.
    Groups { name: Option<String> },
    /// List the built-in profiles, or print one.
    Profiles { name: Option<String> },
}

/// `palisade lint`'s arguments.
#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Files to lint.
    pub files: Vec<PathBuf>,
    /// The format of every file (default: detected per file).
    #[arg(long, value_enum)]
    pub input: Option<crate::lint::InputKind>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: LintFormat,
    /// Report findings of these rules (codes, families, `all`, `warnings`) as errors: exit 1.
    #[arg(long, value_name = "CODE")]
    pub deny: Vec<String>,
    /// Report findings of these rules as warnings.
    #[arg(long, value_name = "CODE")]
    pub warn: Vec<String>,
    /// Do not report findings of these rules.
    #[arg(long, value_name = "CODE")]
    pub allow: Vec<String>,
    /// Levels file (default: ./palisade-lint.toml if it exists).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Explain a rule and exit.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<String>,
    /// List every rule and exit.
    #[arg(long)]
    pub list: bool,
    /// Show the exposure score's breakdown for every subject.
    #[arg(long)]
    pub score: bool,
    /// Where AppArmor includes and named profiles are looked up (default /etc/apparmor.d).
    #[arg(long, value_name = "DIR")]
    pub apparmor_path: Vec<PathBuf>,
    /// Where Kubernetes `Localhost` seccomp profiles are (default /var/lib/kubelet/seccomp).
    #[arg(long, value_name = "DIR")]
    pub seccomp_root: Option<PathBuf>,
    /// Write the report here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `palisade lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Text,
    Json,
    Sarif,
}

/// Invoked as `runc` (a symlink or copy named so, as containerd's shim calls a runtime), the
/// arguments are `palisade oci`'s. So they are when the first argument is a long option other
/// than `--help`/`--version` (palisade's own commands take none before the verb; runc's
/// callers put global flags such as `--log-format` first) or a runc verb that is no palisade
/// command (`create`, `delete`, …): podman's `--runtime /path/to/palisade` and conmon.
pub fn runc_argv(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as_runc = args.first().and_then(|a| std::path::Path::new(a).file_name()).is_some_and(|n| n == "runc");
    let runc_order = args.get(1).and_then(|a| a.to_str()).is_some_and(|a| {
        let name = a.split('=').next().unwrap_or(a);
        (a.starts_with("--") && a.len() > 2 && !matches!(name, "--help" | "--version"))
            // Verbs of runc's that are no command of palisade's (`run` is both: palisade's).
            || matches!(a, "create" | "start" | "state" | "kill" | "delete" | "ps" | "features" | "spec" | "exec" | "pause" | "resume" | "list")
    });
    if invoked_as_runc {
        args.splice(0..1, ["palisade".into(), "oci".into()]);
    } else if runc_order {
        args.insert(1, "oci".into());
    }
    args
}

pub fn main() -> i32 {
    let cli = Cli::parse_from(runc_argv(std::env::args_os().collect()));
    let result = match cli.command {
        Command::Policy(cmd) => crate::commands::policy(cmd),
        Command::Run(args) => crate::commands::run::run(args),
        Command::Lint(args) => crate::commands::lint::run(args),
        Command::Generate(args) => crate::commands::generate::run(args),
        Command::Pull(args) => crate::commands::pull::run(args),
        Command::Images(args) => crate::commands::images::run(args),
        Command::Rmi(args) => crate::commands::rmi::run(args),
        Command::Tag(args) => crate::commands::tag::run(args),
        Command::History(args) => crate::commands::history::run(args),
        Command::Inspect(args) => crate::commands::inspect::run(args),
        Command::Save(args) => crate::commands::save::run(args),
        Command::Load(args) => crate::commands::load::run(args),
        Command::Import(args) => crate::commands::image_import::run(args),
        Command::Export(args) => crate::commands::image_export::run(args),
        Command::Commit(args) => crate::commands::commit::run(args),
        Command::Rm(args) => crate::commands::commit::rm(args),
        Command::Login(args) => crate::commands::login::login(args),
        Command::Logout(args) => crate::commands::login::logout(args),
        Command::System(cmd) => crate::commands::system::run(cmd),
        Command::Trust(cmd) => crate::commands::trust::run(cmd),
        Command::Key(cmd) => crate::commands::trust::key(cmd),
        Command::Sign(args) => crate::commands::trust::sign(args),
        Command::Oci(args) => crate::commands::oci::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("palisade: {e:#}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap checks the whole command tree for conflicting argument definitions only in debug
    /// builds, and only when a command is parsed: check it once, for every subcommand.
    #[test]
    fn runc_callers_reach_oci() {
        let os = |a: &[&str]| a.iter().map(Into::into).collect::<Vec<std::ffi::OsString>>();
        for a in [
            &["/usr/bin/runc", "state", "x"][..],
            &["/p/palisade", "--log-format=json", "create", "x"],
            &["/p/palisade", "delete", "--force", "x"],
        ] {
            let got = super::runc_argv(os(a));
            assert_eq!(got[1..], os(&[&["oci"][..], &a[1..]].concat()), "{a:?}");
        }
        for a in [&["palisade", "run", "sh"][..], &["palisade", "--help"], &["palisade", "lint", "p.toml"]] {
            assert_eq!(super::runc_argv(os(a)), os(a), "{a:?}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
