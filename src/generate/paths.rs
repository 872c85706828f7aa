//! From the files a run touched to a compact Landlock grant: a few directories and files per
//! access, never `/`.
//!
//! 1. Private and per-process trees are granted whole: `/proc` (the pid namespace shows only
//!    the workload's processes, and `/proc/self/…` names differ per run), the sandbox's
//!    private `/tmp`, `/dev/pts` and `/dev/shm`. Other device files stay exact.
//! 2. Reads and writes are cut to a depth: two levels in the system trees (`/usr/lib`,
//!    `/etc/ssl`, `/etc/hostname`), three elsewhere (`/home/alice/project`, `/var/lib/app`).
//!    A program's libraries, modules and data sit together; listing each would make a policy
//!    that breaks on the next minor upgrade. Executables stay exact files.
//! 3. When six or more grants share a parent directory, the parent replaces them.
//! 4. A grant beneath another grant of the same access goes.
//!
//! `/` is never granted: it would cover the whole filesystem. A workload that reads `/`
//! itself (lists it) gets a warning instead, and will be refused that under the policy.

use super::trace::{FileUse, Seen};
use std::collections::BTreeMap;

/// Grants sharing a parent directory that make the parent the grant.
const COLLAPSE_AT: usize = 6;

/// Top-level directories whose second level is already specific (`/usr/lib`, `/etc/ssl`).
const SYSTEM_TREES: &[&str] = &["usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "boot", "snap"];

/// The grants for one access, with what each covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    pub read: BTreeMap<String, Coverage>,
    pub write: BTreeMap<String, Coverage>,
    pub execute: BTreeMap<String, Coverage>,
    /// Accesses that cannot be granted (`/`), as warnings for the user.
    pub refused: Vec<String>,
}

/// What one grant stands for: the paths behind it and who used them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub paths: Vec<String>,
    pub seen: Seen,
}

impl Coverage {
    fn add(&mut self, path: &str, seen: &Seen) {
        if !self.paths.iter().any(|p| p == path) {
            self.paths.push(path.to_string());
        }
        self.seen.merge(seen);
    }

    fn absorb(&mut self, other: Coverage) {
        for p in other.paths {
            if !self.paths.contains(&p) {
                self.paths.push(p);
            }
        }
        self.seen.merge(&other.seen);
    }

    /// `read by python3.11: /usr/lib/python3.11/os.py and 140 more`.
    pub fn describe(&self, verb: &str) -> String {
        let by: Vec<&str> = self.seen.programs.iter().map(String::as_str).collect();
        let mut text = verb.to_string();
        if !by.is_empty() {
            text.push_str(&format!(" by {}", by.join(", ")));
        }
        match self.paths.as_slice() {
            [] => {}
            [one] => text.push_str(&format!(": {one}")),
            [first, rest @ ..] => text.push_str(&format!(": {first} and {} more", rest.len())),
        }
        if !self.seen.sources.is_empty() {
            let files: Vec<&str> = self.seen.sources.iter().map(String::as_str).collect();
            text.push_str(&format!(" (also in the run behind {})", files.join(", ")));
        }
        text
    }
}

/// The shared or private tree a path belongs to, granted whole; `None` for ordinary paths.
fn whole_tree(path: &str) -> Option<&'static str> {
    ["/proc", "/tmp", "/dev/pts", "/dev/shm"].into_iter().find(|t| path == *t || path.starts_with(&format!("{t}/")))
}

