//! `palisade policy explain`: the effective decision for a syscall, capability or path, traced
//! to the policy line (through `extends`) that made it.

use crate::cli::Format;
use crate::compile::Plan;
use crate::policy::model::{Cap, Policy};
use crate::policy::pathmatch::{is_within, matches};
use crate::seccomp::arch::{self, Arch};
use crate::seccomp::filter::{Decided, Source};
use std::str::FromStr;

pub struct Query {
    pub syscall: Option<String>,
    pub args: Vec<String>,
    pub arch: Option<Arch>,
    pub capability: Option<String>,
    pub path: Option<String>,
}

pub fn run(file: &str, query: Query, format: Format) -> anyhow::Result<i32> {
    let Some(policy) = super::load_or_report(file) else { return Ok(1) };
    let plan = Plan::new(policy)?;
    let mut report = Vec::new();
    if let Some(name) = &query.syscall {
        report.extend(explain_syscall(&plan, name, &query.args, query.arch)?);
    }
    if let Some(cap) = &query.capability {
        report.push(explain_capability(&plan.policy, cap)?);
    }
    if let Some(path) = &query.path {
        report.extend(explain_path(&plan.policy, path));
    }
    if query.syscall.is_none() && query.capability.is_none() && query.path.is_none() {
        report.push(summary(&plan.policy));
    }
    match format {
        Format::Text => {
            for line in &report {
                println!("{}", line["text"].as_str().unwrap_or_default());
            }
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(0)
}

fn decided_text(d: &Decided) -> String {
    let layer = match d.source {
        Source::Deny => "deny list",
        Source::Rule => "rule",
        Source::Allow => "allow list",
        Source::Default => "default_action",
    };
    let reason = d.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
    format!("{} (by the {layer} at {}{reason})", d.action, d.origin)
}

fn parse_arg(text: &str) -> anyhow::Result<u64> {
    let c =
        crate::seccomp::condition::Condition::parse(&format!("arg0 == {text}")).map_err(|e| anyhow::anyhow!("argument `{text}`: {e}"))?;
    Ok(c.value)
}

fn explain_syscall(plan: &Plan, name: &str, args: &[String], only: Option<Arch>) -> anyhow::Result<Vec<serde_json::Value>> {
    if !arch::known_syscall(name) {
        anyhow::bail!("unknown syscall `{name}`");
    }
    let mut values = [0u64; 6];
    for (i, a) in args.iter().take(6).enumerate() {
        values[i] = parse_arg(a)?;
    }
    let mut out = Vec::new();
    for af in plan.filter.arches.iter().filter(|a| only.is_none_or(|o| o == a.arch)) {
        let Some(nr) = af.arch.syscall_nr(name) else {
            out.push(serde_json::json!({ "arch": af.arch.name(), "syscall": name, "text": format!("{}: {name} does not exist on this architecture", af.arch.name()) }));
            continue;
        };
        let decision = af.syscalls.get(&nr);
        let mut text = String::new();
        let action;
        match decision {
            None => {
                action = plan.filter.default.action;
                text += &format!("{}: {name} → {}", af.arch.name(), decided_text(&plan.filter.default));
            }
            Some(d) if !args.is_empty() || d.rules.is_empty() => {
                let decided = d.decide(&values);
                action = decided.action;
                let shown: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                text += &format!("{}: {name}({}) → {}", af.arch.name(), shown.join(", "), decided_text(decided));
            }
            Some(d) => {
                action = d.fallback.action;
                text += &format!("{}: {name} depends on its arguments; first match wins:", af.arch.name());
                for rule in &d.rules {
                    let conds: Vec<String> =
                        rule.checks.iter().map(|c| format!("{}{}", c.text, if c.low_word_only { " [32-bit]" } else { "" })).collect();
                    text += &format!("\n  if {} → {}", conds.join(" and "), decided_text(&rule.decided));
                }
                text += &format!("\n  otherwise → {}", decided_text(&d.fallback));
            }
        }
        out.push(serde_json::json!({ "arch": af.arch.name(), "syscall": name, "action": action.to_string(), "text": text }));
    }
    Ok(out)
}

fn explain_capability(policy: &Policy, name: &str) -> anyhow::Result<serde_json::Value> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") { upper } else { format!("CAP_{upper}") };
    let cap = Cap(caps::Capability::from_str(&full).map_err(|_| anyhow::anyhow!("unknown capability `{name}`"))?);
    let reason = |r: &Option<String>| r.as_deref().map(|r| format!(" — {r}")).unwrap_or_default();
    let (kept, text) = match (policy.capabilities.kept.get(&cap), policy.capabilities.dropped.get(&cap)) {
        (Some(item), _) => (true, format!("{cap}: kept (granted at {}{})", item.origin, reason(&item.reason))),
        (None, Some(item)) => (false, format!("{cap}: dropped (at {}{})", item.origin, reason(&item.reason))),
        (None, None) => (false, format!("{cap}: not granted (capabilities start empty and nothing in the chain keeps {cap})")),
    };
    Ok(serde_json::json!({ "capability": cap.name(), "kept": kept, "text": text }))
}

fn explain_path(policy: &Policy, path: &str) -> Vec<serde_json::Value> {
    let fs = &policy.filesystem;
    let mut lines = Vec::new();
    let mut say = |kind: &str, text: String| lines.push(serde_json::json!({ "path": path, "kind": kind, "text": text }));
    for item in fs.masked_paths.iter().filter(|i| is_within(path, &i.name)) {
        say("masked", format!("{path}: masked by {} (at {})", item.name, item.origin));
    }
    for item in fs.readonly_paths.iter().filter(|i| is_within(path, &i.name)) {
        say("readonly", format!("{path}: read-only by {} (at {})", item.name, item.origin));
    }
    if let Some((mount, opts)) = fs.tmpfs.iter().filter(|(m, _)| is_within(path, m)).max_by_key(|(m, _)| m.len()) {
        say("tmpfs", format!("{path}: on a private tmpfs at {mount} ({}, at {})", opts.value, opts.origin));
    } else if fs.read_only_root.value {
        say("readonly", format!("{path}: the root filesystem is read-only (at {})", fs.read_only_root.origin));
    }
    if fs.landlock.enabled() {
        let mut rights = Vec::new();
        for (right, list) in [("read", &fs.landlock.read), ("write", &fs.landlock.write), ("execute", &fs.landlock.execute)] {
            if let Some(item) = list.iter().find(|i| is_within(path, &i.name)) {
                rights.push(format!("{right} via {} (at {})", item.name, item.origin));
            }
        }
        if rights.is_empty() {
            say("landlock", format!("{path}: no Landlock access (not under any read, write or execute path)"));
        } else {
            say("landlock", format!("{path}: Landlock allows {}", rights.join("; ")));
        }
    }
    let vol = &policy.volumes;
    if let Some(item) = vol.deny_sources.iter().find(|i| matches(&i.name, path)) {
        say("volume", format!("{path}: refused as a volume source by {} (at {})", item.name, item.origin));
    } else if let Some(allow) = &vol.allow_sources {
        match allow.iter().find(|i| matches(&i.name, path)) {
            Some(item) => say("volume", format!("{path}: allowed as a volume source by {} (at {})", item.name, item.origin)),
            None => say("volume", format!("{path}: refused as a volume source (not in allow_sources)")),
        }
    } else {
        say("volume", format!("{path}: allowed as a volume source (no allow list; not denied)"));
    }
    lines
}

fn summary(policy: &Policy) -> serde_json::Value {
    let caps: Vec<String> = policy.capabilities.kept.keys().map(|c| c.name()).collect();
    let seccomp =
        policy.seccomp.default_action.as_ref().map_or("not configured".to_string(), |d| format!("default {} (at {})", d.value, d.origin));
    let text = format!(
        "policy {} (chain: {})\n  capabilities: {}\n  seccomp: {}, {} allowed entries, {} denied, {} rules\n  no_new_privileges: {} (at {})\n  network: {} (at {})\n  read-only root: {} (at {})\n  landlock: {}",
        policy.name,
        policy.chain.join(" -> "),
        if caps.is_empty() { "none".to_string() } else { caps.join(", ") },
        seccomp,
        policy.seccomp.allow.len(),
        policy.seccomp.deny.len(),
        policy.seccomp.rules.len(),
        policy.process.no_new_privileges.value,
        policy.process.no_new_privileges.origin,
        policy.network.mode.value.name(),
        policy.network.mode.origin,
        policy.filesystem.read_only_root.value,
        policy.filesystem.read_only_root.origin,
        if policy.filesystem.landlock.enabled() { "enabled" } else { "off" },
    );
    serde_json::json!({ "policy": policy.name, "text": text })
}
