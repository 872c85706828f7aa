//! Hostile layers: each crafted tarball is refused with an error naming the layer and the
//! entry, and nothing is written outside the layer directory. Tarballs are built byte by
//! byte here (the tar crate's builder refuses to write most of them).

use palisade::image::unpack::path::Refusal;
use palisade::image::unpack::{unpack, Options, UnpackError};
use palisade::image::Digest;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str, u32, u32),
}

fn header(name: &str, kind: tar::EntryType, size: u64, link: &str) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    assert!(name.len() < 100 && link.len() < 100);
    h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
    h.as_mut_bytes()[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
    h.set_mtime(1_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

fn tarball(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let (h, data): (tar::Header, &[u8]) = match e {
            E::File(n, d) => (header(n, tar::EntryType::Regular, d.len() as u64, ""), d),
            E::Dir(n) => (header(n, tar::EntryType::Directory, 0, ""), b""),
            E::Symlink(n, t) => (header(n, tar::EntryType::Symlink, 0, t), b""),
            E::Hardlink(n, t) => (header(n, tar::EntryType::Link, 0, t), b""),
            E::Char(n, major, minor) => {
                let mut h = header(n, tar::EntryType::Char, 0, "");
                h.set_device_major(*major).unwrap();
                h.set_device_minor(*minor).unwrap();
                h.set_cksum();
                (h, b"")
            }
        };
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A sandbox: `layer/` (the fresh layer dir) beside `victim/` (the "host", with a secret).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("layer")).unwrap();
        std::fs::create_dir(dir.path().join("victim")).unwrap();
        std::fs::write(dir.path().join("victim/secret"), "host data").unwrap();
        Sandbox { dir }
    }
    fn layer(&self) -> PathBuf {
        self.dir.path().join("layer")
    }
    fn victim(&self) -> PathBuf {
        self.dir.path().join("victim")
    }
    /// The host is untouched: the victim dir holds only its secret, unchanged, unlinked.
    fn assert_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(self.victim()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret")]);
        let secret = self.victim().join("secret");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "host data");
        assert_eq!(std::fs::metadata(&secret).unwrap().nlink(), 1, "the secret was hard-linked");
        assert!(!Path::new("/evil").exists());
    }
    fn unpack(&self, bytes: &[u8], opts: &Options) -> Result<palisade::image::unpack::Stats, UnpackError> {
        unpack(bytes, "sha256:test-layer", None, &self.layer(), opts)
    }
}

fn refused(result: Result<palisade::image::unpack::Stats, UnpackError>, entry: &str) -> Refusal {
    match result {
        Err(e @ UnpackError::Refused { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("sha256:test-layer") && msg.contains(entry), "message names layer and entry: {msg}");
            let UnpackError::Refused { why, .. } = e else { unreachable!() };
            why
        }
        other => panic!("expected a refusal of `{entry}`, got {other:?}"),
    }
}

#[test]
fn dotdot_and_absolute_names_are_refused() {
    let s = Sandbox::new();
    assert_eq!(refused(s.unpack(&tarball(&[E::File("../victim/evil", b"x")]), &Options::default()), "../victim/evil"), Refusal::DotDot);
    assert_eq!(
        refused(s.unpack(&tarball(&[E::File("ok/../../victim/evil", b"x")]), &Options::default()), "ok/../../victim/evil"),
        Refusal::DotDot
    );
    let abs = format!("{}/evil", s.victim().display());
    if abs.len() < 100 {
        assert_eq!(refused(s.unpack(&tarball(&[E::File(&abs, b"x")]), &Options::default()), &abs), Refusal::Absolute);
    }
    assert_eq!(refused(s.unpack(&tarball(&[E::File("/evil", b"x")]), &Options::default()), "/evil"), Refusal::Absolute);
    s.assert_untouched();
}

