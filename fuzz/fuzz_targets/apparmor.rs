//! Fuzzes the AppArmor parser and the model built on it: no input may panic, hang or exhaust
//! the stack, whether it parses or not (`cargo +nightly fuzz run apparmor`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade::apparmor::ast::FilePerms;
use palisade::apparmor::{load_text, Missing, Model, SearchPath};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // No include is read from disk: the fuzzer exercises the parser, not the filesystem.
    let search = SearchPath { dirs: Vec::new(), base: "/nonexistent".into() };
    let Ok(loaded) = load_text("fuzz", None, text, &search, Missing::Record) else { return };
    let model = Model::new(&loaded);
    let write = FilePerms { write: true, ..FilePerms::default() };
    for p in &model.profiles {
        let _ = p.capabilities();
        let _ = p.network_allows("inet", "stream");
        let _ = p.file_allows(&model, "/proc/sys/kernel/core_pattern", &write);
        let _ = p.mount_rule();
        let _ = p.unconfined_transitions();
        let _ = palisade::apparmor::import::import(&model, p, "fuzz");
    }
});
