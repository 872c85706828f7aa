//! A run request and a compiled plan resolved into everything the three processes need,
//! checked before anything starts: a volume the policy refuses, an rlimit that would have to
//! be raised, a user a rootless run cannot be, a network mode not supported — all fail here.

use super::bundle::{BundleSpec, NamespaceKind};
use super::cgroups::{self, Limits, Settings};
use super::harden::Hardening;
use super::namespaces::{Namespaces, UserNamespace};
use super::overlay::Overlay;
use super::rootfs::{MountPlan, Root, Tmpfs};
use super::spec::{RunSpec, SpecError};
use super::volumes::{self, Volume};
use super::{network, oci_mounts, AtLayer, Layer, RunError};
use crate::compile::Plan;
use crate::policy::model::{NetworkMode, User};
use crate::sys;
use std::path::{Path, PathBuf};

/// The user the workload runs as, before names are looked up in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserPlan {
    Id {
        uid: u32,
        gid: Option<u32>,
    },
    /// Looked up in the container's /etc/passwd by the workload process.
    Name(String),
}

/// The workload's process attributes.
#[derive(Debug, Clone)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    /// In order; later entries win.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub user: UserPlan,
    pub groups: Vec<u32>,
    pub run_as_non_root: bool,
    /// (name, soft, hard), each checked to only lower the current limit.
    pub rlimits: Vec<(String, u64, u64)>,
    pub tty: bool,
    /// Set just before the working directory; `None` keeps the inherited mask.
    pub umask: Option<u32>,
}

/// Everything about one container run.
#[derive(Debug)]
pub struct Container {
    pub id: String,
    pub policy: String,
    pub namespaces: Namespaces,
    pub network: NetworkMode,
    pub mounts: MountPlan,
    /// `None`: the uts namespace keeps the name it has (an OCI bundle without `hostname`).
    pub hostname: Option<String>,
    pub process: ProcessPlan,
    pub hardening: Hardening,
    /// The cgroup settings: the policy's limits merged into an OCI config's resources.
    pub limits: Settings,
    /// `palisade oci create`'s start gate: the workload waits for a byte on it before the
    /// hardening sequence (see workload.rs). `None` starts at once.
    pub gate: Option<std::os::fd::OwnedFd>,
    /// Init is a child of palisade's caller (`oci create`), which exits once the container
    /// is created, so that init is re-parented to the caller's subreaper (containerd's shim,
    /// conmon) as runc's init is: that process reaps init and reads the workload's status.
    /// Init then has no parent-death signal (its parent exits by design).
    pub detached: bool,
    /// Namespaces to join, opened and checked by kind (init enters them first).
    pub joins: Vec<(NamespaceKind, std::os::fd::OwnedFd)>,
    /// What an OCI bundle asks for beyond the policy (empty for `palisade run`).
    pub bundle: BundleSpec,
}

