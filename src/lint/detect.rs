//! Which format a file is in: by extension first, then by content (a palisade policy has
//! `[policy]`/`[seccomp]` tables, a seccomp profile a `defaultAction`, an OCI config an
//! `ociVersion`, a Kubernetes manifest `apiVersion` and `kind`, an AppArmor file `profile`
//! headers, includes, rules or `/path {` blocks).

use super::InputKind;

/// The detected kind, or `None` if nothing matches.
pub fn detect(name: &str, text: &str) -> Option<InputKind> {
    let lower = name.to_ascii_lowercase();
    let trimmed = text.trim_start();
    if lower.ends_with(".toml") {
        return Some(InputKind::Palisade);
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Some(InputKind::K8s);
    }
    if lower.ends_with(".json") || trimmed.starts_with('{') {
        return Some(if text.contains("\"ociVersion\"") {
            InputKind::Oci
        } else if text.contains("\"apiVersion\"") && text.contains("\"kind\"") {
            InputKind::K8s
        } else {
            InputKind::SeccompJson
        });
    }
    let has_line = |pred: &dyn Fn(&str) -> bool| text.lines().map(str::trim).any(pred);
    if has_line(&|l| l.starts_with("apiVersion:")) && has_line(&|l| l.starts_with("kind:")) {
        return Some(InputKind::K8s);
    }
    if has_line(&|l| l.starts_with('[') && l.ends_with(']') && !l.contains(' ')) && has_line(&|l| l.contains(" = ")) {
        return Some(InputKind::Palisade);
    }
    let apparmor_line = |l: &str| {
        l.starts_with("profile ")
            || l.starts_with("#include")
            || l.starts_with("include ")
            || l.starts_with("abi ")
            || (l.starts_with('@') && l.contains('='))
            || (l.starts_with('/') && l.ends_with('{'))
            || l.starts_with("capability")
    };
    if has_line(&apparmor_line) {
        return Some(InputKind::Apparmor);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_content() {
        assert_eq!(detect("p.toml", ""), Some(InputKind::Palisade));
        assert_eq!(detect("x.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}"), Some(InputKind::SeccompJson));
        assert_eq!(detect("config.json", "{\"ociVersion\": \"1.0.2\"}"), Some(InputKind::Oci));
        assert_eq!(detect("d", "apiVersion: v1\nkind: Pod\n"), Some(InputKind::K8s));
        assert_eq!(detect("usr.bin.foo", "#include <tunables/global>\n/usr/bin/foo {\n}\n"), Some(InputKind::Apparmor));
        assert_eq!(detect("p", "[policy]\nname = \"x\"\n"), Some(InputKind::Palisade));
        assert_eq!(detect("x", "hello"), None);
    }
}
