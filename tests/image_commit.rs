//! `palisade commit`: a kept container's (`run --name`) upper dir becomes a new layer, with
//! overlayfs whiteouts and opaque directories turned into `.wh.` entries; the committed image
//! runs, shows its history, and is saved in a form skopeo reads.

mod image_support;

use image_support::*;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

fn ok(args: &[&str]) -> String {
    let o = palisade(args);
    assert!(o.status.success(), "palisade {args:?}: {}", text(&o));
    stdout(&o)
}

#[test]
fn commits_a_containers_changes_as_a_layer_with_whiteouts() {
    // Fail, never skip: CI runs as root, and a silent pass would hide the whole feature.
    assert!(nix::unistd::geteuid().is_root(), "overlayfs roots need root: run this test as root (CI does)");
    let reg = Registry::start("");
    push("img-a", &format!("{}/bb:latest", reg.host()), &[]);
    let root = root();
    let r = root_arg(&root);
    let image = format!("{}/bb", reg.host());
    ok(&["pull", "-q", "--root", &r, &image]);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--root", &r, "--policy", "docker-default", "--net", "none"];
        args.extend_from_slice(extra);
        palisade(&args)
    };

    // A kept container: a new file (and a hardlink to it), a modified one, a base-layer file
    // deleted (a whiteout), a directory's contents replaced (an opaque directory).
    let script = "echo created > /data/created; busybox ln /data/created /data/linked; echo changed > /hello; \
                  busybox rm /data/keep; busybox rm -r /data/sub; busybox mkdir /data/sub; echo fresh > /data/sub/fresh";
    let o = run(&["--name", "c1", &image, "/bin/sh", "-c", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stderr(&o).contains("(c1) is kept"), "{}", text(&o));
    let kept: Vec<_> = std::fs::read_dir(root.path().join("containers")).unwrap().flatten().collect();
    assert_eq!(kept.len(), 1);
    let id = kept[0].file_name().to_string_lossy().into_owned();
    assert!(kept[0].path().join("upper/data/created").is_file());
    // The name is taken; `system check` leaves a kept container alone.
    let dup = run(&["--name", "c1", &image, "/bin/true"]);
    assert!(stderr(&dup).contains("already in use"), "{}", text(&dup));
    ok(&["system", "check", "--root", &r]);
    assert!(root.path().join("containers").join(&id).join("upper").is_dir());

    // Commit by name, tagged, with a message and an author.
    let config = ok(&["commit", "--root", &r, "-m", "my change", "--author", "Tester <t@example.com>", "c1", "local/committed:1"]);
    assert!(config.trim().starts_with("sha256:"), "{config}");

    // The committed image shows the container's view.
    let o = run(&[
        "local/committed:1",
        "/bin/sh",
        "-c",
        "cat /hello /data/created /data/linked; test -e /data/keep || echo keep-gone; ls /data/sub",
    ]);
    assert_eq!(stdout(&o), "changed\ncreated\ncreated\nkeep-gone\nfresh\n", "{}", text(&o));

    // history: the new layer on top, with the message.
    let hist: serde_json::Value = serde_json::from_str(&ok(&["history", "--root", &r, "--format", "json", "local/committed:1"])).unwrap();
    assert_eq!(hist[0]["created_by"], "palisade commit", "{hist}");
    assert_eq!(hist[0]["comment"], "my change", "{hist}");
    assert!(hist[0]["layer"].is_string(), "{hist}");
    assert_eq!(hist.as_array().unwrap().iter().filter(|s| s["layer"].is_string()).count(), 3);

    // The layer blob, read back: overlayfs's whiteouts became the image-spec's.
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(root.path().join("images.json")).unwrap()).unwrap();
    let manifest =
        meta["tags"].as_object().unwrap().iter().find(|(t, _)| t.contains("local/committed:1")).unwrap().1.as_str().unwrap().to_string();
    let record = &meta["images"][&manifest];
    let layers = record["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let top: palisade::image::Digest = layers[2]["blob"].as_str().unwrap().parse().unwrap();
    let blob = std::fs::File::open(root.path().join("blobs/sha256").join(top.hex())).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    let mut entries = BTreeMap::new();
    for e in tar.entries().unwrap() {
        let e = e.unwrap();
        let link = e.link_name().unwrap().map(|l| l.to_string_lossy().into_owned());
        entries.insert(e.path().unwrap().to_string_lossy().into_owned(), (e.header().entry_type(), link));
    }
    assert!(entries.contains_key("data/.wh.keep"), "{entries:?}");
    assert!(entries.contains_key("data/sub/.wh..wh..opq"), "{entries:?}");
    assert!(entries.contains_key("data/sub/fresh"), "{entries:?}");
    assert_eq!(entries["data/created"].0, tar::EntryType::Regular);
    assert_eq!(entries["data/linked"], (tar::EntryType::Link, Some("data/created".to_string())), "{entries:?}");
    assert!(!entries.keys().any(|p| p.starts_with("work") || p.contains(".wh.sub")), "{entries:?}");

    // save → skopeo reads the committed image.
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("committed.tar").display().to_string();
    ok(&["save", "--root", &r, "-o", &archive, "local/committed:1"]);
    let o = Command::new("skopeo").args(["inspect", &format!("oci-archive:{archive}")]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let inspected: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(inspected["Layers"].as_array().unwrap().len(), 3, "{inspected}");

    // A running container is refused.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "run",
            "--root",
            &r,
            "--policy",
            "docker-default",
            "--net",
            "none",
            "--name",
            "busy",
            &image,
            "/bin/sh",
            "-c",
            "echo started; read line",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    let refused = palisade(&["commit", "--root", &r, "busy"]);
    writeln!(child.stdin.take().unwrap(), "bye").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(stderr(&refused).contains("is running"), "{}", text(&refused));
    // After the run it commits (an id prefix works too), untagged.
    let busy = std::fs::read_dir(root.path().join("containers"))
        .unwrap()
        .flatten()
        .find(|e| std::fs::read_to_string(e.path().join("name")).is_ok_and(|n| n == "busy"))
        .unwrap();
    ok(&["commit", "--root", &r, &busy.file_name().to_string_lossy()[..6]]);
    let unknown = palisade(&["commit", "--root", &r, "nosuch"]);
    assert!(stderr(&unknown).contains("no such kept container"), "{}", text(&unknown));

    // A kept container holds its image until `rm`.
    let refused = palisade(&["rmi", "--root", &r, &image]);
    assert!(stderr(&refused).contains("used by container"), "{}", text(&refused));
    assert_eq!(ok(&["rm", "--root", &r, "c1", "busy"]).lines().count(), 2);
    assert_eq!(std::fs::read_dir(root.path().join("containers")).unwrap().count(), 0);
    ok(&["rmi", "--root", &r, &image]);
    let o = run(&["local/committed:1", "/bin/cat", "/data/sub/fresh"]);
    assert_eq!(stdout(&o), "fresh\n", "{}", text(&o));
}
