//! An OCI config's `linux.resources` (runtime-spec config-linux.md, "Control groups"), read
//! strictly into typed settings: an unknown key is refused by its full name, a value of the
//! wrong JSON type or outside what the kernel stores unchanged is refused with the reason.
//! A value the kernel would clamp or round (cpu shares above 262144, a weight under 10)
//! would read back different from what was asked; refusing it here keeps "what the config
//! says" and "what the cgroup holds" the same thing.
//!
//! `null` counts as absent, as Go's runtime-spec types produce it for unset pointers.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `linux.resources`, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `devices`, in order (the kernel applies them in order).
    pub devices: Vec<DeviceRule>,
    pub memory: Memory,
    pub cpu: Cpu,
    /// `pids.limit`: positive is a limit, negative is unlimited, 0 is unset (as runc).
    pub pids: Option<i64>,
    pub blkio: Blkio,
    pub hugepage_limits: Vec<HugepageLimit>,
    pub network: Network,
    /// `rdma`: device name → limits.
    pub rdma: BTreeMap<String, Rdma>,
    /// `unified`: cgroup v2 file name → value.
    pub unified: BTreeMap<String, String>,
}

/// One entry of `devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// `a` (all), `c` or `b`.
    pub kind: char,
    /// `None`: every major (`*`).
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// A non-empty subset of `rwm`, in that order.
    pub access: String,
}

impl DeviceRule {
    /// The line devices.allow / devices.deny take (Documentation/admin-guide/cgroup-v1/devices.rst).
    pub fn line(&self) -> String {
        if self.kind == 'a' && self.major.is_none() && self.minor.is_none() {
            // `a` alone: every device, every access (`a *:* rwm` is refused by older kernels).
            return "a".into();
        }
        let num = |n: Option<i64>| n.map_or("*".to_string(), |n| n.to_string());
        format!("{} {}:{} {}", self.kind, num(self.major), num(self.minor), self.access)
    }

    /// Denies every device: the rule the default OCI config starts with.
    pub fn is_deny_all(&self) -> bool {
        !self.allow && self.kind == 'a' && self.major.is_none() && self.minor.is_none() && self.access == "rwm"
    }
}

/// runc's default device allow list (libcontainer/specconv AllowedDevices), added after the
/// config's own rules: the nodes every container's /dev holds, and mknod of any node (which
/// gives nothing without read or write access to it).
pub fn default_device_rules() -> Vec<DeviceRule> {
    let rule = |kind, major: Option<i64>, minor: Option<i64>, access: &str| DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.to_string(),
    };
    vec![
        rule('c', None, None, "m"),
        rule('b', None, None, "m"),
        rule('c', Some(1), Some(3), "rwm"), // /dev/null
        rule('c', Some(1), Some(8), "rwm"), // /dev/random
        rule('c', Some(1), Some(7), "rwm"), // /dev/full
        rule('c', Some(5), Some(0), "rwm"), // /dev/tty
        rule('c', Some(1), Some(5), "rwm"), // /dev/zero
        rule('c', Some(1), Some(9), "rwm"), // /dev/urandom
        rule('c', Some(5), Some(1), "rwm"), // /dev/console
        rule('c', Some(136), None, "rwm"),  // /dev/pts/*
        rule('c', Some(5), Some(2), "rwm"), // /dev/ptmx
    ]
}

/// The device rules a container's device cgroup gets after `deny a`: the config's, in order,
/// then runc's default allow list — less what a config rule denies by exact type and number
/// (`deny c 1:9 rwm` keeps /dev/urandom closed; runc would re-open it). The blanket
/// `deny a` the default config starts with is the starting point, not such a denial.
pub fn effective_device_rules(config: &[DeviceRule]) -> Vec<DeviceRule> {
    let mut out = config.to_vec();
    for mut rule in default_device_rules() {
        for deny in config.iter().filter(|d| !d.allow && !d.is_deny_all()) {
            if (deny.kind, deny.major, deny.minor) == (rule.kind, rule.major, rule.minor) {
                rule.access.retain(|c| !deny.access.contains(c));
            }
        }
        if !rule.access.is_empty() {
            out.push(rule);
        }
    }
    out
}

