//! `palisade run IMAGE [CMD...]`: an image pulled from a real registry, run over an overlayfs
//! root with the image config under the policy; the layers are never written; `rmi` refuses
//! an image while a container uses it.

mod image_support;

use image_support::*;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn runs_an_image_over_overlayfs_with_its_config() {
    // Fail, never skip: CI runs as root, and a silent pass would hide the whole feature.
    assert!(nix::unistd::geteuid().is_root(), "overlayfs roots need root: run this test as root (CI does)");
    let reg = Registry::start("");
    push("img-a", &format!("{}/bb:latest", reg.host()), &[]);
    let root = root();
    let r = root_arg(&root);
    let image = format!("{}/bb", reg.host());
    let pulled = palisade(&["pull", "-q", "--root", &r, &image]);
    assert!(pulled.status.success(), "{}", text(&pulled));
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--root", &r, "--policy", "docker-default", "--net", "none"];
        args.extend_from_slice(extra);
        palisade(&args)
    };

    // The image's Cmd, Env and WorkingDir.
    let o = run(&[&image]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "hello-a\n"), "{}", text(&o));
    let o = run(&[&image, "/bin/sh", "-c", "pwd; echo $GREETING; cat keep; ls /data/sub; test -e /data/gone || echo gone-is-gone"]);
    assert_eq!(stdout(&o), "/data\nfrom-image\nbase\nnew\ngone-is-gone\n", "{}", text(&o));
    // -e and -w win; `IMAGE -- CMD` works too.
    let o = run(&["-e", "GREETING=cli", "-w", "/tmp", &image, "--", "/bin/sh", "-c", "pwd; echo $GREETING"]);
    assert_eq!(stdout(&o), "/tmp\ncli\n", "{}", text(&o));
    // Writes go to the container's upper dir: the shared layers are untouched, and nothing
    // is left behind after the run.
    let o = run(&[&image, "/bin/sh", "-c", "echo changed > /hello; rm /data/keep; cat /hello"]);
    assert_eq!(stdout(&o), "changed\n", "{}", text(&o));
    let o = run(&[&image]);
    assert_eq!(stdout(&o), "hello-a\n", "{}", text(&o));
    let layers: Vec<_> = std::fs::read_dir(root.path().join("layers/sha256")).unwrap().flatten().collect();
    assert!(layers.iter().any(|l| std::fs::read_to_string(l.path().join("hello")).is_ok_and(|s| s == "hello-a\n")));
    assert!(layers.iter().any(|l| l.path().join("data/keep").is_file()));
    assert_eq!(std::fs::read_dir(root.path().join("containers")).unwrap().count(), 0);
    // The overlay was mounted in palisade's own mount namespace: not on the host.
    assert!(!std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&r));

    // A running container keeps its image from rmi.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "run",
            "--root",
            &r,
            "--policy",
            "docker-default",
            "--net",
            "none",
            &image,
            "/bin/sh",
            "-c",
            "echo started; read line; echo $line",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "started\n");
    let refused = palisade(&["rmi", "--root", &r, &image]);
    assert!(stderr(&refused).contains("used by container"), "{}", text(&refused));
    writeln!(child.stdin.take().unwrap(), "bye").unwrap();
    assert!(child.wait().unwrap().success());
    let removed = palisade(&["rmi", "--root", &r, &image]);
    assert!(removed.status.success(), "{}", text(&removed));

    // A run killed before it cleaned up leaves its directory; its lock is free, so `system
    // check` removes it (and the image it named is removable again).
    let dead = root.path().join("containers/dead");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("lock"), "").unwrap();
    std::fs::write(dead.join("image"), "sha256:0").unwrap();
    let check = palisade(&["system", "check", "--root", &r, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["containers_removed"], serde_json::json!(["dead"]), "{}", text(&check));

    // An image not in the store is pulled first (tests/trust.rs checks the trust gate on
    // that pull); one the registry does not have either is an error naming it.
    let missing = run(&["--insecure-policy", &format!("{}/nothing:here", reg.host())]);
    assert_eq!(missing.status.code(), Some(125));
    assert!(stderr(&missing).contains("nothing:here is not in the store: pulling"), "{}", text(&missing));
    assert!(stderr(&missing).contains(&format!("pull {}/nothing:here", reg.host())), "{}", text(&missing));
}