#[test]
fn symlinks_that_escape_are_refused_and_none_is_ever_followed() {
    let s = Sandbox::new();
    let opts = Options::default();
    assert!(matches!(refused(s.unpack(&tarball(&[E::Symlink("a/b", "../../victim")]), &opts), "a/b"), Refusal::SymlinkEscape(_)));
    assert!(matches!(refused(s.unpack(&tarball(&[E::Symlink("x", "/../../victim/secret")]), &opts), "x"), Refusal::SymlinkEscape(_)));
    // An absolute target is inside the rootfs (it resolves against the container's /), so
    // the link is kept; but an entry written through it is refused, not written to the host.
    let victim = s.victim().display().to_string();
    let s2 = Sandbox::new();
    let r = s2.unpack(&tarball(&[E::Symlink("link", &victim), E::File("link/evil", b"pwned")]), &opts);
    assert!(matches!(refused(r, "link/evil"), Refusal::ThroughNonDir(_)));
    s2.assert_untouched();
    // Through a relative link to a parent, and through a link to / .
    let s3 = Sandbox::new();
    let r = s3.unpack(&tarball(&[E::Dir("d/"), E::Symlink("d/up", ".."), E::File("d/up/d/up/evil", b"x")]), &opts);
    assert!(matches!(refused(r, "d/up/d/up/evil"), Refusal::ThroughNonDir(_)));
    let r = s3.unpack(&tarball(&[E::Symlink("root", "/"), E::Dir("root/victim")]), &opts);
    assert!(matches!(refused(r, "root/victim"), Refusal::ThroughNonDir(_)));
    // A file replacing a symlink replaces the link itself, never its target.
    let s4 = Sandbox::new();
    let secret = format!("{victim}/secret");
    s4.unpack(&tarball(&[E::Symlink("f", &secret), E::File("f", b"overwritten?")]), &opts).unwrap();
    assert_eq!(std::fs::read_to_string(s4.layer().join("f")).unwrap(), "overwritten?");
    for s in [&s, &s3, &s4] {
        s.assert_untouched();
    }
}

#[test]
fn hardlinks_reach_only_files_of_the_layer() {
    let opts = Options::default();
    let s = Sandbox::new();
    let r = s.unpack(&tarball(&[E::Hardlink("hl", "../victim/secret")]), &opts);
    assert!(matches!(refused(r, "hl"), Refusal::Hardlink { .. }));
    let secret = format!("{}/secret", s.victim().display());
    let r = s.unpack(&tarball(&[E::Hardlink("hl", &secret)]), &opts);
    assert!(matches!(refused(r, "hl"), Refusal::Hardlink { .. }));
    let r = s.unpack(&tarball(&[E::Hardlink("hl", "etc/passwd")]), &opts);
    assert!(matches!(refused(r, "hl"), Refusal::HardlinkMissing(_)));
    let r = s.unpack(&tarball(&[E::Symlink("up", "/"), E::Hardlink("hl", "up/etc/passwd")]), &opts);
    assert!(matches!(refused(r, "hl"), Refusal::ThroughNonDir(_)));
    // A link to a file of the layer works.
    let ok = Sandbox::new();
    ok.unpack(&tarball(&[E::File("a", b"data"), E::Hardlink("b", "a")]), &opts).unwrap();
    assert_eq!(std::fs::metadata(ok.layer().join("b")).unwrap().ino(), std::fs::metadata(ok.layer().join("a")).unwrap().ino());
    s.assert_untouched();
    assert!(std::fs::metadata("/etc/passwd").unwrap().nlink() == 1);
}

#[test]
fn device_nodes_need_the_caller_and_the_policy() {
    let s = Sandbox::new();
    let bytes = tarball(&[E::Char("dev/mem", 1, 1)]);
    assert_eq!(refused(s.unpack(&bytes, &Options::default()), "dev/mem"), Refusal::Device);
    assert!(!s.layer().join("dev/mem").exists());
    if nix::unistd::geteuid().is_root() {
        let ok = Sandbox::new();
        ok.unpack(&bytes, &Options { allow_devices: true, ..Options::default() }).unwrap();
        let m = std::fs::symlink_metadata(ok.layer().join("dev/mem")).unwrap();
        assert!(m.file_type().is_char_device() && m.rdev() == nix::sys::stat::makedev(1, 1));
    }
    s.assert_untouched();
}

#[test]
fn layers_over_the_size_cap_are_refused() {
    let s = Sandbox::new();
    let big = vec![0u8; 2 << 20];
    let opts = Options { max_size: 1 << 20, ..Options::default() };
    assert_eq!(refused(s.unpack(&tarball(&[E::File("small", b"x"), E::File("big", &big)]), &opts), "big"), Refusal::TooLarge(1 << 20));
    // A compression bomb: 64 MiB of zeros in a few KiB of gzip.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&tarball(&[E::File("bomb", &vec![0u8; 64 << 20])])).unwrap();
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200 << 10);
    let s2 = Sandbox::new();
    assert_eq!(refused(s2.unpack(&bomb, &opts), "bomb"), Refusal::TooLarge(1 << 20));
    s.assert_untouched();
}

