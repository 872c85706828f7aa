//! AppArmor profiles: a parser for the policy language apparmor_parser accepts (built with nom),
//! include resolution against a search path, a semantic model with AppArmor's allow/deny
//! rules, and import into a palisade policy.
//!
//! - [`parse`]: text → syntax tree ([`ast`]), errors at a byte offset;
//! - [`load`]: a file and its includes, errors at `file:line:col`;
//! - [`model`]: the flattened rules of each profile and queries on them (what capability,
//!   socket, file access, mount, ptrace, user namespace a profile grants);
//! - [`import`]: a profile as a palisade policy, as far as the policy language can say it.
//!
//! Pure: reading the files named by includes is the only I/O.

pub mod ast;
pub mod glob;
pub mod import;
pub mod lex;
pub mod load;
pub mod model;
pub mod parse;
pub mod rules;

pub use load::{load_file, load_text, LoadError, Loaded, Missing, SearchPath};
pub use model::{FlatRule, Model, ProfileModel};
