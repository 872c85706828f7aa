//! `palisade import FILE|- [REF]`: a rootfs tarball as a single-layer image.

use crate::cli::image::ImportArgs;
use crate::image::{rootfs, unpack, Reference, Store};
use anyhow::Context;

pub fn run(args: ImportArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let reference: Option<Reference> = args.reference.as_deref().map(str::parse).transpose()?;
    let platform = args.platform.as_deref().map(str::parse).transpose()?;
    let opts = unpack::Options::default();
    let loaded = if args.file == "-" {
        rootfs::import(&store, std::io::stdin().lock(), reference.as_ref(), args.message.as_deref(), platform.as_ref(), &opts)?
    } else {
        let file = std::fs::File::open(&args.file).with_context(|| format!("open {}", args.file))?;
        rootfs::import(&store, file, reference.as_ref(), args.message.as_deref(), platform.as_ref(), &opts)?
    };
    println!("{}", loaded.config);
    Ok(0)
}
