//! GPG simple signing (containers-signature(5)): a binary OpenPGP message whose literal data is
//! the payload. Verified with rPGP against the policy's keys — the primary key or a signing
//! subkey — honouring key expiry and revocation; only then is the payload handed back for
//! parsing.

use pgp::composed::{Deserializable, Message, SignedPublicKey};
use pgp::packet::SignatureType;
use pgp::types::{KeyDetails, PublicKeyTrait};
use std::io::Cursor;

/// Largest signature accepted (a signature is a few hundred bytes plus the payload).
pub const MAX_SIGNATURE: usize = 4 << 20;

/// Reads every public key of a keyring (binary `gpg --export` or ASCII-armored).
pub fn load_keys(bytes: &[u8]) -> Result<Vec<SignedPublicKey>, String> {
    let (keys, _) = SignedPublicKey::from_reader_many(Cursor::new(bytes.to_vec())).map_err(|e| format!("not an OpenPGP keyring: {e}"))?;
    let keys = keys.collect::<Result<Vec<_>, _>>().map_err(|e| format!("not an OpenPGP keyring: {e}"))?;
    if keys.is_empty() {
        return Err("the keyring holds no public key".into());
    }
    for k in &keys {
        // Self-signatures and subkey bindings (with back-signatures) must verify, or a subkey
        // could be grafted onto a trusted primary key.
        k.verify().map_err(|e| format!("key {}: invalid self-signatures: {e}", k.fingerprint()))?;
    }
    Ok(keys)
}

/// Verifies `signature` (a signed OpenPGP message) against `keys` at time `now`; returns the
/// signed payload bytes and the fingerprint of the key that made the signature.
pub fn verify(signature: &[u8], keys: &[SignedPublicKey], now: chrono::DateTime<chrono::Utc>) -> Result<(Vec<u8>, String), String> {
    if signature.len() > MAX_SIGNATURE {
        return Err("signature is too large".into());
    }
    let mut message = Message::from_bytes(Cursor::new(signature.to_vec())).map_err(|e| format!("not an OpenPGP message: {e}"))?;
    if message.is_compressed() {
        message = message.decompress().map_err(|e| format!("cannot decompress the OpenPGP message: {e}"))?;
    }
    if !message.is_signed() && !message.is_one_pass_signed() {
        return Err("the OpenPGP message is not signed".into());
    }
    let data = message.as_data_vec().map_err(|e| format!("cannot read the OpenPGP message: {e}"))?;
    for key in keys {
        let primary_expiry = key.expires_at();
        // A revoked key signs nothing any more (fail closed: any revocation counts).
        let revoked = !key.details.revocation_signatures.is_empty();
        // The primary key itself.
        if message.verify(&key.primary_key).is_ok() {
            if revoked {
                return Err(format!("key {} is revoked", key.fingerprint()));
            }
            check_expiry(primary_expiry, now, &key.fingerprint().to_string())?;
            return Ok((data, key.fingerprint().to_string()));
        }
        for sub in &key.public_subkeys {
            if message.verify(sub).is_ok() {
                if revoked || sub.signatures.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
                    return Err(format!("key {} is revoked", sub.fingerprint()));
                }
                if !sub.signatures.iter().any(|s| s.key_flags().sign()) {
                    return Err(format!("subkey {} is not signing-capable", sub.fingerprint()));
                }
                check_expiry(primary_expiry, now, &key.fingerprint().to_string())?;
                let created = *sub.key.created_at();
                let sub_expiry = sub.signatures.iter().filter_map(|s| s.key_expiration_time()).max().map(|d| created + *d);
                check_expiry(sub_expiry, now, &sub.fingerprint().to_string())?;
                return Ok((data, sub.fingerprint().to_string()));
            }
        }
    }
    Err("no trusted key made this signature".into())
}

fn check_expiry(expires: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>, who: &str) -> Result<(), String> {
    match expires {
        Some(t) if t <= now => Err(format!("key {who} expired at {t}")),
        _ => Ok(()),
    }
}
