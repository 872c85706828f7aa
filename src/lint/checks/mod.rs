//! The checks, one file per family (as the tests are: tests/lint_<family>.rs). Each reads a
//! [`Subject`], marks the rules it could evaluate with [`Sink::checked`] and reports findings
//! with [`Sink::fire`].

pub mod crosslayer;
pub mod input;
pub mod kernel;
pub mod lsm;
pub mod mounts;
pub mod namespaces;
pub mod privilege;
pub mod syscalls;

use super::subject::Subject;
use super::Sink;

/// Runs every family on a subject.
pub fn run_all(subject: &Subject, sink: &mut Sink) {
    privilege::run(subject, sink);
    namespaces::run(subject, sink);
    mounts::run(subject, sink);
    kernel::run(subject, sink);
    lsm::run(subject, sink);
    syscalls::run(subject, sink);
    crosslayer::run(subject, sink);
    input::run(subject, sink);
}
