//! `palisade oci list`: the containers of a state directory, as runc lists them.

use crate::cli::oci::PsFormat;
use crate::oci::state::{Status, Store};

/// Prints every container: its id only (`-q`), a table, or runc's JSON array.
pub fn list(store: &Store, quiet: bool, format: PsFormat) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for id in store.ids()? {
        // A container deleted meanwhile is simply not listed.
        let Ok(record) = store.load(&id) else { continue };
        let status = store.status(&record);
        let pid = match status {
            Status::Created | Status::Running | Status::Paused => record.init.map_or(0, |i| i.pid),
            _ => 0,
        };
        rows.push((record, status, pid));
    }
    if quiet {
        for (r, _, _) in &rows {
            println!("{}", r.id);
        }
        return Ok(());
    }
    match format {
        PsFormat::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|(r, status, pid)| {
                    serde_json::json!({
                        "ociVersion": crate::oci::state::OCI_VERSION,
                        "id": r.id,
                        "pid": pid,
                        "status": status.name(),
                        "bundle": r.bundle,
                        "rootfs": r.bundle.join("rootfs"),
                        "created": r.created,
                        "annotations": r.annotations,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string(&list)?);
        }
        PsFormat::Table => {
            println!("ID\tPID\tSTATUS\tBUNDLE\tCREATED");
            for (r, status, pid) in &rows {
                println!("{}\t{}\t{}\t{}\t{}", r.id, pid, status.name(), r.bundle.display(), r.created);
            }
        }
    }
    Ok(())
}
