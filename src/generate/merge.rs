//! `--merge`: the union of several runs. Traces are added up; an existing policy (one that
//! generate wrote, or one written by hand) is read back into the same observations: its own
//! allowed syscalls, the argument rules generate writes (socket families, clone namespace
//! masks, personality values, ioctl requests), its Landlock grants, capabilities, network
//! mode and egress. Entries it inherits from its base are not its own and are left to the base.
//! Rules of other shapes are carried over as written.

use super::observe::CLONE_NAMESPACES;
use super::trace::{Seen, Trace};
use crate::policy::model::{Egress, NetworkMode, Policy, SeccompRule};
use crate::policy::source::Origin;
use crate::seccomp::action::Action;
use crate::seccomp::condition::Op;

/// Everything learned so far: the union of the traces, plus what merged policies say that
/// no trace can (rules of other shapes, egress entries, an explicit bridge network).
#[derive(Debug, Clone, Default)]
pub struct Learned {
    pub trace: Trace,
    /// The commands of the runs, for the header.
    pub commands: Vec<Vec<String>>,
    pub extra_rules: Vec<SeccompRule>,
    pub extra_egress: Vec<Egress>,
    /// A merged policy asked for the bridge network.
    pub bridge_from: Vec<String>,
    /// The base a merged policy extends (as its chain names it), if any.
    pub merged_bases: Vec<String>,
}

impl Learned {
    /// Adds one run's trace.
    pub fn add_trace(&mut self, t: &Trace) {
        self.commands.push(t.command.clone());
        let u = &mut self.trace;
        for (arch, calls) in &t.syscalls {
            let mine = u.syscalls.entry(arch.clone()).or_default();
            for (name, seen) in calls {
                mine.entry(name.clone()).or_default().merge(seen);
            }
        }
        merge_map(&mut u.socket_families, &t.socket_families);
        merge_map(&mut u.socketpair_families, &t.socketpair_families);
        merge_map(&mut u.clone_namespaces, &t.clone_namespaces);
        merge_map(&mut u.clone3_namespaces, &t.clone3_namespaces);
        merge_map(&mut u.personalities, &t.personalities);
        merge_map(&mut u.ioctls, &t.ioctls);
        for (path, used) in &t.files {
            let mine = u.files.entry(path.clone()).or_default();
            mine.read |= used.read;
            mine.write |= used.write;
            mine.modify_entries |= used.modify_entries;
            mine.execute |= used.execute;
            mine.is_dir |= used.is_dir;
            mine.seen.merge(&used.seen);
        }
        for (key, (endpoint, seen)) in &t.endpoints {
            u.endpoints.entry(key.clone()).or_insert_with(|| (endpoint.clone(), Seen::default())).1.merge(seen);
        }
        for (key, (refusal, seen)) in &t.refusals {
            u.refusals.entry(key.clone()).or_insert_with(|| (refusal.clone(), Seen::default())).1.merge(seen);
        }
        u.notes.extend(t.notes.iter().cloned());
    }

    /// Adds what an existing policy grants of its own (see the module docs). `label` names it
    /// in reasons.
    pub fn add_policy(&mut self, p: &Policy, label: &str) {
        let Some(own_file) = p.chain.last() else { return };
        let own = |origin: &Origin| matches!(origin, Origin::At(span) if span.file.name == *own_file);
        let seen = Seen::from_file(label);
        if p.chain.len() >= 2 {
            self.merged_bases.push(p.chain[p.chain.len() - 2].clone());
        }
        let arches = &p.seccomp.architectures.value;
        for item in p.seccomp.allow.iter().filter(|i| own(&i.origin)) {
            for arch in arches.iter().filter(|a| a.syscall_nr(&item.name).is_some()) {
                self.trace.syscalls.entry(arch.name().to_string()).or_default().entry(item.name.clone()).or_default().merge(&seen);
            }
        }
        for rule in p.seccomp.rules.iter().filter(|r| own(&r.origin)) {
            // Syscalls allowed on some ABIs only: calls seen through those ABIs.
            if let (Action::Allow, true, None, None, Some(only)) =
                (rule.action, rule.conditions.is_empty(), rule.if_capability, rule.unless_capability, &rule.arches)
            {
                for (arch, name) in
                    only.iter().flat_map(|a| rule.syscalls.iter().map(move |n| (a, n))).filter(|(a, n)| a.syscall_nr(n).is_some())
                {
                    self.trace.syscalls.entry(arch.name().to_string()).or_default().entry(name.clone()).or_default().merge(&seen);
                }
                continue;
            }
            if !self.recognize(rule, &seen) {
                self.extra_rules.push(rule.clone());
                continue;
            }
            // The syscall was used on the policy's ABIs, as a trace would say.
            for arch in arches.iter().filter(|a| a.syscall_nr(&rule.syscalls[0]).is_some()) {
                self.trace.syscalls.entry(arch.name().to_string()).or_default().entry(rule.syscalls[0].clone()).or_default().merge(&seen);
            }
        }
        let ll = &p.filesystem.landlock;
        for (list, kind) in [(&ll.read, 'r'), (&ll.write, 'w'), (&ll.execute, 'x')] {
            for item in list.iter().filter(|i| own(&i.origin)) {
                let is_dir = std::path::Path::new(&item.name).is_dir();
                let used = self.trace.files.entry(item.name.clone()).or_default();
                match kind {
                    'r' => used.read = true,
                    'w' if is_dir => used.modify_entries = true,
                    'w' => used.write = true,
                    _ => used.execute = true,
                }
                used.is_dir |= is_dir;
                used.seen.merge(&seen);
            }
        }
        for cap in p.capabilities.kept.iter().filter(|(_, i)| own(&i.origin)).map(|(c, _)| c) {
            let what = format!("kept by {label}");
            self.trace
                .refusals
                .entry(format!("{} {what}", cap.name()))
                .or_insert_with(|| (super::trace::Refusal { capability: cap.name(), what }, Seen::default()))
                .1
                .merge(&seen);
        }
        if own(&p.network.mode.origin) && p.network.mode.value == NetworkMode::Bridge {
            self.bridge_from.push(label.to_string());
        }
        if let Some(egress) = p.network.egress.as_ref().filter(|e| own(&e.origin)) {
            self.extra_egress.extend(egress.value.iter().cloned());
        }
    }

