//! cosign's formats: key pairs (`cosign generate-key-pair`), and signatures stored in the
//! registry under the `sha256-<hex>.sig` tag — one simple-signing layer per signature, whose
//! `dev.cosignproject.cosign/signature` annotation is a base64 DER ECDSA-P256-SHA256 signature
//! over the layer's bytes (the payload).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};

/// The layer media type of a cosign signature.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation holding the signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// PEM label of cosign's encrypted private keys (older cosign wrote "ENCRYPTED COSIGN …").
pub const PRIVATE_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const LEGACY_PRIVATE_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// cosign's scrypt parameters (sigstore/pkg/encrypted, from go-securesystemslib): N=2^15, r=8, p=1.
const SCRYPT_LOG_N: u8 = 15;

/// The tag cosign stores an image's signatures under.
pub fn signature_tag(digest: &crate::image::Digest) -> String {
    format!("sha256-{}.sig", digest.hex())
}

/// Parses a PEM public key (SPKI, as `cosign.pub`).
pub fn parse_public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "public key is not PEM text".to_string())?;
    VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| format!("not a PEM ECDSA P-256 public key: {e}"))
}

/// Verifies a base64 DER signature over `payload`. Nothing about the payload is read first.
pub fn verify(key: &VerifyingKey, payload: &[u8], signature_b64: &str) -> Result<(), String> {
    let der = B64.decode(signature_b64.trim()).map_err(|e| format!("signature annotation is not base64: {e}"))?;
    let sig = Signature::from_der(&der).map_err(|e| format!("signature is not DER ECDSA: {e}"))?;
    key.verify(payload, &sig).map_err(|_| "the ECDSA signature does not verify with this key".to_string())
}

/// Signs `payload`; returns the base64 DER signature, as the annotation carries it.
pub fn sign(key: &SigningKey, payload: &[u8]) -> String {
    let sig: Signature = key.sign(payload);
    B64.encode(sig.to_der().as_bytes())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Encrypted {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kdf {
    name: String,
    params: ScryptParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cipher {
    name: String,
    nonce: String,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).expect("the kernel's random source");
    b
}

fn derive(password: &[u8], salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<crypto_secretbox::Key, String> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|e| format!("scrypt parameters: {e}"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key).map_err(|e| format!("scrypt: {e}"))?;
    Ok(key.into())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str) -> Result<(String, Vec<u8>), String> {
    let begin = text.find("-----BEGIN ").ok_or("no PEM block")?;
    let rest = &text[begin + 11..];
    let label_end = rest.find("-----").ok_or("malformed PEM header")?;
    let label = rest[..label_end].to_string();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let end = rest.find(&end_marker).ok_or("no PEM END line")?;
    let body: String = rest[body_start..end].split_whitespace().collect();
    Ok((label, B64.decode(body).map_err(|e| format!("PEM body is not base64: {e}"))?))
}

/// A new key pair in cosign's formats: (encrypted private key PEM, public key PEM).
pub fn generate(password: &[u8]) -> Result<(String, String), String> {
    let key = loop {
        // A uniformly random scalar; retried in the ~2^-32 case it is zero or ≥ the order.
        if let Ok(k) = SigningKey::from_bytes(&random::<32>().into()) {
            break k;
        }
    };
    let der = key.to_pkcs8_der().map_err(|e| format!("PKCS#8: {e}"))?;
    let salt = random::<32>();
    let nonce = random::<24>();
    let secret = derive(password, &salt, SCRYPT_LOG_N, 8, 1)?;
    use crypto_secretbox::aead::{Aead, KeyInit};
    let ciphertext = crypto_secretbox::XSalsa20Poly1305::new(&secret)
        .encrypt(&nonce.into(), der.as_bytes())
        .map_err(|_| "secretbox encryption failed".to_string())?;
    let doc = Encrypted {
        kdf: Kdf { name: "scrypt".into(), params: ScryptParams { n: 1 << SCRYPT_LOG_N, r: 8, p: 1 }, salt: B64.encode(salt) },
        cipher: Cipher { name: "nacl/secretbox".into(), nonce: B64.encode(nonce) },
        ciphertext: B64.encode(ciphertext),
    };
    let private = pem(PRIVATE_LABEL, &serde_json::to_vec(&doc).expect("serializes"));
    let public = key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(|e| format!("public key PEM: {e}"))?;
    Ok((private, public))
}

/// Decrypts a cosign private key.
pub fn load_private_key(text: &str, password: &[u8]) -> Result<SigningKey, String> {
    let (label, body) = unpem(text)?;
    if label != PRIVATE_LABEL && label != LEGACY_PRIVATE_LABEL {
        return Err(format!("PEM block is `{label}`, expected `{PRIVATE_LABEL}`"));
    }
    let doc: Encrypted = serde_json::from_slice(&body).map_err(|e| format!("encrypted key: {e}"))?;
    if doc.kdf.name != "scrypt" || doc.cipher.name != "nacl/secretbox" {
        return Err(format!("unsupported key encryption {}/{}", doc.kdf.name, doc.cipher.name));
    }
    let n = doc.kdf.params.n;
    let (r, p) = (doc.kdf.params.r, doc.kdf.params.p);
    // Bounded work: cosign writes N=32768 r=8 (32 MiB); a key file asking for more than 1 GiB
    // of scrypt memory (128·r·N bytes) or 16 passes is refused rather than obeyed.
    if !n.is_power_of_two()
        || !(2..=1 << 20).contains(&n)
        || !(1..=64).contains(&r)
        || !(1..=16).contains(&p)
        || 128 * u64::from(r) * n > 1 << 30
    {
        return Err(format!("unreasonable scrypt parameters N={n} r={} p={}", doc.kdf.params.r, doc.kdf.params.p));
    }
    let salt = B64.decode(&doc.kdf.salt).map_err(|e| format!("salt: {e}"))?;
    let nonce = B64.decode(&doc.cipher.nonce).map_err(|e| format!("nonce: {e}"))?;
    if nonce.len() != 24 {
        return Err("secretbox nonce must be 24 bytes".into());
    }
    let ciphertext = B64.decode(&doc.ciphertext).map_err(|e| format!("ciphertext: {e}"))?;
    let secret = derive(password, &salt, n.trailing_zeros() as u8, doc.kdf.params.r, doc.kdf.params.p)?;
    use crypto_secretbox::aead::{Aead, KeyInit};
    let nonce: [u8; 24] = nonce.try_into().expect("length checked");
    let der = crypto_secretbox::XSalsa20Poly1305::new(&secret)
        .decrypt(&nonce.into(), ciphertext.as_slice())
        .map_err(|_| "cannot decrypt the private key (wrong password?)".to_string())?;
    SigningKey::from_pkcs8_der(&der).map_err(|e| format!("decrypted key is not a PKCS#8 P-256 key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pair_round_trip_and_signatures() {
        let (private, public) = generate(b"pw").unwrap();
        assert!(private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let key = load_private_key(&private, b"pw").unwrap();
        assert!(load_private_key(&private, b"wrong").unwrap_err().contains("wrong password"));
        let vk = parse_public_key(public.as_bytes()).unwrap();
        let sig = sign(&key, b"payload");
        verify(&vk, b"payload", &sig).unwrap();
        assert!(verify(&vk, b"payloaD", &sig).is_err());
        let other = parse_public_key(generate(b"").unwrap().1.as_bytes()).unwrap();
        assert!(verify(&other, b"payload", &sig).is_err());
        let mut der = B64.decode(&sig).unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        assert!(verify(&vk, b"payload", &B64.encode(der)).is_err());
    }
}