/// `memory`. Byte values are as written; -1 is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// Memory plus swap (v1's memsw), not swap alone.
    pub swap: Option<i64>,
    pub kernel: Option<i64>,
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    pub disable_oom_killer: Option<bool>,
    pub use_hierarchy: Option<bool>,
}

/// `cpu`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cpu {
    pub shares: Option<u64>,
    /// Microseconds per period; -1: unlimited.
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

/// `blockIO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blkio {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    pub weight_device: Vec<WeightDevice>,
    pub throttle_read_bps: Vec<Throttle>,
    pub throttle_write_bps: Vec<Throttle>,
    pub throttle_read_iops: Vec<Throttle>,
    pub throttle_write_iops: Vec<Throttle>,
}

impl Blkio {
    pub fn is_empty(&self) -> bool {
        *self == Blkio::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageLimit {
    /// As the kernel names it in hugetlb.<size>.*: `2MB`, `1GB`, `64KB`.
    pub page_size: String,
    pub limit: u64,
}

/// `network` (v1 net_cls and net_prio).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub class_id: Option<u32>,
    pub priorities: Vec<(String, u32)>,
}

impl Network {
    pub fn is_empty(&self) -> bool {
        self.class_id.is_none() && self.priorities.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rdma {
    pub hca_handles: Option<u32>,
    pub hca_objects: Option<u32>,
}

/// Errors in `linux.resources`, naming the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResourceError {
    #[error("{path}: unknown key (runtime-spec config-linux.md \"Control groups\" does not define it)")]
    Unknown { path: String },
    #[error("{path}: expected {expected}")]
    Type { path: String, expected: &'static str },
    #[error("{path}: `{value}` {why}")]
    Invalid { path: String, value: String, why: String },
}

type Result<T> = std::result::Result<T, ResourceError>;

fn invalid(path: &str, value: impl std::fmt::Display, why: impl Into<String>) -> ResourceError {
    ResourceError::Invalid { path: path.to_string(), value: value.to_string(), why: why.into() }
}

/// A JSON object with its dotted path, read key by key.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(value: &'a Value, path: &str) -> Result<Obj<'a>> {
        let map = value.as_object().ok_or(ResourceError::Type { path: path.to_string(), expected: "an object" })?;
        Ok(Obj { map, path: path.to_string() })
    }

    /// Refuses every key not in `known`.
    fn only(&self, known: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ResourceError::Unknown { path: self.key(k) }),
            None => Ok(()),
        }
    }

    fn key(&self, k: &str) -> String {
        format!("{}.{k}", self.path)
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    fn i64(&self, k: &str) -> Result<Option<i64>> {
        self.get(k).map(|v| v.as_i64().ok_or(ResourceError::Type { path: self.key(k), expected: "an integer (int64)" })).transpose()
    }

    fn u64(&self, k: &str) -> Result<Option<u64>> {
        self.get(k)
            .map(|v| v.as_u64().ok_or(ResourceError::Type { path: self.key(k), expected: "a non-negative integer (uint64)" }))
            .transpose()
    }

    fn u32(&self, k: &str) -> Result<Option<u32>> {
        self.get(k)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(ResourceError::Type { path: self.key(k), expected: "an integer 0..=4294967295 (uint32)" })
            })
            .transpose()
    }

    fn u16(&self, k: &str) -> Result<Option<u16>> {
        self.get(k)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or(ResourceError::Type { path: self.key(k), expected: "an integer 0..=65535 (uint16)" })
            })
            .transpose()
    }

    fn bool(&self, k: &str) -> Result<Option<bool>> {
        self.get(k).map(|v| v.as_bool().ok_or(ResourceError::Type { path: self.key(k), expected: "true or false" })).transpose()
    }

    fn string(&self, k: &str) -> Result<Option<&'a str>> {
        self.get(k).map(|v| v.as_str().ok_or(ResourceError::Type { path: self.key(k), expected: "a string" })).transpose()
    }

    fn object(&self, k: &str) -> Result<Option<Obj<'a>>> {
        self.get(k).map(|v| Obj::new(v, &self.key(k))).transpose()
    }

    /// An array's elements as objects, with their indexed paths.
    fn objects(&self, k: &str) -> Result<Vec<Obj<'a>>> {
        let Some(v) = self.get(k) else { return Ok(Vec::new()) };
        let items = v.as_array().ok_or(ResourceError::Type { path: self.key(k), expected: "an array" })?;
        items.iter().enumerate().map(|(i, item)| Obj::new(item, &format!("{}[{i}]", self.key(k)))).collect()
    }

    fn required<T>(&self, k: &str, v: Option<T>) -> Result<T> {
        v.ok_or_else(|| invalid(&self.key(k), "(missing)", "is required"))
    }
}

