//! `palisade load [-i FILE]`.

use crate::cli::image::LoadArgs;
use crate::image::archive::load;
use crate::image::{unpack, Store};
use anyhow::Context;

pub fn run(args: LoadArgs) -> anyhow::Result<i32> {
    let store = Store::open(&args.store.path())?;
    let opts = unpack::Options::default();
    let loaded = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
            load::load(&store, std::io::BufReader::with_capacity(1 << 20, file), &path.display().to_string(), &opts)?
        }
        None => load::load(&store, std::io::stdin().lock(), "standard input", &opts)?,
    };
    for l in &loaded {
        if l.tags.is_empty() {
            println!("Loaded image ID: {}", l.config);
        }
        for t in &l.tags {
            println!("Loaded image: {t}");
        }
    }
    if loaded.is_empty() && !args.quiet {
        eprintln!("palisade: load: the archive holds no image");
    }
    Ok(0)
}
