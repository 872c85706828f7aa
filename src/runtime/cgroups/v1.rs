//! cgroup v1: one directory per controller hierarchy (Documentation/admin-guide/cgroup-v1/).

use super::{cpu_quota, Cgroup, Error, Fs, Limits};
use std::path::PathBuf;

/// Creates `name` under each needed controller's hierarchy and writes the limits. The
/// directories made so far are removed if a later step fails (the `Cgroup` is dropped).
pub fn create(fs: &'static dyn Fs, mounts: &[(String, PathBuf)], name: &str, limits: &Limits) -> Result<Cgroup, Error> {
    let mount = |ctl: &'static str| {
        mounts
            .iter()
            .find(|(c, _)| c == ctl)
            .map(|(_, p)| p.clone())
            .ok_or(Error::NoController { controller: ctl, detail: "no cgroup v1 hierarchy has it".into() })
    };
    let mut cg = Cgroup::empty(fs);
    if let Some(bytes) = limits.memory_bytes {
        let dir = cg.make(mount("memory")?.join(name))?.to_path_buf();
        cg.write_limit(dir.join("memory.limit_in_bytes"), bytes.to_string())?;
        // memory+swap: without it the workload would page out instead of being OOM-killed
        // (where swap exists). Written after the memory limit, which it may not undercut.
        let memsw = dir.join("memory.memsw.limit_in_bytes");
        if fs.exists(&memsw) {
            cg.write_limit(memsw, bytes.to_string())?;
        }
    }
    if let Some(pids) = limits.pids {
        let dir = cg.make(mount("pids")?.join(name))?.to_path_buf();
        cg.write_limit(dir.join("pids.max"), pids.to_string())?;
    }
    if let Some(cores) = limits.cpu {
        let dir = cg.make(mount("cpu")?.join(name))?.to_path_buf();
        let (quota, period) = cpu_quota(cores);
        cg.write_limit(dir.join("cpu.cfs_period_us"), period.to_string())?;
        cg.write_limit(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
    }
    Ok(cg)
}