/// The PATH a workload gets unless the policy or `-e` sets one (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Container {
    /// Resolves and checks a run. Volumes are opened (and held) here.
    pub fn prepare(plan: &Plan, spec: &RunSpec) -> Result<Container, RunError> {
        let policy = &plan.policy;
        let policy_err = |message: String| RunError::Policy { policy: policy.name.clone(), message };
        if spec.command.is_empty() && !spec.bundle.no_process {
            return Err(SpecError::NoCommand.into());
        }
        let id = super::new_id();
        let network = network::resolve(&policy.name, policy.network.mode.value, spec.network)?;
        let namespaces = namespaces_for(spec, network::private_namespace(network))?;
        let joins = namespaces.open_joins().at(Layer::Namespaces)?;
        check_sysctls(&spec.bundle, &namespaces)?;
        let hostname = match &spec.hostname {
            // A joined uts namespace is the container's by the bundle's choice (a pod's);
            // the host's is not.
            Some(name) if namespaces.shared.contains(&NamespaceKind::Uts) => {
                return Err(RunError::Start {
                    layer: Layer::Hostname,
                    message: format!("hostname `{name}` asked for, but the uts namespace is the host's: setting it would rename the host"),
                })
            }
            Some(name) => Some(name.clone()),
            _ if spec.bundle.domainname.is_some() && namespaces.shared.contains(&NamespaceKind::Uts) => {
                return Err(RunError::Start {
                    layer: Layer::Hostname,
                    message: "domainname asked for, but the uts namespace is the host's: setting it would change the host's".into(),
                })
            }
            // An OCI bundle without a hostname keeps the one its uts namespace has.
            None if spec.bundle.namespaces.is_some() => None,
            None => Some(id.clone()),
        };

        // The user: -u wins over the policy; none means root (a directory rootfs has no
        // image configuration to say otherwise).
        let user = match (&spec.user, policy.process.user.as_ref().map(|s| &s.value)) {
            (Some(u), _) => UserPlan::Id { uid: u.uid, gid: u.gid },
            (None, Some(User::Id { uid, gid })) => UserPlan::Id { uid: *uid, gid: *gid },
            (None, Some(User::Name(n))) => UserPlan::Name(n.clone()),
            (None, None) => UserPlan::Id { uid: 0, gid: Some(0) },
        };
        let run_as_non_root = policy.process.run_as_non_root.value;
        if run_as_non_root && matches!(user, UserPlan::Id { uid: 0, .. }) {
            return Err(policy_err(
                "run_as_non_root is set, but the workload would run as uid 0 (set `process.user` or pass `-u UID`)".into(),
            ));
        }
        if let (Some(ns), UserPlan::Id { uid, gid }) = (namespaces.user.as_ref().filter(|u| u.rootless), &user) {
            if *uid != 0 || gid.is_some_and(|g| g != 0) {
                return Err(policy_err(format!(
                    "rootless run (uid {}): only uid 0 exists in the user namespace (it is you); user {uid}:{} cannot be set without subordinate ids, which palisade does not support yet. Run as root, or with a policy and -u that leave the user at 0",
                    ns.uid_map.first().map_or(0, |m| m.host_id),
                    gid.unwrap_or(*uid)
                )));
            }
        }

        // linux.resources is read and checked here, before anything is made.
        let mut limits = Settings::new(&Limits::from_policy(&policy.resources), spec.bundle.resources.as_ref(), spec.bundle.always_cgroup)
            .map_err(cgroups::Error::from)?;
        limits.allow_device_nodes(&spec.bundle.devices);

        let mut rlimits = Vec::new();
        for (name, limit) in &policy.process.rlimits {
            sys::rlimit::check_lowers(name, limit.value.soft, limit.value.hard).at(Layer::Rlimits)?;
            rlimits.push((name.clone(), limit.value.soft, limit.value.hard));
        }

        // Volumes: opened and checked now, refused before anything starts.
        let volumes: Vec<Volume> =
            spec.volumes.iter().map(|v| volumes::open_and_check(v, &policy.name, &policy.volumes)).collect::<Result<_, _>>()?;

        if spec.rootfs.is_some() && spec.overlay.is_some() {
            return Err(SpecError::TwoRoots.into());
        }
        let host_root = spec.rootfs.is_none() && spec.overlay.is_none();
        let mut tmpfs: Vec<Tmpfs> = policy.filesystem.tmpfs.iter().map(|(path, opts)| Tmpfs::parse(path, &opts.value)).collect();
        if host_root && !tmpfs.iter().any(|t| t.path.as_os_str() == "/tmp") {
            // The host-root sandbox's private /tmp.
            tmpfs.push(Tmpfs::parse("/tmp", "mode=1777,size=64m,nosuid,nodev"));
        }
        for t in &tmpfs {
            sys::mount::relative_clean(&t.path).at(Layer::Mounts)?;
        }
        let cwd = spec.workdir.clone().unwrap_or_else(|| PathBuf::from("/"));
        if !cwd.is_absolute() {
            return Err(sys::Error::new(format!("working directory {}", cwd.display()), std::io::Error::other("must be absolute")))
                .at(Layer::WorkingDirectory);
        }
        // The root last of everything that can fail here: an overlay's disk upper dir is made
        // and locked now, and removed again (on drop) if the start fails later.
        let root = match (&spec.rootfs, &spec.overlay) {
            (None, None) => Root::Host,
            (Some(dir), _) => Root::Dir(directory_root(dir)?),
            (None, Some(o)) => Root::Overlay(Overlay::prepare(o, namespaces.rootless())?),
        };
        let mounts = MountPlan {
            root,
            read_only_root: policy.filesystem.read_only_root.value,
            tmpfs,
            masked: policy.filesystem.masked_paths.iter().map(|i| PathBuf::from(&i.name)).collect(),
            readonly: policy.filesystem.readonly_paths.iter().map(|i| PathBuf::from(&i.name)).collect(),
            volumes,
            private_sysfs: namespaces.network,
            devpts_gid: namespaces.maps_gid(5).then_some(5),
            // An OCI bundle's mounts and devices, checked now like volumes.
            oci_mounts: spec
                .bundle
                .mounts
                .as_deref()
                .map(|list| {
                    let own_cgroup_namespace = namespaces.is_new(super::bundle::NamespaceKind::Cgroup);
                    oci_mounts::prepare(
                        list,
                        oci_mounts::Context {
                            policy_name: &policy.name,
                            volumes: &policy.volumes,
                            own_cgroup_namespace,
                            joined_cgroup_namespace: namespaces.join.iter().any(|(k, _)| *k == super::bundle::NamespaceKind::Cgroup),
                        },
                    )
                })
                .transpose()?,
            devices: {
                super::devices::check(&spec.bundle.devices).at(Layer::Devices)?;
                spec.bundle.devices.clone()
            },
            rootfs_propagation: spec.bundle.rootfs_propagation,
        };

        let mut env = vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
        env.extend(hostname.iter().map(|h| ("HOSTNAME".to_string(), h.clone())));
        if spec.tty {
            env.push(("TERM".into(), "xterm".into()));
        }
        env.extend(policy.process.env.iter().map(|(k, v)| (k.clone(), v.value.clone())));
        env.extend(spec.env.iter().cloned());

        Ok(Container {
            id,
            policy: policy.name.clone(),
            namespaces,
            network,
            mounts,
            hostname,
            process: ProcessPlan {
                args: spec.command.clone(),
                env,
                cwd,
                user,
                groups: policy.process.groups.value.clone(),
                run_as_non_root,
                rlimits,
                tty: spec.tty,
                umask: spec.umask,
            },
            hardening: Hardening::for_run(plan, &spec.bundle),
            joins,
            bundle: spec.bundle.clone(),
            limits,
            gate: None,
            detached: false,
        })
    }
}

