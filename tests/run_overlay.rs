//! An overlayfs root (`palisade run --rootfs-overlay LOWER[:LOWER...] [--rootfs-upper DIR]`):
//! two lower dirs built from busybox-static (the base rootfs, and a layer that adds a file
//! and hides one of the base's with a whiteout), the merged view seen from inside, every
//! write landing in the upper dir and none in the lowers, and nothing left after the run.

mod run_common;

use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use run_common::*;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// docker-default with a private network (its own mode, bridge, is not supported yet).
const DOCKER_NONE: &str = "[policy]\nname = \"docker-none\"\nextends = \"docker-default\"\n[network]\nmode = \"none\"\n";

/// The two lower dirs: the busybox rootfs with /etc/motd and /etc/hidden added, and a layer
/// with /etc/added and a whiteout (a character device 0/0) named /etc/hidden.
struct Layers {
    base: Rootfs,
    layer: tempfile::TempDir,
}

impl Layers {
    fn new() -> Layers {
        let base = Rootfs::new();
        std::fs::write(base.path().join("etc/motd"), "from the base\n").unwrap();
        std::fs::write(base.path().join("etc/hidden"), "deleted by the layer\n").unwrap();
        for applet in ["rm", "mkdir", "tr", "cut"] {
            std::os::unix::fs::symlink("busybox", base.path().join("bin").join(applet)).unwrap();
        }
        let layer = tempfile::Builder::new().prefix("palisade-layer-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        std::fs::set_permissions(layer.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(layer.path().join("etc")).unwrap();
        std::fs::write(layer.path().join("etc/added"), "from the layer\n").unwrap();
        mknod(&layer.path().join("etc/hidden"), SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).unwrap();
        Layers { base, layer }
    }

    /// `--rootfs-overlay` for them, top first.
    fn arg(&self) -> String {
        format!("{}:{}", self.layer.path().display(), self.base.path().display())
    }

    fn snapshot(&self) -> [Tree; 2] {
        [snapshot(self.layer.path()), snapshot(self.base.path())]
    }
}

/// Every entry of a tree: type, mode, owner, device number, times (but atime) and content.
type Tree = BTreeMap<PathBuf, String>;

fn snapshot(root: &Path) -> Tree {
    let mut tree = Tree::new();
    walk(root, root, &mut tree);
    tree
}

fn walk(root: &Path, path: &Path, tree: &mut Tree) {
    let m = std::fs::symlink_metadata(path).unwrap();
    let content = if m.file_type().is_file() {
        format!("{:?}", std::fs::read(path).unwrap())
    } else if m.file_type().is_symlink() {
        std::fs::read_link(path).unwrap().display().to_string()
    } else {
        String::new()
    };
    let entry = format!(
        "mode={:o} uid={} gid={} rdev={} size={} mtime={}.{} ctime={}.{} {content}",
        m.mode(),
        m.uid(),
        m.gid(),
        m.rdev(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    );
    tree.insert(path.strip_prefix(root).unwrap().to_path_buf(), entry);
    if m.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            walk(root, &e.unwrap().path(), tree);
        }
    }
}

/// A run directory for `--rootfs-upper` (its parent exists, it does not).
fn run_dir() -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::Builder::new().prefix("palisade-runs-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = parent.path().join("c1");
    (parent, dir)
}

fn is_whiteout(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device() && m.rdev() == makedev(0, 0))
}

/// No overlay of palisade's (its layers are always named by descriptor) is mounted on the
/// host, besides what [`assert_no_leaks`] checks.
fn assert_no_overlay_on_host() {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let leaked: Vec<&str> = mountinfo.lines().filter(|l| l.contains("lowerdir=/proc/self/fd/")).collect();
    assert!(leaked.is_empty(), "an overlay leaked into the host's namespace:\n{}", leaked.join("\n"));
}

fn run_sh(policy: &Path, overlay: &[&str], script: &str) -> std::process::Output {
    let mut args = vec!["run", "--policy", policy.to_str().unwrap()];
    args.extend(overlay);
    args.extend(["--", "/bin/sh", "-c", script]);
    palisade(&args)
}

