//! `palisade rmi IMAGE...`.

use crate::cli::image::RmiArgs;
use crate::image::{remove, Store};

pub fn run(args: RmiArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let mut code = 0;
    for name in &args.images {
        match remove::rmi(&store, name, args.force) {
            Ok(r) => {
                for t in &r.untagged {
                    println!("Untagged: {t}");
                }
                if let Some(d) = &r.deleted {
                    println!("Deleted: {d} ({} blobs, {} layers freed)", r.blobs_removed, r.layers_removed);
                }
            }
            Err(e) => {
                eprintln!("palisade: rmi: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}
