//! An OCI bundle's config.json is hostile input (a pod spec passes through containerd into
//! it): translation must error or yield a policy that loads, and the cgroup settings of
//! `linux.resources` must parse or be refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(t) = palisade::oci::config::translate(&config, std::path::Path::new("/bundle"), "fuzz") else { return };
    let Ok(text) = t.sections.render("fuzz") else { return };
    if let Err(d) = palisade::policy::load_str("oci-fuzz", &text) {
        panic!("translation produced an invalid policy:\n{d}\n{text}");
    }
    if let Some(resources) = &t.spec.bundle.resources {
        let _ = palisade::runtime::cgroups::resources::Resources::parse(resources);
    }
});
