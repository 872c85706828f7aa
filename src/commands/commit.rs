//! `palisade commit CONTAINER [REF] [-m MESSAGE] [-a AUTHOR]`: a kept container's changes
//! (`palisade run --name NAME IMAGE`) as a new image (src/image/commit.rs); `palisade rm
//! CONTAINER...` removes kept containers.

use crate::cli::image::{CommitArgs, RmArgs};
use crate::image::{commit, container, Reference, Store};

pub fn run(args: CommitArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let reference: Option<Reference> = args.reference.as_deref().map(str::parse).transpose()?;
    let req = commit::Request { reference: reference.as_ref(), message: args.message.as_deref(), author: args.author.as_deref() };
    let loaded = commit::commit(&store, &args.container, &req)?;
    println!("{}", loaded.config);
    Ok(0)
}

pub fn rm(args: RmArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    for c in &args.containers {
        println!("{}", container::remove(&store, c)?);
    }
    Ok(0)
}
