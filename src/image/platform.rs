//! Platform choice in an image index (`--platform os/arch[/variant]`), with containerd's
//! normalizations: `arm64` is `arm64/v8` when no variant is given, `arm` is `arm/v7`.

use super::manifest::{Descriptor, Platform};
use std::fmt;
use std::str::FromStr;

/// A wanted platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid platform `{0}`: expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8")]
pub struct PlatformError(String);

impl Wanted {
    /// The platform palisade runs on.
    pub fn host() -> Wanted {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Wanted { os: "linux".into(), architecture: arch.into(), variant: variant.map(String::from) }
    }

    fn default_variant(arch: &str) -> Option<&'static str> {
        match arch {
            "arm64" => Some("v8"),
            "arm" => Some("v7"),
            _ => None,
        }
    }

    /// Whether `p` runs here: same OS and architecture, and the same variant (or none asked
    /// and the candidate's is the architecture's default).
    pub fn matches(&self, p: &Platform) -> bool {
        if p.os != self.os || normalize_arch(&p.architecture) != normalize_arch(&self.architecture) {
            return false;
        }
        let default = Wanted::default_variant(&self.architecture);
        let theirs = p.variant.as_deref().or(default);
        match &self.variant {
            Some(v) => theirs == Some(v.as_str()),
            None => p.variant.is_none() || theirs == default,
        }
    }

    /// The first descriptor of an index whose platform matches.
    pub fn choose<'a>(&self, manifests: &'a [Descriptor]) -> Option<&'a Descriptor> {
        manifests.iter().find(|d| d.platform.as_ref().is_some_and(|p| self.matches(p)))
    }
}

fn normalize_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" => "386",
        other => other,
    }
}

impl FromStr for Wanted {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Wanted, PlatformError> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(ok) {
            return Err(PlatformError(s.to_string()));
        }
        Ok(Wanted {
            os: parts[0].to_lowercase(),
            architecture: normalize_arch(&parts[1].to_lowercase()).to_string(),
            variant: parts.get(2).map(|v| v.to_lowercase()),
        })
    }
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// `os/arch[/variant]` of a platform, for messages.
pub fn describe(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest::Digest;

    fn desc(os: &str, arch: &str, variant: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new("x", Digest::of(format!("{os}{arch}{variant:?}").as_bytes()), 1);
        d.platform = Some(Platform { os: os.into(), architecture: arch.into(), variant: variant.map(String::from), os_version: None });
        d
    }

    #[test]
    fn chooses_by_os_arch_variant() {
        let list = vec![
            desc("unknown", "unknown", None),
            desc("linux", "arm", Some("v6")),
            desc("linux", "arm", Some("v7")),
            desc("linux", "arm64", Some("v8")),
            desc("linux", "amd64", None),
        ];
        let pick = |s: &str| s.parse::<Wanted>().unwrap().choose(&list).map(|d| d.platform.clone().unwrap());
        assert_eq!(pick("linux/amd64").unwrap().architecture, "amd64");
        assert_eq!(pick("linux/x86_64").unwrap().architecture, "amd64");
        assert_eq!(pick("linux/arm64").unwrap().variant.as_deref(), Some("v8"));
        assert_eq!(pick("linux/arm").unwrap().variant.as_deref(), Some("v7"));
        assert_eq!(pick("linux/arm/v6").unwrap().variant.as_deref(), Some("v6"));
        assert!(pick("linux/s390x").is_none());
        assert!(pick("windows/amd64").is_none());
        assert!("linux".parse::<Wanted>().is_err());
        assert!("linux/amd64/v2/x".parse::<Wanted>().is_err());
    }
}
