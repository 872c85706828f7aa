//! Network modes: `none` (a namespace with only loopback, brought up), `host` (the host's
//! namespace, when a policy asks for it) and `bridge` (not implemented yet: refused).

use crate::policy::model::NetworkMode;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("mode `bridge` (policy `{policy}`) is not supported by `palisade run` yet; run with `--net none`, or use a policy with `[network] mode = \"none\"`")]
    BridgeUnsupported { policy: String },
    #[error("`--net {requested}` would give the workload more network than policy `{policy}` allows (`{allowed}`)")]
    Widening { policy: String, requested: &'static str, allowed: &'static str },
}

/// The mode a run uses: the policy's, or a command-line override that only isolates more.
pub fn resolve(policy: &str, policy_mode: NetworkMode, requested: Option<NetworkMode>) -> Result<NetworkMode, NetworkError> {
    let mode = match requested {
        None => policy_mode,
        Some(NetworkMode::None) => NetworkMode::None,
        Some(r) if r == policy_mode => r,
        Some(r) => return Err(NetworkError::Widening { policy: policy.to_string(), requested: r.name(), allowed: policy_mode.name() }),
    };
    if mode == NetworkMode::Bridge {
        return Err(NetworkError::BridgeUnsupported { policy: policy.to_string() });
    }
    Ok(mode)
}

/// Whether the mode needs a network namespace of the container's own.
pub fn private_namespace(mode: NetworkMode) -> bool {
    mode != NetworkMode::Host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_only_isolate() {
        assert_eq!(resolve("p", NetworkMode::Bridge, Some(NetworkMode::None)).unwrap(), NetworkMode::None);
        assert_eq!(resolve("p", NetworkMode::Host, None).unwrap(), NetworkMode::Host);
        assert!(matches!(resolve("p", NetworkMode::None, Some(NetworkMode::Host)), Err(NetworkError::Widening { .. })));
        let err = resolve("restricted", NetworkMode::Bridge, None).unwrap_err().to_string();
        assert!(err.contains("bridge") && err.contains("not supported"), "{err}");
    }
}
