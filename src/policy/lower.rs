//! Applies one parsed policy file on top of the policy it extends: validates every value
//! (syscalls, capabilities, constants, actions, units) and merges it by the documented rule
//! for its field. All problems are collected, each with its span, before the caller fails.

use super::model::*;
use super::raw::*;
use super::source::{Origin, SourceFile, Span};
use crate::diag::{closest, Diagnostic, Diagnostics};
use crate::seccomp::action::Action;
use crate::seccomp::arch::{self, Arch};
use crate::seccomp::condition::{Condition, ConditionError};
use crate::seccomp::groups;
use caps::Capability;
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

/// Lowers `raw` (the text of `file`) onto `policy`.
pub struct Lowering<'a> {
    pub file: &'a Arc<SourceFile>,
    pub diags: &'a mut Diagnostics,
}

impl Lowering<'_> {
    fn span<T>(&self, s: &S<T>) -> Span {
        Span::new(self.file, s.span())
    }

    fn origin<T>(&self, s: &S<T>) -> Origin {
        Origin::At(self.span(s))
    }

    fn setting<T: Clone>(&self, s: &S<T>) -> Setting<T> {
        Setting::new(s.get_ref().clone(), self.origin(s))
    }

    fn error<T>(&mut self, code: &'static str, at: &S<T>, message: String, hint: Option<String>) {
        let mut d = Diagnostic::error(code, message).at(&self.span(at));
        d.hint = hint;
        self.diags.push(d);
    }

    pub fn apply(&mut self, policy: &mut Policy, raw: RawPolicy) {
        if let Some(meta) = raw.policy {
            if let Some(name) = meta.name {
                policy.name = name.into_inner();
            }
            if let Some(description) = meta.description {
                policy.description = Some(description.into_inner());
            }
        }
        if let Some(p) = raw.process {
            self.process(&mut policy.process, p);
        }
        if let Some(c) = raw.capabilities {
            self.capabilities(&mut policy.capabilities, c);
        }
        if let Some(s) = raw.seccomp {
            self.seccomp(&mut policy.seccomp, s);
        }
        if let Some(f) = raw.filesystem {
            self.filesystem(&mut policy.filesystem, f);
        }
        if let Some(v) = raw.volumes {
            self.volumes(&mut policy.volumes, v);
        }
        if let Some(n) = raw.network {
            self.network(&mut policy.network, n);
        }
        if let Some(r) = raw.resources {
            self.resources(&mut policy.resources, r);
        }
        if let Some(a) = raw.apparmor {
            self.apparmor(&mut policy.apparmor, a);
        }
        if let Some(s) = raw.selinux {
            self.selinux(&mut policy.selinux, s);
        }
        if let Some(t) = raw.trust {
            policy.trust.policy = t.policy.map(|p| self.setting(&p)).or(policy.trust.policy.take());
            policy.trust.registries_d = t.registries_d.map(|p| self.setting(&p)).or(policy.trust.registries_d.take());
        }
    }

    /// Flattens list entries into items, each with its own span and the entry's reason.
    fn items(&mut self, entries: &[S<Entry>]) -> Vec<(S<String>, Item)> {
        let mut out = Vec::new();
        for entry in entries {
            let reason = entry.get_ref().reason.as_ref().map(|r| r.get_ref().clone());
            for name in Entry::spanned_names(entry) {
                let item = Item { name: name.get_ref().clone(), origin: self.origin(&name), reason: reason.clone() };
                out.push((name, item));
            }
        }
        out
    }

    fn paths(&mut self, entries: &[S<Entry>]) -> Vec<Item> {
        let mut out = Vec::new();
        for (name, item) in self.items(entries) {
            if !item.name.starts_with('/') {
                self.error("invalid-value", &name, format!("`{}` is not an absolute path", item.name), None);
            } else {
                out.push(item);
            }
        }
        out
    }

    fn process(&mut self, process: &mut Process, raw: RawProcess) {
        if let Some(user) = raw.user {
            match parse_user(user.get_ref()) {
                Ok(u) => process.user = Some(Setting::new(u, self.origin(&user))),
                Err(msg) => self.error("invalid-value", &user, msg, Some("write \"uid\", \"uid:gid\" or a user name".into())),
            }
        }
        if let Some(groups) = raw.groups {
            let origin = groups.first().map(|g| self.origin(g)).unwrap_or(Origin::Default);
            process.groups = Setting::new(groups.iter().map(|g| *g.get_ref()).collect(), origin);
        }
        if let Some(v) = raw.no_new_privileges {
            process.no_new_privileges = self.setting(&v);
        }
        if let Some(v) = raw.run_as_non_root {
            process.run_as_non_root = self.setting(&v);
        }
        for (name, limit) in raw.rlimits.into_iter().flatten() {
            let key = name.get_ref().to_ascii_lowercase().trim_start_matches("rlimit_").to_string();
            if !RLIMITS.contains(&key.as_str()) {
                let hint = closest(&key, RLIMITS.iter().copied()).map(|c| format!("did you mean `{c}`?"));
                self.error("invalid-value", &name, format!("unknown rlimit `{}`", name.get_ref()), hint);
                continue;
            }
            let value = match limit.get_ref() {
                RawRlimit::Both(n) => Limit { soft: *n, hard: *n },
                RawRlimit::Split { soft, hard } => Limit { soft: *soft, hard: *hard },
            };
            if value.soft > value.hard {
                self.error(
                    "invalid-value",
                    &limit,
                    format!("rlimit `{key}`: soft limit {} exceeds hard limit {}", value.soft, value.hard),
                    None,
                );
                continue;
            }
            process.rlimits.insert(key, Setting::new(value, self.origin(&limit)));
        }
        for (key, value) in raw.env.into_iter().flatten() {
            if key.get_ref().is_empty() || key.get_ref().contains('=') {
                self.error("invalid-value", &key, format!("`{}` is not a valid environment variable name", key.get_ref()), None);
                continue;
            }
            process.env.insert(key.get_ref().clone(), self.setting(&value));
        }
    }

    fn capability(&mut self, name: &S<String>) -> Option<Vec<Cap>> {
        let text = name.get_ref().to_ascii_uppercase();
        if text == "ALL" {
            return Some(caps::all().into_iter().map(Cap).collect());
        }
        let full = if text.starts_with("CAP_") { text } else { format!("CAP_{text}") };
        match Capability::from_str(&full) {
            Ok(cap) => Some(vec![Cap(cap)]),
            Err(_) => {
                let names: Vec<String> = caps::all().iter().map(|c| c.to_string()[4..].to_string()).collect();
                let hint =
                    closest(full.trim_start_matches("CAP_"), names.iter().map(String::as_str)).map(|c| format!("did you mean `{c}`?"));
                self.error("unknown-capability", name, format!("unknown capability `{}`", name.get_ref()), hint);
                None
            }
        }
    }

    fn capabilities(&mut self, set: &mut Capabilities, raw: RawCapabilities) {
        if let Some(keep) = raw.keep {
            set.kept.clear();
            for (name, item) in self.items(keep.get_ref()) {
                for cap in self.capability(&name).unwrap_or_default() {
                    set.dropped.remove(&cap);
                    set.kept.insert(cap, item.clone());
                }
            }
        }
        for (name, item) in self.items(raw.add.as_deref().unwrap_or_default()) {
            for cap in self.capability(&name).unwrap_or_default() {
                set.dropped.remove(&cap);
                set.kept.insert(cap, item.clone());
            }
        }
        for (name, item) in self.items(raw.drop.as_deref().unwrap_or_default()) {
            for cap in self.capability(&name).unwrap_or_default() {
                set.kept.remove(&cap);
                set.dropped.insert(cap, item.clone());
            }
        }
    }

    fn action(&mut self, text: &S<String>) -> Option<Action> {
        match Action::parse(text.get_ref()) {
            Ok(a) => Some(a),
            Err(e) => {
                let hint = format!("one of {}", Action::SPELLINGS.join(", "));
                self.error("unknown-action", text, e.to_string(), Some(hint));
                None
            }
        }
    }

    fn arch(&mut self, text: &S<String>) -> Option<Arch> {
        match Arch::from_str(text.get_ref()) {
            Ok(a) => Some(a),
            Err(_) => {
                let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
                let hint = format!("palisade knows {}; every other architecture is killed", names.join(", "));
                self.error("unknown-arch", text, format!("unknown architecture `{}`", text.get_ref()), Some(hint));
                None
            }
        }
    }

    /// Validates a syscall name, or expands an `@group`.
    fn syscall_items(&mut self, entries: &[S<Entry>]) -> Vec<SyscallItem> {
        let mut out = Vec::new();
        for (name, item) in self.items(entries) {
            if let Some(group_name) = item.name.strip_prefix('@') {
                match groups::group(group_name) {
                    Some(group) => out.extend(group.syscalls.iter().map(|s| SyscallItem {
                        name: s.to_string(),
                        group: Some(group.name.to_string()),
                        origin: item.origin.clone(),
                        reason: item.reason.clone(),
                    })),
                    None => {
                        let hint = closest(group_name, groups::GROUPS.iter().map(|g| g.name))
                            .map(|c| format!("did you mean `@{c}`? (`palisade policy groups` lists them)"));
                        self.error("unknown-group", &name, format!("unknown syscall group `{}`", item.name), hint);
                    }
                }
            } else if self.known_syscall(&name) {
                out.push(SyscallItem { name: item.name, group: None, origin: item.origin, reason: item.reason });
            }
        }
        out
    }

    fn known_syscall(&mut self, name: &S<String>) -> bool {
        if arch::known_syscall(name.get_ref()) {
            return true;
        }
        let hint = closest(name.get_ref(), Arch::ALL.iter().flat_map(|a| a.syscalls().iter().map(|(n, _)| *n)))
            .map(|c| format!("did you mean `{c}`?"));
        self.error(
            "unknown-syscall",
            name,
            format!("unknown syscall `{}` (not in any of palisade's architecture tables)", name.get_ref()),
            hint,
        );
        false
    }

    fn seccomp(&mut self, seccomp: &mut Seccomp, raw: RawSeccomp) {
        if let Some(text) = &raw.default_action {
            if let Some(a) = self.action(text) {
                seccomp.default_action = Some(Setting::new(a, self.origin(text)));
            }
        }
        if let Some(text) = &raw.deny_action {
            if let Some(a) = self.action(text) {
                seccomp.deny_action = Setting::new(a, self.origin(text));
            }
        }
        if let Some(list) = &raw.architectures {
            let arches: Vec<Arch> = list.get_ref().iter().filter_map(|a| self.arch(a)).collect();
            seccomp.architectures = Setting::new(arches, self.origin(list));
        }
        let allow = self.syscall_items(raw.allow.as_deref().unwrap_or_default());
        seccomp.allow.extend(allow);
        let deny = self.syscall_items(raw.deny.as_deref().unwrap_or_default());
        seccomp.deny.extend(deny);
        // Most-derived rules first: this file's rules go in front of the inherited ones.
        let mut rules = Vec::new();
        for rule in raw.rule.unwrap_or_default() {
            if let Some(r) = self.rule(&rule) {
                rules.push(r);
            }
        }
        rules.append(&mut seccomp.rules);
        seccomp.rules = rules;
    }

    fn rule(&mut self, spanned: &S<RawRule>) -> Option<SeccompRule> {
        let raw = spanned.get_ref();
        let errors_before = self.diags.0.len();
        let mut syscalls = Vec::new();
        for name in &raw.syscalls {
            if self.known_syscall(name) {
                syscalls.push(name.get_ref().clone());
            }
        }
        let action = self.action(&raw.action);
        let mut conditions = Vec::new();
        for text in &raw.when {
            match Condition::parse(text.get_ref()) {
                Ok(c) => conditions.push(c),
                Err(e) => {
                    let code = match e {
                        ConditionError::UnknownConstant(_) => "unknown-constant",
                        _ => "bad-condition",
                    };
                    let hint = match &e {
                        ConditionError::UnknownConstant(name) => {
                            closest(name, crate::seccomp::tables::CONSTANTS.iter().map(|(n, _)| *n)).map(|c| format!("did you mean `{c}`?"))
                        }
                        _ => Some("conditions look like `arg0 != AF_ALG`, `arg1:64 >= 4096`, `arg0 & CLONE_NEWUSER == 0`".into()),
                    };
                    self.error(code, text, e.to_string(), hint);
                }
            }
        }
        let single_cap = |s: &Option<S<String>>, this: &mut Self| -> Option<Cap> {
            let s = s.as_ref()?;
            match this.capability(s) {
                Some(caps) if caps.len() == 1 => Some(caps[0]),
                Some(_) => {
                    this.error("invalid-value", s, "name one capability here, not ALL".into(), None);
                    None
                }
                None => None,
            }
        };
        let if_capability = single_cap(&raw.if_capability, self);
        let unless_capability = single_cap(&raw.unless_capability, self);
        let arches = raw.arches.as_ref().map(|list| list.iter().filter_map(|a| self.arch(a)).collect());
        if self.diags.0.len() > errors_before {
            return None;
        }
        Some(SeccompRule {
            syscalls,
            action: action?,
            conditions,
            if_capability,
            unless_capability,
            arches,
            reason: raw.reason.as_ref().map(|r| r.get_ref().clone()),
            origin: self.origin(spanned),
        })
    }

    fn filesystem(&mut self, fs: &mut Filesystem, raw: RawFilesystem) {
        if let Some(v) = raw.read_only_root {
            fs.read_only_root = self.setting(&v);
        }
        let masked = self.paths(raw.masked_paths.as_deref().unwrap_or_default());
        extend_unique(&mut fs.masked_paths, masked);
        let readonly = self.paths(raw.readonly_paths.as_deref().unwrap_or_default());
        extend_unique(&mut fs.readonly_paths, readonly);
        for (path, options) in raw.tmpfs.into_iter().flatten() {
            if !path.get_ref().starts_with('/') {
                self.error("invalid-value", &path, format!("tmpfs mount point `{}` is not an absolute path", path.get_ref()), None);
                continue;
            }
            if let Some(bad) = options.get_ref().split(',').map(str::trim).find(|o| !valid_tmpfs_option(o)) {
                self.error(
                    "invalid-value",
                    &options,
                    format!("unknown tmpfs option `{bad}`"),
                    Some("tmpfs takes size=, mode=, nr_inodes=, uid=, gid= and nosuid, nodev, noexec, ro, rw".into()),
                );
                continue;
            }
            fs.tmpfs.insert(path.get_ref().clone(), self.setting(&options));
        }
        if let Some(ll) = raw.landlock {
            let read = self.paths(ll.read.as_deref().unwrap_or_default());
            extend_unique(&mut fs.landlock.read, read);
            let write = self.paths(ll.write.as_deref().unwrap_or_default());
            extend_unique(&mut fs.landlock.write, write);
            let execute = self.paths(ll.execute.as_deref().unwrap_or_default());
            extend_unique(&mut fs.landlock.execute, execute);
            if let Some(e) = ll.enforcement {
                let value = match e.get_ref().as_str() {
                    "best-effort" => Enforcement::BestEffort,
                    "required" => Enforcement::Required,
                    other => {
                        self.error(
                            "invalid-value",
                            &e,
                            format!("unknown landlock enforcement `{other}`"),
                            Some("\"best-effort\" or \"required\"".into()),
                        );
                        return;
                    }
                };
                fs.landlock.enforcement = Setting::new(value, self.origin(&e));
            }
        }
    }

    fn volumes(&mut self, volumes: &mut Volumes, raw: RawVolumes) {
        if let Some(allow) = raw.allow_sources {
            let items = self.paths(&allow);
            extend_unique(volumes.allow_sources.get_or_insert_with(Vec::new), items);
        }
        let deny = self.paths(raw.deny_sources.as_deref().unwrap_or_default());
        extend_unique(&mut volumes.deny_sources, deny);
        for (name, item) in self.items(raw.force_options.as_deref().unwrap_or_default()) {
            if !FORCEABLE_MOUNT_OPTIONS.contains(&item.name.as_str()) {
                self.error(
                    "invalid-value",
                    &name,
                    format!("`{}` cannot be forced on volumes", item.name),
                    Some(format!("one of {}", FORCEABLE_MOUNT_OPTIONS.join(", "))),
                );
                continue;
            }
            extend_unique(&mut volumes.force_options, vec![item]);
        }
    }

    fn network(&mut self, network: &mut Network, raw: RawNetwork) {
        if let Some(mode) = raw.mode {
            let value = match mode.get_ref().as_str() {
                "none" => Some(NetworkMode::None),
                "bridge" => Some(NetworkMode::Bridge),
                "host" => Some(NetworkMode::Host),
                other => {
                    self.error(
                        "invalid-value",
                        &mode,
                        format!("unknown network mode `{other}`"),
                        Some("\"none\", \"bridge\" or \"host\"".into()),
                    );
                    None
                }
            };
            if let Some(v) = value {
                network.mode = Setting::new(v, self.origin(&mode));
            }
        }
        if let Some(v) = raw.publish {
            network.publish = self.setting(&v);
        }
        if let Some(list) = raw.egress {
            let origin = list.first().map(|e| self.origin(e)).unwrap_or(Origin::Default);
            let mut rules = Vec::new();
            for e in &list {
                let raw = e.get_ref();
                if parse_cidr(raw.to.get_ref()).is_none() {
                    self.error(
                        "invalid-value",
                        &raw.to,
                        format!("`{}` is not an IP address or CIDR", raw.to.get_ref()),
                        Some("e.g. \"10.0.0.0/8\" or \"192.0.2.7\"".into()),
                    );
                    continue;
                }
                let protocol = match raw.protocol.as_ref().map(|p| p.get_ref().as_str()) {
                    None | Some("any") => Protocol::Any,
                    Some("tcp") => Protocol::Tcp,
                    Some("udp") => Protocol::Udp,
                    Some(other) => {
                        let at = raw.protocol.as_ref().expect("matched Some");
                        self.error("invalid-value", at, format!("unknown protocol `{other}`"), Some("\"tcp\", \"udp\" or \"any\"".into()));
                        continue;
                    }
                };
                rules.push(Egress {
                    to: raw.to.get_ref().clone(),
                    ports: raw.ports.iter().map(|p| *p.get_ref()).collect(),
                    protocol,
                    reason: raw.reason.as_ref().map(|r| r.get_ref().clone()),
                    origin: self.origin(e),
                });
            }
            // The egress list replaces the inherited one: a derived policy states its destinations.
            network.egress = Some(Setting::new(rules, origin));
        }
    }

    fn resources(&mut self, resources: &mut Resources, raw: RawResources) {
        if let Some(memory) = raw.memory {
            match parse_size(memory.get_ref()) {
                Some(bytes) if bytes >= 4096 * 1024 => resources.memory_bytes = Some(Setting::new(bytes, self.origin(&memory))),
                Some(_) => self.error("invalid-value", &memory, "memory limit below 4M cannot start a process".into(), None),
                None => self.error(
                    "invalid-value",
                    &memory,
                    format!("`{}` is not a size", memory.get_ref()),
                    Some("e.g. \"256M\", \"1G\" (binary units)".into()),
                ),
            }
        }
        if let Some(pids) = raw.pids {
            if *pids.get_ref() == 0 {
                self.error("invalid-value", &pids, "a pids limit of 0 allows no process at all".into(), None);
            } else {
                resources.pids = Some(self.setting(&pids));
            }
        }
        if let Some(cpu) = raw.cpu {
            let v = *cpu.get_ref();
            if !(v > 0.0 && v <= 1024.0) {
                self.error("invalid-value", &cpu, format!("cpu {v} is out of range (0 < cpu <= 1024 cores)"), None);
            } else {
                resources.cpu = Some(self.setting(&cpu));
            }
        }
    }

    fn apparmor(&mut self, apparmor: &mut AppArmor, raw: RawAppArmor) {
        if let Some(profile) = raw.profile {
            let value = match profile.get_ref().as_str() {
                "generate" => AppArmorProfile::Generate,
                "unconfined" => AppArmorProfile::Unconfined,
                name if valid_label_word(name) => AppArmorProfile::Named(name.to_string()),
                other => {
                    self.error("invalid-value", &profile, format!("`{other}` is not a valid AppArmor profile name"), None);
                    return;
                }
            };
            apparmor.profile = Setting::new(value, self.origin(&profile));
        }
        if let Some(name) = raw.name {
            if valid_label_word(name.get_ref()) {
                apparmor.name = Some(self.setting(&name));
            } else {
                self.error("invalid-value", &name, format!("`{}` is not a valid AppArmor profile name", name.get_ref()), None);
            }
        }
    }

    fn selinux(&mut self, selinux: &mut Selinux, raw: RawSelinux) {
        let fields = [
            (raw.user, &mut selinux.user),
            (raw.role, &mut selinux.role),
            (raw.process_type, &mut selinux.process_type),
            (raw.file_type, &mut selinux.file_type),
        ];
        for (value, slot) in fields {
            if let Some(v) = value {
                if v.get_ref().chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !v.get_ref().is_empty() {
                    *slot = self.setting(&v);
                } else {
                    self.error("invalid-value", &v, format!("`{}` is not a valid SELinux identifier", v.get_ref()), None);
                }
            }
        }
        if let Some(level) = raw.level {
            match level.get_ref().as_str() {
                "auto" => selinux.level = Setting::new(None, self.origin(&level)),
                l if valid_mls_level(l)
                    && libselinux_accepts(&format!("{}:{}:{}:{l}", selinux.user.value, selinux.role.value, selinux.process_type.value)) =>
                {
                    selinux.level = Setting::new(Some(l.to_string()), self.origin(&level))
                }
                l => self.error(
                    "invalid-value",
                    &level,
                    format!("`{l}` is not an MLS level"),
                    Some("\"auto\", or e.g. \"s0:c12,c345\"".into()),
                ),
            }
        }
    }
}

