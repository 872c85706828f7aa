//! cgroup v1: one directory per controller hierarchy (Documentation/admin-guide/cgroup-v1/),
//! written with the file names runc and crun use, so that what runtime-tools and other
//! tools read back is what the config said.

use super::resources::{Resources, Throttle};
use super::{Cgroup, Error, Fs, Settings, MANAGED};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Creates `name` under each needed controller's hierarchy (every managed one for an
/// `always` group) and writes the settings. Every needed controller is checked to be
/// mounted before anything is made; the directories made so far are removed if a later step
/// fails (the `Cgroup` is dropped).
pub fn create(fs: &'static dyn Fs, mounts: &[(String, PathBuf)], name: &str, s: &Settings) -> Result<Cgroup, Error> {
    let mount = |ctl: &str| mounts.iter().find(|(c, _)| c == ctl).map(|(_, p)| p.clone());
    let needed = s.v1_controllers();
    for ctl in &needed {
        if mount(ctl).is_none() {
            let mounted: Vec<&str> = mounts.iter().map(|(c, _)| c.as_str()).collect();
            return Err(Error::NoController { controller: ctl, detail: format!("cgroup v1 hierarchies mounted: {}", mounted.join(", ")) });
        }
    }
    if !s.resources.unified.is_empty() {
        return Err(Error::Unsupported {
            setting: "linux.resources.unified",
            why: "sets cgroup v2 files, and this host's controllers are in cgroup v1 hierarchies".into(),
        });
    }
    let mut join: Vec<&'static str> = needed.clone();
    if s.always {
        join.extend(MANAGED.iter().filter(|c| mount(c).is_some() && !needed.contains(c)));
    }

    let mut cg = Cgroup::empty(fs);
    // Controller → its group directory; co-mounted controllers (`cpu,cpuacct`) share one.
    let mut dirs: BTreeMap<&'static str, PathBuf> = BTreeMap::new();
    for ctl in &join {
        let root = mount(ctl).expect("checked above, or filtered to mounted ones");
        let dir = root.join(name);
        if !cg.paths().contains(&dir) {
            cg.make(dir.clone())?;
            if *ctl == "cpuset" {
                inherit_cpuset(&cg, &root, name)?;
            }
        }
        dirs.insert(ctl, dir);
    }
    let dir = |ctl: &str| dirs[ctl].clone();
    let r = &s.resources;
    if let Some(d) = dirs.get("cpuset") {
        // After inheriting, so that a parent made just now holds the cpus it must contain.
        if let Some(cpus) = &r.cpu.cpus {
            cg.write_limit(d.join("cpuset.cpus"), cpus.clone())?;
        }
        if let Some(mems) = &r.cpu.mems {
            cg.write_limit(d.join("cpuset.mems"), mems.clone())?;
        }
    }
    if needed.contains(&"memory") {
        memory(&cg, &dir("memory"), s)?;
    }
    if needed.contains(&"cpu") {
        cpu(&cg, &dir("cpu"), r)?;
    }
    match r.pids {
        Some(p) if p > 0 => cg.write_limit(dir("pids").join("pids.max"), p.to_string())?,
        Some(p) if p < 0 => cg.write_limit(dir("pids").join("pids.max"), "max".into())?,
        _ => {}
    }
    if needed.contains(&"blkio") {
        blkio(&cg, &dir("blkio"), r)?;
    }
    if let Some(rules) = &s.devices {
        let d = dir("devices");
        // Deny everything first (the group inherits its parent's, usually "allow all"),
        // then the rules in order: the kernel applies each write to the current list.
        cg.write_limit(d.join("devices.deny"), "a".into())?;
        for rule in rules {
            let file = if rule.allow { "devices.allow" } else { "devices.deny" };
            cg.write_limit(d.join(file), rule.line())?;
        }
    }
    for h in &r.hugepage_limits {
        let path = dir("hugetlb").join(format!("hugetlb.{}.limit_in_bytes", h.page_size));
        if !fs.exists(&path) {
            return Err(Error::Unsupported {
                setting: "linux.resources.hugepageLimits",
                why: format!("this kernel has no {} huge pages ({} does not exist)", h.page_size, path.display()),
            });
        }
        cg.write_limit(path, h.limit.to_string())?;
    }
    if let Some(id) = r.network.class_id {
        cg.write_limit(dir("net_cls").join("net_cls.classid"), id.to_string())?;
    }
    for (iface, prio) in &r.network.priorities {
        cg.write_limit(dir("net_prio").join("net_prio.ifpriomap"), format!("{iface} {prio}"))?;
    }
    for (device, l) in &r.rdma {
        cg.write_limit(dir("rdma").join("rdma.max"), super::rdma_line(device, l))?;
    }
    Ok(cg)
}