#[test]
fn the_workload_sees_the_merged_layers_and_writes_only_the_upper_dir() {
    let _s = serial();
    require_root();
    let layers = Layers::new();
    let policy = layers.base.policy("docker-none", DOCKER_NONE);
    let before = layers.snapshot();
    let (_parent, run) = run_dir();
    let lower = layers.arg();
    let overlay = ["--rootfs-overlay", &lower, "--rootfs-upper", run.to_str().unwrap()];

    let script = "cat /etc/added /etc/motd; test -e /etc/hidden || echo hidden-is-gone; \
                  echo changed >> /etc/motd; echo new > /etc/new; rm /secret/file /etc/added; \
                  mkdir -p /var/data && echo data > /var/data/f; ls /etc | tr '\\n' ' '";
    let out = run_sh(&policy, &overlay, script);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from the layer\nfrom the base\nhidden-is-gone\ngroup motd new passwd ",
        "{}",
        describe(&out)
    );
    assert_eq!(workload_stderr(&out), "", "{}", describe(&out));

    // Every change is in the upper dir, in overlayfs's format; the work dir is gone.
    let upper = run.join("upper");
    assert_eq!(std::fs::read_to_string(upper.join("etc/motd")).unwrap(), "from the base\nchanged\n");
    assert_eq!(std::fs::read_to_string(upper.join("etc/new")).unwrap(), "new\n");
    assert_eq!(std::fs::read_to_string(upper.join("var/data/f")).unwrap(), "data\n");
    assert!(is_whiteout(&upper.join("secret/file")), "a deleted base file is a whiteout in the upper dir");
    assert!(is_whiteout(&upper.join("etc/added")), "a deleted layer file is a whiteout in the upper dir");
    assert!(!run.join("work").exists(), "the work dir outlived the run");
    assert_eq!(std::fs::metadata(&run).unwrap().mode() & 0o777, 0o700, "the run dir holds copies of the image's files: private");
    assert_eq!(
        std::fs::metadata(&upper).unwrap().mode() & 0o7777,
        std::fs::metadata(layers.layer.path()).unwrap().mode() & 0o7777,
        "the merged root keeps the top layer's mode"
    );
    // Not a byte of the lower dirs changed.
    assert_eq!(layers.snapshot(), before, "a lower dir was modified");
    assert_no_overlay_on_host();

    // A second run over the kept upper dir continues from the first.
    let out = run_sh(&policy, &overlay, "cat /etc/new /etc/motd; test -e /secret/file || echo still-deleted");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "new\nfrom the base\nchanged\nstill-deleted\n", "{}", describe(&out));
    assert_eq!(layers.snapshot(), before, "a lower dir was modified");
    drop(layers);
    assert_no_leaks();
    assert_no_overlay_on_host();
}

#[test]
fn without_an_upper_dir_writes_go_to_a_private_tmpfs_and_vanish() {
    let _s = serial();
    require_root();
    let layers = Layers::new();
    let policy = layers.base.policy("docker-none", DOCKER_NONE);
    let before = layers.snapshot();
    let lower = layers.arg();
    let script = "echo scratch > /etc/scratch && cat /etc/scratch; rm /etc/motd; ls /etc | tr '\\n' ' '; echo; \
                  grep ' / / ' /proc/self/mountinfo | cut -d' ' -f8-";
    let out = run_sh(&policy, &["--rootfs-overlay", &lower], script);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("scratch"), "{}", describe(&out));
    assert_eq!(lines.next(), Some("added group passwd scratch "), "{}", describe(&out));
    // The root is an overlay whose layers the container sees by descriptor only: no host path.
    let root = lines.next().unwrap_or_default();
    assert!(root.starts_with("overlay overlay rw,lowerdir=/proc/self/fd/"), "{}", describe(&out));
    assert!(!root.contains(env!("CARGO_TARGET_TMPDIR")), "the container learns the layers' host paths: {root}");
    assert!(root.contains("redirect_dir=nofollow"), "{root}");
    assert_eq!(layers.snapshot(), before, "a lower dir was modified");
    // The same run again: nothing of the first is left.
    let out = run_sh(&policy, &["--rootfs-overlay", &lower], "cat /etc/motd; test -e /etc/scratch && echo leaked");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the base\n", "{}", describe(&out));
    drop(layers);
    assert_no_leaks();
    assert_no_overlay_on_host();
}