/// Resource limits a policy may set, as `RLIMIT_*` without the prefix.
pub const RLIMITS: &[&str] = &[
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Mount options that only ever remove power, so a policy may force them onto every volume.
pub const FORCEABLE_MOUNT_OPTIONS: &[&str] = &["nodev", "noexec", "nosuid", "ro", "noatime", "nosymfollow"];

fn extend_unique(list: &mut Vec<Item>, items: Vec<Item>) {
    for item in items {
        if !list.iter().any(|i| i.name == item.name) {
            list.push(item);
        }
    }
}

fn parse_user(text: &str) -> Result<User, String> {
    let (user, group) = match text.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (text, None),
    };
    if let Ok(uid) = user.parse::<u32>() {
        let gid = match group {
            Some(g) => Some(g.parse::<u32>().map_err(|_| format!("group `{g}` must be numeric when the user is"))?),
            None => None,
        };
        return Ok(User::Id { uid, gid });
    }
    if group.is_none() && !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
        return Ok(User::Name(user.to_string()));
    }
    Err(format!("`{text}` is not a user"))
}

/// `256M`, `1G`, `512k`, `1024` (bytes); binary units as Docker's `--memory`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().ok()?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

/// An IPv4/IPv6 address with an optional prefix length.
pub fn parse_cidr(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max)?,
        None => max,
    };
    Some((addr, prefix))
}