/// The path cut to its grant depth (see the module docs).
fn cut(path: &str) -> String {
    if let Some(tree) = whole_tree(path) {
        return tree.to_string();
    }
    if path.starts_with("/dev/") {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let depth = if parts.first().is_some_and(|t| SYSTEM_TREES.contains(t)) { 2 } else { 3 };
    if parts.len() <= depth {
        path.to_string()
    } else {
        format!("/{}", parts[..depth].join("/"))
    }
}

fn parent(path: &str) -> Option<&str> {
    let i = path.rfind('/')?;
    (i > 0).then(|| &path[..i])
}

/// Whether `ancestor` is `path` or one of its parent directories.
pub fn covers(ancestor: &str, path: &str) -> bool {
    ancestor == "/" || path == ancestor || path.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// Replaces groups of `COLLAPSE_AT` or more grants in one directory by the directory (never
/// `/`, nor a whole tree's parent like `/dev`), then drops grants beneath other grants.
fn compact(mut grants: BTreeMap<String, Coverage>) -> BTreeMap<String, Coverage> {
    let mut by_parent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in grants.keys() {
        if let Some(p) = parent(path) {
            by_parent.entry(p.to_string()).or_default().push(path.clone());
        }
    }
    for (dir, children) in by_parent {
        if children.len() >= COLLAPSE_AT && dir != "/dev" {
            let mut merged = grants.remove(&dir).unwrap_or_default();
            for c in children {
                if let Some(cov) = grants.remove(&c) {
                    merged.absorb(cov);
                }
            }
            grants.insert(dir, merged);
        }
    }
    let keys: Vec<String> = grants.keys().cloned().collect();
    for k in &keys {
        if let Some(outer) = keys.iter().find(|o| *o != k && covers(o, k)) {
            if let Some(inner) = grants.remove(k) {
                grants.get_mut(outer).expect("outer grant exists").absorb(inner);
            }
        }
    }
    grants
}

/// The Landlock grants for what a run touched.
pub fn grants(files: &BTreeMap<String, FileUse>) -> Grants {
    let mut out = Grants::default();
    let mut read: BTreeMap<String, Coverage> = BTreeMap::new();
    let mut write: BTreeMap<String, Coverage> = BTreeMap::new();
    let mut execute: BTreeMap<String, Coverage> = BTreeMap::new();
    for (path, used) in files {
        if path == "/" {
            if used.read || used.write || used.modify_entries {
                out.refused.push(format!("the workload opened / itself ({}); a Landlock grant on / would cover every file, so it is not granted and that access will fail", used.seen.describe("time")));
            }
            continue;
        }
        if used.read {
            read.entry(cut(path)).or_default().add(path, &used.seen);
        }
        if used.write || used.modify_entries {
            write.entry(cut(path)).or_default().add(path, &used.seen);
        }
        if used.execute {
            let unit = whole_tree(path).map_or_else(|| path.clone(), str::to_string);
            execute.entry(unit).or_default().add(path, &used.seen);
        }
    }
    out.read = compact(read);
    out.write = compact(write);
    out.execute = compact(execute);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(list: &[(&str, &str)]) -> BTreeMap<String, FileUse> {
        let mut m = BTreeMap::new();
        for (path, access) in list {
            let mut u = FileUse {
                read: access.contains('r'),
                write: access.contains('w'),
                modify_entries: access.contains('m'),
                execute: access.contains('x'),
                ..FileUse::default()
            };
            u.seen.add("prog");
            m.insert(path.to_string(), u);
        }
        m
    }

    fn keys(m: &BTreeMap<String, Coverage>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn reads_are_cut_to_directories_and_trees_granted_whole() {
        let g = grants(&uses(&[
            ("/usr/lib/python3.11/os.py", "r"),
            ("/usr/lib/x86_64-linux-gnu/libc.so.6", "r"),
            ("/etc/ld.so.cache", "r"),
            ("/proc/12/maps", "r"),
            ("/proc/self/status", "r"),
            ("/home/alice/project/src/main.py", "r"),
            ("/dev/urandom", "r"),
            ("/dev/pts/3", "rw"),
            ("/tmp/x/y", "w"),
            ("/usr/bin/python3.11", "x"),
        ]));
        assert_eq!(keys(&g.read), ["/dev/pts", "/dev/urandom", "/etc/ld.so.cache", "/home/alice/project", "/proc", "/usr/lib"]);
        assert_eq!(keys(&g.write), ["/dev/pts", "/tmp"]);
        assert_eq!(keys(&g.execute), ["/usr/bin/python3.11"]);
        assert_eq!(g.read["/usr/lib"].paths.len(), 2);
        assert!(
            g.read["/proc"].describe("read").starts_with("read by prog: /proc/12/maps and 1 more"),
            "{}",
            g.read["/proc"].describe("read")
        );
    }

    #[test]
    fn a_directory_listing_covers_what_is_beneath_it() {
        let g = grants(&uses(&[("/usr", "r"), ("/usr/lib/x86_64-linux-gnu/libc.so.6", "r")]));
        assert_eq!(keys(&g.read), ["/usr"]);
    }

    #[test]
    fn many_grants_in_one_directory_collapse_but_never_to_the_root() {
        let files: Vec<(String, &str)> = (0..7).map(|i| (format!("/etc/file{i}"), "r")).collect();
        let list: Vec<(&str, &str)> = files.iter().map(|(p, a)| (p.as_str(), *a)).collect();
        assert_eq!(keys(&grants(&uses(&list)).read), ["/etc"]);
        let tops: Vec<(String, &str)> = ["a", "b", "c", "d", "e", "f", "g"].iter().map(|d| (format!("/{d}"), "r")).collect();
        let list: Vec<(&str, &str)> = tops.iter().map(|(p, a)| (p.as_str(), *a)).collect();
        assert!(!grants(&uses(&list)).read.contains_key("/"));
        let devs: Vec<(String, &str)> = (0..7).map(|i| (format!("/dev/d{i}"), "r")).collect();
        let list: Vec<(&str, &str)> = devs.iter().map(|(p, a)| (p.as_str(), *a)).collect();
        assert!(!grants(&uses(&list)).read.contains_key("/dev"), "device files stay exact");
    }

    #[test]
    fn the_root_is_refused_with_a_warning() {
        let g = grants(&uses(&[("/", "r"), ("/etc/hostname", "r")]));
        assert_eq!(keys(&g.read), ["/etc/hostname"]);
        assert_eq!(g.refused.len(), 1);
        assert!(covers("/usr", "/usr/lib") && !covers("/usr", "/usrlocal") && covers("/", "/x"));
    }
}
