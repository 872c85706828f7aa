//! `palisade policy import` of AppArmor profiles: the result is a valid policy that says what
//! the profile grants (capabilities, network, Landlock paths), keeps the profile in force,
//! and notes what it could not carry over; every Debian profile imports to a valid policy.

use palisade::apparmor::{load_file, load_text, Missing, Model, SearchPath};
use std::path::Path;
use std::process::Command;

const PROFILE: &str = "\
profile web /usr/sbin/web flags=(attach_disconnected) {
  capability net_bind_service,
  capability setuid setgid,
  deny capability sys_admin,
  network inet stream,
  network inet6 stream,
  /usr/sbin/web mr,
  /etc/web/** r,
  /var/log/web/ rw,
  /var/log/web/*.log w,
  /usr/lib/**.so* mr,
  owner /tmp/web-* rw,
  deny /etc/web/secret r,
  dbus send bus=system,
  set rlimit nofile <= 1024,
}
";

#[test]
fn a_profile_becomes_a_policy() {
    let search = SearchPath { dirs: vec![], base: "/nonexistent".into() };
    let loaded = load_text("web", None, PROFILE, &search, Missing::Error).unwrap();
    let model = Model::new(&loaded);
    let imported = palisade::apparmor::import::import(&model, &model.profiles[0], "web");
    let policy = palisade::policy::load_str("web.toml", &imported.toml).unwrap_or_else(|d| panic!("{d}\n{}", imported.toml));
    let caps: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name()).collect();
    assert_eq!(caps, ["SETGID", "SETUID", "NET_BIND_SERVICE"]);
    assert_eq!(policy.network.mode.value.name(), "bridge");
    let names = |items: &[palisade::policy::model::Item]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    let ll = &policy.filesystem.landlock;
    assert!(names(&ll.read).contains(&"/etc/web".to_string()), "{}", imported.toml);
    assert!(names(&ll.write).contains(&"/var/log/web".to_string()), "{}", imported.toml);
    assert!(names(&ll.execute).contains(&"/usr/sbin/web".to_string()), "{}", imported.toml);
    assert!(names(&policy.filesystem.masked_paths).contains(&"/etc/web/secret".to_string()));
    assert_eq!(policy.process.rlimits["nofile"].value.soft, 1024);
    assert!(imported.toml.contains("profile = \"web\""));
    let notes = imported.notes.join("\n");
    assert!(notes.contains("owner") && notes.contains("widened") && notes.contains("1 dbus"), "{notes}");
}

#[test]
fn every_debian_profile_imports_to_a_valid_policy() {
    let dirs = [Path::new("/etc/apparmor.d"), Path::new("/usr/share/apparmor/extra-profiles")];
    let mut n = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.filter_map(Result::ok).filter(|e| e.path().is_file()) {
            if e.file_name() == "README" {
                continue;
            }
            let loaded = load_file(&e.path(), &SearchPath::default(), Missing::Error).unwrap();
            let model = Model::new(&loaded);
            for p in &model.profiles {
                let imported = palisade::apparmor::import::import(&model, p, "imported");
                palisade::policy::load_str("imported.toml", &imported.toml)
                    .unwrap_or_else(|d| panic!("{}: {d}\n{}", e.path().display(), imported.toml));
                n += 1;
            }
        }
    }
    println!("{n} Debian AppArmor profiles imported to valid policies");
}

#[test]
fn the_cli_imports_apparmor_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.profile");
    std::fs::write(&file, PROFILE).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade")).args(["policy", "import"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let toml = String::from_utf8_lossy(&out.stdout);
    assert!(toml.contains("keep = [\"NET_BIND_SERVICE\", \"SETGID\", \"SETUID\"]"), "{toml}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("note: "));
    std::fs::write(&file, "profile web {\n  /etc/x rq,\n}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade")).args(["policy", "import"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("web.profile:2:10"), "{}", String::from_utf8_lossy(&out.stderr));
}
