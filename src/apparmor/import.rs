//! An AppArmor profile as a palisade policy (`palisade policy import PROFILE`): capabilities,
//! network and file access as far as the policy language can say them, everything else as
//! notes. The policy keeps the original profile in force (`[apparmor] profile = NAME`), so
//! what Landlock cannot express exactly (globs in the middle of paths, owner conditions,
//! dbus, signals, mounts) is still enforced where AppArmor runs.
//!
//! Mapping, rule by rule (apparmor.d(5) on one side, policies/README.md on the other):
//! - `capability X` (allowed, not denied) → `[capabilities] keep`;
//! - `network inet*` allowed → `[network] mode = "bridge"`, else `"none"`;
//! - file rules → `[filesystem.landlock]`: `r` → read, `w`/`a`/`l` → write, `m`/exec → execute;
//!   `DIR/**` is the tree under DIR, a literal path is that path, any other glob is widened to
//!   its leading literal directory (noted: Landlock has no globs);
//! - literal `deny` rules → `masked_paths` (no read) or `readonly_paths` (no write);
//! - no syscall policy exists in AppArmor: the policy extends `docker-default` for seccomp.

use super::ast::{FilePerms, RuleKind};
use super::glob::Glob;
use super::model::{Model, ProfileModel};
use std::collections::BTreeSet;

/// The policy text and what could not be carried over exactly.
pub struct Imported {
    pub toml: String,
    pub notes: Vec<String>,
}

