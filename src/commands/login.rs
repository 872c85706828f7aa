//! `palisade login [REGISTRY]` and `palisade logout [REGISTRY]`.

use crate::cli::image::{LoginArgs, LogoutArgs};
use crate::image::auth::{self, Credentials};
use crate::image::reference::DEFAULT_REGISTRY;
use crate::image::registry::{self, Client};
use crate::image::Reference;
use anyhow::Context;
use std::io::BufRead;

pub fn login(args: LoginArgs) -> anyhow::Result<i32> {
    let registry = args.registry.clone().unwrap_or_else(|| DEFAULT_REGISTRY.to_string()).to_lowercase();
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are exclusive"),
        (Some(p), false) => p,
        (None, true) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password: ")?,
    };
    let creds = Credentials { username, password };
    // Check the credentials against the registry before storing them: a token for a
    // repository scope (or a basic-auth /v2/) proves them.
    let reference: Reference = format!("{registry}/palisade-login-check").parse().with_context(|| format!("registry `{registry}`"))?;
    let mut opts: registry::Options = super::pull::registry_options(&args.registry_args);
    opts.credentials = Some(creds.clone());
    Client::connect(&reference, &opts)?.verify_login()?;
    let path = auth::store(&registry, &creds)?;
    eprintln!("Login succeeded; credentials stored in {}", path.display());
    Ok(0)
}

pub fn logout(args: LogoutArgs) -> anyhow::Result<i32> {
    let registry = args.registry.unwrap_or_else(|| DEFAULT_REGISTRY.to_string()).to_lowercase();
    if auth::remove(&registry)? {
        eprintln!("Removed credentials for {registry}");
        Ok(0)
    } else {
        eprintln!("Not logged in to {registry}");
        Ok(1)
    }
}

fn prompt(what: &str) -> anyhow::Result<String> {
    eprint!("{what}");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
