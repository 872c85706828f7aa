//! What `palisade generate` learns from network use: connections beyond loopback (seen as
//! attempts in the learning run's own network namespace) become the bridge mode with an
//! egress entry per destination; a bind to a low port refused with EACCES becomes
//! NET_BIND_SERVICE, and a second run merged onto that policy learns with it.

mod generate_common;
mod run_common;

use generate_common::*;
use palisade::policy::model::{NetworkMode, Protocol};
use palisade::policy::{load, PolicySource};
use run_common::*;

/// TCP to TEST-NET-1 and UDP to TEST-NET-2 (RFC 5737): unreachable from the learning
/// sandbox, which has only loopback, but the attempts show the destinations.
const EGRESS: &str = "import socket
t = socket.socket(); print(t.connect_ex(('192.0.2.1', 443)) != 0)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try: u.sendto(b'q', ('198.51.100.7', 53))
except OSError: pass
print('done')";

#[test]
fn connections_beyond_loopback_become_bridge_and_egress() {
    let _s = serial();
    require_root();
    let py = python3();
    let dir = workdir();
    let policy = dir.path().join("egress.toml");
    let out = generate(&["-o", policy.to_str().unwrap()], &[py, "-c", EGRESS]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "True\ndone\n", "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("network mode bridge, which `palisade run` does not support yet"),
        "{}",
        describe(&out)
    );
    assert_checks(&policy);
    let p = load(&PolicySource::File(policy.clone())).unwrap();
    let text = std::fs::read_to_string(&policy).unwrap();
    assert_eq!(p.network.mode.value, NetworkMode::Bridge, "{text}");
    let egress: Vec<(String, Vec<u16>, Protocol)> =
        p.network.egress.unwrap().value.into_iter().map(|e| (e.to, e.ports, e.protocol)).collect();
    assert_eq!(
        egress,
        [("192.0.2.1".to_string(), vec![443], Protocol::Tcp), ("198.51.100.7".to_string(), vec![53], Protocol::Udp)],
        "{text}"
    );
    assert_no_scratch_left();
    assert_no_leaks();
}

const LOW_PORT: &str = "import socket
s = socket.socket(); s.bind(('127.0.0.1', 80)); s.listen(); print('listening on', s.getsockname()[1])";

#[test]
fn a_refused_low_port_becomes_net_bind_service() {
    let _s = serial();
    require_root();
    let py = python3();
    let dir = workdir();
    // untrusted runs as nobody with no capability: the bind is refused while learning.
    let first = dir.path().join("first.toml");
    let out = generate(&["--base", "untrusted", "-o", first.to_str().unwrap()], &[py, "-c", LOW_PORT]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PermissionError: [Errno 13]"), "the learning run is refused: {stderr}");
    assert!(
        stderr.contains("warning: the learning run saw bind to port 80 refused with EACCES; the policy keeps CAP_NET_BIND_SERVICE"),
        "{stderr}"
    );
    assert_checks(&first);
    let p = load(&PolicySource::File(first.clone())).unwrap();
    assert!(p.capabilities.kept.keys().map(|c| c.name()).eq(["NET_BIND_SERVICE"]), "{}", std::fs::read_to_string(&first).unwrap());
    // Under the policy the workload gets its port.
    let replay = run_under(&first, &[py, "-c", LOW_PORT]);
    assert_eq!(code(&replay), 0, "{}", describe(&replay));
    assert_eq!(String::from_utf8_lossy(&replay.stdout), "listening on 80\n");
    // A second run merged onto the first learns with the capability: nothing is refused.
    let (second, out) = round_trip(dir.path(), "second", &["--merge", first.to_str().unwrap()], &[py, "-c", LOW_PORT]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("the learning run saw"), "{}", describe(&out));
    let text = std::fs::read_to_string(&second).unwrap();
    assert!(text.contains("extends = \"untrusted\"") && text.contains("NET_BIND_SERVICE"), "{text}");
    assert_no_scratch_left();
    assert_no_leaks();
}
