//! The OCI runtime interface (`palisade oci …`, or the binary invoked as `runc`): bundle
//! translation ([`config`], with the `linux` section in [`linux`]), a palisade policy layered
//! on a bundle ([`layer`]) and per-container state ([`state`]). The verbs are in
//! `commands::oci`.

pub mod config;
pub mod layer;
pub mod linux;
pub mod state;