impl Resources {
    /// Reads `linux.resources` (the value of that key).
    pub fn parse(value: &Value) -> Result<Resources> {
        let r = Obj::new(value, "linux.resources")?;
        r.only(&["devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"])?;
        let mut out = Resources::default();
        for d in r.objects("devices")? {
            out.devices.push(device_rule(&d)?);
        }
        if let Some(m) = r.object("memory")? {
            out.memory = memory(&m)?;
        }
        if let Some(c) = r.object("cpu")? {
            out.cpu = cpu(&c)?;
        }
        if let Some(p) = r.object("pids")? {
            p.only(&["limit"])?;
            out.pids = Some(p.required("limit", p.i64("limit")?)?);
        }
        if let Some(b) = r.object("blockIO")? {
            out.blkio = blkio(&b)?;
        }
        for h in r.objects("hugepageLimits")? {
            h.only(&["pageSize", "limit"])?;
            let page_size = h.required("pageSize", h.string("pageSize")?)?;
            if !page_size_ok(page_size) {
                return Err(invalid(
                    &h.key("pageSize"),
                    page_size,
                    "is not a page size as the kernel names it (a number and KB, MB or GB: `2MB`)",
                ));
            }
            out.hugepage_limits.push(HugepageLimit { page_size: page_size.to_string(), limit: h.required("limit", h.u64("limit")?)? });
        }
        if let Some(n) = r.object("network")? {
            n.only(&["classID", "priorities"])?;
            out.network.class_id = n.u32("classID")?;
            for p in n.objects("priorities")? {
                p.only(&["name", "priority"])?;
                let name = p.required("name", p.string("name")?)?;
                if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/') {
                    return Err(invalid(&p.key("name"), name, "is not an interface name"));
                }
                out.network.priorities.push((name.to_string(), p.required("priority", p.u32("priority")?)?));
            }
        }
        if let Some(rdma) = r.object("rdma")? {
            for (name, limits) in rdma.map {
                let l = Obj::new(limits, &rdma.key(name))?;
                l.only(&["hcaHandles", "hcaObjects"])?;
                if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
                    return Err(invalid(&rdma.path, name, "is not an RDMA device name"));
                }
                out.rdma.insert(name.clone(), Rdma { hca_handles: l.u32("hcaHandles")?, hca_objects: l.u32("hcaObjects")? });
            }
        }
        if let Some(u) = r.object("unified")? {
            for (key, value) in u.map {
                let path = u.key(key);
                let value = value.as_str().ok_or(ResourceError::Type { path: path.clone(), expected: "a string" })?;
                // A plain control file name `<controller>.<file>`: nothing that walks out of
                // the group, and not the files through which the runtime itself places
                // processes and enables controllers.
                let plain = key.split_once('.').is_some_and(|(c, f)| !c.is_empty() && !f.is_empty()) && !key.contains('/');
                if !plain {
                    return Err(invalid(&path, key, "is not a cgroup v2 control file name such as `memory.high`"));
                }
                if ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type"].contains(&key.as_str()) {
                    return Err(invalid(&path, key, "is managed by the runtime (process placement and controller delegation)"));
                }
                out.unified.insert(key.clone(), value.to_string());
            }
        }
        Ok(out)
    }

    /// Merges a policy's limits: for memory, pids and cpu time the stricter value wins.
    pub fn tighten(&mut self, limits: &super::Limits) {
        let lower = |current: Option<i64>, policy: i64| {
            Some(match current {
                Some(c) if c >= 0 => c.min(policy),
                _ => policy,
            })
        };
        if let Some(bytes) = limits.memory_bytes {
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            self.memory.limit = lower(self.memory.limit, bytes);
            // The policy's limit is on memory, not on memory plus swap: the swap total is
            // capped at it too, or the workload could page out past it.
            if self.memory.swap.is_some() {
                self.memory.swap = lower(self.memory.swap, bytes);
            }
        }
        if let Some(pids) = limits.pids {
            let pids = i64::try_from(pids).unwrap_or(i64::MAX);
            self.pids = match self.pids {
                Some(p) if p > 0 => Some(p.min(pids)),
                _ => Some(pids),
            };
        }
        if let Some(cores) = limits.cpu {
            let period = self.cpu.period.unwrap_or(super::cpu_quota(cores).1);
            let policy_quota = ((cores * period as f64).round() as i64).max(1_000);
            self.cpu.period = Some(period);
            self.cpu.quota = lower(self.cpu.quota, policy_quota);
        }
    }
}

