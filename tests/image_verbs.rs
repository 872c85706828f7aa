//! `load`, `save`, `import`, `export`, `history`, `inspect`, `tag` — checked against skopeo
//! and umoci on the same images (no registry needed: archives are made by skopeo).

mod image_support;

use image_support::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn skopeo(args: &[&str]) {
    let o = Command::new("skopeo").args(args).output().unwrap();
    assert!(o.status.success(), "skopeo {args:?}: {}", text(&o));
}

fn ok(args: &[&str]) -> String {
    let o = palisade(args);
    assert!(o.status.success(), "palisade {args:?}: {}", text(&o));
    stdout(&o)
}

/// Paths in a tarball, normalized (`./a/` → `a`).
fn tar_paths(path: &Path) -> BTreeSet<String> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().trim_start_matches("./").trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty() && p != ".")
        .collect()
}

/// Paths below a directory.
fn dir_paths(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, rel: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let r = rel.join(e.file_name());
            out.insert(r.to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(root, &r, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, Path::new(""), &mut out);
    out
}

#[test]
fn archives_round_trip_and_interoperate_with_skopeo_and_umoci() {
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name).display().to_string();
    let layout = layout().display().to_string();
    skopeo(&["copy", "--quiet", &format!("oci:{layout}:img-a"), &format!("oci-archive:{}", w("a-oci.tar"))]);
    skopeo(&["copy", "--quiet", &format!("oci:{layout}:img-b"), &format!("docker-archive:{}:example.com/team/b:v1", w("b-docker.tar"))]);
    let root = root();
    let r = root_arg(&root);

    // skopeo's OCI archive names no repository: loaded untagged, then tagged by id.
    let out = ok(&["load", "--root", &r, "-i", &w("a-oci.tar")]);
    let id = out.trim().strip_prefix("Loaded image ID: ").unwrap_or_else(|| panic!("{out}")).to_string();
    assert_eq!(id, manifest_of("img-a")["config"]["digest"].as_str().unwrap());
    ok(&["tag", "--root", &r, &id[7..19], "local/a:1"]);
    let out = ok(&["load", "--root", &r, "-i", &w("b-docker.tar")]);
    assert_eq!(out.trim(), "Loaded image: example.com/team/b:v1");
    assert_eq!(std::fs::read_dir(root.path().join("layers/sha256")).unwrap().count(), 3, "the shared base layer is unpacked once");

    // history and inspect read the config.
    let hist: serde_json::Value = serde_json::from_str(&ok(&["history", "--root", &r, "--format", "json", "local/a:1"])).unwrap();
    assert_eq!(hist[0]["created_by"], "palisade test config");
    assert_eq!(hist.as_array().unwrap().iter().filter(|s| s["layer"].is_string()).count(), 2);
    assert_eq!(
        ok(&["inspect", "--root", &r, "-f", "{{.Config.WorkingDir}} {{.Config.Cmd}}", "local/a:1"]).trim(),
        r#"/data ["/bin/cat","/hello"]"#
    );

    // save → skopeo and umoci read it; load into another store gives the same image.
    ok(&["save", "--root", &r, "-o", &w("saved-oci.tar"), "local/a:1"]);
    ok(&["save", "--root", &r, "--format", "docker-archive", "-o", &w("saved-docker.tar"), "example.com/team/b:v1"]);
    skopeo(&["copy", "--quiet", &format!("oci-archive:{}", w("saved-oci.tar")), &format!("oci:{}:a", w("relayout"))]);
    skopeo(&["inspect", &format!("docker-archive:{}", w("saved-docker.tar"))]);
    let bundle = w("bundle");
    let o = Command::new("umoci").args(["unpack", "--image", &format!("{}:a", w("relayout")), &bundle]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(Path::new(&bundle).join("rootfs/hello")).unwrap(), "hello-a\n");
    let root2 = tempfile::tempdir().unwrap();
    let r2 = root2.path().display().to_string();
    assert_eq!(ok(&["load", "--root", &r2, "-i", &w("saved-oci.tar")]).trim(), "Loaded image: docker.io/local/a:1");
    assert_eq!(ok(&["load", "--root", &r2, "-i", &w("saved-docker.tar")]).trim(), "Loaded image: example.com/team/b:v1");
    assert_eq!(ok(&["inspect", "--root", &r2, "-f", "{{.Id}}", "local/a:1"]).trim(), id);

    // export flattens exactly as umoci does (whiteout and opaque directory applied).
    ok(&["export", "--root", &r, "-o", &w("flat.tar"), "local/a:1"]);
    let ours = tar_paths(Path::new(&w("flat.tar")));
    let theirs = dir_paths(&Path::new(&bundle).join("rootfs"));
    assert_eq!(ours, theirs);
    assert!(
        ours.contains("data/sub/new") && !ours.contains("data/gone") && !ours.contains("data/sub/old") && ours.contains("data/keep"),
        "{ours:?}"
    );

    // import makes a one-layer image of the same tree.
    let imported = ok(&["import", "--root", &r, "-m", "flattened", &w("flat.tar"), "flat:1"]);
    assert!(imported.trim().starts_with("sha256:"));
    let hist: serde_json::Value = serde_json::from_str(&ok(&["history", "--root", &r, "--format", "json", "flat:1"])).unwrap();
    assert_eq!((hist.as_array().unwrap().len(), hist[0]["comment"].as_str()), (1, Some("flattened")));
    ok(&["export", "--root", &r, "-o", &w("flat2.tar"), "flat:1"]);
    assert_eq!(tar_paths(Path::new(&w("flat2.tar"))), theirs);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&ok(&["images", "--root", &r, "--format", "json"])).unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}"); // local/a:1 (tagged by id: no untagged row), team/b, flat
}
