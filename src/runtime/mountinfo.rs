//! /proc/PID/mountinfo, parsed once for every reader (proc(5)):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! id parent dev root point options [optional…] - fstype source super-options
//! ```

/// One mount, as mountinfo shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount<'a> {
    /// The directory of the filesystem that forms this mount's root.
    pub root: &'a str,
    pub mount_point: &'a str,
    pub fs_type: &'a str,
    pub source: &'a str,
    /// The filesystem's own options (for a v1 cgroup: its controllers).
    pub super_options: &'a str,
}

impl Mount<'_> {
    /// The super options, one by one.
    pub fn super_option_list(&self) -> impl Iterator<Item = &str> {
        self.super_options.split(',').filter(|o| !o.is_empty())
    }
}

/// The well-formed lines of `text`; malformed ones are skipped.
pub fn parse(text: &str) -> impl Iterator<Item = Mount<'_>> {
    text.lines().filter_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut left = left.split(' ');
        let (root, mount_point) = (left.nth(3)?, left.next()?);
        let mut right = right.split(' ');
        let (fs_type, source) = (right.next()?, right.next()?);
        Some(Mount { root, mount_point, fs_type, source, super_options: right.next().unwrap_or("") })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_around_the_optional_ones() {
        let text = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\nbroken line\n";
        let mounts: Vec<Mount> = parse(text).collect();
        assert_eq!(
            mounts,
            [Mount { root: "/mnt1", mount_point: "/mnt2", fs_type: "ext3", source: "/dev/root", super_options: "rw,errors=continue" }]
        );
        assert_eq!(mounts[0].super_option_list().collect::<Vec<_>>(), ["rw", "errors=continue"]);
    }
}
