//! Docker/OCI seccomp JSON is hostile input: import must error or yield a policy that loads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = serde_json::from_slice::<palisade::seccomp::json::Profile>(data) else { return };
    let Ok(imported) = palisade::seccomp::import::import(&profile, "fuzz", &[]) else { return };
    if let Err(d) = palisade::policy::load_str("fuzz.toml", &imported.toml) {
        panic!("import produced an invalid policy:\n{d}\n{}", imported.toml);
    }
});