/// Converts one profile of a loaded model.
pub fn import(model: &Model, profile: &ProfileModel, policy_name: &str) -> Imported {
    let mut notes = Vec::new();
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &BTreeSet<String>| items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
    let mut out =
        format!("# Imported by `palisade policy import` from AppArmor profile `{}` ({}).\n", profile.name, profile.span.file.name);
    out += "# The original profile stays in force through [apparmor] profile; the other sections say as much\n# of it as palisade's layers can enforce without AppArmor.\n";
    out += &format!("[policy]\nname = {}\n", q(policy_name));
    out += "# AppArmor says nothing about syscalls: seccomp (and the rest) come from Docker's defaults.\nextends = \"docker-default\"\n\n";

    // Capabilities.
    let caps: BTreeSet<String> = profile.capabilities().keys().map(|c| c.to_ascii_uppercase()).collect();
    out += "[capabilities]\n# The capabilities the profile grants (allow rules, minus deny rules).\n";
    out += &format!("keep = [{}]\n\n", list(&caps));

    // Network.
    let inet = ["inet", "inet6"].iter().any(|f| ["stream", "dgram"].iter().any(|t| profile.network_allows(f, t).is_some()));
    out += "[network]\n";
    out += if inet {
        "# The profile allows inet/inet6 sockets.\nmode = \"bridge\"\n\n"
    } else {
        "# The profile allows no inet/inet6 sockets.\nmode = \"none\"\n\n"
    };
    for family in ["netlink", "packet", "alg", "vsock", "bluetooth", "can"] {
        if profile.network_allows(family, "raw").is_some() || profile.network_allows(family, "dgram").is_some() {
            notes.push(format!(
                "network {family} is allowed by the profile; the policy's seccomp filter decides which socket families exist"
            ));
        }
    }

    // Files.
    let (mut read, mut write, mut exec) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut masked, mut readonly) = (BTreeSet::new(), BTreeSet::new());
    let mut everything = false;
    let mut widened = BTreeSet::new();
    let mut owner_rules = 0;
    for rule in &profile.rules {
        let (path, perms) = match &rule.kind {
            RuleKind::File(f) => (f.path.clone(), f.perms),
            RuleKind::All => (None, FilePerms::all()),
            RuleKind::Link { from, .. } => (Some(from.clone()), FilePerms { link: true, ..FilePerms::default() }),
            _ => continue,
        };
        let Some(path) = path else {
            if !rule.is_deny() {
                everything = true;
            }
            continue;
        };
        if rule.prefix.owner.is_some() {
            owner_rules += 1;
        }
        let glob = Glob::new(&model.expand(&path));
        if rule.is_deny() {
            match glob.literals().or_else(|| glob.subtrees()) {
                Some(paths) if rule.prefix.owner.is_none() => {
                    for p in paths {
                        let p = trim_dir(&p);
                        if perms.read {
                            masked.insert(p);
                        } else if perms.write || perms.append {
                            readonly.insert(p);
                        }
                    }
                }
                _ => notes.push(format!(
                    "`{}` ({}) is a deny rule Landlock cannot express; AppArmor enforces it",
                    rule.text(),
                    rule.span.location()
                )),
            }
            continue;
        }
        let paths: Vec<String> = match glob.literals().or_else(|| glob.subtrees()) {
            Some(paths) => paths,
            None => {
                let prefixes = glob.literal_prefixes();
                widened.insert(format!("{path} → {}", prefixes.join(", ")));
                prefixes
            }
        };
        for p in paths.into_iter().map(|p| trim_dir(&p)).filter(|p| p.starts_with('/')) {
            if perms.read {
                read.insert(p.clone());
            }
            if perms.write || perms.append || perms.link {
                write.insert(p.clone());
            }
            if perms.mmap_exec || perms.exec.is_some() {
                exec.insert(p);
            }
        }
    }
    if owner_rules > 0 {
        notes.push(format!(
            "{owner_rules} rules are `owner`-qualified; Landlock cannot check file ownership, so they apply to every file there"
        ));
    }
    if !widened.is_empty() {
        notes.push(format!(
            "Landlock has no globs: these rules are widened to their leading directory (AppArmor keeps them exact): {}",
            widened.into_iter().collect::<Vec<_>>().join("; ")
        ));
    }
    if everything {
        out += "[filesystem]\n# The profile grants every file (`file,` or `all,`): no Landlock sets.\n";
        notes.push("the profile grants every file (`file,`): the policy has no Landlock sets".to_string());
    } else {
        out += "[filesystem.landlock]\n# The profile's file rules as Landlock path sets (each path and everything beneath it).\n";
        for (key, set) in [("read", prune(read)), ("write", prune(write)), ("execute", prune(exec))] {
            out += &format!("{key} = [{}]\n", list(&set));
        }
        out += "\n[filesystem]\n";
    }
    if !masked.is_empty() {
        out += &format!("# `deny` rules that take read access.\nmasked_paths = [{}]\n", list(&masked));
    }
    if !readonly.is_empty() {
        out += &format!("# `deny` rules that take write access.\nreadonly_paths = [{}]\n", list(&readonly));
    }
    out += "\n";

    // Rlimits.
    let mut rlimits = String::new();
    for (name, value, unit) in &profile.rlimits {
        match (value.parse::<u64>(), unit) {
            (Ok(n), None) => rlimits += &format!("{name} = {n}\n"),
            _ => notes.push(format!(
                "rlimit {name} <= {value}{} is not carried over",
                unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default()
            )),
        }
    }
    if !rlimits.is_empty() {
        out += &format!("[process.rlimits]\n{rlimits}\n");
    }

    // What stays AppArmor's alone.
    let mut other = std::collections::BTreeMap::<&str, usize>::new();
    for rule in &profile.rules {
        let class = match &rule.kind {
            RuleKind::Dbus { .. } => "dbus",
            RuleKind::Signal { .. } => "signal",
            RuleKind::Ptrace { .. } => "ptrace",
            RuleKind::Unix { .. } => "unix",
            RuleKind::Mount { .. } | RuleKind::Remount { .. } | RuleKind::Umount { .. } | RuleKind::PivotRoot { .. } => "mount",
            RuleKind::ChangeProfile { .. } => "change_profile",
            RuleKind::Mqueue { .. } => "mqueue",
            RuleKind::Userns { .. } => "userns",
            RuleKind::IoUring { .. } => "io_uring",
            _ => continue,
        };
        *other.entry(class).or_default() += 1;
    }
    if !other.is_empty() {
        let parts: Vec<String> = other.iter().map(|(k, n)| format!("{n} {k}")).collect();
        notes.push(format!("rules with no palisade equivalent, enforced by the AppArmor profile only: {}", parts.join(", ")));
    }
    if !profile.children.is_empty() {
        let names: Vec<&str> = profile.children.iter().map(|c| c.name.as_str()).collect();
        notes.push(format!("hats and child profiles are not imported: {}", names.join(", ")));
    }
    if let Some(flag) = profile.mode_flag() {
        notes.push(format!("the profile is in `{flag}` mode: AppArmor does not enforce it"));
    }
    // palisade names host profiles with simple words (policy/lower.rs); a path-named profile
    // cannot be referenced, so the policy then generates its own.
    let simple_name = !profile.name.is_empty()
        && profile.name.len() <= 200
        && profile.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if simple_name {
        out += "[apparmor]\n# Keep the original profile loaded and in force.\n";
        out += &format!("profile = {}\n", q(&profile.name));
    } else {
        out += &format!("[apparmor]\n# `{}` is named by a path, which [apparmor] profile cannot reference: the policy\n# generates its own profile. Load the original under a simple name to keep it in force.\nprofile = \"generate\"\n", profile.name.replace('\n', " "));
        notes.push(format!(
            "profile `{}` is named by a path; the policy generates its own AppArmor profile instead of referencing it",
            profile.name
        ));
    }
    Imported { toml: out, notes }
}

/// `/usr/lib/` → `/usr/lib`; `/` stays.
fn trim_dir(p: &str) -> String {
    if p.len() > 1 {
        p.trim_end_matches('/').to_string()
    } else {
        p.to_string()
    }
}

/// Drops paths that a broader path in the same set already covers.
fn prune(set: BTreeSet<String>) -> BTreeSet<String> {
    let all: Vec<String> = set.iter().cloned().collect();
    set.into_iter().filter(|p| !all.iter().any(|q| q != p && (q == "/" || p.starts_with(&format!("{q}/"))))).collect()
}
