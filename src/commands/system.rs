//! `palisade system check`.

use crate::cli::image::SystemCommand;
use crate::cli::Format;
use crate::image::store::check;
use crate::image::Store;

pub fn run(cmd: SystemCommand) -> anyhow::Result<i32> {
    match cmd {
        SystemCommand::Check { store, verify, format } => {
            let store = Store::open(&store.path())?;
            let report = check::check(&store, verify)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Text => {
                    if report.staging_removed > 0 {
                        println!("removed {} partial download(s) or unpack(s)", report.staging_removed);
                    }
                    for c in &report.containers_removed {
                        println!("removed container directory {c}: its run had ended without cleaning up");
                    }
                    for i in &report.images_removed {
                        println!("removed image {i}: its content was missing or corrupt (pull it again)");
                    }
                    for t in &report.tags_removed {
                        println!("removed tag {t}: it named no image");
                    }
                    if report.refcounts_fixed {
                        println!("recomputed reference counts");
                    }
                    for d in &report.corrupt_blobs {
                        println!("removed corrupt blob {d}");
                    }
                    for d in &report.orphan_blobs_removed {
                        println!("removed unreferenced blob {d}");
                    }
                    for d in &report.orphan_layers_removed {
                        println!("removed unreferenced layer {d}");
                    }
                    println!(
                        "store {}: {} image(s), {}",
                        store.root().display(),
                        report.images,
                        if report.is_clean() { "consistent" } else { "repaired" }
                    );
                }
            }
            Ok(0)
        }
    }
}
