//! runtime-socket-mount, sensitive-host-mount, writable-root-filesystem.

use crate::lint::subject::Subject;
use crate::lint::Sink;

/// API sockets of container runtimes (and the directories that hold them).
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/var/run/podman",
    "/run/podman",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/run/k3s/containerd",
    "/var/run/docker",
    "/run/docker",
];

/// Host paths whose exposure is an escape or a credential leak (the path or anything below).
const SENSITIVE: &[(&str, &str)] = &[
    ("/etc", "host configuration and credentials"),
    ("/proc", "host processes and kernel interfaces"),
    ("/sys", "host kernel interfaces"),
    ("/dev", "host devices"),
    ("/boot", "the host kernel and boot loader"),
    ("/root", "root's home directory"),
    ("/var/run", "runtime state and sockets of host services"),
    ("/run", "runtime state and sockets of host services"),
    ("/var/lib/docker", "every container's filesystem and Docker's state"),
    ("/var/lib/containerd", "every container's filesystem and containerd's state"),
    ("/var/lib/kubelet", "pod volumes and secrets of every pod on the node"),
    ("/lib/modules", "the host's kernel modules"),
];

fn within(path: &str, dir: &str) -> bool {
    path == dir || path.starts_with(&format!("{dir}/"))
}

fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.replace("//", "/")
    }
}

/// Why a host path is a runtime socket, if it is one.
pub fn runtime_socket(path: &str) -> Option<&'static str> {
    let p = normalize(path);
    RUNTIME_SOCKETS.iter().copied().find(|s| within(&p, s)).or_else(|| {
        ["docker.sock", "containerd.sock", "crio.sock", "podman.sock", "dockershim.sock"]
            .into_iter()
            .find(|n| p.ends_with(&format!("/{n}")))
    })
}

/// Why a host path is sensitive, if it is.
pub fn sensitive(path: &str) -> Option<&'static str> {
    let p = normalize(path);
    if p == "/" {
        return Some("the host's whole filesystem");
    }
    SENSITIVE.iter().find(|(d, _)| within(&p, d)).map(|(_, why)| *why)
}

pub fn run(s: &Subject, sink: &mut Sink) {
    if let Some(mounts) = &s.host_mounts {
        sink.checked("runtime-socket-mount");
        sink.checked("sensitive-host-mount");
        for m in mounts {
            let access = if m.read_only { "read-only" } else { "writable" };
            // A source a policy merely admits is a potential mount: reported as sensitive, so
            // that it does not count as the certain host-root a mounted socket is.
            if let (Some(sock), true) = (runtime_socket(&m.source), m.potential) {
                sink.fire(
                    "sensitive-host-mount",
                    format!(
                        "host path {} is {}: {sock} is a container runtime's API, root on the host to whoever can reach it",
                        m.source, m.how
                    ),
                    m.span.clone(),
                    Some("deny it in [volumes] deny_sources".into()),
                );
            } else if let Some(sock) = runtime_socket(&m.source) {
                sink.fire(
                    "runtime-socket-mount",
                    format!(
                        "host path {} is {} ({access}): {sock} is a container runtime's API, root on the host to whoever can reach it",
                        m.source, m.how
                    ),
                    m.span.clone(),
                    Some("never mount a runtime socket; use a narrowly scoped API proxy if the workload must start containers".into()),
                );
            } else if let Some(why) = sensitive(&m.source) {
                sink.fire("sensitive-host-mount", format!("host path {} is {} ({access}): {why}", m.source, m.how), m.span.clone(), None);
            }
        }
    }
    if let Some(ro) = &s.read_only_root {
        sink.checked("writable-root-filesystem");
        if !ro.value {
            sink.fire(
                "writable-root-filesystem",
                "the root filesystem is writable",
                ro.span.clone(),
                Some("mount it read-only and give the workload tmpfs or volumes where it writes".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_host_paths() {
        assert!(runtime_socket("/var/run/docker.sock").is_some());
        assert!(runtime_socket("/srv/x/containerd.sock").is_some());
        assert!(runtime_socket("/var/run").is_none());
        assert!(sensitive("/").is_some() && sensitive("/etc/ssl/").is_some() && sensitive("/etcetera").is_none());
        assert!(sensitive("/srv/data").is_none());
    }
}
