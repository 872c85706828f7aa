//! The policy language: parse (with spans) → validate → merge through `extends` → [`Policy`].
//! Pure: no syscalls, no global state.

pub mod defaults;
pub mod load;
pub mod lower;
pub mod model;
pub mod pathmatch;
pub mod raw;
pub mod source;

pub use load::{load, load_str, PolicySource};
pub use model::Policy;
