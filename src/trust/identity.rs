//! `signedIdentity` matching (containers-policy.json(5) "signedIdentity"): how the
//! `docker-reference` a signature names must relate to the reference being verified.

use super::policy::SignedIdentity;
use crate::image::Reference;

fn same_repo(a: &Reference, b: &Reference) -> bool {
    a.registry == b.registry && a.repository == b.repository
}

fn exact(a: &Reference, b: &Reference) -> bool {
    same_repo(a, b) && a.tag == b.tag && a.digest == b.digest
}

/// `matchRepoDigestOrExact`: a digest reference needs the same repository; a tag reference
/// needs exactly the same reference.
fn repo_digest_or_exact(image: &Reference, signed: &Reference) -> bool {
    if image.digest.is_some() {
        same_repo(image, signed)
    } else {
        exact(image, signed)
    }
}

/// Whether a signature for `signed` satisfies `identity` for `image`. Errors explain a policy
/// value that cannot be evaluated (they are refusals, never acceptances).
pub fn matches(identity: &SignedIdentity, image: &Reference, signed: &Reference) -> Result<bool, String> {
    Ok(match identity {
        // matchExact: a digest-only reference cannot be matched exactly by a tag signature.
        SignedIdentity::MatchExact {} => exact(image, signed),
        SignedIdentity::MatchRepoDigestOrExact {} => repo_digest_or_exact(image, signed),
        SignedIdentity::MatchRepository {} => same_repo(image, signed),
        SignedIdentity::ExactReference { docker_reference } => {
            let want: Reference = docker_reference.parse().map_err(|e| format!("exactReference: {e}"))?;
            exact(&want, signed)
        }
        SignedIdentity::ExactRepository { docker_repository } => {
            let want: Reference = docker_repository.parse().map_err(|e| format!("exactRepository: {e}"))?;
            same_repo(&want, signed)
        }
        SignedIdentity::RemapIdentity { prefix, signed_prefix } => {
            let full = image.to_string();
            // The prefix must end at a component boundary: `a.io/x` remaps `a.io/x/y` and
            // `a.io/x:tag`, never `a.io/xy`.
            let remapped = match full.strip_prefix(prefix.as_str()) {
                Some(rest) if rest.is_empty() || rest.starts_with(['/', ':', '@']) => {
                    let s = format!("{signed_prefix}{rest}");
                    Some(s.parse::<Reference>().map_err(|e| format!("remapIdentity: `{s}`: {e}"))?)
                }
                _ => None,
            };
            repo_digest_or_exact(remapped.as_ref().unwrap_or(image), signed)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        s.parse().unwrap()
    }

    const D: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn every_identity_form() {
        let tagged = r("reg.io/a/b:v1");
        let digested = r(&format!("reg.io/a/b@{D}"));
        let m = |id: &SignedIdentity, image: &Reference, signed: &str| matches(id, image, &r(signed)).unwrap();
        let id = SignedIdentity::MatchRepoDigestOrExact {};
        assert!(m(&id, &tagged, "reg.io/a/b:v1"));
        assert!(!m(&id, &tagged, "reg.io/a/b:v2"));
        assert!(m(&id, &digested, "reg.io/a/b:anything"));
        assert!(!m(&id, &digested, "reg.io/a/c:v1"));
        let id = SignedIdentity::MatchExact {};
        assert!(m(&id, &tagged, "reg.io/a/b:v1"));
        assert!(!m(&id, &digested, "reg.io/a/b:v1"));
        let id = SignedIdentity::MatchRepository {};
        assert!(m(&id, &tagged, "reg.io/a/b:v9"));
        assert!(!m(&id, &tagged, "other.io/a/b:v1"));
        let id = SignedIdentity::ExactReference { docker_reference: "sig.io/x:1".into() };
        assert!(m(&id, &tagged, "sig.io/x:1"));
        assert!(!m(&id, &tagged, "sig.io/x:2"));
        let id = SignedIdentity::ExactRepository { docker_repository: "sig.io/x".into() };
        assert!(m(&id, &tagged, "sig.io/x:2"));
        assert!(!m(&id, &tagged, "reg.io/a/b:v1"));
        let id = SignedIdentity::RemapIdentity { prefix: "reg.io/a".into(), signed_prefix: "upstream.io/lib".into() };
        assert!(m(&id, &tagged, "upstream.io/lib/b:v1"));
        assert!(!m(&id, &tagged, "reg.io/a/b:v1"));
        assert!(m(&id, &r("reg.io/ab:v1"), "reg.io/ab:v1"), "no component boundary: not remapped");
    }
}