#[test]
fn a_read_only_root_leaves_the_upper_dir_unused() {
    let _s = serial();
    require_root();
    let layers = Layers::new();
    let policy = layers.base.policy("docker-ro", &format!("{DOCKER_NONE}[filesystem]\nread_only_root = true\n"));
    let before = layers.snapshot();
    let (_parent, run) = run_dir();
    let lower = layers.arg();
    let out = run_sh(
        &policy,
        &["--rootfs-overlay", &lower, "--rootfs-upper", run.to_str().unwrap()],
        "cat /etc/added; echo x > /etc/motd; rm /etc/added; mkdir /new",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the layer\n", "{}", describe(&out));
    let err = workload_stderr(&out);
    assert_eq!(err.matches("Read-only file system").count(), 3, "{}", describe(&out));
    // The base has every mount point, so nothing at all was written to the upper dir.
    let entries: Vec<_> = std::fs::read_dir(run.join("upper")).unwrap().collect();
    assert!(entries.is_empty(), "the upper dir was written to: {entries:?}");
    assert_eq!(layers.snapshot(), before, "a lower dir was modified");

    // The strictest profile over an overlay root: every layer of the hardening applies.
    let out = palisade(["run", "--policy", "untrusted", "--rootfs-overlay", &lower, "--", PROBE, "status"]);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(fields(&out).get("Seccomp").map(String::as_str), Some("2"), "{}", describe(&out));
    assert_eq!(fields(&out).get("NoNewPrivs").map(String::as_str), Some("1"), "{}", describe(&out));
    drop(layers);
    assert_no_leaks();
    assert_no_overlay_on_host();
}

#[test]
fn overlay_arguments_are_checked_before_anything_starts() {
    let _s = serial();
    require_root();
    let layers = Layers::new();
    let policy = layers.base.policy("docker-none", DOCKER_NONE);
    let base = layers.base.path().to_str().unwrap().to_string();

    // A lower dir overlayfs's option syntax cannot carry.
    let out = run_sh(&policy, &["--rootfs-overlay", &format!("{base},upperdir=/etc")], "true");
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "overlay lower dir `{base},upperdir=/etc`: contains `,`, which overlayfs's mount options use as a separator"
        )),
        "{}",
        describe(&out)
    );
    let out = run_sh(&policy, &["--rootfs-overlay", &format!("{base}::{base}")], "true");
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has an empty lower directory"), "{}", describe(&out));

    // An upper dir inside a layer is refused before it is made.
    let inside = layers.base.path().join("run");
    let out = run_sh(&policy, &["--rootfs-overlay", &base, "--rootfs-upper", inside.to_str().unwrap()], "true");
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("overlaps the lower dir {base}")), "{}", describe(&out));
    assert!(!inside.exists());

    // One run at a time per upper dir: a held lock refuses the second.
    let (_parent, run) = run_dir();
    std::fs::create_dir_all(run.join("upper")).unwrap();
    let held =
        nix::fcntl::Flock::lock(std::fs::File::open(run.join("upper")).unwrap(), nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let out = run_sh(&policy, &["--rootfs-overlay", &base, "--rootfs-upper", run.to_str().unwrap()], "true");
    assert_eq!(code(&out), 125, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another run is using this upper dir"), "{}", describe(&out));
    drop(held);

    // The flags go together, and exclude --rootfs.
    let out = run_sh(&policy, &["--rootfs-upper", run.to_str().unwrap()], "true");
    assert_eq!(code(&out), 2, "{}", describe(&out));
    let out = run_sh(&policy, &["--rootfs", &base, "--rootfs-overlay", &base], "true");
    assert_eq!(code(&out), 2, "{}", describe(&out));
    drop(layers);
    assert_no_leaks();
}

#[test]
fn rootless_overlay_keeps_its_upper_dir_as_the_caller() {
    let _s = serial();
    require_root();
    let layers = Layers::new();
    // A rootless run is uid 0 inside only: layers it may copy up from must be its own.
    let chown = Command::new("chown").args(["-R", "65534:65534"]).arg(layers.base.path()).arg(layers.layer.path()).status().unwrap();
    assert!(chown.success());
    let policy = layers.base.policy("rootless", DOCKER_NONE);
    let before = layers.snapshot();
    let (parent, run) = run_dir();
    nix::unistd::chown(parent.path(), Some(nix::unistd::Uid::from_raw(65534)), Some(nix::unistd::Gid::from_raw(65534))).unwrap();
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("`setpriv` is not installed: apt-get install util-linux"));
    let mut cmd = Command::new(setpriv);
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        PALISADE,
        "run",
        "--policy",
        policy.to_str().unwrap(),
        "--rootfs-overlay",
        &layers.arg(),
        "--rootfs-upper",
        run.to_str().unwrap(),
    ])
    .args(["--", "/bin/sh", "-c", "id -u; echo new > /etc/new; rm /etc/motd; grep -o userxattr /proc/self/mountinfo"])
    .env("PALISADE_TEST_RUN", std::process::id().to_string());
    let out = output_within(cmd);
    assert_eq!(code(&out), 0, "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\nuserxattr\n", "{}", describe(&out));
    let upper = run.join("upper");
    assert_eq!(std::fs::read_to_string(upper.join("etc/new")).unwrap(), "new\n");
    assert_eq!(std::fs::metadata(upper.join("etc/new")).unwrap().uid(), 65534);
    assert!(is_whiteout(&upper.join("etc/motd")));
    // overlayfs makes work/work mode 000; the caller could still remove it.
    assert!(!run.join("work").exists(), "the work dir outlived the run");
    assert_eq!(layers.snapshot(), before, "a lower dir was modified");
    drop(layers);
    assert_no_leaks();
    assert_no_overlay_on_host();
}