/// cpuset: a new group starts with no cpus and no memory nodes, and a task cannot join it
/// (ENOSPC) until both are set; so every group on the way gets its parent's, top down, as
/// runc does (libcontainer/cgroups/fs/cpuset.go ensureParent). Shared parents that already
/// have them keep theirs.
fn inherit_cpuset(cg: &Cgroup, root: &Path, name: &str) -> Result<(), Error> {
    let mut parent = root.to_path_buf();
    for component in name.split('/') {
        let dir = parent.join(component);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if cg.read(&dir.join(file))?.trim().is_empty() {
                let value = cg.read(&parent.join(file))?;
                cg.write_limit(dir.join(file), value.trim().to_string())?;
            }
        }
        parent = dir;
    }
    Ok(())
}

fn memory(cg: &Cgroup, dir: &Path, s: &Settings) -> Result<(), Error> {
    let m = &s.resources.memory;
    if let Some(limit) = m.limit {
        cg.write_limit(dir.join("memory.limit_in_bytes"), limit.to_string())?;
    }
    // memsw: written after the memory limit, which it may not undercut.
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    match (m.swap, m.limit) {
        (Some(swap), _) => {
            if !cg.exists(&memsw) {
                return Err(Error::Unsupported {
                    setting: "linux.resources.memory.swap",
                    why: "swap accounting is off on this host (no memory.memsw.limit_in_bytes; boot with swapaccount=1)".into(),
                });
            }
            cg.write_limit(memsw, swap.to_string())?;
        }
        // The policy's "no paging past the limit", where the host accounts swap at all.
        (None, Some(limit)) if s.no_swap && cg.exists(&memsw) => cg.write_limit(memsw, limit.to_string())?,
        _ => {}
    }
    if let Some(r) = m.reservation {
        cg.write_limit(dir.join("memory.soft_limit_in_bytes"), r.to_string())?;
    }
    if let Some(kernel) = m.kernel.filter(|k| *k != -1) {
        kernel_memory(cg, dir, kernel)?;
    }
    if let Some(tcp) = m.kernel_tcp.filter(|k| *k != -1) {
        let path = dir.join("memory.kmem.tcp.limit_in_bytes");
        if !cg.exists(&path) {
            return Err(Error::Unsupported {
                setting: "linux.resources.memory.kernelTCP",
                why: "this kernel has no TCP buffer memory limit".into(),
            });
        }
        cg.write_limit(path, tcp.to_string())?;
    }
    if let Some(sw) = m.swappiness {
        cg.write_limit(dir.join("memory.swappiness"), sw.to_string())?;
    }
    if m.disable_oom_killer == Some(true) {
        cg.write_limit(dir.join("memory.oom_control"), "1".into())?;
    }
    if let Some(h) = m.use_hierarchy {
        // Linux 6.x accepts only 1 (non-hierarchical accounting is gone): false fails there
        // with the kernel's EINVAL, which is the truth.
        cg.write_limit(dir.join("memory.use_hierarchy"), if h { "1" } else { "0" }.into())?;
    }
    Ok(())
}

/// Kernel memory: since Linux 5.16 memory.kmem.limit_in_bytes accepts a write and ignores
/// it (mm/memcontrol-v1.c: the limit was deprecated, then not enforced; kernel memory is
/// charged to memory.limit_in_bytes instead). The value is read back, and a limit that did
/// not land is an error rather than a container that believes it has one. runc skips the
/// setting with a warning; palisade fails closed.
fn kernel_memory(cg: &Cgroup, dir: &Path, bytes: i64) -> Result<(), Error> {
    let setting = "linux.resources.memory.kernel";
    let path = dir.join("memory.kmem.limit_in_bytes");
    if !cg.exists(&path) {
        return Err(Error::Unsupported {
            setting,
            why: "this kernel has no kernel-memory limit (memory.kmem.limit_in_bytes); remove the setting".into(),
        });
    }
    cg.write_limit(path.clone(), bytes.to_string())?;
    let now = cg.read(&path)?;
    // The kernel rounds limits down to whole pages.
    let page = 4096;
    if now.trim().parse::<i64>().ok() != Some(bytes / page * page) && now.trim().parse::<i64>().ok() != Some(bytes) {
        return Err(Error::Unsupported {
            setting,
            why: format!(
                "this kernel accepts memory.kmem.limit_in_bytes but does not enforce it (wrote {bytes}, it reads {}); kernel memory counts against memory.limit — remove the setting",
                now.trim()
            ),
        });
    }
    Ok(())
}

