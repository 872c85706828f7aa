//! Images against a real registry (Debian's docker-registry on loopback): pulls of OCI and
//! Docker schema 2 manifests and of an index by platform, a shared layer fetched once,
//! reference-counted removal, token authentication, a pull killed mid-layer and repaired.

mod image_support;

use image_support::*;
use std::path::Path;

fn pull(root: &tempfile::TempDir, reference: &str, extra: &[&str]) -> std::process::Output {
    let r = root_arg(root);
    let mut args = vec!["pull", "--root", &r];
    args.extend_from_slice(extra);
    args.push(reference);
    palisade(&args)
}

fn images_json(root: &tempfile::TempDir) -> Vec<serde_json::Value> {
    let out = palisade(&["images", "--root", &root_arg(root), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn dir_count(p: &Path) -> usize {
    std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_shared_layer_is_downloaded_and_stored_once() {
    let reg = Registry::start("");
    push("img-a", &format!("{}/busybox:latest", reg.host()), &[]);
    push("img-b", &format!("{}/other:latest", reg.host()), &[]);
    let base = manifest_of("img-a")["layers"][0].clone();
    let base_digest = base["digest"].as_str().unwrap();
    let base_size = base["size"].as_u64().unwrap();
    assert_eq!(base_digest, manifest_of("img-b")["layers"][0]["digest"].as_str().unwrap(), "the fixture images share their base layer");

    let root = root();
    let a = pull(&root, &format!("{}/busybox:latest", reg.host()), &[]);
    assert!(a.status.success(), "{}", text(&a));
    assert!(stderr(&a).contains(&format!("blob {base_digest}: fetched {base_size} bytes")), "{}", text(&a));

    let b = pull(&root, &format!("{}/other", reg.host()), &[]);
    assert!(b.status.success(), "{}", text(&b));
    assert!(stderr(&b).contains(&format!("blob {base_digest}: already present (0 bytes fetched)")), "{}", text(&b));
    assert!(stderr(&b).contains("1 of 2 layers already present"), "{}", text(&b));
    // The client's byte count: the second pull fetched less than the shared layer's size.
    let fetched: u64 = stderr(&b)
        .lines()
        .find_map(|l| l.split(" bytes); ").next().and_then(|s| s.rsplit('(').next()).and_then(|n| n.parse().ok()))
        .expect("summary line");
    assert!(fetched < base_size, "second pull fetched {fetched} bytes, the shared layer is {base_size}");

    // Stored once: 3 layers (base, a's top, b's top), each blob once.
    assert_eq!(dir_count(&root.path().join("layers/sha256")), 3);
    let listed = images_json(&root);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(root.path().join("images.json")).unwrap()).unwrap();
    assert_eq!(meta["blob_refs"][base_digest], 2);
    // The unpacked layers are what an overlay shows: busybox, the whiteout and opaque dir.
    let base_layer = root.path().join("layers/sha256");
    let busybox_dirs: Vec<_> =
        std::fs::read_dir(&base_layer).unwrap().flatten().filter(|e| e.path().join("bin/busybox").is_file()).collect();
    assert_eq!(busybox_dirs.len(), 1);
    assert!(std::fs::symlink_metadata(busybox_dirs[0].path().join("bin/sh")).unwrap().file_type().is_symlink());
}

#[test]
fn docker_schema2_digests_and_platforms_from_an_index() {
    let reg = Registry::start("");
    push("img-a", &format!("{}/bb:v2s2", reg.host()), &["--format", "v2s2"]);
    push("multi", &format!("{}/multi:latest", reg.host()), &["--all"]);
    let root = root();

    let v2 = pull(&root, &format!("{}/bb:v2s2", reg.host()), &["-q"]);
    assert!(v2.status.success(), "{}", text(&v2));
    let digest = stdout(&v2).trim().rsplit('@').next().unwrap().to_string();
    let inspect = palisade(&["inspect", "--root", &root_arg(&root), &format!("{}/bb:v2s2", reg.host())]);
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v[0]["Manifest"]["MediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    assert_eq!(v[0]["Config"]["Env"][0], "GREETING=from-image");
    // By digest: same image, no new tag.
    let by_digest = pull(&root, &format!("{}/bb@{digest}", reg.host()), &["-q"]);
    assert!(by_digest.status.success(), "{}", text(&by_digest));
    // A wrong digest is refused by the registry or by the client, never stored.
    let wrong = pull(&root, &format!("{}/bb@sha256:{}", reg.host(), "0".repeat(64)), &["-q"]);
    assert!(!wrong.status.success());

    // An index: this machine's platform by default, --platform picks another.
    let amd = pull(&root, &format!("{}/multi", reg.host()), &["-q", "--platform", "linux/amd64"]);
    assert!(amd.status.success(), "{}", text(&amd));
    let cfg = |name: &str| {
        let o = palisade(&["inspect", "--root", &root_arg(&root), "-f", "{{.Id}}", name]);
        assert!(o.status.success(), "{}", text(&o));
        stdout(&o).trim().to_string()
    };
    assert_eq!(cfg(&format!("{}/multi", reg.host())), manifest_of("img-a")["config"]["digest"].as_str().unwrap());
    let arm = pull(&root, &format!("{}/multi", reg.host()), &["-q", "--platform", "linux/arm64"]);
    assert!(arm.status.success(), "{}", text(&arm));
    assert_eq!(cfg(&format!("{}/multi", reg.host())), manifest_of("img-b")["config"]["digest"].as_str().unwrap());
    let none = pull(&root, &format!("{}/multi", reg.host()), &["-q", "--platform", "linux/s390x"]);
    assert!(!none.status.success());
    assert!(stderr(&none).contains("no manifest for platform linux/s390x") && stderr(&none).contains("linux/arm64/v8"), "{}", text(&none));
    let schema_missing = pull(&root, &format!("{}/nothing:here", reg.host()), &["-q"]);
    assert!(stderr(&schema_missing).contains("not found"), "{}", text(&schema_missing));
}

#[test]
fn rmi_is_reference_counted_and_tags_untag_first() {
    let reg = Registry::start("");
    push("img-a", &format!("{}/a:latest", reg.host()), &[]);
    push("img-b", &format!("{}/b:latest", reg.host()), &[]);
    let root = root();
    let r = root_arg(&root);
    for name in ["a", "b"] {
        let o = pull(&root, &format!("{}/{name}", reg.host()), &["-q"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let tag = palisade(&["tag", "--root", &r, &format!("{}/a", reg.host()), "mine/a:v1"]);
    assert!(tag.status.success(), "{}", text(&tag));
    assert_eq!(images_json(&root).len(), 3);

    // Two tags: removing one only untags.
    let o = palisade(&["rmi", "--root", &r, "mine/a:v1"]);
    assert!(stdout(&o).contains("Untagged: docker.io/mine/a:v1") && !stdout(&o).contains("Deleted"), "{}", text(&o));
    // A container using an image keeps it (the hook: <root>/containers/<id>/image).
    let a_digest = images_json(&root).iter().find(|i| i["repository"].as_str().unwrap().ends_with("/a")).unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::create_dir_all(root.path().join("containers/c1")).unwrap();
    std::fs::write(root.path().join("containers/c1/image"), &a_digest).unwrap();
    let refused = palisade(&["rmi", "--root", &r, &format!("{}/a", reg.host())]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("used by container(s) c1"), "{}", text(&refused));
    std::fs::remove_dir_all(root.path().join("containers/c1")).unwrap();

    let o = palisade(&["rmi", "--root", &r, &format!("{}/a", reg.host())]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(dir_count(&root.path().join("layers/sha256")), 2, "the shared base layer stays for b");
    let o = palisade(&["rmi", "--root", &r, &format!("{}/b", reg.host())]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(dir_count(&root.path().join("layers/sha256")), 0);
    assert_eq!(dir_count(&root.path().join("blobs/sha256")), 0);
    assert!(images_json(&root).is_empty());
    let check = palisade(&["system", "check", "--root", &r, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["refcounts_fixed"], false, "{}", text(&check));
}

#[test]
fn token_authentication_with_login_and_docker_config() {
    let tokens = TokenServer::start("alice", "s3cret");
    let reg = Registry::start(&tokens.registry_auth());
    push("img-a", &format!("{}/private/bb:latest", reg.host()), &["--dest-creds", "alice:s3cret"]);
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let root = root();
    let r = root_arg(&root);
    let reference = format!("{}/private/bb", reg.host());
    let env = [("HOME", h), ("XDG_CONFIG_HOME", ""), ("XDG_RUNTIME_DIR", h), ("DOCKER_CONFIG", h), ("REGISTRY_AUTH_FILE", "/nonexistent")];

    let anon = palisade_env(&["pull", "-q", "--root", &r, &reference], &env);
    assert_eq!(anon.status.code(), Some(2));
    assert!(stderr(&anon).contains("authentication required"), "{}", text(&anon));

    let bad = palisade_env(&["login", "-u", "alice", "-p", "wrong", &reg.host()], &env);
    assert!(!bad.status.success(), "{}", text(&bad));
    let good = palisade_env(&["login", "-u", "alice", "-p", "s3cret", &reg.host()], &env);
    assert!(good.status.success(), "{}", text(&good));
    let file = home.path().join(".config/palisade/auth.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let pulled = palisade_env(&["pull", "-q", "--root", &r, &reference], &env);
    assert!(pulled.status.success(), "{}", text(&pulled));
    let out = palisade_env(&["logout", &reg.host()], &env);
    assert!(out.status.success(), "{}", text(&out));

    // Docker's config.json works too.
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
    std::fs::write(home.path().join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host())).unwrap();
    let root2 = tempfile::tempdir().unwrap();
    let pulled = palisade_env(&["pull", "-q", "--root", root2.path().to_str().unwrap(), &reference], &env);
    assert!(pulled.status.success(), "{}", text(&pulled));
}

/// A TCP proxy that forwards the registry's answers slowly (`delay` per 16 KiB), so a pull
/// can be killed in the middle of a layer.
fn slow_proxy(target: u16, delay: std::time::Duration) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().take(64) {
            let Ok(mut client) = client else { continue };
            let Ok(mut upstream) = std::net::TcpStream::connect(("127.0.0.1", target)) else { continue };
            let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut u2); // test proxy: ends with either side
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 << 10];
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                while std::time::Instant::now() < deadline {
                    match upstream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            std::thread::sleep(delay);
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_pull_killed_mid_layer_leaves_a_store_that_check_and_the_next_pull_repair() {
    let reg = Registry::start("");
    push("img-a", &format!("{}/bb:latest", reg.host()), &[]);
    let proxy = slow_proxy(reg.port, std::time::Duration::from_millis(30));
    let root = root();
    let r = root_arg(&root);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["pull", "--root", &r, "--jobs", "1", &format!("127.0.0.1:{proxy}/bb:latest")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until a blob is partly written in the staging area, then SIGKILL.
    let tmp = root.path().join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        // More than 64 KiB: the layer (1 MiB), not the config (which is renamed at once).
        let partial = std::fs::read_dir(&tmp)
            .map(|d| {
                d.flatten().any(|e| {
                    e.file_name().to_string_lossy().starts_with("blob-") && e.metadata().map(|m| m.len() > 64 << 10).unwrap_or(false)
                })
            })
            .unwrap_or(false);
        if partial {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the pull never started a layer");
        assert!(child.try_wait().unwrap().is_none(), "the pull finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(images_json(&root).is_empty(), "a half-pulled image is never listed");
    let check = palisade(&["system", "check", "--root", &r, "--format", "json"]);
    assert!(check.status.success(), "{}", text(&check));
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert!(report["staging_removed"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(dir_count(&tmp), 0);
    let again = pull(&root, &format!("{}/bb:latest", reg.host()), &["-q"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(images_json(&root).len(), 1);
    let clean = palisade(&["system", "check", "--root", &r, "--verify"]);
    assert!(stdout(&clean).contains("1 image(s), consistent"), "{}", text(&clean));

    // A second kill, then a plain pull (no check): it clears the staging files itself.
    let root2 = tempfile::tempdir().unwrap();
    let r2 = root2.path().display().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["pull", "-q", "--root", &r2, &format!("127.0.0.1:{proxy}/bb:latest")])
        .spawn()
        .unwrap();
    let tmp2 = root2.path().join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_dir(&tmp2).map(|d| d.flatten().any(|e| e.metadata().map(|m| m.len() > 64 << 10).unwrap_or(false))).unwrap_or(false)
    {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(dir_count(&tmp2) > 0);
    let again = pull(&root2, &format!("{}/bb:latest", reg.host()), &["-q"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(dir_count(&tmp2), 0, "the next pull removed the killed pull's staging files");
}

#[test]
fn https_is_required_for_remote_registries_and_verified_with_certs_d() {
    // A TLS registry on loopback with a self-signed certificate: refused without the CA,
    // accepted with it in a certs.d directory.
    let dir = tempfile::tempdir().unwrap();
    let (key, cert, ca_key, ca) =
        (dir.path().join("key.pem"), dir.path().join("cert.pem"), dir.path().join("ca-key.pem"), dir.path().join("ca.pem"));
    // A CA and a leaf it signs (webpki refuses a CA certificate as a server's).
    let openssl = |args: &[&str]| {
        let o = std::process::Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap();
        assert!(o.status.success(), "openssl {args:?}: {}", text(&o));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=palisade test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        dir.path().join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let _ = &ca_key;
    // docker-registry reads tls under http:, so start it with a config of its own.
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = storage.path().join("config.yml");
    std::fs::write(&config, format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n", storage.path().join("s").display(), cert.display(), key.display())).unwrap();
    let mut child = std::process::Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let host = format!("localhost:{port}");
    push("img-a", &format!("{host}/bb:latest"), &[]);
    let root = root();
    // Loopback may fall back to HTTP, but this server speaks only TLS: the unknown CA fails.
    let refused = pull(&root, &format!("{host}/bb"), &["-q"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(stderr(&refused).to_lowercase().contains("certificate") || stderr(&refused).contains("UnknownIssuer"), "{}", text(&refused));
    let certs = dir.path().join("certs.d").join(&host);
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    let cert_dir = dir.path().join("certs.d");
    let accepted = pull(&root, &format!("{host}/bb"), &["-q", "--cert-dir", cert_dir.to_str().unwrap()]);
    let _ = child.kill(); // test teardown
    let _ = child.wait();
    assert!(accepted.status.success(), "{}", text(&accepted));
}
