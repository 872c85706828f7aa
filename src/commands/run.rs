//! `palisade run [OPTIONS] -- CMD...`: parse the request, compile the policy, hand both to
//! the runtime. Exit codes as `docker run`: the command's own, 125 when palisade could not
//! start it, 126 not executable, 127 not found; 1 for an invalid policy.

use crate::cli::{NetArg, RunArgs};
use crate::compile::Plan;
use crate::policy::model::NetworkMode;
use crate::runtime::{self, spec::parse_env, OverlaySpec, RunSpec};

pub fn run(args: RunArgs) -> anyhow::Result<i32> {
    let Some(policy) = super::load_or_report(&args.policy) else { return Ok(1) };
    let plan = Plan::new(policy)?;
    let (image, store, name, fetch) = (args.image.clone(), args.store.path(), args.name.clone(), args.fetch.clone());
    let mut spec = match spec(args) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("palisade: run: {e}");
            return Ok(125);
        }
    };
    // IMAGE [CMD...]: pulled if absent (through the trust gate), then an overlayfs root and
    // the image's defaults (see run_image.rs).
    let _image_root = match super::run_image::prepare(&store, image, name.as_deref(), &fetch, &mut spec, &plan) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("palisade: run: {e:#}");
            return Ok(125);
        }
    };
    match runtime::run(&plan, &spec) {
        Ok(code) => Ok(code),
        Err(e) => {
            eprintln!("palisade: run: {e}");
            Ok(e.exit_code())
        }
    }
}

fn spec(args: RunArgs) -> Result<RunSpec, runtime::spec::SpecError> {
    let mut env = Vec::new();
    for e in &args.env {
        env.extend(parse_env(e)?);
    }
    Ok(RunSpec {
        command: args.command,
        rootfs: args.rootfs,
        overlay: args.rootfs_overlay.as_deref().map(|lower| OverlaySpec::from_args(lower, args.rootfs_upper.as_deref())).transpose()?,
        volumes: args.volumes.iter().map(|v| v.parse()).collect::<Result<_, _>>()?,
        env,
        workdir: args.workdir,
        user: args.user.as_deref().map(str::parse).transpose()?,
        hostname: args.hostname,
        tty: args.tty,
        network: args.net.map(|n| match n {
            NetArg::None => NetworkMode::None,
            NetArg::Host => NetworkMode::Host,
            NetArg::Bridge => NetworkMode::Bridge,
        }),
        cgroups_path: None,
        umask: None,
        bundle: Default::default(),
    })
}