fn cpu(cg: &Cgroup, dir: &Path, r: &Resources) -> Result<(), Error> {
    let c = &r.cpu;
    if let Some(shares) = c.shares {
        cg.write_limit(dir.join("cpu.shares"), shares.to_string())?;
    }
    // The period first: the kernel checks a quota against the period in force.
    if let Some(period) = c.period {
        cg.write_limit(dir.join("cpu.cfs_period_us"), period.to_string())?;
    }
    if let Some(quota) = c.quota {
        cg.write_limit(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
    }
    if let Some(burst) = c.burst {
        cg.write_limit(dir.join("cpu.cfs_burst_us"), burst.to_string())?;
    }
    for (setting, file, value) in [
        ("linux.resources.cpu.realtimePeriod", "cpu.rt_period_us", c.realtime_period.map(|v| v.to_string())),
        ("linux.resources.cpu.realtimeRuntime", "cpu.rt_runtime_us", c.realtime_runtime.map(|v| v.to_string())),
    ] {
        let Some(value) = value else { continue };
        let path = dir.join(file);
        if !cg.exists(&path) {
            return Err(Error::Unsupported {
                setting,
                why: format!("this kernel has no real-time group scheduling ({file}; CONFIG_RT_GROUP_SCHED)"),
            });
        }
        cg.write_limit(path, value)?;
    }
    if let Some(idle) = c.idle {
        cg.write_limit(dir.join("cpu.idle"), idle.to_string())?;
    }
    Ok(())
}

fn blkio(cg: &Cgroup, dir: &Path, r: &Resources) -> Result<(), Error> {
    let b = &r.blkio;
    // Proportional weights live in blkio.weight (CFQ, removed in Linux 5.0) or
    // blkio.bfq.weight (BFQ); without either scheduler there is nothing that enforces them.
    // Leaf weights existed only with CFQ; BFQ has none.
    let weight_file = |setting: &'static str, names: &[&str]| -> Result<PathBuf, Error> {
        let why = if names[0].contains("leaf") {
            "leaf weights went with the CFQ scheduler"
        } else {
            "no I/O scheduler with proportional weights, CFQ or BFQ"
        };
        names.iter().map(|n| dir.join(n)).find(|p| cg.exists(p)).ok_or_else(|| Error::Unsupported {
            setting,
            why: format!("this kernel's blkio controller has no {} ({why})", names.join(" or ")),
        })
    };
    if let Some(w) = b.weight {
        cg.write_limit(weight_file("linux.resources.blockIO.weight", &["blkio.bfq.weight", "blkio.weight"])?, w.to_string())?;
    }
    if let Some(w) = b.leaf_weight {
        cg.write_limit(weight_file("linux.resources.blockIO.leafWeight", &["blkio.leaf_weight"])?, w.to_string())?;
    }
    for d in &b.weight_device {
        if let Some(w) = d.weight {
            let file = weight_file("linux.resources.blockIO.weightDevice", &["blkio.bfq.weight_device", "blkio.weight_device"])?;
            cg.write_limit(file, format!("{}:{} {w}", d.major, d.minor))?;
        }
        if let Some(w) = d.leaf_weight {
            let file = weight_file("linux.resources.blockIO.weightDevice", &["blkio.leaf_weight_device"])?;
            cg.write_limit(file, format!("{}:{} {w}", d.major, d.minor))?;
        }
    }
    let throttles: [(&str, &Vec<Throttle>); 4] = [
        ("blkio.throttle.read_bps_device", &b.throttle_read_bps),
        ("blkio.throttle.write_bps_device", &b.throttle_write_bps),
        ("blkio.throttle.read_iops_device", &b.throttle_read_iops),
        ("blkio.throttle.write_iops_device", &b.throttle_write_iops),
    ];
    for (file, list) in throttles {
        for t in list {
            cg.write_limit(dir.join(file), format!("{}:{} {}", t.major, t.minor, t.rate))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