fn valid_tmpfs_option(option: &str) -> bool {
    const FLAGS: &[&str] = &["nosuid", "nodev", "noexec", "ro", "rw", "noatime", "relatime", "strictatime", "nosymfollow"];
    const KEYED: &[&str] = &["size", "mode", "nr_inodes", "nr_blocks", "uid", "gid"];
    FLAGS.contains(&option)
        || option
            .split_once('=')
            .is_some_and(|(k, v)| KEYED.contains(&k) && !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '%'))
}

fn valid_label_word(name: &str) -> bool {
    !name.is_empty() && name.len() <= 200 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Whether libselinux's own context parser (`context_new`, pure string handling that needs no
/// SELinux kernel) reads `label` back unchanged, so the labels palisade writes are ones
/// SELinux tooling understands.
fn libselinux_accepts(label: &str) -> bool {
    selinux::OpaqueSecurityContext::new(label).and_then(|c| c.to_c_string()).is_ok_and(|c| c.to_str() == Ok(label))
}

/// `s0`, `s0:c1,c2`, `s0-s0:c0.c1023`.
fn valid_mls_level(level: &str) -> bool {
    let sensitivity_ok = |s: &str| s.strip_prefix('s').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let category_ok = |c: &str| {
        c.split(',').all(|part| {
            part.split('.').all(|cat| cat.strip_prefix('c').is_some_and(|n| !n.is_empty() && n.chars().all(|d| d.is_ascii_digit())))
        })
    };
    level.split('-').all(|half| match half.split_once(':') {
        Some((s, cats)) => sensitivity_ok(s) && category_ok(cats),
        None => sensitivity_ok(half),
    })
}

/// Turns a rule with an `if/unless_capability` into whether it applies under `caps`.
pub fn rule_applies(rule: &SeccompRule, caps: &BTreeMap<Cap, Item>) -> bool {
    rule.if_capability.is_none_or(|c| caps.contains_key(&c)) && rule.unless_capability.is_none_or(|c| !caps.contains_key(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_users_cidrs_and_levels() {
        assert_eq!(parse_size("256M"), Some(256 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("12x"), None);
        assert_eq!(parse_user("65534:65534"), Ok(User::Id { uid: 65534, gid: Some(65534) }));
        assert_eq!(parse_user("nobody"), Ok(User::Name("nobody".into())));
        assert!(parse_user("1:x").is_err());
        assert!(parse_cidr("10.0.0.0/8").is_some());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(valid_mls_level("s0:c1,c2") && valid_mls_level("s0-s0:c0.c1023") && !valid_mls_level("x0"));
        assert!(libselinux_accepts("system_u:system_r:container_t:s0:c1,c2"));
        assert!(!libselinux_accepts("system_u:system_r"));
    }
}
