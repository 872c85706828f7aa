//! `palisade export IMAGE [-o FILE]`: the image's flattened root filesystem as a tarball.

use crate::cli::image::ExportArgs;
use crate::image::{rootfs, ImageError, Store};
use anyhow::Context;
use std::io::{IsTerminal, Write};

pub fn run(args: ExportArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let meta = store.load_meta()?;
    let image = meta.resolve(&args.image).ok_or_else(|| ImageError::NotFound(args.image.clone()))?.clone();
    match &args.output {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            rootfs::export(&store, &image, std::io::BufWriter::new(file))?.flush()?;
            std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
        }
        None if std::io::stdout().is_terminal() => anyhow::bail!("refusing to write a tarball to a terminal; use -o FILE or redirect"),
        None => {
            rootfs::export(&store, &image, std::io::BufWriter::new(std::io::stdout().lock()))?.flush()?;
        }
    }
    Ok(0)
}
