//! `palisade images`: the store's images as a table or JSON.

use crate::cli::image::ImagesArgs;
use crate::cli::Format;
use crate::image::progress::human;
use crate::image::{inspect, Store};

pub fn run(args: ImagesArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let rows = inspect::list(&store.load_meta()?);
    let id = |d: &crate::image::Digest| if args.no_trunc { d.to_string() } else { d.short().to_string() };
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                println!("{}", id(&r.id));
            }
        }
        return Ok(0);
    }
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Text => {
            println!("{:<40} {:<16} {:<14} {:<22} {:>10}", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
            for r in &rows {
                let created = r.created.as_deref().map(|c| c.chars().take(19).collect::<String>()).unwrap_or_default();
                println!("{:<40} {:<16} {:<14} {:<22} {:>10}", r.repository, r.tag, id(&r.id), created, human(r.size));
            }
        }
    }
    Ok(0)
}