    /// Reads a rule of a shape generate writes back into observations; false for others.
    fn recognize(&mut self, rule: &SeccompRule, seen: &Seen) -> bool {
        let [syscall] = rule.syscalls.as_slice() else { return false };
        if rule.if_capability.is_some() || rule.unless_capability.is_some() || rule.arches.is_some() {
            return false;
        }
        let single_eq = |arg: u8| match rule.conditions.as_slice() {
            [c] if c.arg == arg && c.op == Op::Eq => Some(c.value),
            _ => None,
        };
        let t = &mut self.trace;
        match (syscall.as_str(), rule.action) {
            ("socket", Action::Allow) => single_eq(0).map(|v| t.socket_families.entry(v as u32).or_default().merge(seen)).is_some(),
            ("socketpair", Action::Allow) => single_eq(0).map(|v| t.socketpair_families.entry(v as u32).or_default().merge(seen)).is_some(),
            ("personality", Action::Allow) => {
                single_eq(0).map(|v| t.personalities.entry(v & 0xffff_ffff).or_default().merge(seen)).is_some()
            }
            ("ioctl", Action::Allow) => single_eq(1).map(|v| t.ioctls.entry(v as u32).or_default().merge(seen)).is_some(),
            // The catch-alls generate puts after those rules are written again as needed.
            ("socket" | "socketpair" | "ioctl", Action::Errno(_)) => rule.conditions.is_empty(),
            ("clone", Action::Allow) => match rule.conditions.as_slice() {
                [c] if c.arg == 0 && c.value == 0 && matches!(c.op, Op::MaskedEq(_)) => {
                    let Op::MaskedEq(mask) = c.op else { return false };
                    let allowed = CLONE_NAMESPACES & !mask;
                    t.clone_namespaces.entry(allowed).or_default().merge(seen);
                    true
                }
                _ => false,
            },
            ("clone3", Action::Errno(e)) if u32::from(e) == nix::libc::ENOSYS as u32 && rule.conditions.is_empty() => {
                t.clone3_namespaces.entry(0).or_default().merge(seen);
                true
            }
            _ => false,
        }
    }
}

fn merge_map<K: Ord + Clone>(into: &mut std::collections::BTreeMap<K, Seen>, from: &std::collections::BTreeMap<K, Seen>) {
    for (k, v) in from {
        into.entry(k.clone()).or_default().merge(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::arch::Arch;

    #[test]
    fn traces_add_up() {
        let mut a = Trace::default();
        a.syscall(Arch::X86_64, "read", "cat");
        a.file("/etc/hostname", "cat", |f| f.read = true);
        let mut b = Trace::default();
        b.syscall(Arch::X86_64, "read", "ls");
        b.syscall(Arch::X86_64, "getdents64", "ls");
        b.socket_families.entry(1).or_default().add("ls");
        let mut l = Learned::default();
        l.add_trace(&a);
        l.add_trace(&b);
        let calls = &l.trace.syscalls["x86_64"];
        assert_eq!(calls["read"].count, 2);
        assert!(calls.contains_key("getdents64"));
        assert!(l.trace.files["/etc/hostname"].read);
        assert_eq!(l.trace.socket_families[&1].count, 1);
    }

    #[test]
    fn a_policy_reads_back_into_observations() {
        let text = r#"
[policy]
name = "g"
extends = "untrusted"
[capabilities]
add = [{ name = "NET_BIND_SERVICE", reason = "observed" }]
[seccomp]
allow = [{ name = "uname", reason = "observed" }]
[[seccomp.rule]]
syscalls = ["socket"]
action = "allow"
when = ["arg0 == AF_NETLINK"]
reason = "observed"
[[seccomp.rule]]
syscalls = ["clone"]
action = "allow"
when = ["arg0 & CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET == 0"]
reason = "observed"
[[seccomp.rule]]
syscalls = ["kill"]
action = "allow"
when = ["arg1 == 15"]
reason = "hand-written"
[filesystem.landlock]
read = [{ name = "/srv/data", reason = "observed" }]
"#;
        let p = crate::policy::load_str("g.toml", text).unwrap();
        let mut l = Learned::default();
        l.add_policy(&p, "g.toml");
        let t = &l.trace;
        assert!(t.syscalls["x86_64"].contains_key("uname"));
        assert!(!t.syscalls["x86_64"].contains_key("read"), "the base's syscalls are the base's");
        assert!(t.socket_families.contains_key(&16));
        assert_eq!(t.clone_namespaces.keys().copied().collect::<Vec<_>>(), [nix::libc::CLONE_NEWUSER as u64]);
        assert!(t.files["/srv/data"].read);
        assert!(t.refusals.values().any(|(r, _)| r.capability == "NET_BIND_SERVICE"));
        assert_eq!(l.extra_rules.len(), 1);
        assert_eq!(l.extra_rules[0].syscalls, ["kill"]);
        assert_eq!(l.merged_bases, ["builtin:untrusted"]);
        assert!(t.syscalls["x86_64"]["uname"].describe("call").contains("in the run behind g.toml"));
    }
}