#[test]
fn whiteouts_become_overlay_whiteouts_and_opaque_dirs() {
    let s = Sandbox::new();
    s.unpack(
        &tarball(&[
            E::Dir("etc/"),
            E::File("etc/.wh.gone", b""),
            E::Dir("var/cache/"),
            E::File("var/cache/.wh..wh..opq", b""),
            E::File("var/cache/new", b"n"),
        ]),
        &Options::default(),
    )
    .unwrap();
    let w = std::fs::symlink_metadata(s.layer().join("etc/gone")).unwrap();
    assert!(w.file_type().is_char_device() && w.rdev() == 0, "whiteout is a 0/0 char device");
    assert!(!s.layer().join("etc/.wh.gone").exists());
    assert_eq!(xattr::get(s.layer().join("var/cache"), "trusted.overlay.opaque").unwrap().as_deref(), Some(&b"y"[..]));
    assert!(s.layer().join("var/cache/new").is_file());
    let bad = Sandbox::new();
    assert!(matches!(refused(bad.unpack(&tarball(&[E::File(".wh...", b"")]), &Options::default()), ".wh..."), Refusal::BadWhiteout(_)));
}

#[test]
fn gzip_zstd_and_plain_layers_unpack_alike_and_the_diff_id_is_checked() {
    let tar = tarball(&[E::Dir("bin/"), E::File("bin/tool", b"#!/bin/sh\necho hi\n"), E::Symlink("bin/alias", "tool")]);
    let diff_id = Digest::of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let zst = zstd::encode_all(&tar[..], 3).unwrap();
    for (kind, blob) in [("plain", tar.clone()), ("gzip", gz.finish().unwrap()), ("zstd", zst)] {
        let s = Sandbox::new();
        let stats = unpack(&blob[..], kind, Some(&diff_id), &s.layer(), &Options::default()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!((stats.diff_id, stats.diff_size, stats.entries), (diff_id.clone(), tar.len() as u64, 3), "{kind}");
        assert_eq!(std::fs::read_to_string(s.layer().join("bin/tool")).unwrap(), "#!/bin/sh\necho hi\n");
        assert_eq!(std::fs::read_link(s.layer().join("bin/alias")).unwrap(), Path::new("tool"));
        assert_eq!(std::fs::metadata(s.layer().join("bin/tool")).unwrap().mtime(), 1_000_000);
    }
    let s = Sandbox::new();
    let wrong = Digest::of(b"another layer");
    assert!(matches!(unpack(&tar[..], "l", Some(&wrong), &s.layer(), &Options::default()), Err(UnpackError::DiffId { .. })));
}

/// The same through the binary: an OCI archive whose layer climbs out is refused by `load`
/// with the layer digest and entry, and no image is recorded.
#[test]
fn load_refuses_an_archive_with_a_hostile_layer() {
    let s = Sandbox::new();
    let layer = tarball(&[E::File("ok", b"fine"), E::Symlink("esc", "../../../victim"), E::File("esc/pwned", b"x")]);
    let layer_digest = Digest::of(&layer);
    let config = serde_json::to_vec(
        &serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]}}),
    )
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Digest::of(&config).to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest.to_string(), "size": layer.len()}]})).unwrap();
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": Digest::of(&manifest).to_string(), "size": manifest.len(), "annotations": {"io.containerd.image.name": "evil/image:latest"}}]})).unwrap();
    let archive = s.dir.path().join("evil.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    for (name, data) in [
        ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        (format!("blobs/sha256/{}", Digest::of(&config).hex()), config.clone()),
        (format!("blobs/sha256/{}", layer_digest.hex()), layer.clone()),
        (format!("blobs/sha256/{}", Digest::of(&manifest).hex()), manifest.clone()),
        ("index.json".into(), index),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.finish().unwrap();
    drop(b);
    let root = s.dir.path().join("store");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["load", "--root", root.to_str().unwrap(), "-i", archive.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&layer_digest.to_string()) && err.contains("`esc`") && err.contains("resolves outside the layer"), "{err}");
    let images = std::process::Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["images", "-q", "--root", root.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(images.stdout.is_empty());
    assert_eq!(std::fs::read_dir(root.join("layers/sha256")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0, "the refused layer's staging dir is removed");
    s.assert_untouched();
}