fn device_rule(d: &Obj<'_>) -> Result<DeviceRule> {
    d.only(&["allow", "type", "major", "minor", "access"])?;
    let allow = d.required("allow", d.bool("allow")?)?;
    let kind = match d.string("type")? {
        None | Some("a") => 'a',
        Some("c") => 'c',
        Some("b") => 'b',
        Some(other) => return Err(invalid(&d.key("type"), other, "is not a device type (a, c or b)")),
    };
    let number = |k: &str| -> Result<Option<i64>> {
        match d.i64(k)? {
            // -1 is how some generators write the wildcard.
            Some(-1) | None => Ok(None),
            Some(n) if n >= 0 => Ok(Some(n)),
            Some(n) => Err(invalid(&d.key(k), n, "is not a device number (0 or more; omit it for any)")),
        }
    };
    let (major, minor) = (number("major")?, number("minor")?);
    let access = d.string("access")?.unwrap_or("rwm");
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(invalid(&d.key("access"), access, "is not a combination of r, w and m"));
    }
    // Normalised to the kernel's order, so that what devices.list shows matches the rule.
    let access: String = "rwm".chars().filter(|c| access.contains(*c)).collect();
    // The kernel reads `a` as "every device, every access" and ignores what follows it
    // (security/device_cgroup.c): `allow a 1:3 r` would allow everything.
    if kind == 'a' && (major.is_some() || minor.is_some() || access != "rwm") {
        return Err(invalid(
            &d.key("type"),
            "a",
            "covers every device with every access; give `c` or `b` to narrow a rule by number or access",
        ));
    }
    Ok(DeviceRule { allow, kind, major, minor, access })
}

fn memory(m: &Obj<'_>) -> Result<Memory> {
    m.only(&[
        "limit",
        "reservation",
        "swap",
        "kernel",
        "kernelTCP",
        "swappiness",
        "disableOOMKiller",
        "useHierarchy",
        "checkBeforeUpdate",
    ])?;
    if m.get("checkBeforeUpdate").is_some() {
        // Only meaningful to `update`, which palisade does not implement; refused rather
        // than accepted and ignored.
        return Err(invalid(&m.key("checkBeforeUpdate"), "set", "applies to `update`, which palisade does not implement"));
    }
    let bytes = |k: &str| -> Result<Option<i64>> {
        match m.i64(k)? {
            // 0 is "not set", as runc reads it (Docker writes zeros for what it leaves alone).
            Some(0) => Ok(None),
            Some(n) if n < -1 => Err(invalid(&m.key(k), n, "is not a byte count (positive, or -1 for unlimited)")),
            other => Ok(other),
        }
    };
    let out = Memory {
        limit: bytes("limit")?,
        reservation: bytes("reservation")?,
        swap: bytes("swap")?,
        kernel: bytes("kernel")?,
        kernel_tcp: bytes("kernelTCP")?,
        swappiness: m.u64("swappiness")?,
        disable_oom_killer: m.bool("disableOOMKiller")?,
        use_hierarchy: m.bool("useHierarchy")?,
    };
    if let Some(s) = out.swappiness.filter(|s| *s > 100) {
        return Err(invalid(&m.key("swappiness"), s, "is out of range (0 to 100)"));
    }
    if let (Some(limit), Some(swap)) = (out.limit, out.swap) {
        // memsw counts memory too: the kernel refuses a total below the memory limit.
        if swap != -1 && (limit == -1 || swap < limit) {
            return Err(invalid(&m.key("swap"), swap, format!("is below memory.limit ({limit}); swap is the limit on memory plus swap")));
        }
    }
    Ok(out)
}

