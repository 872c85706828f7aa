//! `palisade save IMAGE... [-o FILE] [--format oci-archive|docker-archive]`.

use crate::cli::image::{ArchiveFormat, SaveArgs};
use crate::image::archive::{self, docker, oci};
use crate::image::Store;
use anyhow::Context;
use std::io::{IsTerminal, Write};

pub fn run(args: SaveArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let images = archive::resolve(&store, &args.images)?;
    let write = |out: Box<dyn Write>| -> anyhow::Result<Box<dyn Write>> {
        Ok(match args.format {
            ArchiveFormat::OciArchive => oci::save(&store, &images, out)?,
            ArchiveFormat::DockerArchive => docker::save(&store, &images, out)?,
        })
    };
    match &args.output {
        Some(path) => {
            // Written beside the target and renamed: an interrupted save leaves no half archive.
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp).with_context(|| format!("create {}", tmp.display()))?;
            let mut out = write(Box::new(std::io::BufWriter::new(file)))?;
            out.flush()?;
            drop(out);
            std::fs::rename(&tmp, path).with_context(|| format!("rename to {}", path.display()))?;
        }
        None if std::io::stdout().is_terminal() => anyhow::bail!("refusing to write an archive to a terminal; use -o FILE or redirect"),
        None => {
            write(Box::new(std::io::BufWriter::new(std::io::stdout().lock())))?.flush()?;
        }
    }
    Ok(0)
}