/// The namespaces of a run: palisade's own set, or what an OCI bundle lists (a kind listed
/// without a path is new, with a path joined, not listed shared with the host).
fn namespaces_for(spec: &RunSpec, private_network: bool) -> Result<Namespaces, RunError> {
    let Some(list) = &spec.bundle.namespaces else { return Ok(Namespaces::for_caller(private_network)) };
    let refuse = |message: String| RunError::Start { layer: Layer::Namespaces, message };
    let mut ns = Namespaces { user: None, network: false, shared: Vec::new(), join: Vec::new() };
    let rootless = sys::ids::current().0 != 0;
    for kind in [
        NamespaceKind::Mount,
        NamespaceKind::User,
        NamespaceKind::Pid,
        NamespaceKind::Network,
        NamespaceKind::Ipc,
        NamespaceKind::Uts,
        NamespaceKind::Cgroup,
    ] {
        match (kind, list.iter().find(|n| n.kind == kind).map(|n| n.path.as_ref())) {
            (NamespaceKind::Mount, Some(None)) => {}
            (NamespaceKind::Mount, _) => {
                return Err(refuse(
                    "the mount namespace must be the container's own (listed without a path): palisade builds the root filesystem in it, and mounting in the host's or another container's namespace would change theirs".into(),
                ))
            }
            (NamespaceKind::User, Some(Some(path))) => {
                return Err(refuse(format!(
                    "joining the user namespace {} is not supported: the container's other namespaces would have to be created inside it",
                    path.display()
                )))
            }
            (NamespaceKind::User, Some(None)) => {
                if spec.bundle.uid_mappings.is_empty() || spec.bundle.gid_mappings.is_empty() {
                    return Err(refuse("a new user namespace needs linux.uidMappings and linux.gidMappings".into()));
                }
                ns.user = Some(UserNamespace {
                    uid_map: spec.bundle.uid_mappings.clone(),
                    gid_map: spec.bundle.gid_mappings.clone(),
                    rootless,
                });
            }
            (NamespaceKind::User, None) if rootless => {
                return Err(refuse("a rootless container needs a user namespace: add {\"type\": \"user\"} with your own uid and gid mapped".into()))
            }
            (NamespaceKind::User, None) => {}
            (NamespaceKind::Network, Some(None)) => ns.network = true,
            // The policy asks for isolation the bundle does not: the stricter one wins.
            (NamespaceKind::Network, None) if private_network => ns.network = true,
            (NamespaceKind::Network, Some(Some(path))) if private_network => {
                return Err(refuse(format!(
                    "the policy's network mode is `none`, but the bundle joins the network namespace {}",
                    path.display()
                )))
            }
            // A path to a namespace that is the host's own is sharing, and is checked as such
            // (a `net.*` sysctl or a hostname must not reach the host through it).
            (_, Some(Some(path))) if is_hosts(kind, path) => ns.shared.push(kind),
            (_, Some(Some(path))) => ns.join.push((kind, path.clone())),
            (_, Some(None)) => {}
            (_, None) => ns.shared.push(kind),
        }
    }
    if ns.user.is_none() && (!spec.bundle.uid_mappings.is_empty() || !spec.bundle.gid_mappings.is_empty()) {
        return Err(refuse("linux.uidMappings/gidMappings are set, but linux.namespaces has no new user namespace to map them in".into()));
    }
    Ok(ns)
}