fn cpu(c: &Obj<'_>) -> Result<Cpu> {
    c.only(&["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"])?;
    let out = Cpu {
        // 0 is "not set" for these, as runc reads them (Docker writes zeros for what it
        // leaves alone); a 0 real-time runtime would otherwise be a real setting.
        shares: c.u64("shares")?.filter(|v| *v != 0),
        quota: c.i64("quota")?.filter(|v| *v != 0),
        burst: c.u64("burst")?,
        period: c.u64("period")?.filter(|v| *v != 0),
        realtime_runtime: c.i64("realtimeRuntime")?.filter(|v| *v != 0),
        realtime_period: c.u64("realtimePeriod")?.filter(|v| *v != 0),
        cpus: c.string("cpus")?.map(str::to_string),
        mems: c.string("mems")?.map(str::to_string),
        idle: c.i64("idle")?,
    };
    // The kernel clamps shares to 2..=262144 (kernel/sched/core.c); outside it the group
    // would get another weight than asked.
    if let Some(s) = out.shares.filter(|s| !(2..=262_144).contains(s)) {
        return Err(invalid(&c.key("shares"), s, "is out of range (2 to 262144)"));
    }
    // CFS bandwidth: periods of 1 ms to 1 s, quotas of at least 1 ms (sched-bwc.rst).
    if let Some(p) = out.period.filter(|p| !(1_000..=1_000_000).contains(p)) {
        return Err(invalid(&c.key("period"), p, "is out of range (1000 to 1000000 microseconds)"));
    }
    if let Some(q) = out.quota.filter(|q| *q != -1 && *q < 1_000) {
        return Err(invalid(&c.key("quota"), q, "is out of range (at least 1000 microseconds, or -1 for unlimited)"));
    }
    if let Some(r) = out.realtime_runtime.filter(|r| *r < -1) {
        return Err(invalid(&c.key("realtimeRuntime"), r, "is out of range (0 or more, or -1 for unlimited)"));
    }
    if let Some(i) = out.idle.filter(|i| !(0..=1).contains(i)) {
        return Err(invalid(&c.key("idle"), i, "is out of range (0 or 1)"));
    }
    for (k, list) in [("cpus", &out.cpus), ("mems", &out.mems)] {
        if let Some(list) = list.as_deref().filter(|l| !list_ok(l)) {
            return Err(invalid(&c.key(k), list, "is not a list such as `0-3,5` (cpuset(7) \"List format\")"));
        }
    }
    Ok(out)
}

fn blkio(b: &Obj<'_>) -> Result<Blkio> {
    b.only(&[
        "weight",
        "leafWeight",
        "weightDevice",
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
    ])?;
    // CFQ/BFQ weights are 10..=1000 (blkio-controller.rst); 0 would be refused by the kernel.
    let weight = |o: &Obj<'_>, k: &str| -> Result<Option<u16>> {
        match o.u16(k)? {
            Some(0) => Ok(None),
            Some(w) if !(10..=1000).contains(&w) => Err(invalid(&o.key(k), w, "is out of range (10 to 1000, or 0 for not set)")),
            other => Ok(other),
        }
    };
    let device = |o: &Obj<'_>| -> Result<(i64, i64)> {
        let n = |k: &str| -> Result<i64> {
            match o.required(k, o.i64(k)?)? {
                n if n >= 0 => Ok(n),
                n => Err(invalid(&o.key(k), n, "is not a device number")),
            }
        };
        Ok((n("major")?, n("minor")?))
    };
    let mut out = Blkio { weight: weight(b, "weight")?, leaf_weight: weight(b, "leafWeight")?, ..Blkio::default() };
    for w in b.objects("weightDevice")? {
        w.only(&["major", "minor", "weight", "leafWeight"])?;
        let (major, minor) = device(&w)?;
        out.weight_device.push(WeightDevice { major, minor, weight: weight(&w, "weight")?, leaf_weight: weight(&w, "leafWeight")? });
    }
    let lists = [
        ("throttleReadBpsDevice", &mut out.throttle_read_bps),
        ("throttleWriteBpsDevice", &mut out.throttle_write_bps),
        ("throttleReadIOPSDevice", &mut out.throttle_read_iops),
        ("throttleWriteIOPSDevice", &mut out.throttle_write_iops),
    ];
    for (key, list) in lists {
        for t in b.objects(key)? {
            t.only(&["major", "minor", "rate"])?;
            let (major, minor) = device(&t)?;
            list.push(Throttle { major, minor, rate: t.required("rate", t.u64("rate")?)? });
        }
    }
    Ok(out)
}

