//! The AppArmor profiles palisade generates (compile/apparmor.rs) re-parse to the meaning of
//! their policy: for every built-in profile and example policy, the parsed profile grants
//! exactly the kept capabilities, the socket families and types the policy's network mode and
//! seccomp filter allow, and the file accesses of its filesystem settings.

use palisade::apparmor::ast::FilePerms;
use palisade::apparmor::{load_text, Missing, Model, ProfileModel, SearchPath};
use palisade::compile::apparmor::{emit, profile_name};
use palisade::compile::Plan;
use palisade::policy::load::BUILTIN_PROFILES;
use palisade::policy::model::{NetworkMode, Policy};
use palisade::policy::{load, PolicySource};
use palisade::seccomp::action::Action;
use palisade::seccomp::filter::Filter;
use std::path::Path;

const FAMILIES: &[(&str, u64)] =
    &[("unix", 1), ("inet", 2), ("inet6", 10), ("netlink", 16), ("packet", 17), ("alg", 38), ("vsock", 40), ("bluetooth", 31), ("can", 29)];
const TYPES: &[(&str, u64)] = &[("stream", 1), ("dgram", 2), ("raw", 3), ("seqpacket", 5)];

fn socket_allowed(filter: &Filter, af: u64, ty: u64) -> bool {
    filter.arches.iter().any(|a| {
        let Some(nr) = a.arch.syscall_nr("socket") else { return false };
        let action = a.syscalls.get(&nr).map_or(filter.default.action, |d| d.decide(&[af, ty, 0, 0, 0, 0]).action);
        matches!(action, Action::Allow | Action::Log | Action::Notify | Action::Trace(_))
    })
}

fn perms(s: &str) -> FilePerms {
    palisade::apparmor::ast::parse_file_perms(s).unwrap()
}

/// The profile with only the rules written in the generated file (abstractions/base, which
/// Docker's and palisade's profiles include, is not the policy's to decide).
fn own_rules(model: &Model, name: &str, file: &str) -> ProfileModel {
    let mut p = model.profile(name).unwrap_or_else(|| panic!("no profile {name}")).clone();
    p.rules.retain(|r| r.span.file.name == file);
    p
}

fn check(policy: Policy) {
    let plan = Plan::new(policy).expect("compiles");
    let text = emit(&plan, &mut Vec::new());
    let file = format!("<generated {}>", plan.policy.name);
    let loaded = load_text(&file, None, &text, &SearchPath::default(), Missing::Error).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let model = Model::new(&loaded);
    let name = profile_name(&plan.policy);
    let p = own_rules(&model, &name, &file);
    let policy = &plan.policy;
    let who = &policy.name;

    // Capabilities: exactly the kept set.
    let caps: Vec<String> = p.capabilities().keys().cloned().collect();
    let mut kept: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name().to_ascii_lowercase()).collect();
    kept.sort();
    assert_eq!(caps, kept, "{who}: capabilities");

    // Network: the mode, NET_RAW, and the families seccomp refuses.
    let net_raw = policy.capabilities.kept.keys().any(|c| c.name() == "NET_RAW");
    for (family, af) in FAMILIES {
        let family_open = TYPES.iter().any(|(_, ty)| socket_allowed(&plan.filter, *af, *ty));
        for (ty_name, ty) in TYPES {
            let expected = match policy.network.mode.value {
                NetworkMode::None => {
                    *family == "unix"
                        || (["inet", "inet6"].contains(family)
                            && ["stream", "dgram"].contains(ty_name)
                            && socket_allowed(&plan.filter, *af, *ty))
                }
                NetworkMode::Bridge | NetworkMode::Host => family_open && (net_raw || (*ty_name != "raw" && *family != "packet")),
            };
            assert_eq!(p.network_allows(family, ty_name).is_some(), expected, "{who}: network {family} {ty_name}\n{text}");
        }
    }

    // Files.
    let fs = &policy.filesystem;
    let (r, w) = (perms("r"), perms("w"));
    for item in &fs.masked_paths {
        let inside = format!("{}/x", item.name);
        assert!(
            p.file_allows(&model, &item.name, &r).is_none() && p.file_allows(&model, &inside, &r).is_none(),
            "{who}: masked {} is readable",
            item.name
        );
    }
    for item in &fs.readonly_paths {
        assert!(p.file_allows(&model, &item.name, &w).is_none(), "{who}: read-only {} is writable", item.name);
    }
    for target in ["/proc/sysrq-trigger", "/proc/sys/kernel/core_pattern", "/sys/kernel/uevent_helper"] {
        assert!(p.file_allows(&model, target, &w).is_none(), "{who}: {target} is writable");
    }
    let ll = &fs.landlock;
    if ll.enabled() {
        for (items, want) in [(&ll.read, perms("r")), (&ll.write, perms("w")), (&ll.execute, perms("m"))] {
            for item in items {
                let below = format!("{}/palisade-probe", item.name.trim_end_matches('/'));
                let masked = fs.masked_paths.iter().chain(&fs.readonly_paths).any(|m| below.starts_with(&m.name));
                if !masked {
                    assert!(p.file_allows(&model, &below, &want).is_some(), "{who}: landlock {} not granted {want:?}", item.name);
                }
            }
        }
        assert!(p.file_allows(&model, "/palisade-nowhere/x", &r).is_none(), "{who}: a path outside the Landlock sets is readable");
    } else if fs.read_only_root.value {
        assert!(p.file_allows(&model, "/usr/bin/palisade-probe", &r).is_some(), "{who}: read-only root is not readable");
        assert!(p.file_allows(&model, "/usr/bin/palisade-probe", &w).is_none(), "{who}: read-only root is writable");
        for tmpfs in fs.tmpfs.keys() {
            assert!(p.file_allows(&model, &format!("{tmpfs}/x"), &w).is_some(), "{who}: tmpfs {tmpfs} is not writable");
        }
    } else {
        assert!(p.file_allows(&model, "/srv/palisade-probe", &w).is_some(), "{who}: `file,` does not grant write");
    }
}

#[test]
fn generated_profiles_reparse_to_their_policy() {
    if !Path::new("/etc/apparmor.d/tunables/global").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have the apparmor package");
        eprintln!("skipped: no /etc/apparmor.d");
        return;
    }
    let mut n = 0;
    for (name, _) in BUILTIN_PROFILES {
        check(load(&PolicySource::Builtin(name)).unwrap());
        n += 1;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        if e.path().extension().is_some_and(|x| x == "toml") {
            check(load(&PolicySource::File(e.path())).unwrap_or_else(|d| panic!("{d}")));
            n += 1;
        }
    }
    // Variants that exercise each branch of the emitter.
    for extra in [
        "[policy]\nname = \"ro\"\nextends = \"docker-default\"\n[filesystem]\nread_only_root = true\n[filesystem.tmpfs]\n\"/run\" = \"size=1m\"\n",
        "[policy]\nname = \"ll\"\nextends = \"docker-default\"\n[filesystem.landlock]\nread = [\"/usr\", \"/etc\"]\nwrite = [\"/tmp\"]\nexecute = [\"/usr/bin\"]\n",
        "[policy]\nname = \"nonet\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n[capabilities]\nkeep = [\"CHOWN\"]\n",
        "[policy]\nname = \"admin\"\nextends = \"docker-default\"\n[capabilities]\nadd = [\"SYS_ADMIN\", \"NET_ADMIN\"]\n",
    ] {
        check(palisade::policy::load_str("variant.toml", extra).unwrap());
        n += 1;
    }
    println!("{n} generated AppArmor profiles re-parsed to their policy's meaning");
}
