//! `palisade history IMAGE`.

use crate::cli::image::HistoryArgs;
use crate::cli::Format;
use crate::image::progress::human;
use crate::image::{inspect, Store};

pub fn run(args: HistoryArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let steps = inspect::history(&store, &args.image)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&steps)?),
        Format::Text => {
            println!("{:<14} {:<22} {:<50} {:>10}  COMMENT", "LAYER", "CREATED", "CREATED BY", "SIZE");
            for s in &steps {
                let layer = s.layer.as_ref().map_or("<missing>".to_string(), |d| d.short().to_string());
                let created = s.created.as_deref().map(|c| c.chars().take(19).collect::<String>()).unwrap_or_default();
                let by = if args.no_trunc || s.created_by.chars().count() <= 50 {
                    s.created_by.clone()
                } else {
                    format!("{}…", s.created_by.chars().take(49).collect::<String>())
                };
                println!("{layer:<14} {created:<22} {by:<50} {:>10}  {}", human(s.size), s.comment);
            }
        }
    }
    Ok(0)
}
