//! `palisade tag SOURCE TARGET`.

use crate::cli::image::TagArgs;
use crate::image::{remove, Store};

pub fn run(args: TagArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    remove::tag(&store, &args.source, &args.target)?;
    Ok(0)
}
