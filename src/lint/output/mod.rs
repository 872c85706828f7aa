//! Report formats: human text (rustc-style findings with snippets, then the exposure
//! scores), JSON for pipelines, and SARIF 2.1.0 for code-scanning tools.

pub mod json;
pub mod sarif;
pub mod text;
