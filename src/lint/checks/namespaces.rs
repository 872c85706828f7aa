//! host-pid, host-ipc, host-network, host-user-namespace.

use crate::lint::subject::{Namespace, Subject};
use crate::lint::Sink;

fn code(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Pid => "host-pid",
        Namespace::Ipc => "host-ipc",
        Namespace::Network => "host-network",
        Namespace::User => "host-user-namespace",
    }
}

pub fn run(s: &Subject, sink: &mut Sink) {
    let Some(ns) = &s.host_namespaces else { return };
    for n in &ns.checked {
        sink.checked(code(*n));
    }
    for (n, span, message) in &ns.shared {
        sink.fire(code(*n), message.clone(), span.clone(), None);
    }
}