/// cpuset(7) list format: `0-3,5,7-8`.
fn list_ok(list: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !list.is_empty()
        && list.split(',').all(|part| match part.split_once('-') {
            Some((a, b)) => num(a) && num(b) && a.parse::<u64>().ok() <= b.parse::<u64>().ok(),
            None => num(part),
        })
}

fn page_size_ok(size: &str) -> bool {
    ["KB", "MB", "GB"].iter().any(|unit| size.strip_suffix(unit).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        Resources::parse(&v).unwrap_err().to_string()
    }

    #[test]
    fn a_full_config_reads_into_typed_settings() {
        let r = Resources::parse(&json!({
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "mwr"}],
            "memory": {"limit": 50593792, "reservation": 40000000, "swap": 60000000, "swappiness": 10, "disableOOMKiller": true},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
            "pids": {"limit": 1000},
            "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 102400}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
            "unified": {"memory.high": "40000000"}
        }))
        .unwrap();
        assert_eq!(r.devices[0].line(), "a");
        assert!(r.devices[0].is_deny_all());
        assert_eq!(r.devices[1].line(), "c 10:229 rwm", "access normalised to the kernel's order");
        assert_eq!(r.memory.limit, Some(50593792));
        assert_eq!(r.memory.swappiness, Some(10));
        assert_eq!(r.cpu.cpus.as_deref(), Some("0-1"));
        assert_eq!(r.pids, Some(1000));
        assert_eq!(r.blkio.throttle_read_bps, [Throttle { major: 8, minor: 0, rate: 102400 }]);
        assert_eq!(r.hugepage_limits[0].page_size, "2MB");
        assert_eq!(r.network.priorities, [("eth0".to_string(), 500)]);
        assert_eq!(r.rdma["mlx5_1"].hca_objects, Some(10000));
        assert_eq!(r.unified["memory.high"], "40000000");
        // Wildcards: omitted or -1.
        let r = Resources::parse(&json!({"devices": [{"allow": true, "type": "c", "major": -1, "access": "m"}]})).unwrap();
        assert_eq!(r.devices[0].line(), "c *:* m");
    }

    #[test]
    fn unknown_keys_are_refused_by_their_full_name() {
        assert!(err(json!({"memroy": {}})).starts_with("linux.resources.memroy: unknown key"));
        assert!(err(json!({"memory": {"limitt": 1}})).starts_with("linux.resources.memory.limitt: unknown key"));
        assert!(err(json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "wieght": 10}]}}))
            .starts_with("linux.resources.blockIO.weightDevice[0].wieght: unknown key"));
        assert!(err(json!({"devices": [{"allow": true, "path": "/dev/x"}]})).starts_with("linux.resources.devices[0].path"));
    }

    #[test]
    fn wrong_types_and_out_of_range_values_are_refused() {
        assert_eq!(err(json!({"pids": {"limit": "1000"}})), "linux.resources.pids.limit: expected an integer (int64)");
        assert_eq!(err(json!({"memory": []})), "linux.resources.memory: expected an object");
        assert!(err(json!({"memory": {"swappiness": 101}})).contains("0 to 100"));
        assert!(err(json!({"memory": {"swappiness": -1}})).contains("uint64"));
        assert!(err(json!({"memory": {"limit": -2}})).contains("byte count"));
        assert!(err(json!({"memory": {"limit": 100000, "swap": 50000}})).contains("below memory.limit"));
        assert!(err(json!({"cpu": {"shares": 1}})).contains("2 to 262144"));
        assert!(err(json!({"cpu": {"period": 999}})).contains("1000 to 1000000"));
        assert!(err(json!({"cpu": {"quota": 10}})).contains("at least 1000"));
        assert!(err(json!({"cpu": {"cpus": "0-"}})).contains("List format"));
        assert!(err(json!({"cpu": {"cpus": "3-1"}})).contains("List format"));
        assert!(err(json!({"blockIO": {"weight": 5}})).contains("10 to 1000"));
        assert!(err(json!({"blockIO": {"weight": 70000}})).contains("uint16"));
        assert!(err(json!({"devices": [{"allow": true, "access": "rx"}]})).contains("r, w and m"));
        assert!(err(json!({"devices": [{"allow": true, "type": "p"}]})).contains("a, c or b"));
        assert!(err(json!({"devices": [{"type": "c"}]})).contains("allow: `(missing)` is required"));
        assert!(err(json!({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]})).contains("page size"));
        assert!(err(json!({"unified": {"../memory.max": "1"}})).contains("control file name"));
        assert!(err(json!({"unified": {"cgroup.procs": "1"}})).contains("managed by the runtime"));
        assert!(err(json!({"unified": {"memory.max": 1}})).contains("a string"));
        assert!(err(json!({"memory": {"checkBeforeUpdate": true}})).contains("update"));
        // Zeros are "not set", as runc reads them: Docker writes them for what it leaves alone.
        let docker = json!({"memory": {"limit": 0, "reservation": 0, "swap": 0, "kernel": 0}, "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0}, "blockIO": {"weight": 0}, "pids": {"limit": 0}});
        let r = Resources::parse(&docker).unwrap();
        assert_eq!((r.memory, r.cpu, r.blkio), (Memory::default(), Cpu::default(), Blkio::default()));
        let s = super::super::Settings::new(&super::super::Limits::default(), Some(&docker), false).unwrap();
        assert_eq!(s.v1_controllers(), ["devices"], "nothing but the device list is asked for");
        // null is absent.
        assert_eq!(Resources::parse(&json!({"memory": {"limit": null}})).unwrap(), Resources::default());
    }

    #[test]
    fn the_stricter_of_policy_and_config_wins() {
        let policy = super::super::Limits { memory_bytes: Some(64 << 20), pids: Some(100), cpu: Some(0.25) };
        let mut r = Resources::parse(
            &json!({"memory": {"limit": 128 << 20, "swap": 256 << 20}, "pids": {"limit": 50}, "cpu": {"quota": 50000, "period": 100000}}),
        )
        .unwrap();
        r.tighten(&policy);
        assert_eq!(r.memory.limit, Some(64 << 20));
        assert_eq!(r.memory.swap, Some(64 << 20), "swap total capped by the policy's memory too");
        assert_eq!(r.pids, Some(50), "the config's lower pids limit stays");
        assert_eq!((r.cpu.quota, r.cpu.period), (Some(25000), Some(100000)));
        // Unlimited in the config: the policy's limit applies.
        let mut r =
            Resources::parse(&json!({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1, "period": 200000}})).unwrap();
        r.tighten(&policy);
        assert_eq!((r.memory.limit, r.pids), (Some(64 << 20), Some(100)));
        assert_eq!((r.cpu.quota, r.cpu.period), (Some(50000), Some(200000)), "the config's period, the policy's share of it");
        // A stricter config is kept.
        let mut r = Resources::parse(&json!({"memory": {"limit": 1 << 20}, "cpu": {"quota": 10000, "period": 100000}})).unwrap();
        r.tighten(&policy);
        assert_eq!((r.memory.limit, r.cpu.quota), (Some(1 << 20), Some(10000)));
    }

    #[test]
    fn the_default_allow_list_is_runcs() {
        let lines: Vec<String> = default_device_rules().iter().map(DeviceRule::line).collect();
        assert_eq!(lines[..3], ["c *:* m", "b *:* m", "c 1:3 rwm"]);
        assert!(lines.contains(&"c 136:* rwm".to_string()));
        assert_eq!(lines.len(), 11);
    }

    #[test]
    fn config_rules_come_first_and_a_named_denial_is_not_reopened() {
        let parsed = Resources::parse(&json!({"devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
        ]}))
        .unwrap();
        let lines: Vec<String> = effective_device_rules(&parsed.devices).iter().map(DeviceRule::line).collect();
        assert_eq!(lines[..4], ["a", "c 10:229 rwm", "c 1:9 rwm", "c 1:3 w"]);
        assert!(lines.contains(&"c 1:3 rm".to_string()), "{lines:?}");
        assert_eq!(lines.iter().filter(|l| *l == "c 1:9 rwm").count(), 1, "only the config's own deny: {lines:?}");
        assert_eq!(lines.len(), 4 + 10, "urandom's default entry is dropped: {lines:?}");
        assert!(err(json!({"devices": [{"allow": true, "type": "a", "major": 1}]})).contains("covers every device"));
        assert!(err(json!({"devices": [{"allow": true, "access": "r"}]})).contains("covers every device"));
    }
}
