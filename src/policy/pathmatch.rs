//! Path patterns for volume sources and explanations: `*` and `?` match within one path
//! segment, `**` matches any number of segments (including none, so `/proc/**` covers `/proc`).
//! A pattern without wildcards matches exactly that path.

/// Whether `path` (absolute, normalized) matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|skip| match_segments(rest, &segs[skip..])),
        Some((first, rest)) => segs
            .split_first()
            .is_some_and(|(seg, seg_rest)| match_segment(first.as_bytes(), seg.as_bytes()) && match_segments(rest, seg_rest)),
    }
}

fn match_segment(pat: &[u8], text: &[u8]) -> bool {
    match pat.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| match_segment(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && match_segment(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && match_segment(rest, &text[1..]),
    }
}

/// Whether `path` is `dir` or lies beneath it (segment-wise, so `/usr2` is not under `/usr`).
pub fn is_within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments_and_subtrees() {
        assert!(matches("/", "/"));
        assert!(!matches("/", "/etc"));
        assert!(matches("/proc/**", "/proc"));
        assert!(matches("/proc/**", "/proc/1/root"));
        assert!(!matches("/proc/**", "/procfs"));
        assert!(matches("/srv/*/data", "/srv/app/data"));
        assert!(!matches("/srv/*/data", "/srv/a/b/data"));
        assert!(matches("/var/run/docker.sock", "/var/run/docker.sock"));
        assert!(matches("/home/?ob", "/home/bob"));
        assert!(is_within("/usr/bin/env", "/usr") && !is_within("/usr2", "/usr") && is_within("/x", "/"));
    }
}
