//! What every input format is reduced to before the checks run: one [`Subject`] per confined
//! thing (a container of a Kubernetes workload, an OCI bundle, a palisade policy, a seccomp
//! profile, an AppArmor profile). A field is `None` when the format cannot say anything about
//! it, so the checks (and the exposure score) skip it instead of guessing.

use crate::apparmor::{Model, ProfileModel};
use crate::policy::source::{Origin, SourceFile, Span};
use crate::seccomp::filter::Filter;
use std::sync::Arc;

/// A value and where it was written (`None`: a default, or a field that is absent).
#[derive(Debug, Clone)]
pub struct Fact<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T> Fact<T> {
    pub fn new(value: T, span: Option<Span>) -> Self {
        Fact { value, span }
    }
}

/// The span of an [`Origin`], if it has one.
pub fn origin_span(origin: &Origin) -> Option<Span> {
    match origin {
        Origin::At(span) => Some(span.clone()),
        Origin::Default => None,
    }
}

/// A namespace the container shares with the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Pid,
    Ipc,
    Network,
    User,
}

/// Which namespaces the format can express, and which of them are the host's.
#[derive(Debug, Clone, Default)]
pub struct HostNamespaces {
    pub checked: Vec<Namespace>,
    /// Shared ones, with where that is said (or the anchor) and how.
    pub shared: Vec<(Namespace, Option<Span>, String)>,
}

/// A host path made visible in the container.
#[derive(Debug, Clone)]
pub struct HostMount {
    pub source: String,
    pub read_only: bool,
    pub span: Option<Span>,
    /// "mounted", or "admitted by the volume policy" for palisade policies.
    pub how: &'static str,
    /// Admitted by a policy rather than mounted.
    pub potential: bool,
}

/// The capabilities the workload can hold.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Upper-case names without `CAP_`, with the span that grants each (`None`: a runtime default).
    pub granted: Vec<(String, Option<Span>)>,
    /// Kubernetes only: whether `drop` includes ALL (`None` for formats that list every capability).
    pub drops_all: Option<bool>,
}

impl Capabilities {
    pub fn get(&self, name: &str) -> Option<&(String, Option<Span>)> {
        self.granted.iter().find(|(n, _)| n == name)
    }
}

/// How a [`SeccompState::Filter`]'s findings are located in the source.
#[derive(Debug, Clone)]
pub enum Locator {
    /// Origins in the filter point into the policy files themselves.
    Policy,
    /// The filter was imported from JSON: find the entry naming a syscall in this document.
    Json { file: Arc<SourceFile>, tree: super::tree::Node, syscalls_path: Vec<String> },
}

/// A compiled seccomp filter and how to point at its source.
#[derive(Debug, Clone)]
pub struct SeccompFilter {
    pub filter: Filter,
    pub locator: Locator,
    /// Where the filter is set (the `seccompProfile`, `linux.seccomp`, `[seccomp]`…).
    pub span: Option<Span>,
    /// The span of the default action.
    pub default_span: Option<Span>,
    /// For imported JSON: the capabilities capability-gated entries were evaluated against.
    pub assumed_caps: Option<&'static str>,
}

/// The seccomp layer of a subject.
#[derive(Debug, Clone)]
pub enum SeccompState {
    /// No filter; the message says why (`None` span: absent from the file).
    Unconfined {
        span: Option<Span>,
        why: String,
    },
    /// The runtime's own default profile (not analysed here).
    RuntimeDefault,
    Filter(Box<SeccompFilter>),
    /// A profile named but not readable here.
    Unknown,
}

/// The AppArmor layer of a subject.
#[derive(Debug, Clone)]
pub enum AppArmorState {
    Unconfined {
        span: Option<Span>,
        why: String,
    },
    RuntimeDefault,
    /// A profile by name that was not found in the search path.
    Named {
        name: String,
        span: Option<Span>,
    },
    /// A parsed profile.
    Profile {
        model: Arc<Model>,
        name: String,
        span: Option<Span>,
    },
}

impl AppArmorState {
    /// The parsed profile, if there is one.
    pub fn profile(&self) -> Option<(&Model, &ProfileModel)> {
        match self {
            AppArmorState::Profile { model, name, .. } => model.profile(name).map(|p| (model.as_ref(), p)),
            _ => None,
        }
    }
}

/// The facts Landlock checks need (palisade policies only).
#[derive(Debug, Clone)]
pub struct LandlockFacts {
    pub writes: Vec<(String, Option<Span>)>,
    pub read_only_root: bool,
    /// Writable mounts on top of the root: tmpfs mount points.
    pub writable_mounts: Vec<String>,
    /// Read-only and masked paths.
    pub read_only_paths: Vec<String>,
}

/// One confined workload, as far as its format says.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// How findings name it: `Deployment/web container app`, `policy untrusted`, `profile ping`.
    pub name: String,
    /// Where to point findings about absent settings.
    pub anchor: Option<Span>,
    pub privileged: Option<Fact<bool>>,
    pub capabilities: Option<Capabilities>,
    pub no_new_privs: Option<Fact<bool>>,
    /// `true`: runs (or may run) as uid 0; the message part says why.
    pub root_user: Option<Fact<(bool, String)>>,
    pub read_only_root: Option<Fact<bool>>,
    /// Namespaces shared with the host, when the format says which are.
    pub host_namespaces: Option<HostNamespaces>,
    pub host_mounts: Option<Vec<HostMount>>,
    pub sysctls: Option<Vec<(String, Option<Span>)>>,
    /// `true` when /proc is not masked; the message part says how.
    pub proc_unmasked: Option<Fact<(bool, String)>>,
    /// Whether the mount layer leaves /proc/sys writable (and why), for proc-sys-write.
    pub proc_sys_writable: Option<Fact<(bool, String)>>,
    pub seccomp: Option<SeccompState>,
    pub apparmor: Option<AppArmorState>,
    pub selinux_type: Option<Fact<String>>,
    pub landlock: Option<LandlockFacts>,
    /// Includes of an AppArmor profile that were not found.
    pub missing_includes: Vec<(Span, String)>,
}

impl Subject {
    pub fn new(name: impl Into<String>, anchor: Option<Span>) -> Subject {
        Subject { name: name.into(), anchor, ..Subject::default() }
    }
}
