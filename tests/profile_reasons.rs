//! Every entry of a built-in profile says why it is there: capabilities, syscalls (allow and
//! deny), rules, paths, volume patterns and egress rules all carry a reason.

use palisade::policy::model::Item;
use palisade::policy::source::Origin;
use palisade::policy::{load, PolicySource};

fn from_builtin(origin: &Origin) -> bool {
    matches!(origin, Origin::At(span) if span.file.name.starts_with("builtin:"))
}

#[test]
fn every_builtin_entry_has_a_reason() {
    let mut missing = Vec::new();
    for (name, _) in palisade::policy::load::BUILTIN_PROFILES {
        let p = load(&PolicySource::Builtin(name)).unwrap();
        let mut check_items = |what: &str, items: &mut dyn Iterator<Item = &Item>| {
            for i in items.filter(|i| from_builtin(&i.origin) && i.reason.as_deref().is_none_or(str::is_empty)) {
                missing.push(format!("{name}: {what} `{}` at {}", i.name, i.origin));
            }
        };
        check_items("capability", &mut p.capabilities.kept.values().chain(p.capabilities.dropped.values()));
        let fs = &p.filesystem;
        check_items(
            "path",
            &mut fs
                .masked_paths
                .iter()
                .chain(&fs.readonly_paths)
                .chain(&fs.landlock.read)
                .chain(&fs.landlock.write)
                .chain(&fs.landlock.execute),
        );
        check_items(
            "volume pattern",
            &mut p.volumes.deny_sources.iter().chain(p.volumes.allow_sources.iter().flatten()).chain(&p.volumes.force_options),
        );
        for s in p.seccomp.allow.iter().chain(&p.seccomp.deny) {
            if from_builtin(&s.origin) && s.reason.as_deref().is_none_or(str::is_empty) {
                missing.push(format!("{name}: syscall `{}` at {}", s.name, s.origin));
            }
        }
        for r in &p.seccomp.rules {
            if from_builtin(&r.origin) && r.reason.as_deref().is_none_or(str::is_empty) {
                missing.push(format!("{name}: rule for {:?} at {}", r.syscalls, r.origin));
            }
        }
        for e in p.network.egress.iter().flat_map(|e| &e.value) {
            if from_builtin(&e.origin) && e.reason.as_deref().is_none_or(str::is_empty) {
                missing.push(format!("{name}: egress to {} at {}", e.to, e.origin));
            }
        }
    }
    assert!(missing.is_empty(), "entries without a reason:\n{}", missing.join("\n"));
}
