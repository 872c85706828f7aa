//! One module per verb; each returns an exit code (0 success, 1 a policy problem the user must
//! fix, 2 an operational error, reported through `anyhow`).

pub mod check;
pub mod compile;
pub mod explain;
pub mod generate;
pub mod import;
pub mod lint;
pub mod listing;
pub mod oci;
pub mod oci_exec;
pub mod oci_list;
pub mod run;
// Image verbs.
pub mod commit;
pub mod history;
pub mod image_export;
pub mod image_import;
pub mod images;
pub mod inspect;
pub mod load;
pub mod login;
pub mod pull;
pub mod rmi;
pub mod run_image;
pub mod save;
pub mod system;
pub mod tag;
// Content trust.
pub mod trust;

use crate::cli::PolicyCommand;

pub fn policy(cmd: PolicyCommand) -> anyhow::Result<i32> {
    match cmd {
        PolicyCommand::Check { files, format } => check::run(&files, format),
        PolicyCommand::Compile { file, emit, output, arch, lsm, args } => compile::run(&file, emit, output.as_deref(), arch, lsm, args),
        PolicyCommand::Import { file, profile, apparmor_path, output, name, capabilities } => {
            import::run(&file, output.as_deref(), name, &capabilities, profile.as_deref(), &apparmor_path)
        }
        PolicyCommand::Explain { file, syscall, args, arch, capability, path, format } => {
            explain::run(&file, explain::Query { syscall, args, arch, capability, path }, format)
        }
        PolicyCommand::Groups { name } => listing::groups(name.as_deref()),
        PolicyCommand::Profiles { name } => listing::profiles(name.as_deref()),
    }
}

/// Loads a policy and prints its diagnostics; `None` means it was invalid (already reported).
pub(crate) fn load_or_report(file: &str) -> Option<crate::policy::Policy> {
    match crate::policy::load(&crate::policy::PolicySource::from_arg(file)) {
        Ok(p) => Some(p),
        Err(diags) => {
            eprint!("{}", diags.render());
            None
        }
    }
}
