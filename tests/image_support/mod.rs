//! Shared fixtures of the image tests: Debian's docker-registry on a free loopback port (with
//! a temp config and storage, killed on drop), an optional token server, test images built
//! with umoci from busybox-static and pushed with skopeo, and the palisade binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn palisade(args: &[&str]) -> Output {
    palisade_env(args, &[])
}

pub fn palisade_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.args(args).env_remove("PALISADE_ROOT").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run palisade")
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port}");
}

/// A docker-registry process with its own config and storage.
pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Registry {
    /// Starts a registry; `auth` is extra YAML for its `auth:` section (empty for none).
    pub fn start(auth: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.path().join("storage").display()
        );
        let path = dir.path().join("config.yml");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (apt-get install docker-registry)");
        wait_for_port(port, &mut child, "docker-registry");
        Registry { port, dir, child }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill(); // test teardown
        let _ = self.child.wait();
    }
}

/// The token server of tests/image_support/token_server.py, and the registry's auth section.
pub struct TokenServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/image_support/token_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(dir.path().join("cert.pem"))
            .arg("palisade-test")
            .arg(user)
            .arg(password)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().parse().unwrap_or_else(|_| panic!("token server said `{line}`"));
        TokenServer { port, dir, child }
    }

    pub fn registry_auth(&self) -> String {
        format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: palisade-registry\n    issuer: palisade-test\n    rootcertbundle: {}\n",
            self.port,
            self.dir.path().join("cert.pem").display()
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill(); // test teardown
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
}

/// An OCI layout (built once per test binary) with:
/// `base` (busybox, 1 layer), `img-a` (base + /hello "hello-a", Cmd and Env set),
/// `img-b` (base + /hello "hello-b"), `multi` (an index: img-a as linux/amd64, img-b as
/// linux/arm64/v8).
pub fn layout() -> &'static Path {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let oci = dir.join("oci");
        let umoci = |args: &[&str]| run(Command::new("umoci").args(args).current_dir(&dir));
        umoci(&["init", "--layout", "oci"]);
        umoci(&["new", "--image", "oci:base"]);
        umoci(&["unpack", "--image", "oci:base", "b0"]);
        let root = dir.join("b0/rootfs");
        for d in ["bin", "etc", "tmp", "data/sub"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static");
        for applet in ["sh", "ls", "cat", "echo", "id", "env", "pwd", "true", "test", "stat"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n").unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        std::fs::write(root.join("data/keep"), "base\n").unwrap();
        std::fs::write(root.join("data/sub/old"), "old\n").unwrap();
        std::fs::write(root.join("data/gone"), "gone\n").unwrap();
        umoci(&["repack", "--image", "oci:base", "b0"]);
        for (tag, dir_name, content) in [("img-a", "b1", "hello-a\n"), ("img-b", "b2", "hello-b\n")] {
            umoci(&["unpack", "--image", "oci:base", dir_name]);
            let r = dir.join(dir_name).join("rootfs");
            std::fs::write(r.join("hello"), content).unwrap();
            // A whiteout (data/gone deleted) and an opaque directory (data/sub replaced).
            std::fs::remove_file(r.join("data/gone")).unwrap();
            std::fs::remove_dir_all(r.join("data/sub")).unwrap();
            std::fs::create_dir(r.join("data/sub")).unwrap();
            std::fs::write(r.join("data/sub/new"), "new\n").unwrap();
            umoci(&["repack", "--image", &format!("oci:{tag}"), dir_name]);
        }
        umoci(&["config", "--image", "oci:img-a", "--config.cmd", "/bin/cat", "--config.cmd", "/hello", "--config.env", "GREETING=from-image", "--config.workingdir", "/data", "--history.created_by", "palisade test config"]);
        // The multi-platform index, by hand (umoci does not write indexes).
        let index_path = oci.join("index.json");
        let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
        let find = |tag: &str, index: &serde_json::Value| index["manifests"].as_array().unwrap().iter().find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag).unwrap().clone();
        let mut a = find("img-a", &index);
        let mut b = find("img-b", &index);
        a.as_object_mut().unwrap().remove("annotations");
        b.as_object_mut().unwrap().remove("annotations");
        a["platform"] = serde_json::json!({"architecture": "amd64", "os": "linux"});
        b["platform"] = serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"});
        let multi = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [a, b]})).unwrap();
        let digest = palisade::image::Digest::of(&multi);
        std::fs::write(oci.join("blobs/sha256").join(digest.hex()), &multi).unwrap();
        index["manifests"].as_array_mut().unwrap().push(serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest.to_string(), "size": multi.len(), "annotations": {"org.opencontainers.image.ref.name": "multi"}}));
        std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
        oci
    })
}

/// Pushes a tag of the layout to `dest` (`host/repo:tag`) with skopeo.
pub fn push(tag: &str, dest: &str, extra: &[&str]) {
    let src = format!("oci:{}:{tag}", layout().display());
    run(Command::new("skopeo").args(["copy", "--quiet", "--dest-tls-verify=false"]).args(extra).arg(src).arg(format!("docker://{dest}")));
}

/// The digest of a blob of the layout's manifest for `tag`: config and layers.
pub fn manifest_of(tag: &str) -> serde_json::Value {
    let oci = layout();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(oci.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"].as_array().unwrap().iter().find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag).unwrap();
    let digest: palisade::image::Digest = m["digest"].as_str().unwrap().parse().unwrap();
    serde_json::from_slice(&std::fs::read(oci.join("blobs/sha256").join(digest.hex())).unwrap()).unwrap()
}

/// A temporary store root.
pub fn root() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub fn root_arg(root: &tempfile::TempDir) -> String {
    root.path().display().to_string()
}
