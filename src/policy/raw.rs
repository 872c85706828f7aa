//! The policy file exactly as written: serde structs mirroring the TOML, every value wrapped in
//! `Spanned` so later stages can point at it. Unknown keys are rejected here
//! (`deny_unknown_fields`); duplicate keys are rejected by the TOML parser itself.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_spanned::Spanned;
use std::collections::BTreeMap;

pub type S<T> = Spanned<T>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub policy: Option<RawMeta>,
    pub process: Option<RawProcess>,
    pub capabilities: Option<RawCapabilities>,
    pub seccomp: Option<RawSeccomp>,
    pub filesystem: Option<RawFilesystem>,
    pub volumes: Option<RawVolumes>,
    pub network: Option<RawNetwork>,
    pub resources: Option<RawResources>,
    pub apparmor: Option<RawAppArmor>,
    pub selinux: Option<RawSelinux>,
    pub trust: Option<RawTrust>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub name: Option<S<String>>,
    pub description: Option<S<String>>,
    pub extends: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProcess {
    pub user: Option<S<String>>,
    pub groups: Option<Vec<S<u32>>>,
    pub no_new_privileges: Option<S<bool>>,
    pub run_as_non_root: Option<S<bool>>,
    pub rlimits: Option<BTreeMap<S<String>, S<RawRlimit>>>,
    pub env: Option<BTreeMap<S<String>, S<String>>>,
}

/// `nofile = 1024` (soft = hard) or `nofile = { soft = 512, hard = 1024 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawRlimit {
    Both(u64),
    Split { soft: u64, hard: u64 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapabilities {
    pub keep: Option<S<Vec<S<Entry>>>>,
    pub add: Option<Vec<S<Entry>>>,
    pub drop: Option<Vec<S<Entry>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeccomp {
    pub default_action: Option<S<String>>,
    pub deny_action: Option<S<String>>,
    pub architectures: Option<S<Vec<S<String>>>>,
    pub allow: Option<Vec<S<Entry>>>,
    pub deny: Option<Vec<S<Entry>>>,
    pub rule: Option<Vec<S<RawRule>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub syscalls: Vec<S<String>>,
    pub action: S<String>,
    #[serde(default)]
    pub when: Vec<S<String>>,
    pub if_capability: Option<S<String>>,
    pub unless_capability: Option<S<String>>,
    pub arches: Option<Vec<S<String>>>,
    pub reason: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilesystem {
    pub read_only_root: Option<S<bool>>,
    pub masked_paths: Option<Vec<S<Entry>>>,
    pub readonly_paths: Option<Vec<S<Entry>>>,
    pub tmpfs: Option<BTreeMap<S<String>, S<String>>>,
    pub landlock: Option<RawLandlock>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLandlock {
    pub read: Option<Vec<S<Entry>>>,
    pub write: Option<Vec<S<Entry>>>,
    pub execute: Option<Vec<S<Entry>>>,
    pub enforcement: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVolumes {
    pub allow_sources: Option<Vec<S<Entry>>>,
    pub deny_sources: Option<Vec<S<Entry>>>,
    pub force_options: Option<Vec<S<Entry>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub mode: Option<S<String>>,
    pub egress: Option<Vec<S<RawEgress>>>,
    pub publish: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEgress {
    pub to: S<String>,
    #[serde(default)]
    pub ports: Vec<S<u16>>,
    pub protocol: Option<S<String>>,
    pub reason: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResources {
    pub memory: Option<S<String>>,
    pub pids: Option<S<u64>>,
    pub cpu: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAppArmor {
    pub profile: Option<S<String>>,
    pub name: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSelinux {
    pub user: Option<S<String>>,
    pub role: Option<S<String>>,
    #[serde(rename = "type")]
    pub process_type: Option<S<String>>,
    pub file_type: Option<S<String>>,
    pub level: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    pub policy: Option<S<String>>,
    pub registries_d: Option<S<String>>,
}

/// A list item: a bare string (`"CHOWN"`) or a table with a reason
/// (`{ names = ["read", "write"], reason = "…" }`, also `name = "…"`). Built-in profiles use
/// the table form everywhere so that every entry says why it is there.
#[derive(Debug)]
pub struct Entry {
    pub names: Vec<S<String>>,
    pub reason: Option<S<String>>,
    /// True for the bare-string form, whose span is the string itself.
    pub bare: bool,
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string, or a table { names = [..], reason = \"..\" }")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Entry, E> {
        // The span of a bare string is filled in from the enclosing `Spanned<Entry>`.
        Ok(Entry { names: vec![Spanned::new(0..0, value.to_string())], reason: None, bare: true })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut names: Option<Vec<S<String>>> = None;
        let mut reason = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" | "names" if names.is_some() => return Err(de::Error::custom("give either `name` or `names`, once")),
                "name" => names = Some(vec![map.next_value()?]),
                "names" => names = Some(map.next_value::<SpannedList>()?.0),
                "reason" => reason = Some(map.next_value()?),
                other => return Err(de::Error::unknown_field(other, &["name", "names", "reason"])),
            }
        }
        let names = names.ok_or_else(|| de::Error::missing_field("names"))?;
        Ok(Entry { names, reason, bare: false })
    }
}

struct SpannedList(Vec<S<String>>);

impl<'de> Deserialize<'de> for SpannedList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = SpannedList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SpannedList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(SpannedList(out))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

impl Entry {
    /// The names with real spans: a bare string takes the span of its enclosing `Spanned`.
    pub fn spanned_names(entry: &S<Entry>) -> Vec<S<String>> {
        let inner = entry.get_ref();
        if inner.bare {
            vec![Spanned::new(entry.span(), inner.names[0].get_ref().clone())]
        } else {
            inner.names.iter().map(|n| Spanned::new(n.span(), n.get_ref().clone())).collect()
        }
    }
}
