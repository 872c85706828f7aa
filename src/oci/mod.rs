//! The OCI runtime interface (`palisade oci …`, or the binary invoked as `runc`): bundle
//! translation ([`config`]) and per-container state ([`state`]). The verbs are in
//! `commands::oci`.

pub mod config;
pub mod state;