/// Whether the namespace file `path` is the one palisade itself runs in (the host's).
fn is_hosts(kind: NamespaceKind, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata(format!("/proc/self/ns/{}", kind.proc_name()));
    let theirs = std::fs::metadata(path);
    matches!((ours, theirs), (Ok(a), Ok(b)) if a.dev() == b.dev() && a.ino() == b.ino())
}

/// Sysctls reach only namespaces of the container's own: one whose namespace is the
/// host's (shared, or a path to the host's) would change the host.
fn check_sysctls(bundle: &BundleSpec, namespaces: &Namespaces) -> Result<(), RunError> {
    for (key, _) in &bundle.sysctl {
        let kind = if key.starts_with("net.") {
            NamespaceKind::Network
        } else if key == "kernel.domainname" {
            NamespaceKind::Uts
        } else {
            NamespaceKind::Ipc
        };
        let hosts = match kind {
            NamespaceKind::Network => !namespaces.network && !namespaces.join.iter().any(|(k, _)| *k == kind),
            other => namespaces.shared.contains(&other),
        };
        if hosts {
            return Err(RunError::Start {
                layer: Layer::Sysctl,
                message: format!("{key}: the container's {} namespace is the host's; setting it would change the host", kind.name()),
            });
        }
    }
    Ok(())
}

/// A directory root: it exists, is a directory, and is not the host's `/`.
fn directory_root(dir: &Path) -> Result<PathBuf, RunError> {
    let canonical = std::fs::canonicalize(dir).map_err(|e| sys::Error::new(format!("rootfs {}", dir.display()), e)).at(Layer::Rootfs)?;
    if !canonical.is_dir() {
        return Err(sys::Error::new(format!("rootfs {}", dir.display()), std::io::Error::other("not a directory"))).at(Layer::Rootfs);
    }
    // The host's own root, writable, as a container root: that is what the host-root
    // sandbox exists to do safely (read-only, /run hidden).
    if canonical == Path::new("/") {
        return Err(sys::Error::new(
            format!("rootfs {}", dir.display()),
            std::io::Error::other("is the host's /; omit --rootfs to run in the host-root sandbox"),
        ))
        .at(Layer::Rootfs);
    }
    Ok(canonical)
}
